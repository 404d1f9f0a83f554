"""The ``wachtlijst`` command line: run a round, manage keys, decrypt deliveries, demo.

One module per command group; importing them registers their commands on :data:`app`.
"""

from __future__ import annotations

import importlib
import sys

import typer

from flows.cli.common import (
    EXIT_AUDIT,
    EXIT_CONFIG,
    EXIT_DECRYPT,
    EXIT_INPUT,
    EXIT_KEY,
    EXIT_LOCKED,
    EXIT_OUTPUT,
    EXIT_ROUND_FAILED,
    EXIT_SERVER,
    EXIT_USAGE,
    VERBOSE,
    app,
    console,
)  # fmt: skip

COMMAND_MODULES = ("rounds", "serving", "keys", "provider", "demo", "checks")
"""Imported in this order, they register their commands, which ``--help`` lists in that order."""
for _module in COMMAND_MODULES:
    importlib.import_module(f"flows.cli.{_module}")

__all__ = [
    "EXIT_AUDIT", "EXIT_CONFIG", "EXIT_DECRYPT", "EXIT_INPUT", "EXIT_KEY", "EXIT_LOCKED", "EXIT_OUTPUT",
    "EXIT_ROUND_FAILED", "EXIT_SERVER", "EXIT_USAGE", "app", "main",
]  # fmt: skip


def main() -> None:
    """Entry point of the ``wachtlijst`` console script.

    An unexpected error prints one line (its type only: a library's message may quote data)
    and exits 1; ``--verbose`` shows the traceback.
    """
    try:
        result = app(standalone_mode=False)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.TyperException as usage:  # wrong options or arguments: click's own message
        show = getattr(usage, "show", None)
        if callable(show):
            show()
        sys.exit(int(getattr(usage, "exit_code", EXIT_USAGE)))
    except Exception as error:
        if VERBOSE["on"]:
            raise
        console.print(f"[bold red]error:[/] unexpected {type(error).__name__}; run with --verbose for details")
        sys.exit(EXIT_ROUND_FAILED)
    sys.exit(result if isinstance(result, int) else 0)

