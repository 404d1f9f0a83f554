"""Staging one extract: read, validate, pseudonymise, and keep only pseudonymised data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from hashing.files import parquet_bytes, write_atomic
from hashing.keys import PseudonymKey
from hashing.pseudonyms import entry_keys, pseudonymise_entries
from ingest.columns import ROW_MALFORMED
from ingest.file_report import FileReport, rejected_file
from ingest.limits import ReadLimits
from ingest.prepseudonymised import PrepseudonymisedInvalid, is_prepseudonymised, read_prepseudonymised
from ingest.read import ROW_NUMBER, ExtractRejected, RawExtract, read_extract
from ingest.validate import REASON, RowRules, ValidatedExtract, validate_extract, validate_extracts


def staged_paths(staging_dir: Path, sha256: str) -> tuple[Path, Path]:
    """Return the paths of a file's staged entries and rejected rows."""
    return staging_dir / f"{sha256}.entries.parquet", staging_dir / f"{sha256}.rejected.parquet"


@dataclass(frozen=True)
class StageJob:
    """The arguments of one :func:`stage_extract` call (``path`` and ``sha256`` first, then its
    keywords)."""

    path: Any
    sha256: str
    options: dict[str, Any]

    @property
    def name(self) -> str:
        """Return the name the file's report carries."""
        return str(self.options.get("file_name") or getattr(self.path, "name", self.path))


@dataclass
class _Validated:
    """One extract read and validated, whose accepted rows still hold plain identifiers."""

    name: str
    sha256: str
    size: int
    sender: str | None
    key: PseudonymKey
    staging_dir: Path
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    details: dict[str, Any]


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
    options = {
        "aliases": aliases, "reference_date": reference_date, "key": key, "staging_dir": staging_dir,
        "csv_encoding": csv_encoding, "file_name": file_name, "limits": limits, "rules": rules, "sender": sender,
    }  # fmt: skip
    return stage_extracts([StageJob(path, sha256, options)])[0]


def stage_extracts(jobs: Sequence[StageJob]) -> list[FileReport]:
    """Stage several extracts as :func:`stage_extract` would one by one; return their reports
    in order. Each file is read on its own; then the rows of all files are validated in one
    pass and the accepted rows pseudonymised in one pass (the same results, row for row: every
    check and pseudonym is per row or per value), which for many small files costs a fraction of
    a pass per file. When a pass fails, each file goes through it alone, so that a failure costs
    only its own file."""
    read = [_read(job) for job in jobs]
    pending = [item for item in read if isinstance(item, _Read)]
    validated = {id(item): result for item, result in zip(pending, _validate(pending), strict=True)}
    checked = [item if isinstance(item, FileReport) else validated[id(item)] for item in read]
    accepted = [item for item in checked if isinstance(item, _Validated)]
    staged = {id(item): report for item, report in zip(accepted, _pseudonymise_and_write(accepted), strict=True)}
    return [staged[id(item)] if isinstance(item, _Validated) else item for item in checked]


@dataclass
class _Read:
    """One extract as read, with its job."""

    job: StageJob
    size: int
    raw: RawExtract


def _read(job: StageJob) -> FileReport | _Read:
    """Return the rejected report of a file that cannot be used, the staged report of a
    pre-pseudonymised file, or the file as read."""
    options = job.options
    size = Path(job.path).stat().st_size
    if is_prepseudonymised(job.path):
        return _stage_prepseudonymised(job.path, job.name, job.sha256, size, options["key"], options["staging_dir"],
                                       options.get("sender"), options.get("rules"))  # fmt: skip
    try:
        raw = read_extract(job.path, options["aliases"], csv_encoding=options.get("csv_encoding", "auto"),
                           limits=options.get("limits"))  # fmt: skip
    except ExtractRejected as rejection:
        return rejected_file(job.name, job.sha256, size, rejection.reason, rejection.detail or None,
                             options.get("sender"))  # fmt: skip
    return _Read(job, size, raw)


def _validate(pending: list[_Read]) -> list[FileReport | _Validated]:
    """Validate the rows of ``pending`` files together (per reference date, registry and field
    limits); return each one's validated rows, or its rejected report when it failed alone."""
    groups: list[list[_Read]] = []
    for item in pending:
        for group in groups:
            if _validation_settings(group[0]) == _validation_settings(item):
                group.append(item)
                break
        else:
            groups.append([item])
    results: dict[int, ValidatedExtract] = {}
    for group in groups:
        reference_date = group[0].job.options["reference_date"]
        try:
            together = validate_extracts([item.raw.frame for item in group], reference_date,
                                         [item.job.options.get("rules") or RowRules() for item in group])  # fmt: skip
        except Exception:  # noqa: S112 (each file is tried alone below, which says why it failed)
            continue
        results.update({id(item): validated for item, validated in zip(group, together, strict=True)})
    return [_validated(item, results.get(id(item))) for item in pending]


def _validation_settings(item: _Read) -> tuple[Any, ...]:
    rules = item.job.options.get("rules") or RowRules()
    return item.job.options["reference_date"], rules.registered, rules.field_chars


def _validated(item: _Read, validated: ValidatedExtract | None) -> FileReport | _Validated:
    """Return the file's validated rows with its malformed rows among the rejected ones (its
    rows validated alone when ``validated`` is None), or its rejected report."""
    options, raw = item.job.options, item.raw
    try:
        if validated is None:
            validated = validate_extract(raw.frame, options["reference_date"], options.get("rules"))
        malformed = pl.DataFrame(
            {ROW_NUMBER: list(raw.malformed_rows), "client_id": None, "agb_code": None, REASON: ROW_MALFORMED},
            schema={ROW_NUMBER: pl.Int64, "client_id": pl.Utf8, "agb_code": pl.Utf8, REASON: pl.Utf8},
        )
        rejected = pl.concat([validated.rejected, malformed]).sort(ROW_NUMBER)
    except Exception as error:  # a message could quote row content: keep only the type
        return rejected_file(item.job.name, item.job.sha256, item.size, "processing_failed", type(error).__name__,
                             options.get("sender"))  # fmt: skip
    details: dict[str, Any] = {
        "unknown_columns": list(raw.unknown_columns), "encoding": raw.encoding, "delimiter": raw.delimiter,
        "missing_columns": list(raw.missing_columns), "warnings": validated.warnings,
        "date_formats": validated.date_formats,
    }  # fmt: skip
    return _Validated(item.job.name, item.job.sha256, item.size, options.get("sender"), options["key"],
                      options["staging_dir"], validated.accepted, rejected, details)  # fmt: skip


def _pseudonymised(accepted: pl.DataFrame, key: PseudonymKey) -> pl.DataFrame:
    entries = pseudonymise_entries(accepted, key)
    return entries.with_columns(entry_keys(entries["agb_code"], entries["client_id"], key))


def _pseudonymise_and_write(pending: list[_Validated]) -> list[FileReport]:
    """Pseudonymise the accepted rows of ``pending`` files together (per key and column
    layout), write each file's staged files and return their reports in order."""
    entries: dict[int, pl.DataFrame] = {}
    groups: dict[tuple[Any, ...], list[_Validated]] = {}
    for item in pending:
        groups.setdefault((item.key, tuple(item.accepted.schema.items())), []).append(item)
    for group in groups.values():
        try:
            together = _pseudonymised(pl.concat([item.accepted for item in group]), group[0].key)
        except Exception:  # noqa: S112 (each file is tried alone below, which says why it failed)
            continue
        offset = 0
        for item in group:
            entries[id(item)] = together.slice(offset, item.accepted.height)
            offset += item.accepted.height
    reports = []
    for item in pending:
        if id(item) not in entries:
            try:
                entries[id(item)] = _pseudonymised(item.accepted, item.key)
            except Exception as error:  # a message could quote row content: keep only the type
                reports.append(rejected_file(item.name, item.sha256, item.size, "processing_failed",
                                             type(error).__name__, item.sender))  # fmt: skip
                continue
        item.accepted = item.accepted.clear()  # the plain identifiers are not needed any more
        reports.append(_write_staged(item.name, item.sha256, item.size, item.staging_dir, entries.pop(id(item)),
                                     item.rejected, item.sender, **item.details))  # fmt: skip
    return reports


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
    **details: Any,
) -> FileReport:
    """Write a file's staged entries (which carry each one's ``entry_key``, made in the reader's
    process rather than for the whole round at once) and rejected rows (with the sender they go
    back to); return its accepted report."""
    entries = entries.with_columns(
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
    entries = entries.with_columns(entry_keys(entries["agb_code"], entries["client_id"], key))
    return _write_staged(
        name, sha256, size, staging_dir, entries, rejected, sender,
        warnings=dict(report.get("warnings", {})), unknown_columns=list(report.get("unknown_columns", [])),
        encoding=str(report.get("encoding", "")), delimiter=str(report.get("delimiter", "")),
        missing_columns=list(report.get("missing_columns", [])), date_formats=dict(report.get("date_formats", {})),
    )  # fmt: skip
