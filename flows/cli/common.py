"""What every command of the ``wachtlijst`` command line shares: the Typer application and its
command groups, the consoles, exit codes and one-line failures."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

EXIT_USAGE = 2

EXIT_CONFIG = 3

EXIT_KEY = 4

EXIT_INPUT = 5

EXIT_DECRYPT = 6

EXIT_AUDIT = 7

EXIT_LOCKED = 8

EXIT_SERVER = 9

EXIT_OUTPUT = 10

EXIT_ROUND_FAILED = 1

app = typer.Typer(
    help="Find double waiters on Dutch healthcare waiting lists, as a trusted third party.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

keys_app = typer.Typer(help="Create the TTP's pseudonymisation key and providers' delivery keys.", no_args_is_help=True)

app.add_typer(keys_app, name="keys")
archive_app = typer.Typer(help="The encrypted archive of raw extracts.", no_args_is_help=True)

app.add_typer(archive_app, name="archive")
audit_app = typer.Typer(help="Check the append-only audit log.", no_args_is_help=True)

app.add_typer(audit_app, name="audit")
console = Console(stderr=True, soft_wrap=True)

out = Console(soft_wrap=True)

VERBOSE = {"on": False}

"""Whether ``--verbose`` was given: tracebacks and Prefect's console lines."""


def fail(message: str, code: int) -> NoReturn:
    """Print one clear error line and exit with ``code``."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@app.callback()
def options(
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the traceback of an unexpected error.")] = False,
) -> None:
    """Find double waiters on Dutch healthcare waiting lists, as a trusted third party."""
    VERBOSE["on"] = verbose
