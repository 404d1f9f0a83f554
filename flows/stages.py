"""The stages of a cleanup round as plain functions over a :class:`RoundContext`.

:mod:`flows.round_run` wires them in order once; the Prefect flow (:mod:`flows.cleanup_round`)
wraps each in a thin task, and the in-process run, the benchmarks and the evaluation call them
directly. Stages that touch person-level data take and return paths and counts, never frames.
"""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from flows import progress
from flows.resume import fault_point
from flows.round_context import RoundContext
from hashing.files import parquet_bytes, write_atomic, write_json_atomic
from hashing.keys import PseudonymKey
from ingest.feedback import (
    OUTCOMES,
    FeedbackReport,
    feedback_report,
    load_feedback,
    stage_feedback,
    staged_feedback_path,
)
from ingest.file_report import FileReport, rejected_file
from ingest.inventory import InputFile, expired_inputs, inventory
from ingest.read import file_sha256
from ingest.registry import UnknownSender, rules_for_sender
from ingest.stage import StageJob, stage_extracts, staged_paths
from ingest.worker import IsolatedStager, WorkerLimits, pooled_worker
from linkage.history import compare_with_history
from linkage.parameters import LinkageParameters, LinkageReport
from linkage.store import entry_warnings, link_round, open_store, round_totals
from reports.archive import archive_inputs
from reports.files import AuditLog, build_manifest, csv_bytes
from reports.insurers import write_insurer_outputs
from reports.ledger import read_ledger
from reports.operator_page import summary_html
from reports.package_delivery import DeliveryResult, deliver_packages
from reports.packages import signing_key
from reports.providers import QUALITY_REPORT, provider_packages
from reports.quality import months_before, operator_quality, quality_table, rejected_rows, unrouted_extract_rows
from reports.summary import RunSummary

STAGE_READ = "reading + pseudonymising files"
STAGE_LINK = "linking"
STAGE_INSURERS = "writing insurer reports"
STAGE_DELIVER = "encrypting provider packages"
STAGE_SUMMARY = "writing summary"

MAX_FILES_PER_BATCH = 50
"""Files staged by one batch (one Prefect task): a task run costs Prefect some tens of
milliseconds, about twice what reading a small provider file costs, so a national round of
2,000 files goes in batches."""

SMALL_FILE_BYTES = 1 << 20
"""Files up to this size are staged together with their neighbours: read one by one, then
validated in one pass and pseudonymised in one pass (a small file then costs about 9 ms instead
of 33 ms, measured in one process)."""
FILES_STAGED_TOGETHER = 32
BYTES_STAGED_TOGETHER = 8 << 20
"""At most this many files and bytes are staged together: a worker killed by one of them
stages the others again one by one, so a group bounds what one hostile file costs."""

FEEDBACK_ROWS = "feedback_rows.parquet"
"""Every row of the round's accepted feedback files with its ``reden`` (null: processed)."""
FEEDBACK_ROW_COLUMNS = ("source_row", "client_id", "agb_code", "reden", "source_file", "file_sha256", "sender")


def list_inputs(context: RoundContext) -> list[InputFile]:
    """Return the round's input files with their hashes."""
    return inventory(context.input_dir)


def batches(inputs: list[InputFile], workers: int) -> list[list[InputFile]]:
    """Return ``inputs`` in consecutive batches: about eight per worker, at most
    :data:`MAX_FILES_PER_BATCH` files each, so that every worker stays busy to the end."""
    size = max(1, min(MAX_FILES_PER_BATCH, -(-len(inputs) // (8 * max(1, workers)))))
    return [inputs[i : i + size] for i in range(0, len(inputs), size)]


def stage_job(input_file: InputFile, context: RoundContext, key: PseudonymKey) -> StageJob | FileReport:
    """Return the staging job of one input file, or its rejected report when its sender is
    unknown or it repeats another file."""
    settings = context.settings
    name = input_file.name or input_file.path.name
    # the sender is checked first: a file rejected whole goes back to its sender, which must exist
    try:
        rules = rules_for_sender(input_file.folder, input_file.sender, context.registry(),
                                 context.locations(), settings.limits.field_chars)  # fmt: skip
    except UnknownSender as refusal:
        return rejected_file(name, input_file.sha256, input_file.size, "unknown_sender", str(refusal))
    if input_file.duplicate_of is not None:
        return rejected_file(name, input_file.sha256, input_file.size, "duplicate_content",
                             f"same content as {input_file.duplicate_of}", input_file.sender)  # fmt: skip
    options: dict[str, Any] = {
        "aliases": settings.merged_aliases(), "reference_date": context.reference_date, "key": key,
        "staging_dir": context.staging_dir, "csv_encoding": settings.csv_encoding, "file_name": name,
        "limits": settings.limits.read_limits(), "rules": rules, "sender": input_file.sender,
    }  # fmt: skip
    return StageJob(input_file.path, input_file.sha256, options)


def reading_workers(context: RoundContext) -> int:
    """Return how many batches of files the settings read at once."""
    runner = context.settings.runner
    return max(1, runner.dask_workers if runner.kind == "dask" else runner.threads)


def small_file_groups(inputs: list[InputFile]) -> list[list[InputFile]]:
    """Return ``inputs`` in order, in groups that a reader stages together: consecutive files
    of at most :data:`SMALL_FILE_BYTES` each, up to :data:`FILES_STAGED_TOGETHER` files and
    :data:`BYTES_STAGED_TOGETHER` bytes a group; a larger file is a group of its own."""
    groups: list[list[InputFile]] = []
    current: list[InputFile] = []
    current_bytes = 0
    for input_file in inputs:
        small = input_file.size <= SMALL_FILE_BYTES
        if current and (not small or len(current) >= FILES_STAGED_TOGETHER
                        or current_bytes + input_file.size > BYTES_STAGED_TOGETHER):  # fmt: skip
            groups.append(current)
            current, current_bytes = [], 0
        current.append(input_file)
        current_bytes += input_file.size
        if not small:
            groups.append(current)
            current, current_bytes = [], 0
    return [*groups, current] if current else groups


def stage_files(input_files: list[InputFile], context: RoundContext) -> list[FileReport]:
    """Read, validate and pseudonymise a batch of files, each in a worker process with a memory
    limit unless the settings say otherwise, small files together (see
    :func:`small_file_groups`); return their reports (counts only), in order. The cores are
    shared among the readers: a reader of mostly small files spends more on starting polars'
    threads than it gains from them."""
    limits = context.settings.limits
    reports: list[FileReport] = []
    threads = max(1, (os.cpu_count() or 1) // reading_workers(context))
    isolated = pooled_worker(WorkerLimits(limits.reader_memory_mb, limits.reader_seconds_per_file, threads))
    with isolated if limits.isolate_readers else nullcontext() as stager:
        for group in small_file_groups(input_files):
            prepared = [stage_job(input_file, context, context.key()) for input_file in group]
            staged = iter(_stage_together([job for job in prepared if isinstance(job, StageJob)], stager))
            for job in prepared:
                reports.append(next(staged) if isinstance(job, StageJob) else job)
                progress.advance(STAGE_READ)
    return reports


def _stage_together(jobs: list[StageJob], stager: IsolatedStager | None) -> list[FileReport]:
    if not jobs:
        return []
    return stager.stage_together(jobs) if stager is not None else stage_extracts(jobs)


def stage_feedback_file(feedback_file: InputFile, context: RoundContext) -> FeedbackReport:
    """Read, validate and key one provider feedback file, bound to its sender folder's
    organisation when it has one; return its report (counts only)."""
    settings = context.settings
    sha256 = file_sha256(feedback_file.path)
    try:
        rules = rules_for_sender(feedback_file.folder, feedback_file.sender, context.registry(),
                                 context.locations(), settings.limits.field_chars)  # fmt: skip
    except UnknownSender as refusal:
        return FeedbackReport(file=feedback_file.name, sha256=sha256, status="rejected", reason="unknown_sender",
                              detail=str(refusal))  # fmt: skip
    return stage_feedback(feedback_file.path, sha256, key=context.key(), staging_dir=context.staging_dir,
                          csv_encoding=settings.csv_encoding, file_name=feedback_file.name,
                          sender=feedback_file.sender, sender_codes=rules.sender_codes)  # fmt: skip


@dataclass(frozen=True)
class LinkOutcome:
    """What linking a round produced (counts only): the round's totals, the probabilistic
    stage's report and the comparison with the previous round with the feedback accounting."""

    totals: dict[str, int]
    linkage: LinkageReport
    history: dict[str, Any]


def link_entries(context: RoundContext, reports: list[FileReport], feedback: list[FeedbackReport]) -> LinkOutcome:
    """Load the staged entries into the round's DuckDB store, link them, compare the round with
    the previous one in the history store and record it there; return the outcome."""
    settings = context.settings
    staged = [staged_paths(context.staging_dir, r.sha256)[0] for r in reports if r.status == "accepted"]
    accepted_feedback = [r for r in feedback if r.status == "accepted"]
    entries = sum(r.rows_accepted for r in reports if r.status == "accepted")
    with open_store(context.store_path, settings.store.resources(entries)) as con:
        linkage = link_round(con, staged, match_scope=settings.match_scope, norm_days=settings.norm_days(),
                             locations=context.locations(), reference_date=context.reference_date,
                             parameters=LinkageParameters(**settings.linkage.model_dump()))  # fmt: skip
        staged_feedback = [staged_feedback_path(context.staging_dir, r.sha256) for r in accepted_feedback]
        comparison = compare_with_history(con, context.work_dir / "history.duckdb", round_id=context.round_id,
                                          reference_date=context.reference_date, key=context.key(),
                                          outcomes=OUTCOMES, feedback=load_feedback(staged_feedback))  # fmt: skip
        totals = round_totals(con)
    rows = comparison.feedback_rows
    write_atomic(context.staging_dir / FEEDBACK_ROWS, parquet_bytes(rows.select(FEEDBACK_ROW_COLUMNS)))
    details = [
        feedback_report(r.file, r.sha256, rows.filter(pl.col("file_sha256") == r.sha256), r.sender)
        for r in accepted_feedback
    ] + [r for r in feedback if r.status != "accepted"]
    history = {**comparison.counts(), "feedback_files": [d.to_dict() for d in sorted(details, key=lambda d: d.file)]}
    return LinkOutcome(totals, linkage, history)


def write_insurer_reports(context: RoundContext, previous_round: str | None = None) -> dict[str, Any]:
    """Write the suppressed insurer tables; return what protecting them took (counts and the
    cells the previous release pins, no values: see :func:`reports.ledger.protection_summary`)."""
    settings = context.settings
    registry = context.registry()
    with open_store(context.store_path, settings.store.resources()) as con:
        written = write_insurer_outputs(
            con, context.round_dir / "insurers", settings.disclosure_threshold, context.round_id,
            reference_date=context.reference_date.isoformat(), norms_weeks=settings.norms_weeks,
            rounding_base=settings.rounding_base, ledger_path=context.work_dir / "release_ledger.jsonl",
            previous_round=previous_round, provider_names=registry.names() if registry is not None else None,
            insurer_names=settings.reports.insurer_names, categories_per_sector=settings.reports.categories_per_sector,
            category_min_providers=settings.reports.category_min_providers,
        )  # fmt: skip
    audit = AuditLog(context.audit_path)
    for file in written:
        audit.append("file_produced", object=file.path.relative_to(context.round_dir).as_posix(),
                     sha256=file.sha256, recipient="insurers", round=context.round_id)  # fmt: skip
    releases = [e for e in read_ledger(context.work_dir / "release_ledger.jsonl") if e["round"] == context.round_id]
    return dict(releases[-1].get("protection", {})) if releases else {}


def other_provider_names(context: RoundContext) -> dict[str, str] | None:
    """Return the names (registry over configuration) to name other providers by on contact
    lists, or None unless ``name_other_providers`` is set."""
    settings = context.settings
    if not settings.name_other_providers:
        return None
    registry = context.registry()
    configured = {code: provider.name for code, provider in settings.providers.items() if provider.name}
    return {**configured, **(registry.names() if registry is not None else {})}


def deliver_provider_files(
    context: RoundContext, reports: list[FileReport], feedback: list[FeedbackReport]
) -> tuple[DeliveryResult, int]:
    """Encrypt and write each provider's files; return deliveries and unrouted rejections."""
    settings = context.settings
    extract_rejections = [
        pl.read_parquet(staged_paths(context.staging_dir, r.sha256)[1]) for r in reports if r.status == "accepted"
    ]
    feedback_path = context.staging_dir / FEEDBACK_ROWS
    feedback_rows = pl.read_parquet(feedback_path) if feedback_path.is_file() else None
    rejected = rejected_rows(extract_rejections, feedback_rows, reports, feedback)
    locations = context.locations()
    with open_store(context.store_path, settings.store.resources()) as con:
        quality = quality_table(con, reports, rejected, locations, context.reference_date, settings.stale_after_months,
                                feedback_rows, feedback)  # fmt: skip
        warnings = entry_warnings(con, months_before(context.reference_date, settings.stale_after_months))
        packages = provider_packages(con, rejected, locations, context.round_id, quality, warnings,
                                     other_provider_names(context))  # fmt: skip
    write_atomic(context.round_dir / QUALITY_REPORT, csv_bytes(operator_quality(quality)))
    result = deliver_packages(
        packages.providers, packages.files_of, context.round_dir / "providers", settings.paths.recipients,
        context.round_id, AuditLog(context.audit_path), on_provider_done=_provider_done,
        receipts_path=context.work_dir / context.round_id / "deliveries.jsonl", signer=signing_key(context.key()),
    )  # fmt: skip
    return result, unrouted_extract_rows(rejected, locations)


def _provider_done(_: str) -> None:
    progress.advance(STAGE_DELIVER)
    fault_point("delivery")


def write_summary_files(context: RoundContext, summary: RunSummary) -> None:
    """Write ``run_summary.json``, ``run_summary.html`` and ``manifest.json``."""
    document = summary.document()
    write_json_atomic(context.round_dir / "run_summary.json", document)
    write_atomic(context.round_dir / "run_summary.html", summary_html(document))
    write_json_atomic(context.round_dir / "manifest.json", build_manifest(context.round_dir))


def archive_and_remove_inputs(context: RoundContext, inputs: list[InputFile]) -> tuple[int, list[str]]:
    """After a successful round: encrypt the raw extracts into the archive when one is
    configured, then delete those past the retention period. Returns (archived, removed names);
    each step is in the audit log with the file's hash."""
    paths = context.settings.paths
    audit = AuditLog(context.audit_path)
    archived = 0
    if paths.input_archive is not None and paths.archive_public_key is not None:
        archived = len(archive_inputs(inputs, paths.input_archive, paths.archive_public_key, context.round_id, audit))
    retention = context.settings.input_retention_days
    if retention is None:
        return archived, []
    removed = []
    for item in expired_inputs(inputs, retention, time.time()):
        item.path.unlink(missing_ok=True)
        audit.append("input_deleted", object=item.path.name, sha256=item.sha256, round=context.round_id,
                     retention_days=retention)  # fmt: skip
        removed.append(item.path.name)
    return archived, removed


def linkage_summary(linkage: LinkageReport) -> dict[str, Any]:
    """Return the linkage report as the run summary holds it."""
    return asdict(linkage)
