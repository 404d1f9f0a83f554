"""A local Prefect server for scheduled rounds, started as a child process on 127.0.0.1.

This module does not import Prefect: Prefect reads ``PREFECT_API_URL`` when it is imported,
so the CLI starts the server first and imports the flows after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_FILE = "server.json"
"""Written into the Prefect home while ``wachtlijst serve``'s server runs: where its API is."""


class ServerError(Exception):
    """The local Prefect server did not start; the message says where its log is."""


def api_healthy(api_url: str) -> bool:
    """Return whether a Prefect API answers its health check at ``api_url``."""
    try:
        # the Prefect API this process started or was given (http on loopback by default)
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def running_server(prefect_home: Path) -> str | None:
    """Return the API URL of the local server that ``wachtlijst serve`` runs on this Prefect
    home, when it answers its health check; else None (a stale file is ignored)."""
    try:
        document = json.loads((prefect_home / SERVER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = document.get("api_url") if isinstance(document, dict) else None
    if not isinstance(url, str) or not url.startswith("http://127.0.0.1:"):
        return None
    return url if api_healthy(url) else None


@contextmanager
def local_prefect_server(port: int, prefect_home: Path, timeout_s: float = 120.0) -> Iterator[str]:
    """Start ``prefect server start`` on 127.0.0.1:``port`` with its state in ``prefect_home``;
    yield its API URL once healthy (and name it in ``prefect_home/server.json``, so that
    ``wachtlijst run`` on the same home uses it) and stop it on exit. Its output goes to
    ``prefect_home/server.log``."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{port}/api"
    if api_healthy(api_url):
        raise ServerError(f"port {port} already serves a Prefect API; pass --api-url {api_url} to use it")
    environment = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
    }
    environment.pop("PREFECT_API_URL", None)
    log_path = prefect_home / "server.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and fixed arguments)
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not api_healthy(api_url):
            if server.poll() is not None:
                raise ServerError(f"the Prefect server stopped at start-up; see {log_path}")
            if time.monotonic() > deadline:
                raise ServerError(f"the Prefect server was not healthy after {timeout_s:.0f} s; see {log_path}")
            time.sleep(0.5)
        (prefect_home / SERVER_FILE).write_text(json.dumps({"api_url": api_url, "pid": server.pid}), "utf-8")
        yield api_url
    finally:
        (prefect_home / SERVER_FILE).unlink(missing_ok=True)
        stop_process(server, grace_s=30.0)


def stop_process(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Stop a child process: SIGTERM, then SIGKILL when it has not exited after ``grace_s``."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_until_stopped(command: list[str], environment: dict[str, str], grace_s: float = 30.0) -> int:
    """Run ``command`` as a child process until it exits, or until this process gets SIGTERM or
    Ctrl-C: then stop the child (SIGTERM, and SIGKILL after ``grace_s``). Returns the child's exit
    code, or 0 when it was stopped."""
    child = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL)  # noqa: S603 (our own command)

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop_process(child, grace_s)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
