"""Pre-pseudonymised extracts: the provider's side and the TTP's side of two-stage pseudonymisation.

A provider runs :func:`prepseudonymise_extract` on its own extract with the shared stage-1
key. It validates every row with the same rules as the TTP and writes one Parquet file that
holds, per row, either the stage-1 pseudonyms and waiting data of an accepted row or the
reason code of a rejected one, so the TTP can still account for every row. No plain
identifier is in it. The TTP's :func:`stage_prepseudonymised` applies its stage-2 key.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hashing.encodings import NEWER_ENCODING_COLUMNS
from hashing.keys import PseudonymKey
from hashing.pseudonyms import STORED_ENTRY_COLUMNS, pseudonymise_entries
from hashing.two_stage import apply_stage_two
from ingest.columns import SECTORS, WACHTFASEN
from ingest.read import read_extract
from ingest.validate import REASON, validate_extract

FORMAT_KEY = b"wachtlijst:format"
FORMAT_VALUE = b"prepseudonymised/1"
REPORT_KEY = b"wachtlijst:report"
REJECTED_COLUMNS: tuple[str, ...] = ("source_row", "client_id", "agb_code", REASON)


class PrepseudonymisedInvalid(Exception):
    """A file claims to be pre-pseudonymised but does not hold what that format requires."""


@dataclass(frozen=True)
class PrepseudonymisedReport:
    """What the provider-side command did to one extract (counts and codes only)."""

    rows_received: int
    rows_accepted: int
    rows_rejected: int
    stage_one_key_id: str
    rejected_by_reason: dict[str, int]


def prepseudonymise_extract(
    source: Path,
    target: Path,
    *,
    key: PseudonymKey,
    aliases: Mapping[str, str],
    reference_date: dt.date,
    csv_encoding: str = "auto",
) -> PrepseudonymisedReport:
    """Validate and stage-1 pseudonymise the extract ``source`` into the Parquet file ``target``.

    Returns the counts. Raises :class:`ingest.read.ExtractRejected` when the extract cannot be
    used at all. Equal extracts give byte-equal output, so a file sent twice is read once.
    """
    raw = read_extract(source, aliases, csv_encoding=csv_encoding)
    validated = validate_extract(raw.frame, reference_date)
    entries = pseudonymise_entries(validated.accepted, key)
    table = pl.concat(
        [entries.with_columns(pl.lit(None, pl.Utf8).alias(REASON)), validated.rejected.select(REJECTED_COLUMNS)],
        how="diagonal_relaxed",
    ).sort("source_row")
    by_reason = dict(sorted(validated.rejected.group_by(REASON).len().iter_rows()))
    report: dict[str, Any] = {
        "stage_one_key_id": key.key_id,
        "reference_date": reference_date.isoformat(),
        "warnings": validated.warnings,
        "date_formats": validated.date_formats,
        "unknown_columns": list(raw.unknown_columns),
        "missing_columns": list(raw.missing_columns),
        "encoding": raw.encoding,
        "delimiter": raw.delimiter,
    }
    arrow = table.to_arrow()
    arrow = arrow.replace_schema_metadata({FORMAT_KEY: FORMAT_VALUE, REPORT_KEY: json.dumps(report).encode()})
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    pq.write_table(arrow, temporary, compression="zstd")
    temporary.replace(target)
    return PrepseudonymisedReport(
        rows_received=table.height,
        rows_accepted=entries.height,
        rows_rejected=validated.rejected.height,
        stage_one_key_id=key.key_id,
        rejected_by_reason=by_reason,
    )


def is_prepseudonymised(path: Path) -> bool:
    """Return whether ``path`` is a Parquet file written by :func:`prepseudonymise_extract`."""
    if path.suffix.lower() != ".parquet":
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError):
        return False
    return metadata.get(FORMAT_KEY) == FORMAT_VALUE


def read_prepseudonymised(path: Path, key: PseudonymKey) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Return (accepted entries with the TTP's stage-2 key applied, rejected rows, the
    provider-side report) of a pre-pseudonymised file.

    Raises :class:`PrepseudonymisedInvalid` when columns are missing, the stage-1 key id is
    not one and the same, or an accepted row breaks the extract format's codes.
    """
    table = pq.read_table(path)
    report = json.loads((table.schema.metadata or {}).get(REPORT_KEY, b"{}"))
    frame = pl.DataFrame(table)
    if "intakedatum" not in frame.columns:  # made by a stage-1 tool before extract format version 2
        frame = frame.with_columns(pl.lit(None, pl.Date).alias("intakedatum"))
    # made by a stage-1 tool before these encodings: they stay null, and weigh nothing
    frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in NEWER_ENCODING_COLUMNS if c not in frame.columns)
    missing = [c for c in (*STORED_ENTRY_COLUMNS, REASON) if c not in frame.columns]
    if missing:
        raise PrepseudonymisedInvalid(f"columns missing: {', '.join(missing)}")
    accepted = frame.filter(pl.col(REASON).is_null()).select(STORED_ENTRY_COLUMNS)
    rejected = frame.filter(pl.col(REASON).is_not_null()).select(REJECTED_COLUMNS)
    stage_one = report.get("stage_one_key_id")
    if not stage_one or set(accepted["key_id"].unique().to_list()) - {stage_one}:
        raise PrepseudonymisedInvalid("rows carry another stage-1 key id than the file states")
    malformed = accepted.filter(
        ~pl.col("agb_code").str.contains(r"^[0-9]{8}$")
        | ~pl.col("uzovi").str.contains(r"^[0-9]{4}$")
        | ~pl.col("sector").is_in(SECTORS)
        | ~pl.col("wachtfase").is_in(WACHTFASEN)
        | pl.col("aanmelddatum").is_null()
    )
    if malformed.height:
        raise PrepseudonymisedInvalid(f"{malformed.height} accepted rows break the extract format")
    return apply_stage_two(accepted, key, stage_one), rejected, report
