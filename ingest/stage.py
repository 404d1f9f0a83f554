"""Staging one extract: read, validate, pseudonymise, and keep only pseudonymised data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from hashing.files import parquet_bytes, write_atomic
from hashing.keys import PseudonymKey
from hashing.pseudonyms import entry_keys, pseudonymise_entries
from ingest.columns import ROW_MALFORMED
from ingest.limits import ReadLimits
from ingest.prepseudonymised import PrepseudonymisedInvalid, is_prepseudonymised, read_prepseudonymised
from ingest.read import ROW_NUMBER, ExtractRejected, read_extract
from ingest.validate import REASON, RowRules, validate_extract


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
    sender: str | None = None
    """The organisation whose sender folder held the file; None: a file without a verified sender."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data for the operator: unknown headers only as a
        count, since a provider may write anything into a header (they reach only its own
        encrypted package)."""
        document = asdict(self)
        document["unknown_columns"] = len(self.unknown_columns)
        return document


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
    file_name: str | None = None,
    limits: ReadLimits | None = None,
    rules: RowRules | None = None,
    sender: str | None = None,
) -> FileReport:
    """Read, validate and pseudonymise one extract; write its staged parquet files.

    A provider's pre-pseudonymised file (two-stage mode) gets the TTP's stage-2 key instead.
    Returns the file's report, named ``file_name`` (default: the file's name). Plain
    identifiers exist only inside this call: what is written holds pseudonyms, waiting data and
    the birth year. A file that cannot be used gives a rejected report and writes nothing.
    ``sender`` (the organisation of its sender folder) is where its rejected rows go back to.
    """
    name = file_name or path.name
    size = path.stat().st_size
    if is_prepseudonymised(path):
        return _stage_prepseudonymised(path, name, sha256, size, key, staging_dir, sender, rules)
    try:
        raw = read_extract(path, aliases, csv_encoding=csv_encoding, limits=limits)
    except ExtractRejected as rejection:
        return rejected_file(name, sha256, size, rejection.reason, rejection.detail or None, sender)
    unknown_columns, encoding, delimiter = list(raw.unknown_columns), raw.encoding, raw.delimiter
    missing_columns = list(raw.missing_columns)
    try:
        validated = validate_extract(raw.frame, reference_date, rules)
        malformed = pl.DataFrame(
            {ROW_NUMBER: list(raw.malformed_rows), "client_id": None, "agb_code": None, REASON: ROW_MALFORMED},
            schema={ROW_NUMBER: pl.Int64, "client_id": pl.Utf8, "agb_code": pl.Utf8, REASON: pl.Utf8},
        )
        del raw
        entries = pseudonymise_entries(validated.accepted, key)
    except Exception as error:  # a message could quote row content: keep only the type
        return rejected_file(name, sha256, size, "processing_failed", type(error).__name__, sender)
    rejected = pl.concat([validated.rejected, malformed]).sort(ROW_NUMBER)
    return _write_staged(
        name, sha256, size, staging_dir, entries, rejected, sender, key,
        warnings=validated.warnings, unknown_columns=unknown_columns, encoding=encoding, delimiter=delimiter,
        missing_columns=missing_columns, date_formats=validated.date_formats,
    )  # fmt: skip


def rejected_file(
    name: str, sha256: str, size: int, reason: str, detail: str | None, sender: str | None = None
) -> FileReport:
    """Return the report of a file rejected whole."""
    return FileReport(file=name, sha256=sha256, size=size, status="rejected", reason=reason, detail=detail,
                      sender=sender)  # fmt: skip


NOT_THE_SENDERS_CODES: frozenset[str] = frozenset({"agb_code_not_sender", "agb_code_unknown", "agb_code_invalid"})
"""Rows whose agb_code says nothing about whose list the file is."""


def _write_staged(
    file_name: str,
    sha256: str,
    size: int,
    staging_dir: Path,
    entries: pl.DataFrame,
    rejected: pl.DataFrame,
    sender: str | None,
    key: PseudonymKey,
    **details: Any,
) -> FileReport:
    """Write a file's staged entries (with each one's ``entry_key``, made here in the reader's
    process rather than for the whole round at once) and rejected rows (with the sender they go
    back to); return its accepted report."""
    entries = entries.with_columns(
        entry_keys(entries["agb_code"], entries["client_id"], key),
        pl.lit(file_name).alias("source_file"),
        pl.lit(sha256).alias("file_sha256"),
    )
    rejected = rejected.with_columns(
        pl.lit(file_name).alias("source_file"),
        pl.lit(sha256).alias("file_sha256"),
        pl.lit(sender, dtype=pl.Utf8).alias("sender"),
    )
    entries_path, rejected_path = staged_paths(staging_dir, sha256)
    # staging is rebuilt by a rerun after any interruption: no need to wait for the disk
    write_atomic(entries_path, parquet_bytes(entries), durable=False)
    write_atomic(rejected_path, parquet_bytes(rejected), durable=False)
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
        agb_codes=sorted(
            set(entries["agb_code"].to_list())
            | set(rejected.filter(~pl.col(REASON).is_in(NOT_THE_SENDERS_CODES))["agb_code"].drop_nulls().to_list())
        ),
        sender=sender,
        **details,
    )


def apply_code_rules(entries: pl.DataFrame, rules: RowRules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (entries that pass the registry and sender checks, the others as rejected rows
    with their reason): for pre-pseudonymised files, whose rows were validated by the provider."""
    checks = []
    if rules.registered is not None:
        checks.append((~pl.col("agb_code").is_in(list(rules.registered)), "agb_code_unknown"))
    if rules.sender_codes is not None:
        checks.append((~pl.col("agb_code").is_in(list(rules.sender_codes)), "agb_code_not_sender"))
    if rules.registered is not None:
        sectors = pl.col("agb_code").replace_strict(dict(rules.registered), default=None, return_dtype=pl.Utf8)
        checks.append((sectors.is_not_null() & (sectors != pl.col("sector")), "sector_not_registered"))
    reason = pl.lit(None, dtype=pl.Utf8)
    for condition, code in reversed(checks):
        reason = pl.when(condition.fill_null(False)).then(pl.lit(code)).otherwise(reason)
    marked = entries.with_columns(reason.alias(REASON))
    refused = marked.filter(pl.col(REASON).is_not_null()).select(ROW_NUMBER, "client_id", "agb_code", REASON)
    return marked.filter(pl.col(REASON).is_null()).drop(REASON), refused


def _stage_prepseudonymised(
    path: Path,
    name: str,
    sha256: str,
    size: int,
    key: PseudonymKey,
    staging_dir: Path,
    sender: str | None,
    rules: RowRules | None,
) -> FileReport:
    """Apply the TTP's stage-2 key to a provider's pre-pseudonymised file and stage it."""
    try:
        entries, rejected, report = read_prepseudonymised(path, key)
    except PrepseudonymisedInvalid as invalid:
        return rejected_file(name, sha256, size, "prepseudonymised_invalid", str(invalid), sender)
    except Exception as error:  # a message could quote row content: keep only the type
        return rejected_file(name, sha256, size, "processing_failed", type(error).__name__, sender)
    entries, refused = apply_code_rules(entries, rules or RowRules())
    rejected = pl.concat([rejected, refused], how="diagonal_relaxed").sort(ROW_NUMBER)
    return _write_staged(
        name, sha256, size, staging_dir, entries, rejected, sender, key,
        warnings=dict(report.get("warnings", {})), unknown_columns=list(report.get("unknown_columns", [])),
        encoding=str(report.get("encoding", "")), delimiter=str(report.get("delimiter", "")),
        missing_columns=list(report.get("missing_columns", [])), date_formats=dict(report.get("date_formats", {})),
    )  # fmt: skip
