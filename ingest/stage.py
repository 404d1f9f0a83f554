"""Staging one extract: read, validate, pseudonymise, and keep only pseudonymised data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from hashing.keys import PseudonymKey
from hashing.pseudonyms import pseudonymise_entries
from ingest.prepseudonymised import PrepseudonymisedInvalid, is_prepseudonymised, read_prepseudonymised
from ingest.read import ExtractRejected, read_extract
from ingest.validate import REASON, validate_extract
from reports.files import parquet_bytes, write_atomic


@dataclass(frozen=True)
class FileReport:
    """What happened to one delivered file. Holds counts and codes, never row content."""

    file: str
    sha256: str
    size: int
    status: str  # accepted | rejected
    reason: str | None = None
    detail: str | None = None
    rows_received: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    agb_codes: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    date_formats: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return asdict(self)


def supersede_earlier_deliveries(
    reports: list[FileReport], modified: Mapping[str, float], locations: Mapping[str, str]
) -> list[FileReport]:
    """Return ``reports`` where, per provider, only the newest delivered file stays accepted.

    ``modified`` maps file names to modification times (ties: the later name wins). A file
    whose rows belong to several providers is never superseded nor supersedes.
    """
    newest: dict[str, FileReport] = {}
    single_provider: dict[str, str] = {}
    for report in reports:
        providers = {locations.get(code, code) for code in report.agb_codes}
        if report.status != "accepted" or len(providers) != 1:
            continue
        only = providers.pop()
        single_provider[report.file] = only
        current = newest.get(only)
        if current is None or (modified[report.file], report.file) > (modified[current.file], current.file):
            newest[only] = report
    result = []
    for report in reports:
        provider = single_provider.get(report.file)
        if provider is not None and newest[provider] is not report:
            report = replace(
                report, status="rejected", reason="superseded", detail=f"replaced by {newest[provider].file}"
            )
        result.append(report)
    return result


def staged_paths(staging_dir: Path, sha256: str) -> tuple[Path, Path]:
    """Return the paths of a file's staged entries and rejected rows."""
    return staging_dir / f"{sha256}.entries.parquet", staging_dir / f"{sha256}.rejected.parquet"


def stage_extract(
    path: Path,
    sha256: str,
    *,
    aliases: Mapping[str, str],
    reference_date: dt.date,
    key: PseudonymKey,
    staging_dir: Path,
    csv_encoding: str = "auto",
) -> FileReport:
    """Read, validate and pseudonymise one extract; write its staged parquet files.

    A provider's pre-pseudonymised file (two-stage mode) gets the TTP's stage-2 key instead.
    Returns the file's report. Plain identifiers exist only inside this call: what is
    written holds pseudonyms, waiting data and the birth year. A file that cannot be used
    gives a rejected report and writes nothing.
    """
    size = path.stat().st_size
    if is_prepseudonymised(path):
        return _stage_prepseudonymised(path, sha256, size, key, staging_dir)
    try:
        raw = read_extract(path, aliases, csv_encoding=csv_encoding)
    except ExtractRejected as rejection:
        return FileReport(
            file=path.name,
            sha256=sha256,
            size=size,
            status="rejected",
            reason=rejection.reason,
            detail=rejection.detail or None,
        )
    unknown_columns, encoding, delimiter = list(raw.unknown_columns), raw.encoding, raw.delimiter
    missing_columns = list(raw.missing_columns)
    try:
        validated = validate_extract(raw.frame, reference_date)
        del raw
        entries = pseudonymise_entries(validated.accepted, key)
    except Exception as error:  # a message could quote row content: keep only the type
        return FileReport(
            file=path.name,
            sha256=sha256,
            size=size,
            status="rejected",
            reason="processing_failed",
            detail=type(error).__name__,
        )
    return _write_staged(
        path.name, sha256, size, staging_dir, entries, validated.rejected,
        warnings=validated.warnings, unknown_columns=unknown_columns, encoding=encoding, delimiter=delimiter,
        missing_columns=missing_columns, date_formats=validated.date_formats,
    )  # fmt: skip


def _write_staged(
    file_name: str,
    sha256: str,
    size: int,
    staging_dir: Path,
    entries: pl.DataFrame,
    rejected: pl.DataFrame,
    **details: Any,
) -> FileReport:
    """Write a file's staged entries and rejected rows; return its accepted report."""
    entries = entries.with_columns(pl.lit(file_name).alias("source_file"), pl.lit(sha256).alias("file_sha256"))
    rejected = rejected.with_columns(pl.lit(file_name).alias("source_file"), pl.lit(sha256).alias("file_sha256"))
    entries_path, rejected_path = staged_paths(staging_dir, sha256)
    write_atomic(entries_path, parquet_bytes(entries))
    write_atomic(rejected_path, parquet_bytes(rejected))
    by_reason = rejected.group_by(REASON).len().sort(REASON)
    return FileReport(
        file=file_name,
        sha256=sha256,
        size=size,
        status="accepted",
        rows_received=entries.height + rejected.height,
        rows_accepted=entries.height,
        rows_rejected=rejected.height,
        rejected_by_reason=dict(zip(by_reason[REASON].to_list(), by_reason["len"].to_list(), strict=True)),
        agb_codes=sorted(set(entries["agb_code"].to_list()) | set(rejected["agb_code"].drop_nulls().to_list())),
        **details,
    )


def _stage_prepseudonymised(path: Path, sha256: str, size: int, key: PseudonymKey, staging_dir: Path) -> FileReport:
    """Apply the TTP's stage-2 key to a provider's pre-pseudonymised file and stage it."""
    try:
        entries, rejected, report = read_prepseudonymised(path, key)
    except PrepseudonymisedInvalid as invalid:
        return FileReport(file=path.name, sha256=sha256, size=size, status="rejected",
                          reason="prepseudonymised_invalid", detail=str(invalid))  # fmt: skip
    except Exception as error:  # a message could quote row content: keep only the type
        return FileReport(file=path.name, sha256=sha256, size=size, status="rejected",
                          reason="processing_failed", detail=type(error).__name__)  # fmt: skip
    return _write_staged(
        path.name, sha256, size, staging_dir, entries, rejected,
        warnings=dict(report.get("warnings", {})), unknown_columns=list(report.get("unknown_columns", [])),
        encoding=str(report.get("encoding", "")), delimiter=str(report.get("delimiter", "")),
        missing_columns=list(report.get("missing_columns", [])), date_formats=dict(report.get("date_formats", {})),
    )  # fmt: skip
