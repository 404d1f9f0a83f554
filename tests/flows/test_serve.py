import base64
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.round_context import RoundFailed
from flows.schedule import inbox_round_dir, round_for
from flows.server import SERVER_FILE, api_healthy, running_server
from flows.settings import ScheduleSettings, SettingsError, load_settings
from hashing.keys import create_key_file, load_key
from sample_data.generate import RoundSpec, generate_round
from tests.conftest import WACHTLIJST


def test_a_scheduled_run_takes_the_round_of_its_date_in_amsterdam():
    schedule = ScheduleSettings()
    assert round_for(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC), schedule) == "2026-12"
    assert round_for(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), schedule) == "2026-12"
    assert round_for(dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC), schedule) == "2026-11"
    assert round_for(dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC), schedule) == "2026-07"  # summer time


def test_a_round_finds_the_server_serve_runs_and_ignores_a_stale_note(tmp_path: Path):
    import http.server
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    assert running_server(tmp_path) is None
    stale = f"http://127.0.0.1:{_free_port()}/api"
    (tmp_path / SERVER_FILE).write_text(json.dumps({"api_url": stale}))
    assert running_server(tmp_path) is None, "a server that does not answer is not used"
    (tmp_path / SERVER_FILE).write_text(json.dumps({"api_url": "http://example.org/api"}))
    assert running_server(tmp_path) is None, "only a server on this machine is used"
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        (tmp_path / SERVER_FILE).write_text(json.dumps({"api_url": url}))
        assert running_server(tmp_path) == url
        server.shutdown()


def test_a_missing_inbox_folder_fails_the_round_with_its_path(tmp_path: Path):
    with pytest.raises(RoundFailed, match="no files for round 2026-12"):
        inbox_round_dir(tmp_path, "2026-12")


def test_schedule_settings_are_validated(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\ncron = "0 3 1 *"\ntimezone = "Europe/Amsterdan"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert "five fields" in str(error.value) and "Europe/Amsterdan" in str(error.value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _api(url: str, body: dict[str, Any] | None = None) -> Any:
    """Call the Prefect REST API; a busy server's 503 is retried (it answers again in seconds)."""
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    for attempt in range(10):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 9:
                raise
            time.sleep(2)
    return None


def _wait_for(check: Any, timeout_s: float, what: str, serve: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            pytest.fail(f"wachtlijst serve exited with {serve.returncode} before {what}:\n{log.read_text()[-3000:]}")
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def _finished_state(flow_run: dict[str, Any]) -> str | None:
    state = str(flow_run["state"]["type"])
    return state if state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def test_serve_registers_the_scheduled_deployment_and_a_triggered_run_produces_the_round(tmp_path: Path):
    generated = generate_round(tmp_path, RoundSpec(entries=800, providers=6, bad_files=False))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.move(generated.input_dir, inbox / "2026-12")
    key_file = tmp_path / "ttp.key"
    create_key_file(key_file)
    alert_file = tmp_path / "alert.json"
    record = [sys.executable, "-c", f"import sys; open({str(alert_file)!r}, 'wb').write(sys.stdin.buffer.read())"]
    with generated.config_file.open("a", encoding="utf-8") as config:
        config.write(f"\n[alerts]\ncommand = {json.dumps(record)}\n")
    output = tmp_path / "output"
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = tmp_path / "serve.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    command = [*WACHTLIJST, "serve", "--inbox", inbox, "--output", output, "--key-file", key_file,
               "--config", generated.config_file, "--port", str(port)]  # fmt: skip
    with log.open("wb") as sink:
        serve = subprocess.Popen(
            [str(part) for part in command], stdout=sink, stderr=subprocess.STDOUT, env=environment,
            start_new_session=True,
        )  # fmt: skip
    try:
        deployment = _wait_for(
            lambda: _api(f"{api}/deployments/name/scheduled_cleanup/cleanup_round"), 180, "the deployment", serve, log
        )
        [schedule] = deployment["schedules"]
        assert schedule["schedule"]["cron"] == "0 3 1 * *"
        assert schedule["schedule"]["timezone"] == "Europe/Amsterdam"
        assert schedule["active"] is True
        assert deployment["parameters"]["inbox_dir"] == str(inbox.resolve())
        secret = load_key(key_file).secret
        parameters = json.dumps(deployment["parameters"])
        assert secret.hex() not in parameters and base64.b64encode(secret).decode() not in parameters

        run = _api(f"{api}/deployments/{deployment['id']}/create_flow_run", {"parameters": {"round_id": "2026-12"}})
        finished = _wait_for(
            lambda: _finished_state(_api(f"{api}/flow_runs/{run['id']}")),
            300,
            "the triggered run",
            serve,
            log,
        )
        assert finished == "COMPLETED", log.read_text()[-3000:]
        summary = json.loads((output / "2026-12" / "run_summary.json").read_text())
        assert summary["round"] == "2026-12"
        assert summary["files"]["received"] == len(list((inbox / "2026-12").iterdir()))
        assert summary["entries"] > 700

        scheduled = _wait_for(
            lambda: _api(
                f"{api}/flow_runs/filter",
                {
                    "deployments": {"id": {"any_": [deployment["id"]]}},
                    "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                    "sort": "EXPECTED_START_TIME_ASC",
                },
            ),
            120,
            "the scheduler to plan runs",
            serve,
            log,
        )
        first = dt.datetime.fromisoformat(scheduled[0]["expected_start_time"])
        local = first.astimezone(ZoneInfo("Europe/Amsterdam"))
        assert (local.day, local.hour, local.minute) == (1, 3, 0)
        artifacts = _api(f"{api}/artifacts/filter", {"artifacts": {"key": {"any_": ["round-totals"]}}})
        assert artifacts, "the totals artifact must be visible in the UI"

        # a round run by hand on the same work folder uses the running server: no temporary one
        by_hand = subprocess.run(
            [str(part) for part in [*WACHTLIJST, "run", "--input", inbox / "2026-12", "--output", output,
                                    "--round", "2026-12-hand", "--key-file", key_file, "--config",
                                    generated.config_file, "--quiet"]],
            env={**environment, "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO"}, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert by_hand.returncode == 0, by_hand.stderr[-3000:]
        assert "temporary server" not in by_hand.stdout + by_hand.stderr
        runs = _api(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
        assert any(r["parameters"].get("context", {}).get("round_id") == "2026-12-hand" for r in runs)
        assert not alert_file.exists(), "a completed run alerts no one"

        failing = _api(f"{api}/deployments/{deployment['id']}/create_flow_run", {"parameters": {"round_id": "2027-01"}})
        finished = _wait_for(
            lambda: _finished_state(_api(f"{api}/flow_runs/{failing['id']}")), 300, "the failing run", serve, log
        )
        assert finished == "FAILED"
        written = _wait_for(lambda: alert_file.is_file() and alert_file.read_text(), 60, "the alert", serve, log)
        alert = json.loads(written)
        assert (alert["round"], alert["state"], alert["flow_run"]) == ("2027-01", "Failed", failing["id"])
        assert alert["error_type"] == "RoundFailed" and "no files for round 2027-01" in alert["bericht"]

        os.kill(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)
        assert not api_healthy(api), "the Prefect server must stop with wachtlijst serve"
    finally:
        with contextlib.suppress(ProcessLookupError):  # serve and the server it started, whatever happened
            os.killpg(serve.pid, signal.SIGKILL)
