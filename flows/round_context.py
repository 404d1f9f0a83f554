"""Where a round reads and writes, and on which reference date it measures waiting times."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from flows.settings import Settings
from hashing.keys import KEY_ENVIRONMENT_VARIABLE, PseudonymKey, load_key
from ingest.file_report import FileReport
from ingest.registry import ProviderRegistry, load_registry
from reports.package_delivery import DeliveryResult
from reports.summary import RunSummary, build_summary

ROUND_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def resolve_reference_date(
    explicit: dt.date | None, configured: dt.date | None, round_id: str, today: dt.date
) -> dt.date:
    """Return the reference date: given, else configured, else the round id as a date
    (``2026-11-01``, or ``2026-11`` for the first of the month), else ``today``."""
    if explicit is not None:
        return explicit
    if configured is not None:
        return configured
    for pattern, suffix in ((r"^\d{4}-\d{2}-\d{2}", ""), (r"^\d{4}-\d{2}$", "-01")):
        match = re.match(pattern, round_id)
        if match:
            try:
                return dt.date.fromisoformat(match.group(0) + suffix)
            except ValueError:
                break
    return today


def work_dir_for(settings: Settings, output_dir: Path) -> Path:
    """Return the TTP's working folder (pseudonymised store, staging, Prefect state)."""
    return settings.paths.work_dir or output_dir / "_ttp"


@functools.lru_cache(maxsize=4)
def _registry_at(path: Path, modified_ns: int, size: int) -> ProviderRegistry:
    return load_registry(path)


def cached_registry(path: Path) -> ProviderRegistry:
    """Return the registry in ``path``, read once per process while the file is unchanged.
    Raises :class:`ingest.registry.RegistryError` naming the file."""
    try:
        stat = path.stat()
    except OSError:
        return load_registry(path)  # raises, naming the file
    return _registry_at(path.resolve(), stat.st_mtime_ns, stat.st_size)


class RoundFailed(Exception):
    """The round could not complete; the message states why without any data value."""


@functools.lru_cache(maxsize=4)
def _key_at(path: Path | None, modified_ns: int, size: int, environment_digest: str) -> PseudonymKey:
    return load_key(path)


def cached_key(path: Path | None) -> PseudonymKey:
    """Return the TTP key from ``path`` (or ``WACHTLIJST_KEY`` without one), read and checked once
    per process while the file (or the variable) is unchanged. Raises
    :class:`hashing.keys.KeyFileError` naming the file."""
    if path is None:
        text = os.environ.get(KEY_ENVIRONMENT_VARIABLE, "")
        return _key_at(None, 0, 0, hashlib.sha256(text.encode()).hexdigest())
    try:
        stat = path.stat()
    except OSError:
        return load_key(path)  # raises, naming the file
    return _key_at(path.resolve(), stat.st_mtime_ns, stat.st_size, "")


class RoundContext(BaseModel):
    """One round's configuration, built once at start-up and passed down (the flow's parameter):
    its paths, reference date and validated settings. Holds no secret and no data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_dir: Path
    output_dir: Path
    round_id: str
    key_file: Path | None
    settings: Settings
    reference_date: dt.date
    work_dir: Path
    audit_path: Path
    registry_file: Path | None = None

    @classmethod
    def create(
        cls,
        *,
        input_dir: Path,
        output_dir: Path,
        round_id: str,
        key_file: Path | None,
        settings: Settings,
        reference_date: dt.date | None,
        registry_file: Path | None = None,
    ) -> RoundContext:
        """Return the context of a round after validating its id and provider registry
        (``registry_file``, else the settings' ``paths.registry``)."""
        if not ROUND_ID_PATTERN.match(round_id):
            raise ValueError("round id must be 1-64 letters, digits, '.', '_' or '-'")
        registry_file = registry_file or settings.paths.registry
        if registry_file is not None:
            cached_registry(registry_file)
        return cls(
            input_dir=input_dir,
            output_dir=output_dir,
            round_id=round_id,
            key_file=key_file,
            settings=settings,
            reference_date=resolve_reference_date(reference_date, settings.reference_date, round_id, dt.date.today()),
            work_dir=work_dir_for(settings, output_dir),
            audit_path=settings.paths.audit_log or output_dir / "audit.jsonl",
            registry_file=registry_file,
        )

    def key(self) -> PseudonymKey:
        """Return the round's TTP key (read once per process)."""
        return cached_key(self.key_file)

    def registry(self) -> ProviderRegistry | None:
        """Return the round's provider registry, or None when it has none."""
        return cached_registry(self.registry_file) if self.registry_file is not None else None

    def locations(self) -> dict[str, str]:
        """Return {location AGB: organisation AGB}: the configured mapping, then the registry's."""
        registry = self.registry()
        return {**self.settings.locations, **(registry.locations() if registry is not None else {})}

    @property
    def round_dir(self) -> Path:
        """The folder of the round's deliverables."""
        return self.output_dir / self.round_id

    @property
    def staging_dir(self) -> Path:
        """The folder of pseudonymised staged extracts."""
        return self.work_dir / self.round_id / "staging"

    @property
    def store_path(self) -> Path:
        """The round's DuckDB store (pseudonymised data only)."""
        return self.work_dir / self.round_id / "round.duckdb"

    def summary(
        self,
        reports: list[FileReport],
        totals: dict[str, int],
        linkage: dict[str, Any],
        delivery: DeliveryResult,
        unrouted: int,
        key_id: str,
        duration_s: float,
        stage_seconds: dict[str, float] | None = None,
        **measured: dict[str, Any],
    ) -> RunSummary:
        """Return the run summary of this round (``measured``: its ``history``, ``disclosure`` and
        ``stage_bytes_written``)."""
        settings = self.settings
        return build_summary(
            round_id=self.round_id,
            reference_date=self.reference_date.isoformat(),
            key_id=key_id,
            file_reports=reports,
            totals=totals,
            linkage=linkage,
            delivery=delivery,
            unrouted_rejections=unrouted,
            settings_used={
                "disclosure_threshold": settings.disclosure_threshold,
                "rounding_base": settings.rounding_base,
                "norms_weeks": settings.norms_weeks,
                "match_scope": settings.match_scope,
                "linkage": settings.linkage.model_dump(),
            },
            duration_s=duration_s,
            stage_seconds=stage_seconds or {},
            provider_names=registry.names() if (registry := self.registry()) is not None else None,
            **measured,
        )
