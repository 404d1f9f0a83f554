"""``wachtlijst run`` and ``wachtlijst serve``: one round now, or every month on a Prefect server."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import traceback
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from flows import progress
from flows.cli.common import (
    EXIT_CONFIG,
    EXIT_INPUT,
    EXIT_KEY,
    EXIT_LOCKED,
    EXIT_OUTPUT,
    EXIT_ROUND_FAILED,
    EXIT_USAGE,
    VERBOSE,
    app,
    console,
    fail,
    out,
)  # fmt: skip
from flows.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from flows.round_context import RoundContext
    from reports.summary import RunSummary


def prepare_prefect_environment(prefect_home: Path, create: bool = True) -> None:
    """Point Prefect at a workspace folder (made now with ``create``, else when a flow runs) and
    switch off what does not work offline.

    Must run before ``prefect`` is imported. An explicit ``PREFECT_HOME`` is respected.
    """
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if create:
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def use_running_server() -> None:
    """Point Prefect at the server ``wachtlijst serve`` runs on this Prefect home, when one answers
    and no API is set: the round then starts no temporary server (a start-up of several seconds).
    Must run before ``prefect`` is imported."""
    from flows.server import running_server

    if not os.environ.get("PREFECT_API_URL") and (url := running_server(Path(os.environ["PREFECT_HOME"]))):
        os.environ["PREFECT_API_URL"] = url


class Engine(StrEnum):
    """How ``wachtlijst run`` runs the round's stages."""

    AUTO = "auto"
    PREFECT = "prefect"
    DIRECT = "direct"


def choose_engine(engine: str, settings: Settings) -> str:
    """Return how the round's stages run: ``prefect`` (a Prefect flow: on the server that runs, else
    on a temporary one that takes seconds to start) or ``direct`` (the same stages in this process).
    ``auto`` takes Prefect when a server answers or the runner is Dask, else runs directly."""
    from flows.server import running_server

    if engine != "auto":
        return engine
    if settings.runner.kind == "dask" or os.environ.get("PREFECT_API_URL"):
        return "prefect"
    return "prefect" if running_server(Path(os.environ["PREFECT_HOME"])) else "direct"


def round_context(
    *, input_dir: Path, output_dir: Path, round_id: str, key_file: Path | None, settings: Settings,
    reference_date: dt.date | None, registry: Path | None,
) -> RoundContext:  # fmt: skip
    """Return the round's one configuration, with absolute paths (the flow may run elsewhere)."""
    from flows.round_context import ROUND_ID_PATTERN, RoundContext

    if not ROUND_ID_PATTERN.match(round_id):
        fail("round id must be 1-64 letters, digits, '.', '_' or '-'", EXIT_USAGE)
    return RoundContext.create(
        input_dir=input_dir.resolve(), output_dir=output_dir.resolve(), round_id=round_id,
        key_file=key_file.resolve() if key_file else None, settings=settings, reference_date=reference_date,
        registry_file=registry.resolve() if registry else None,
    )  # fmt: skip


def quiet_loggers() -> None:
    """Send the round's own log lines to standard error with ``--verbose``, else nowhere (the CLI
    prints its own lines); Prefect's console lines likewise. Must run before Prefect is imported."""
    logger = logging.getLogger("wachtlijst")
    logger.propagate = False
    logger.handlers.clear()
    if VERBOSE["on"]:
        logger.setLevel(logging.INFO)
        logger.addHandler(logging.StreamHandler(sys.stderr))
    else:
        logger.addHandler(logging.NullHandler())
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def run_round(
    *,
    input_dir: Path,
    output_dir: Path,
    round_id: str,
    key_file: Path | None,
    config_file: Path | None,
    recipients: Path | None,
    reference_date: dt.date | None,
    show_progress: bool = True,
    registry: Path | None = None,
    engine: str = "auto",
) -> RunSummary:
    """Validate everything a round needs, build its one configuration and run it (see
    :func:`choose_engine`); return its summary. Progress bars go to standard error when
    ``show_progress``; log lines only with ``--verbose``."""
    from flows.round_context import cached_key, work_dir_for
    from hashing.keys import KeyFileError

    try:
        settings = load_settings(config_file)
    except SettingsError as error:
        fail(str(error), EXIT_CONFIG)
    if recipients is not None:
        paths = settings.paths.model_copy(update={"recipients": recipients.resolve()})
        settings = settings.model_copy(update={"paths": paths})
    try:
        cached_key(key_file)
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)
    check_folders(input_dir, output_dir)
    registry = registry or settings.paths.registry
    check_round_resources(settings.paths.recipients, registry)
    context = round_context(input_dir=input_dir, output_dir=output_dir, round_id=round_id, key_file=key_file,
                            settings=settings, reference_date=reference_date, registry=registry)  # fmt: skip
    prefect_home = settings.paths.prefect_home or work_dir_for(settings, output_dir.resolve()) / "prefect"
    prepare_prefect_environment(prefect_home, create=False)  # made only when the round runs as a flow
    use_running_server()
    engine = choose_engine(engine, settings)
    if engine == "direct" and settings.runner.kind == "dask":
        fail("the Dask runner runs the stages as Prefect tasks: use --engine prefect or auto", EXIT_USAGE)
    quiet_loggers()
    with progress.RichProgress(console) if show_progress else nullcontext() as sink:
        progress.attach(sink)
        try:
            return execute_round(context, engine)
        finally:
            progress.attach(None)


def execute_round(context: RoundContext, engine: str) -> RunSummary:
    """Run the round on ``engine`` and return its summary; fail with the exit code of its error."""
    from flows.resume import RoundLocked
    from flows.round_context import RoundFailed
    from linkage.store import KeyVersionMismatch

    try:
        if engine == "prefect":
            Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
            from flows.cleanup_round import cleanup_round_with_runner

            summary: RunSummary = cleanup_round_with_runner(context)(context)
            return summary
        from flows.round_run import run_round as run_directly

        return run_directly(context)
    except RoundLocked as error:
        fail(f"round {context.round_id} not started: {error}", EXIT_LOCKED)
    except (RoundFailed, KeyVersionMismatch) as error:  # our own messages, free of data values
        fail(f"the round failed: {error}", EXIT_ROUND_FAILED)
    except OSError as error:  # a full disk, a read-only folder: the path and the cause, never data
        where = error.filename if error.filename is not None else "a file of the round"
        fail(f"the round failed writing or reading {where}: {error.strerror or type(error).__name__}; "
             "no partial release was published", EXIT_OUTPUT)  # fmt: skip
    except Exception as error:  # the message may come from a library; only its type is shown
        if VERBOSE["on"]:
            traceback.print_exc()
        fail(f"the round failed ({type(error).__name__}); run with --verbose for details", EXIT_ROUND_FAILED)


def check_folders(input_dir: Path, output_dir: Path) -> None:
    """Fail at start-up when the input folder is missing or empty, or the output folder cannot be
    created or written."""
    from ingest.inventory import visible_files

    if not input_dir.is_dir():
        fail(f"input folder {input_dir} does not exist", EXIT_INPUT)
    if not visible_files(input_dir):
        fail(f"input folder {input_dir} holds no files", EXIT_INPUT)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"output folder {output_dir} cannot be created: {error.strerror}", EXIT_OUTPUT)
    if not os.access(output_dir, os.W_OK | os.X_OK):
        fail(f"output folder {output_dir} is not writable", EXIT_OUTPUT)


def check_round_resources(recipients: Path | None, registry: Path | None) -> None:
    """Fail at start-up, naming the path and the cause, when the recipients folder is missing,
    its pins (``registry.json``) are unreadable, or the provider registry is unusable."""
    from ingest.registry import RegistryError, load_registry
    from reports.delivery import DeliveryError
    from reports.recipients import load_registry as load_pins

    if recipients is not None:
        if not recipients.is_dir():
            fail(f"recipients folder {recipients} does not exist: no provider could be delivered to", EXIT_CONFIG)
        try:
            load_pins(recipients)
        except DeliveryError as error:
            fail(str(error), EXIT_CONFIG)
    if registry is not None:
        try:
            load_registry(registry)
        except RegistryError as error:
            fail(str(error), EXIT_CONFIG)


def print_summary(summary: RunSummary, round_dir: Path) -> None:
    """Print the closing table of a round."""
    table = Table(title=f"Round {summary.round} (peildatum {summary.reference_date})")
    table.add_column("")
    table.add_column("count", justify="right")
    files, rows = summary.files, summary.rows
    lines = [
        ("files received / accepted / rejected", f"{files.received} / {files.accepted} / {files.rejected}"),
        ("rows received / accepted / rejected", f"{rows.received} / {rows.accepted} / {rows.rejected}"),
        ("entries (wachtenden)", str(summary.entries)),
        ("persons", str(summary.persons)),
        ("double waiters", str(summary.double_waiters)),
        ("internal duplicates", str(summary.internal_duplicates)),
        ("providers delivered / undelivered", f"{len(summary.delivered)} / {len(summary.undelivered)}"),
        ("duration (s)", str(summary.duration_s)),
    ]
    for label, value in lines:
        table.add_row(label, value)
    out.print(table)
    for detail in files.details:
        if detail["status"] == "rejected":
            out.print(
                f"  rejected file {detail['file']}: {detail['reason']}"
                + (f" ({detail['detail']})" if detail.get("detail") else "")
            )
    out.print(f"outputs in {round_dir}")


@app.command()
def run(
    input_dir: Annotated[Path, typer.Option("--input", help="Folder with the providers' extracts of this round.")],
    output_dir: Annotated[Path, typer.Option("--output", help="Folder for outputs; the round goes to OUTPUT/ROUND.")],
    round_id: Annotated[str, typer.Option("--round", help="Round id, e.g. 2026-11.")],
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", envvar="WACHTLIJST_KEY_FILE", help="Pseudonymisation key file.")
    ] = None,
    recipients: Annotated[
        Path | None, typer.Option("--recipients", help="Folder with <agb_code>.pub provider keys.")
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option("--registry", help="Provider registry CSV (agb_code, organisatie, naam, sector)."),
    ] = None,
    reference_date: Annotated[
        str | None,
        typer.Option("--reference-date", help="Peildatum YYYY-MM-DD (default: config, else the round id, else today)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the run summary, as JSON, on standard output.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary table: errors only.")] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help=(
                "How the stages run: 'prefect' as a Prefect flow (on the running server, else a temporary one), "
                "'direct' in this process without Prefect, 'auto' Prefect when a server runs (wachtlijst serve, "
                "PREFECT_API_URL) or the runner is Dask, else direct."
            ),
        ),
    ] = Engine.AUTO,
) -> None:
    """Run one cleanup round over a folder of provider extracts."""
    if key_file is None and not os.environ.get("WACHTLIJST_KEY"):
        fail("no pseudonymisation key: pass --key-file, or set WACHTLIJST_KEY_FILE or WACHTLIJST_KEY", EXIT_KEY)
    try:
        peildatum = dt.date.fromisoformat(reference_date) if reference_date else None
    except ValueError:
        fail(f"--reference-date {reference_date!r} is not a date YYYY-MM-DD", EXIT_USAGE)
    summary = run_round(
        input_dir=input_dir,
        output_dir=output_dir,
        round_id=round_id,
        key_file=key_file,
        config_file=config,
        recipients=recipients,
        reference_date=peildatum,
        show_progress=not (quiet or as_json),
        registry=registry,
        engine=engine.value,
    )
    if as_json:
        sys.stdout.write(json.dumps(summary.document(), indent=2) + "\n")
    elif not quiet:
        print_summary(summary, output_dir / round_id)
