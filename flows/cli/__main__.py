"""``python -m flows.cli``: the same as the ``wachtlijst`` command."""

from flows.cli import main

main()
