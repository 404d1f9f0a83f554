"""Scheduled rounds: the flow a Prefect deployment runs from the inbox, and the deployment
that ``wachtlijst serve`` registers (on the server of :mod:`flows.server`).

The inbox holds one folder per round (``inbox/<round>/``); a scheduled run takes the folder
named after its scheduled date in the configured time zone (``2026-12`` for a run due on
1 December 2026 at 03:00 in Amsterdam). Parameters hold paths only, never data or keys.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.logging import get_logger

from flows.alerts import failure_alert, send_alert
from flows.cleanup_round import cleanup_round_with_runner
from flows.round_context import RoundContext, RoundFailed
from flows.settings import ScheduleSettings, SettingsError, load_settings
from ingest.inventory import visible_files
from reports.summary import RunSummary

DEPLOYMENT_NAME = "cleanup_round"
FLOW_NAME = "scheduled_cleanup"


def round_for(moment: dt.datetime, schedule: ScheduleSettings) -> str:
    """Return the round id of a run scheduled at ``moment``: its date in the schedule's time
    zone, formatted by ``round_format`` (default ``%Y-%m``)."""
    return moment.astimezone(ZoneInfo(schedule.timezone)).strftime(schedule.round_format)


def inbox_round_dir(inbox_dir: Path, round_id: str) -> Path:
    """Return the inbox folder of one round; raises :class:`RoundFailed` when it is missing or empty."""
    folder = inbox_dir / round_id
    if not visible_files(folder):
        raise RoundFailed(f"the inbox has no files for round {round_id} (expected them in {folder})")
    return folder


def scheduled_round_id(parameters: dict[str, Any], scheduled: dt.datetime | None) -> str | None:
    """Return the round a scheduled run is for: its ``round_id`` parameter, else the round of its
    scheduled date (None when neither is known or the configuration cannot be read)."""
    if parameters.get("round_id"):
        return str(parameters["round_id"])
    if scheduled is None:
        return None
    try:
        config = parameters.get("config_file")
        return round_for(scheduled, load_settings(Path(config) if config else None).schedule)
    except SettingsError:
        return None


def alert_operator(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect hook of a failed or crashed scheduled run: send the configured alert (see
    :mod:`flows.alerts`). Runs where the run failed, or in the serving process when it crashed."""
    parameters = dict(flow_run.parameters or {})
    config = parameters.get("config_file")
    try:
        alerts = load_settings(Path(config) if config else None).alerts
    except SettingsError as error:
        get_logger("wachtlijst.alerts").error("no alert sent: the configuration cannot be read (%s)", error)
        return
    if not alerts.command and not alerts.webhook:
        return
    try:
        outcome = state.result(raise_on_failure=False)
    except Exception:  # the state may hold no retrievable result; the alert then names no type
        outcome = None
    round_id = scheduled_round_id(parameters, flow_run.expected_start_time)
    cause = outcome if isinstance(outcome, BaseException) else None
    send_alert(alerts, failure_alert(round_id, str(state.name), cause, str(flow_run.id)))


@flow(name=FLOW_NAME, persist_result=False, log_prints=False, on_failure=[alert_operator], on_crashed=[alert_operator])
def scheduled_cleanup(
    inbox_dir: str,
    output_dir: str,
    key_file: str | None = None,
    config_file: str | None = None,
    round_id: str | None = None,
) -> dict[str, Any]:
    """Run the round of ``inbox_dir/<round>``: ``round_id`` when given, else the one named after
    this run's scheduled date. Returns the round's summary (totals only)."""
    settings = load_settings(Path(config_file) if config_file else None)
    if round_id is None:
        from prefect.runtime import flow_run

        scheduled = flow_run.scheduled_start_time
        round_id = round_for(scheduled if isinstance(scheduled, dt.datetime) else dt.datetime.now(dt.UTC),
                             settings.schedule)  # fmt: skip
    input_dir = inbox_round_dir(Path(inbox_dir), round_id)
    get_run_logger().info("round %s from %s", round_id, input_dir)
    context = RoundContext.create(input_dir=input_dir, output_dir=Path(output_dir), round_id=round_id,
                                  key_file=Path(key_file) if key_file else None, settings=settings,
                                  reference_date=None)  # fmt: skip
    summary: RunSummary = cleanup_round_with_runner(context)(context)
    return summary.document()


def serve_deployment(
    *, inbox_dir: Path, output_dir: Path, key_file: Path | None, config_file: Path | None, schedule: ScheduleSettings
) -> None:
    """Register the ``cleanup_round`` deployment with its cron schedule on the Prefect API in
    ``PREFECT_API_URL`` and run its flow runs until stopped (Ctrl-C or SIGTERM)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    scheduled_cleanup.serve(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters={
            "inbox_dir": str(inbox_dir.resolve()),
            "output_dir": str(output_dir.resolve()),
            "key_file": str(key_file.resolve()) if key_file else None,
            "config_file": str(config_file.resolve()) if config_file else None,
        },
        description="Monthly cleanup round of the waiting lists from inbox/<round>/ (totals only in Prefect).",
        tags=["wachtlijst"],
        print_starting_message=False,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the deployment from one JSON argument (the paths and the schedule); the
    ``wachtlijst serve`` command runs this in a child process that it stops on exit."""
    arguments = json.loads((argv if argv is not None else sys.argv[1:])[0])
    serve_deployment(
        inbox_dir=Path(arguments["inbox_dir"]),
        output_dir=Path(arguments["output_dir"]),
        key_file=Path(arguments["key_file"]) if arguments["key_file"] else None,
        config_file=Path(arguments["config_file"]) if arguments["config_file"] else None,
        schedule=ScheduleSettings(**arguments["schedule"]),
    )


if __name__ == "__main__":
    main()
