import datetime as dt
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from flows.alerts import failure_alert, send_alert
from flows.round_context import RoundFailed
from flows.schedule import alert_operator
from flows.settings import AlertSettings, SettingsError, load_settings


def recorder(target: Path) -> list[str]:
    """Return a command that writes its standard input to ``target``."""
    return [sys.executable, "-c", f"import sys; open({str(target)!r}, 'wb').write(sys.stdin.buffer.read())"]


@pytest.fixture
def webhook():
    """A loopback HTTP server that keeps the JSON bodies POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alert", received
    server.shutdown()


def test_a_webhook_off_this_machine_is_refused_with_every_error(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text('[alerts]\nwebhook = "https://hooks.example.com/x"\ncommand = []\n', encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(config)
    assert "loopback" in str(error.value) and "must name a program" in str(error.value)
    assert AlertSettings(webhook="http://[::1]:9000/a").webhook
    assert AlertSettings(webhook="http://localhost/a").webhook


def test_the_alert_quotes_only_our_own_messages():
    ours = failure_alert("2026-12", "Failed", RoundFailed("the inbox has no files for round 2026-12"), "run-1")
    assert ours["round"] == "2026-12" and ours["error_type"] == "RoundFailed"
    assert "no files for round 2026-12" in ours["bericht"] and ours["bericht"].startswith("Ronde 2026-12")
    theirs = failure_alert("2026-12", "Failed", ValueError("Jansen 1980-05-17"), "run-1")
    assert "Jansen" not in json.dumps(theirs) and theirs["error_type"] == "ValueError"


def test_command_and_webhook_both_hear_of_it(tmp_path: Path, webhook):
    url, received = webhook
    target = tmp_path / "alert.json"
    alert = failure_alert("2026-12", "Crashed", None, "run-2")
    assert send_alert(AlertSettings(command=recorder(target), webhook=url), alert) == []
    assert json.loads(target.read_text()) == alert == received[0]


def test_a_broken_channel_is_reported_not_raised(tmp_path: Path):
    settings = AlertSettings(command=[str(tmp_path / "missing")], webhook="http://127.0.0.1:9/none", timeout_seconds=2)
    problems = send_alert(settings, failure_alert(None, "Failed", None, "run-3"))
    assert len(problems) == 2 and all("failed" in p for p in problems)
    assert send_alert(AlertSettings(command=[sys.executable, "-c", "raise SystemExit(3)"]), {}) == [
        "alert command exited with 3"
    ]


def test_the_hook_of_a_failed_scheduled_run_alerts_with_its_round(tmp_path: Path, webhook):
    url, received = webhook
    config = tmp_path / "c.toml"
    config.write_text(f'[alerts]\nwebhook = "{url}"\n', encoding="utf-8")
    scheduled = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)  # 1 December, 00:30 in Amsterdam
    run = SimpleNamespace(id="abc", parameters={"config_file": str(config), "round_id": None},
                          expected_start_time=scheduled)  # fmt: skip
    state = SimpleNamespace(name="Failed", result=lambda raise_on_failure: RoundFailed("no files for round 2026-12"))
    alert_operator(None, run, state)
    assert received[0]["round"] == "2026-12" and received[0]["flow_run"] == "abc"
    assert received[0]["state"] == "Failed" and "no files" in received[0]["bericht"]
    quiet = tmp_path / "quiet.toml"
    quiet.write_text("", encoding="utf-8")
    silent_run = SimpleNamespace(id="x", parameters={"config_file": str(quiet)}, expected_start_time=None)
    alert_operator(None, silent_run, state)
    assert len(received) == 1, "no channel configured: nothing is sent"
