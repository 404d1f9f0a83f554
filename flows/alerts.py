"""Alerts for a failed scheduled round: the configured command and/or loopback webhook hear of
it (see :class:`flows.settings.AlertSettings`). Sending never raises: a broken alert channel is
logged, and the round's own failure stays what Prefect records."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import urllib.request
from typing import Any

from flows.round_context import RoundFailed
from flows.settings_sections import AlertSettings

LOG = logging.getLogger("wachtlijst.alerts")


def failure_alert(round_id: str | None, state: str, error: BaseException | None, flow_run: str) -> dict[str, Any]:
    """Return the alert for a failed or crashed run: round, state, flow run, the error's type and
    a Dutch line for the operator. Only a :class:`RoundFailed` message (written by this project,
    naming paths and counts) is quoted; any other error only by its type, since a library's
    message may quote data."""
    kind = type(error).__name__ if error is not None else None
    detail = str(error) if isinstance(error, RoundFailed) else None
    text = f"Ronde {round_id or '(onbekend)'} van wachtlijst is mislukt ({state})"
    text += f": {detail}" if detail else (f": {kind}" if kind else "")
    return {
        "event": "round_failed",
        "round": round_id,
        "state": state,
        "flow_run": flow_run,
        "error_type": kind,
        "detail": detail,
        "bericht": text + ". Zie de Prefect-UI en audit.jsonl.",
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def send_alert(settings: AlertSettings, alert: dict[str, Any]) -> list[str]:
    """Send ``alert`` to the configured command and webhook; return what could not be sent (empty:
    all sent, or nothing configured)."""
    body = json.dumps(alert, ensure_ascii=False, sort_keys=True).encode("utf-8")
    problems = []
    if settings.command:
        try:
            # the operator's own configured program, as an argument list (no shell)
            done = subprocess.run(settings.command, input=body, capture_output=True,  # noqa: S603
                                  timeout=settings.timeout_seconds, check=False)  # fmt: skip
            if done.returncode != 0:
                problems.append(f"alert command exited with {done.returncode}")
        except (OSError, subprocess.TimeoutExpired) as error:
            problems.append(f"alert command failed: {type(error).__name__}")
    if settings.webhook:
        # settings allow only an http(s) URL on loopback (AlertSettings._on_loopback)
        request = urllib.request.Request(settings.webhook, data=body, method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:  # noqa: S310
                if response.status >= 300:
                    problems.append(f"alert webhook answered {response.status}")
        except OSError as error:
            problems.append(f"alert webhook failed: {type(error).__name__}")
    for problem in problems:
        LOG.error("%s", problem)
    return problems
