"""The ``cleanup_round`` Prefect flow: each stage of :mod:`flows.stages` in a thin task, wired
by :func:`flows.round_run.run_round` like the in-process run.

Tasks that touch person-level data take paths, never frames, and persist no result.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import stages
from flows.round_context import RoundContext
from flows.round_run import RoundSteps, run_round
from flows.settings_sections import RunnerSettings
from ingest.file_report import FileReport
from ingest.inventory import InputFile
from reports.summary import RunSummary

TASK_OPTIONS: dict[str, Any] = {"persist_result": False, "cache_policy": NO_CACHE}
"""No task result is stored: results hold paths and counts, and caching would skip real work."""

list_inputs_task = task(name="list_inputs", retries=2, retry_delay_seconds=1, **TASK_OPTIONS)(stages.list_inputs)
stage_files_task = task(name="stage_files", retries=1, retry_delay_seconds=1, **TASK_OPTIONS)(stages.stage_files)
stage_feedback_task = task(name="stage_feedback_file", retries=1, retry_delay_seconds=1, **TASK_OPTIONS)(
    stages.stage_feedback_file
)
link_entries_task = task(name="link_entries", **TASK_OPTIONS)(stages.link_entries)
insurer_reports_task = task(name="write_insurer_reports", retries=2, retry_delay_seconds=1, **TASK_OPTIONS)(
    stages.write_insurer_reports
)
deliver_task = task(name="deliver_provider_files", retries=2, retry_delay_seconds=1, **TASK_OPTIONS)(
    stages.deliver_provider_files
)
archive_task = task(name="archive_and_remove_inputs", retries=2, retry_delay_seconds=1, **TASK_OPTIONS)(
    stages.archive_and_remove_inputs
)


def stage_batches_as_tasks(batches: list[list[InputFile]], context: RoundContext) -> list[list[FileReport]]:
    """Stage ``batches`` as mapped Prefect tasks on the flow's task runner; return their reports."""
    return list(stage_files_task.map(batches, context=unmapped(context)).result())


@task(name="write_summary", **TASK_OPTIONS)
def write_summary_task(context: RoundContext, summary: RunSummary) -> None:
    """Write the summary files and publish the round's totals as Prefect artifacts."""
    stages.write_summary_files(context, summary)
    totals = {
        "bestanden ontvangen": summary.files.received,
        "bestanden afgewezen": summary.files.rejected,
        "rijen ontvangen": summary.rows.received,
        "rijen afgewezen": summary.rows.rejected,
        "wachtenden": summary.entries,
        "personen": summary.persons,
        "dubbel wachtenden": summary.double_waiters,
        "interne dubbelingen": summary.internal_duplicates,
        "aanbieders": summary.providers,
        "niet geleverd": len(summary.undelivered),
    }
    create_table_artifact(key="round-totals", table=[{"totaal": k, "aantal": v} for k, v in totals.items()],
                          description=f"Totals of round {context.round_id}")  # fmt: skip
    lines = "\n".join(f"| {k} | {v} |" for k, v in totals.items())
    create_markdown_artifact(
        key="round-summary",
        markdown=(
            f"# Round {context.round_id}\n\n| | |\n|---|---|\n{lines}\n\n"
            f"Operator view: [run_summary.html](file://{(context.round_dir / 'run_summary.html').resolve()})\n"
        ),
        description="Totals only; no person-level data",
    )


PREFECT_STEPS = RoundSteps(
    list_inputs=list_inputs_task,
    stage_batches=stage_batches_as_tasks,
    stage_feedback_file=stage_feedback_task,
    link_entries=link_entries_task,
    write_insurer_reports=insurer_reports_task,
    deliver_provider_files=deliver_task,
    write_summary=write_summary_task,
    archive_and_remove_inputs=archive_task,
    logger=get_run_logger,
)
"""The stages as Prefect tasks of the running flow."""


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


ROUND_TASK_RUNNER: Any = ThreadPoolTaskRunner(max_workers=2)


@flow(name="cleanup_round", task_runner=ROUND_TASK_RUNNER, persist_result=False)
def cleanup_round(context: RoundContext) -> RunSummary:
    """Run one cleanup round with the configuration ``context`` (paths and settings, no secret)
    and return its summary (totals only)."""
    return run_round(context, PREFECT_STEPS)


def cleanup_round_with_runner(context: RoundContext) -> Any:
    """Return the ``cleanup_round`` flow with the task runner its settings choose."""
    return cleanup_round.with_options(task_runner=task_runner_for(context.settings.runner))
