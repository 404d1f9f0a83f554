"""Progress of a round's stages, for whoever watches: the CLI shows bars, a scheduled run none.

The flow opens a stage, its tasks advance it; both run in one process (the default thread
pool), so a process-wide sink is enough. Only stage names and counts pass through here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID


class ProgressSink(Protocol):
    """Receives stage starts, advances and ends."""

    def start(self, stage: str, total: int | None) -> None: ...

    def advance(self, stage: str, amount: int) -> None: ...

    def finish(self, stage: str) -> None: ...


_sinks: list[ProgressSink] = []


def attach(sink: ProgressSink | None) -> None:
    """Make ``sink`` receive progress from now on (None detaches)."""
    _sinks.clear()
    if sink is not None:
        _sinks.append(sink)


def _process_written(pid: str) -> int:
    """Return ``write_bytes`` of one process (with its reaped children), 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split(":")[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: str) -> list[str]:
    """Return the ids of the running descendants of process ``pid`` (Linux ``/proc``)."""
    found: list[str] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def bytes_written() -> int:
    """Return the bytes this process, its running descendants and the children it has reaped
    have caused to be written to storage (the kernel's ``write_bytes``: files, DuckDB's spills,
    Prefect's database; 0 where ``/proc`` has no such counters). The difference over a stage is
    what the stage wrote: a child that ends during it moves its count into its parent's."""
    me = str(os.getpid())
    return sum(_process_written(pid) for pid in [me, *_descendants(me)])


@contextmanager
def stage(
    name: str,
    total: int | None = None,
    timings: MutableMapping[str, float] | None = None,
    written: MutableMapping[str, int] | None = None,
) -> Iterator[None]:
    """Report a stage from start to end; record its seconds in ``timings`` and the bytes it
    wrote to disk (see :func:`bytes_written`) in ``written`` when given."""
    started = time.perf_counter()
    before = bytes_written() if written is not None else 0
    for sink in _sinks:
        sink.start(name, total)
    try:
        yield
    finally:
        for sink in _sinks:
            sink.finish(name)
        if timings is not None:
            timings[name] = round(time.perf_counter() - started, 3)
        if written is not None:
            written[name] = bytes_written() - before


def advance(name: str, amount: int = 1) -> None:
    """Advance stage ``name`` by ``amount`` (a no-op when nobody watches)."""
    for sink in _sinks:
        sink.advance(name, amount)


class RichProgress:
    """A sink that draws one rich progress bar per stage on the operator's terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._totals: dict[str, int | None] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, stage: str, total: int | None) -> None:
        """Add a bar (or a spinner when the total is unknown) for ``stage``."""
        self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._totals[stage] = total

    def advance(self, stage: str, amount: int) -> None:
        """Move the bar of ``stage`` on."""
        task = self._tasks.get(stage)
        if task is not None:
            self._progress.advance(task, amount)

    def finish(self, stage: str) -> None:
        """Fill the bar of ``stage``."""
        task = self._tasks.get(stage)
        if task is not None:
            total = self._totals.get(stage) or 1
            self._progress.update(task, total=total, completed=total)
