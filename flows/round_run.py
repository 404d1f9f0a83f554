"""The one wiring of a cleanup round: its stages in order, run directly or as Prefect tasks.

:func:`run_round` holds the round's lock, records an interruption and a failure in the audit
log, and runs the stages of :mod:`flows.stages` through a :class:`RoundSteps`: the plain
functions (:data:`DIRECT_STEPS`, in this process) or the Prefect tasks of
:mod:`flows.cleanup_round`. The CLI, the flow, the benchmarks and the evaluation all come here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from flows import progress, stages
from flows.resume import fault_point, remove_partial_files, round_lock, was_interrupted
from flows.round_context import RoundContext, RoundFailed
from ingest.feedback import FeedbackReport, feedback_files
from ingest.file_report import FileReport, supersede_earlier_deliveries
from ingest.inventory import InputFile
from ingest.worker import stop_workers
from reports.files import AuditLog
from reports.package_delivery import DeliveryResult
from reports.summary import RunSummary


class RoundLogger(Protocol):
    """What the wiring logs through: a standard logger or Prefect's run logger."""

    def info(self, msg: str, *args: Any) -> None: ...

    def warning(self, msg: str, *args: Any) -> None: ...


@dataclass(frozen=True)
class RoundSteps:
    """How each stage of :mod:`flows.stages` runs: the function itself or a task around it."""

    list_inputs: Callable[[RoundContext], list[InputFile]]
    stage_batches: Callable[[list[list[InputFile]], RoundContext], list[list[FileReport]]]
    stage_feedback_file: Callable[[InputFile, RoundContext], FeedbackReport]
    link_entries: Callable[[RoundContext, list[FileReport], list[FeedbackReport]], stages.LinkOutcome]
    write_insurer_reports: Callable[[RoundContext, str | None], dict[str, Any]]
    deliver_provider_files: Callable[[RoundContext, list[FileReport], list[FeedbackReport]], tuple[DeliveryResult, int]]
    write_summary: Callable[[RoundContext, RunSummary], None]
    archive_and_remove_inputs: Callable[[RoundContext, list[InputFile]], tuple[int, list[str]]]
    logger: Callable[[], RoundLogger]


def stage_batches_in_threads(batches: list[list[InputFile]], context: RoundContext) -> list[list[FileReport]]:
    """Stage ``batches`` on a thread pool as wide as the settings' runner (each thread drives its
    own reader process); return their reports in order."""
    with ThreadPoolExecutor(max_workers=stages.reading_workers(context)) as pool:
        return list(pool.map(lambda batch: stages.stage_files(batch, context), batches))


DIRECT_STEPS = RoundSteps(
    list_inputs=stages.list_inputs,
    stage_batches=stage_batches_in_threads,
    stage_feedback_file=stages.stage_feedback_file,
    link_entries=stages.link_entries,
    write_insurer_reports=stages.write_insurer_reports,
    deliver_provider_files=stages.deliver_provider_files,
    write_summary=stages.write_summary_files,
    archive_and_remove_inputs=stages.archive_and_remove_inputs,
    logger=lambda: logging.getLogger("wachtlijst.round"),
)
"""The stages as plain functions in this process, without Prefect."""


def read_round(
    context: RoundContext, steps: RoundSteps, inputs: list[InputFile], audit: AuditLog, logger: RoundLogger
) -> tuple[list[FileReport], list[FeedbackReport]]:
    """Stage every input and feedback file; return the reports after superseding earlier
    deliveries, each reception and rejection in the audit log."""
    round_id = context.round_id
    for item in inputs:
        audit.append("file_received", object=item.name, sha256=item.sha256, size=item.size, round=round_id,
                     sender=item.sender)  # fmt: skip
    staged = steps.stage_batches(stages.batches(inputs, stages.reading_workers(context)), context)
    reports = [report for batch in staged for report in batch]
    feedback = [steps.stage_feedback_file(item, context) for item in feedback_files(context.input_dir)]
    stop_workers()  # every file is staged: the reader processes' memory goes back before linking
    for received in feedback:
        audit.append("feedback_received", object=received.file, sha256=received.sha256, round=round_id,
                     status=received.status)  # fmt: skip
    fault_point("staging")
    if context.settings.replace_earlier_deliveries:
        modified = {item.name: item.path.stat().st_mtime for item in inputs}
        reports = supersede_earlier_deliveries(reports, modified, context.locations())
    for report in reports:
        if report.status == "rejected":
            audit.append("file_rejected", object=report.file, sha256=report.sha256, reason=report.reason,
                         round=round_id)  # fmt: skip
            logger.warning("file %s rejected: %s", report.file, report.reason)
    if not any(r.status == "accepted" for r in reports):
        raise RoundFailed("no usable input file in this round; see the rejected files in the log")
    return reports, feedback


def stage_and_link(
    context: RoundContext, steps: RoundSteps = DIRECT_STEPS
) -> tuple[list[FileReport], stages.LinkOutcome]:
    """Stage and link a round without writing its releases (the part the evaluation measures);
    return the file reports and the linking outcome. The round's store stays in its work folder."""
    audit = AuditLog(context.audit_path)
    reports, feedback = read_round(context, steps, steps.list_inputs(context), audit, steps.logger())
    return reports, steps.link_entries(context, reports, feedback)


def run_locked_round(context: RoundContext, steps: RoundSteps, started: float) -> RunSummary:
    """Run the stages of a round whose lock is held; return its summary."""
    logger = steps.logger()
    round_id = context.round_id
    key_id = context.key().key_id
    audit = AuditLog(context.audit_path)
    audit.append("round_started", round=round_id, key_id=key_id, reference_date=context.reference_date.isoformat())
    inputs = steps.list_inputs(context)
    timings: dict[str, float] = {}
    written: dict[str, int] = {}
    with progress.stage(stages.STAGE_READ, total=len(inputs), timings=timings, written=written):
        reports, feedback = read_round(context, steps, inputs, audit, logger)
    with progress.stage(stages.STAGE_LINK, timings=timings, written=written):
        linked = steps.link_entries(context, reports, feedback)
    fault_point("linking")
    with progress.stage(stages.STAGE_INSURERS, timings=timings, written=written):
        disclosure = steps.write_insurer_reports(context, linked.history["previous_round"])
    fault_point("insurer_reports")
    with progress.stage(stages.STAGE_DELIVER, total=linked.totals["providers"], timings=timings, written=written):
        delivery, unrouted = steps.deliver_provider_files(context, reports, feedback)
    fault_point("summary")
    with progress.stage(stages.STAGE_SUMMARY):
        linkage = stages.linkage_summary(linked.linkage)
        summary = context.summary(reports, linked.totals, linkage, delivery, unrouted, linkage["key_id"],
                                  time.perf_counter() - started, timings, history=linked.history,
                                  disclosure=disclosure, stage_bytes_written=written)  # fmt: skip
        steps.write_summary(context, summary)
    audit.append("round_completed", round=round_id, entries=linked.totals["entries"], duration_s=summary.duration_s)
    archived, removed = steps.archive_and_remove_inputs(context, inputs)
    if archived or removed:
        logger.info("archived %d and removed %d raw extracts", archived, len(removed))
    logger.info("round %s: %d entries, %d double waiters", round_id, linked.totals["entries"],
                linked.totals["double_waiters"])  # fmt: skip
    return summary


def run_round(context: RoundContext, steps: RoundSteps = DIRECT_STEPS) -> RunSummary:
    """Run one cleanup round under its lock through ``steps``; return its summary (totals only).

    A run that finds the round interrupted earlier removes the partial files first; a failure
    is recorded in the audit log (its type only) and raised again."""
    started = time.perf_counter()
    round_id = context.round_id
    with round_lock(context.work_dir / round_id / "round.lock"):
        audit = AuditLog(context.audit_path)
        if was_interrupted(context.audit_path, round_id):
            leftovers = remove_partial_files(context.round_dir, context.staging_dir)
            audit.append("round_interrupted", object=round_id, round=round_id, partial_files_removed=leftovers)
        try:
            return run_locked_round(context, steps, started)
        except Exception as error:
            audit.append("round_failed", object=round_id, round=round_id, error=type(error).__name__)
            raise
        finally:
            stop_workers()
