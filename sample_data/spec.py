"""What the sample-data generator makes: the round's specification and what it returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

FORMATS: tuple[str, ...] = ("csv-semicolon-bom", "csv-comma-cp1252", "xlsx", "parquet", "csv-semicolon")
INTAKE_MISSING_SHARE = 0.1
"""Share of entries in the treatment phase delivered without an intake date."""


ALIASES = {"Cliëntnummer": "client_id", "Geboorte datum": "geboortedatum", "Datum aanmelding": "aanmelddatum"}
BAD_ROW_KINDS: tuple[str, ...] = (
    "agb_code_invalid",
    "client_id_missing",
    "geboortedatum_invalid",
    "geboortedatum_missing",
    "achternaam_missing",
    "uzovi_invalid",
    "sector_invalid",
    "aanmelddatum_future",
    "aanmelddatum_before_geboortedatum",
    "wachtfase_invalid",
)


@dataclass(frozen=True)
class RoundSpec:
    """What to generate. Shares are of persons (double, internal) or of entries (BSN)."""

    entries: int = 5_000
    providers: int = 24
    seed: int = 20261101
    reference_date: dt.date = dt.date(2026, 11, 1)
    double_share: float = 0.12
    internal_share: float = 0.02
    missing_bsn_share: float = 0.04
    invalid_bsn_share: float = 0.02
    bad_rows_per_kind: int = 2
    surname_typo_share: float = 0.03
    first_name_typo_share: float = 0.03
    first_name_missing_share: float = 0.05
    postcode_move_share: float = 0.03
    dob_swap_share: float = 0.01
    dob_typo_share: float = 0.01
    bad_files: bool = True
    formats: tuple[str, ...] = FORMATS
    sender_folders: bool = False
    """Each provider's file in ``input/<organisation>/`` (extract format v2), not flat."""
    registry: bool = False
    """Write ``deelnemers.csv`` (the provider registry) and name it in the config."""


@dataclass
class GeneratedRound:
    """Paths of a generated round and its truth frames."""

    input_dir: Path
    config_file: Path
    truth_dir: Path
    providers: list[str]
    location_of: dict[str, str]
    truth: dict[str, pl.DataFrame] = field(default_factory=dict)
    expected_files: dict[str, dict[str, object]] = field(default_factory=dict)
    registry_file: Path | None = None
    names: dict[str, str] = field(default_factory=dict)
