"""``wachtlijst serve``: a local Prefect server and the monthly deployment of the round."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.common import EXIT_CONFIG, EXIT_INPUT, EXIT_KEY, EXIT_SERVER, EXIT_USAGE, app, console, fail
from flows.cli.rounds import prepare_prefect_environment
from flows.settings import Settings, SettingsError, load_settings


@app.command()
def serve(
    inbox: Annotated[
        Path | None, typer.Option("--inbox", help="Inbox with one folder per round (default: paths.inbox).")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output", help="Folder for outputs (rounds go to OUTPUT/ROUND).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", envvar="WACHTLIJST_KEY_FILE", help="Pseudonymisation key file.")
    ] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="Cron line (default: schedule.cron, 0 3 1 * *).")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Time zone of the cron line (default: Europe/Amsterdam).")
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port of the local Prefect server and its UI.")] = 4200,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", envvar="PREFECT_API_URL", help="Use this running Prefect API; start none."),
    ] = None,
) -> None:
    """Start a local Prefect server (127.0.0.1) and serve the scheduled cleanup_round deployment.

    Each scheduled run takes INBOX/<round>/, the round named after its scheduled date
    (2026-12 for 1 December 2026). Runs, logs and totals are in the UI at
    http://127.0.0.1:PORT. Stop with Ctrl-C (or SIGTERM); the server stops with it.
    """
    from flows.round_context import work_dir_for

    settings = serve_settings(config, cron, timezone)
    inbox = inbox or settings.paths.inbox
    if inbox is None or not inbox.is_dir():
        fail(f"inbox folder {inbox} does not exist (pass --inbox or set paths.inbox)", EXIT_INPUT)
    if output_dir is None:
        fail("pass --output, the folder the rounds are written to", EXIT_USAGE)
    check_key(key_file)
    output_dir.mkdir(parents=True, exist_ok=True)
    prepare_prefect_environment(settings.paths.prefect_home or work_dir_for(settings, output_dir.resolve()) / "prefect")
    arguments = {
        "inbox_dir": str(inbox.resolve()),
        "output_dir": str(output_dir.resolve()),
        "key_file": str(key_file.resolve()) if key_file else None,
        "config_file": str(config.resolve()) if config else None,
        "schedule": settings.schedule.model_dump(),
    }
    run_deployment(arguments, settings, inbox, port, api_url)


def run_deployment(
    arguments: Mapping[str, object], settings: Settings, inbox: Path, port: int, api_url: str | None
) -> None:
    """Serve the scheduled deployment with ``arguments`` on the Prefect API at ``api_url``, or on
    a local server on ``port`` started here, until stopped; fail when the runner stops on its own."""
    from flows.server import ServerError, local_prefect_server, run_until_stopped

    schedule = settings.schedule
    server = nullcontext(api_url) if api_url else local_prefect_server(port, Path(os.environ["PREFECT_HOME"]))
    try:
        with server as url:
            console.print(
                f"serving deployment cleanup_round ({schedule.cron}, {schedule.timezone}) from {inbox}; "
                f"Prefect UI at {str(url).removesuffix('/api')}; stop with Ctrl-C"
            )
            code = run_until_stopped(
                [sys.executable, "-m", "flows.schedule", json.dumps(arguments)],
                {**os.environ, "PREFECT_API_URL": str(url)},
            )
    except ServerError as error:
        fail(str(error), EXIT_SERVER)
    except KeyboardInterrupt:
        code = 0
    if code != 0:
        fail(f"the deployment runner stopped with exit code {code}; see the lines above", EXIT_SERVER)
    console.print("stopped; the Prefect server is stopped too")


def serve_settings(config: Path | None, cron: str | None, timezone: str | None) -> Settings:
    """Return the settings with ``--cron`` and ``--timezone`` applied (validated like the
    configuration); fail with the configuration's exit code when they are unusable."""
    try:
        settings = load_settings(config)
        given = {k: v for k, v in {"cron": cron, "timezone": timezone}.items() if v is not None}
        if given:  # the options go through the same validation as the configuration
            settings = load_settings(config, schedule={**settings.schedule.model_dump(), **given})
    except SettingsError as error:
        fail(str(error), EXIT_CONFIG)
    return settings


def check_key(key_file: Path | None) -> None:
    """Fail with the key's exit code unless the TTP key (file, or ``WACHTLIJST_KEY``) is usable."""
    from hashing.keys import KeyFileError, load_key

    if key_file is None and not os.environ.get("WACHTLIJST_KEY"):
        fail("no pseudonymisation key: pass --key-file, or set WACHTLIJST_KEY_FILE or WACHTLIJST_KEY", EXIT_KEY)
    try:
        load_key(key_file)
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)
