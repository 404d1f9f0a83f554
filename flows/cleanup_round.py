"""The ``cleanup_round`` Prefect flow: it only wires the core functions into tasks.

Tasks that touch person-level data take paths, never frames, and persist no result.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import progress
from flows.resume import fault_point, remove_partial_files, round_lock, was_interrupted
from flows.round_context import RoundContext, RoundFailed
from flows.settings import RunnerSettings, Settings, load_settings
from hashing.files import parquet_bytes, sha256_bytes, write_atomic, write_json_atomic
from hashing.keys import PseudonymKey, load_key
from ingest.feedback import (
    OUTCOMES,
    FeedbackReport,
    feedback_files,
    feedback_report,
    load_feedback,
    stage_feedback,
    staged_feedback_path,
)
from ingest.inventory import InputFile, expired_inputs, inventory
from ingest.read import file_sha256
from ingest.registry import UnknownSender, rules_for_sender
from ingest.stage import FileReport, rejected_file, stage_extract, staged_paths, supersede_earlier_deliveries
from ingest.worker import IsolatedStager, StageJob, WorkerLimits, pooled_worker, stop_workers
from linkage.history import compare_with_history
from linkage.parameters import LinkageParameters
from linkage.store import entry_warnings, link_round, open_store, round_totals
from reports.archive import archive_inputs
from reports.files import AuditLog, build_manifest, csv_bytes
from reports.insurers import write_insurer_outputs
from reports.ledger import read_ledger
from reports.operator_page import summary_html
from reports.packages import signing_key
from reports.providers import QUALITY_REPORT, DeliveryResult, deliver_packages, provider_packages
from reports.quality import months_before, operator_quality, quality_table, rejected_rows, unrouted_extract_rows

STAGE_READ = "reading + pseudonymising files"
STAGE_LINK = "linking"
STAGE_INSURERS = "writing insurer reports"
STAGE_DELIVER = "encrypting provider packages"
STAGE_SUMMARY = "writing summary"


@task(retries=2, retry_delay_seconds=1, persist_result=False, cache_policy=NO_CACHE)
def list_inputs(input_dir: str) -> list[InputFile]:
    """Return the round's input files with their hashes."""
    return inventory(Path(input_dir))


MAX_FILES_PER_TASK = 50
"""Files staged by one task: a task run costs Prefect some tens of milliseconds, about twice what
reading a small provider file costs, so a national round of 2,000 files goes in batches."""


def batches(inputs: list[InputFile], workers: int) -> list[list[InputFile]]:
    """Return ``inputs`` in consecutive batches: about eight per worker, at most
    :data:`MAX_FILES_PER_TASK` files each, so that every worker stays busy to the end."""
    size = max(1, min(MAX_FILES_PER_TASK, -(-len(inputs) // (8 * max(1, workers)))))
    return [inputs[i : i + size] for i in range(0, len(inputs), size)]


def stage_input_file(
    input_file: InputFile,
    context: RoundContext,
    settings: Settings,
    key: PseudonymKey,
    stager: IsolatedStager | None = None,
) -> FileReport:
    """Read, validate and pseudonymise one file, in ``stager``'s worker process when given;
    return its report (counts only)."""
    name = input_file.name or input_file.path.name
    # the sender is checked first: a file rejected whole goes back to its sender, which must exist
    try:
        rules = rules_for_sender(input_file.folder, input_file.sender, context.registry(),
                                 context.locations(settings), settings.limits.field_chars)  # fmt: skip
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
    if stager is None:
        return stage_extract(input_file.path, input_file.sha256, **options)
    return stager.stage(StageJob(input_file.path, input_file.sha256, options))


@task(retries=1, retry_delay_seconds=1, persist_result=False, cache_policy=NO_CACHE)
def stage_files(input_files: list[InputFile], context: RoundContext) -> list[FileReport]:
    """Read, validate and pseudonymise a batch of files, each in a worker process with a memory
    limit unless the settings say otherwise; return their reports (counts only)."""
    settings, key = context.settings(), load_key(context.key_file)
    limits = WorkerLimits(settings.limits.reader_memory_mb, settings.limits.reader_seconds_per_file)
    reports = []
    with pooled_worker(limits) if settings.limits.isolate_readers else nullcontext() as stager:
        for input_file in input_files:
            reports.append(stage_input_file(input_file, context, settings, key, stager))
            progress.advance(STAGE_READ)
    return reports


@task(retries=1, retry_delay_seconds=1, persist_result=False, cache_policy=NO_CACHE)
def stage_feedback_file(feedback_file: InputFile, context: RoundContext) -> FeedbackReport:
    """Read, validate and key one provider feedback file, bound to its sender folder's
    organisation when it has one; return its report (counts only)."""
    settings = context.settings()
    sha256 = file_sha256(feedback_file.path)
    try:
        rules = rules_for_sender(feedback_file.folder, feedback_file.sender, context.registry(),
                                 context.locations(settings), settings.limits.field_chars)  # fmt: skip
    except UnknownSender as refusal:
        return FeedbackReport(file=feedback_file.name, sha256=sha256, status="rejected", reason="unknown_sender",
                              detail=str(refusal))  # fmt: skip
    return stage_feedback(
        feedback_file.path,
        sha256,
        key=load_key(context.key_file),
        staging_dir=context.staging_dir,
        csv_encoding=settings.csv_encoding,
        file_name=feedback_file.name,
        sender=feedback_file.sender,
        sender_codes=rules.sender_codes,
    )


FEEDBACK_ROWS = "feedback_rows.parquet"
"""Every row of the round's accepted feedback files with its ``reden`` (null: processed)."""
FEEDBACK_ROW_COLUMNS = ("source_row", "client_id", "agb_code", "reden", "source_file", "file_sha256", "sender")


@task(persist_result=False, cache_policy=NO_CACHE)
def link_entries(
    context: RoundContext, reports: list[FileReport], feedback: list[FeedbackReport]
) -> tuple[dict[str, int], dict[str, Any], dict[str, Any]]:
    """Load the staged entries into the round's DuckDB store, link them, compare the round with
    the previous one in the history store and record it there. Returns totals, the
    probabilistic stage's report and the comparison with the feedback accounting (counts only)."""
    settings = context.settings()
    staged = [staged_paths(context.staging_dir, r.sha256)[0] for r in reports if r.status == "accepted"]
    accepted_feedback = [r for r in feedback if r.status == "accepted"]
    with open_store(context.store_path, settings.store.resources()) as con:
        linkage = link_round(
            con,
            staged,
            match_scope=settings.match_scope,
            norm_days=settings.norm_days(),
            locations=context.locations(settings),
            reference_date=context.reference_date,
            parameters=LinkageParameters(**settings.linkage.model_dump()),
        )
        comparison = compare_with_history(
            con,
            context.work_dir / "history.duckdb",
            round_id=context.round_id,
            reference_date=context.reference_date,
            key=load_key(context.key_file),
            outcomes=OUTCOMES,
            feedback=load_feedback(
                [staged_feedback_path(context.staging_dir, r.sha256) for r in accepted_feedback]
            ),
        )
        totals = round_totals(con)
    rows = comparison.feedback_rows
    write_atomic(
        context.staging_dir / FEEDBACK_ROWS,
        parquet_bytes(rows.select(FEEDBACK_ROW_COLUMNS)),
    )
    details = [
        feedback_report(r.file, r.sha256, rows.filter(pl.col("file_sha256") == r.sha256), r.sender)
        for r in accepted_feedback
    ] + [r for r in feedback if r.status != "accepted"]
    history = {**comparison.counts(), "feedback_files": [d.to_dict() for d in sorted(details, key=lambda d: d.file)]}
    return totals, asdict(linkage), history


@task(retries=2, retry_delay_seconds=1, persist_result=False, cache_policy=NO_CACHE)
def write_insurer_reports(context: RoundContext, previous_round: str | None = None) -> dict[str, Any]:
    """Write the suppressed insurer tables; return what protecting them took (counts and the
    cells the previous release pins, no values: see :func:`reports.ledger.protection_summary`)."""
    settings = context.settings()
    with open_store(context.store_path, settings.store.resources()) as con:
        written = write_insurer_outputs(
            con,
            context.round_dir / "insurers",
            settings.disclosure_threshold,
            context.round_id,
            reference_date=context.reference_date.isoformat(),
            norms_weeks=settings.norms_weeks,
            rounding_base=settings.rounding_base,
            ledger_path=context.work_dir / "release_ledger.jsonl",
            previous_round=previous_round,
            provider_names=registry.names() if (registry := context.registry()) is not None else None,
            insurer_names=settings.reports.insurer_names,
            categories_per_sector=settings.reports.categories_per_sector,
            category_min_providers=settings.reports.category_min_providers,
        )
    audit = AuditLog(context.audit_path)
    for path in written:
        audit.append(
            "file_produced",
            object=path.relative_to(context.round_dir).as_posix(),
            sha256=sha256_bytes(path.read_bytes()),
            recipient="insurers",
            round=context.round_id,
        )
    releases = [e for e in read_ledger(context.work_dir / "release_ledger.jsonl") if e["round"] == context.round_id]
    return dict(releases[-1].get("protection", {})) if releases else {}


def other_provider_names(context: RoundContext, settings: Settings) -> dict[str, str] | None:
    """Return the names (registry over configuration) to name other providers by on contact
    lists, or None unless ``name_other_providers`` is set."""
    if not settings.name_other_providers:
        return None
    registry = context.registry()
    configured = {code: provider.name for code, provider in settings.providers.items() if provider.name}
    return {**configured, **(registry.names() if registry is not None else {})}


@task(retries=2, retry_delay_seconds=1, persist_result=False, cache_policy=NO_CACHE)
def deliver_provider_files(
    context: RoundContext, reports: list[FileReport], feedback: list[FeedbackReport]
) -> tuple[DeliveryResult, int]:
    """Encrypt and write each provider's files; return deliveries and unrouted rejections."""
    settings = context.settings()
    extract_rejections = [
        pl.read_parquet(staged_paths(context.staging_dir, r.sha256)[1]) for r in reports if r.status == "accepted"
    ]
    feedback_path = context.staging_dir / FEEDBACK_ROWS
    feedback_rows = pl.read_parquet(feedback_path) if feedback_path.is_file() else None
    rejected = rejected_rows(extract_rejections, feedback_rows, reports, feedback)
    locations = context.locations(settings)
    with open_store(context.store_path, settings.store.resources()) as con:
        quality = quality_table(con, reports, rejected, locations, context.reference_date, settings.stale_after_months,
                                feedback_rows, feedback)  # fmt: skip
        warnings = entry_warnings(con, months_before(context.reference_date, settings.stale_after_months))
        packages = provider_packages(con, rejected, locations, context.round_id, quality, warnings,
                                     other_provider_names(context, settings))  # fmt: skip
    write_atomic(context.round_dir / QUALITY_REPORT, csv_bytes(operator_quality(quality)))
    result = deliver_packages(
        packages,
        context.round_dir / "providers",
        settings.paths.recipients,
        context.round_id,
        AuditLog(context.audit_path),
        on_provider_done=_provider_done,
        receipts_path=context.work_dir / context.round_id / "deliveries.jsonl",
        signer=signing_key(load_key(context.key_file)),
    )
    return result, unrouted_extract_rows(rejected, locations)


def _provider_done(_: str) -> None:
    progress.advance(STAGE_DELIVER)
    fault_point("delivery")


@task(persist_result=False, cache_policy=NO_CACHE)
def write_summary(context: RoundContext, summary: dict[str, Any]) -> None:
    """Write ``run_summary.json`` and ``manifest.json`` and publish totals as artifacts."""
    write_json_atomic(context.round_dir / "run_summary.json", summary)
    write_atomic(context.round_dir / "run_summary.html", summary_html(summary))
    write_json_atomic(context.round_dir / "manifest.json", build_manifest(context.round_dir))
    totals = {
        "bestanden ontvangen": summary["files"]["received"],
        "bestanden afgewezen": summary["files"]["rejected"],
        "rijen ontvangen": summary["rows"]["received"],
        "rijen afgewezen": summary["rows"]["rejected"],
        "wachtenden": summary["entries"],
        "personen": summary["persons"],
        "dubbel wachtenden": summary["double_waiters"],
        "interne dubbelingen": summary["internal_duplicates"],
        "aanbieders": summary["providers"],
        "niet geleverd": len(summary["undelivered"]),
    }
    create_table_artifact(
        key="round-totals",
        table=[{"totaal": k, "aantal": v} for k, v in totals.items()],
        description=f"Totals of round {context.round_id}",
    )
    lines = "\n".join(f"| {k} | {v} |" for k, v in totals.items())
    create_markdown_artifact(
        key="round-summary",
        markdown=(
            f"# Round {context.round_id}\n\n| | |\n|---|---|\n{lines}\n\n"
            f"Operator view: [run_summary.html](file://{(context.round_dir / 'run_summary.html').resolve()})\n"
        ),
        description="Totals only; no person-level data",
    )


ROUND_TASK_RUNNER: Any = ThreadPoolTaskRunner(max_workers=2)


def task_runner_for(runner: RunnerSettings) -> Any:
    """Return the task runner of the settings: a thread pool on this machine, or prefect-dask's
    DaskTaskRunner on the Dask cluster at ``dask_address`` (a local cluster without one)."""
    if runner.kind == "threads":
        return ThreadPoolTaskRunner(max_workers=runner.threads)
    from prefect_dask import DaskTaskRunner

    if runner.dask_address:
        return DaskTaskRunner(address=runner.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": runner.dask_workers, "threads_per_worker": 1,
                                          "dashboard_address": None})  # fmt: skip


@task(retries=2, retry_delay_seconds=1, persist_result=False, cache_policy=NO_CACHE)
def archive_and_remove_inputs(context: RoundContext, inputs: list[InputFile]) -> tuple[int, list[str]]:
    """After a successful round: encrypt the raw extracts into the archive when one is
    configured, then delete those past the retention period. Returns (archived, removed names);
    each step is in the audit log with the file's hash."""
    settings = context.settings()
    audit = AuditLog(context.audit_path)
    archived = 0
    if settings.paths.input_archive is not None and settings.paths.archive_public_key is not None:
        archived = len(archive_inputs(inputs, settings.paths.input_archive, settings.paths.archive_public_key,
                                      context.round_id, audit))  # fmt: skip
    retention = settings.input_retention_days
    if retention is None:
        return archived, []
    removed = []
    for item in expired_inputs(inputs, retention, time.time()):
        item.path.unlink(missing_ok=True)
        audit.append("input_deleted", object=item.path.name, sha256=item.sha256, round=context.round_id,
                     retention_days=retention)  # fmt: skip
        removed.append(item.path.name)
    return archived, removed


def run_locked_round(context: RoundContext, started: float) -> dict[str, Any]:
    """Run the stages of a round whose lock is held; return its summary. Called by the flow."""
    logger = get_run_logger()
    round_id = context.round_id
    key_id = load_key(context.key_file).key_id
    audit = AuditLog(context.audit_path)
    audit.append("round_started", round=round_id, key_id=key_id, reference_date=context.reference_date.isoformat())
    inputs = list_inputs(str(context.input_dir))
    for item in inputs:
        audit.append("file_received", object=item.name, sha256=item.sha256, size=item.size, round=round_id,
                     sender=item.sender)  # fmt: skip
    timings: dict[str, float] = {}
    written: dict[str, int] = {}
    settings = context.settings()
    feedback_inputs = feedback_files(context.input_dir)
    with progress.stage(STAGE_READ, total=len(inputs), timings=timings, written=written):
        workers = settings.runner.dask_workers if settings.runner.kind == "dask" else settings.runner.threads
        staged = stage_files.map(batches(inputs, workers), context=context).result()
        reports = [report for batch in staged for report in batch]
        feedback = [stage_feedback_file(item, context) for item in feedback_inputs]
    for received in feedback:
        audit.append(
            "feedback_received", object=received.file, sha256=received.sha256, round=round_id, status=received.status
        )
    fault_point("staging")
    if settings.replace_earlier_deliveries:
        modified = {item.name: item.path.stat().st_mtime for item in inputs}
        reports = supersede_earlier_deliveries(reports, modified, context.locations(settings))
    for report in reports:
        if report.status == "rejected":
            audit.append(
                "file_rejected", object=report.file, sha256=report.sha256, reason=report.reason, round=round_id
            )
            logger.warning("file %s rejected: %s", report.file, report.reason)
    if not any(r.status == "accepted" for r in reports):
        raise RoundFailed("no usable input file in this round; see the rejected files in the log")
    with progress.stage(STAGE_LINK, timings=timings, written=written):
        totals, linkage, history = link_entries(context, reports, feedback)
    fault_point("linking")
    with progress.stage(STAGE_INSURERS, timings=timings, written=written):
        disclosure = write_insurer_reports(context, history["previous_round"])
    fault_point("insurer_reports")
    with progress.stage(STAGE_DELIVER, total=totals["providers"], timings=timings, written=written):
        delivery, unrouted = deliver_provider_files(context, reports, feedback)
    fault_point("summary")
    with progress.stage(STAGE_SUMMARY):
        summary = context.summary(
            reports, totals, linkage, delivery, unrouted, linkage["key_id"], time.perf_counter() - started, timings
        )
        summary["history"] = history
        summary["disclosure"] = disclosure
        summary["stage_bytes_written"] = written
        write_summary(context, summary)
    audit.append("round_completed", round=round_id, entries=totals["entries"], duration_s=summary["duration_s"])
    archived, removed = archive_and_remove_inputs(context, inputs)
    if archived or removed:
        logger.info("archived %d and removed %d raw extracts", archived, len(removed))
    logger.info("round %s: %d entries, %d double waiters", round_id, totals["entries"], totals["double_waiters"])
    return summary


@flow(name="cleanup_round", task_runner=ROUND_TASK_RUNNER, persist_result=False)
def cleanup_round(
    input_dir: str,
    output_dir: str,
    round_id: str,
    key_file: str | None,
    config_file: str | None = None,
    reference_date: str | None = None,
    registry_file: str | None = None,
) -> dict[str, Any]:
    """Run one cleanup round and return its summary (totals only)."""
    started = time.perf_counter()
    context = RoundContext.create(
        input_dir=Path(input_dir),
        output_dir=Path(output_dir),
        round_id=round_id,
        key_file=Path(key_file) if key_file else None,
        config_file=Path(config_file) if config_file else None,
        reference_date=dt.date.fromisoformat(reference_date) if reference_date else None,
        registry_file=Path(registry_file) if registry_file else None,
    )
    with round_lock(context.work_dir / round_id / "round.lock"):
        audit = AuditLog(context.audit_path)
        if was_interrupted(context.audit_path, round_id):
            leftovers = remove_partial_files(context.round_dir, context.staging_dir)
            audit.append("round_interrupted", object=round_id, round=round_id, partial_files_removed=leftovers)
        try:
            return run_locked_round(context, started)
        except Exception as error:
            audit.append("round_failed", object=round_id, round=round_id, error=type(error).__name__)
            raise
        finally:
            stop_workers()


def cleanup_round_with_runner(config_file: Path | None) -> Any:
    """Return the ``cleanup_round`` flow with the task runner its settings choose."""
    return cleanup_round.with_options(task_runner=task_runner_for(load_settings(config_file).runner))
