"""What makes a round safe to kill and run again: a lock per round, the interruption recorded
in the audit log, leftovers of interrupted writes removed, and fault points for crash tests."""

from __future__ import annotations

import fcntl
import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.round_context import RoundFailed

FAULT_POINTS: tuple[str, ...] = ("staging", "linking", "insurer_reports", "delivery", "summary")


class RoundLocked(RoundFailed):
    """Another run of the same round holds its lock."""


@contextmanager
def round_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` for the duration; raise :class:`RoundLocked`
    when another process holds it. The operating system releases it when a process dies."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RoundLocked(f"another run of this round is in progress (lock {lock_path})") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_fault_hooks: list[Callable[[str], None]] = []


def install_fault_hook(hook: Callable[[str], None] | None) -> None:
    """Make ``hook`` run at every fault point with the point's name (None removes it). Only the
    crash tests install one: production code never does, and no setting or variable turns it on."""
    _fault_hooks.clear()
    if hook is not None:
        _fault_hooks.append(hook)


def fault_point(name: str) -> None:
    """Mark a point between stages where a crash test may stop the round (see
    :func:`install_fault_hook`); a no-op otherwise."""
    for hook in _fault_hooks:
        hook(name)


def kill_process_group_at(point: str) -> Callable[[str], None]:
    """Return a fault hook that kills this process outright at ``point``; when it leads its own
    process group (as the crash tests start it), the whole group dies with it, as in a power cut."""

    def kill(name: str) -> None:
        if name == point:
            if os.getpgid(0) == os.getpid():
                os.killpg(os.getpid(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)

    return kill


def was_interrupted(audit_path: Path, round_id: str) -> bool:
    """Return whether the audit log shows this round started and never completed or failed."""
    if not audit_path.is_file():
        return False
    open_run = False
    for line in audit_path.read_bytes().split(b"\n"):
        try:
            record = json.loads(line) if line.strip() else {}
        except ValueError:  # a torn last line: set aside by the next append
            continue
        if record.get("round") != round_id and record.get("object") != round_id:
            continue
        if record.get("event") == "round_started":
            open_run = True
        elif record.get("event") in ("round_completed", "round_failed"):
            open_run = False
    return open_run


def remove_partial_files(*folders: Path) -> int:
    """Delete the temporary files an interrupted atomic write left behind; return how many."""
    removed = 0
    for folder in folders:
        if folder.is_dir():
            for leftover in folder.rglob(".*.tmp"):
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed
