"""Staging untrusted files in worker processes with a memory limit, so that a file whose
decoder crashes or exhausts memory (a native abort cannot be caught) costs only itself.

Each worker is a child process (started with ``spawn``, never ``fork``: the parent runs
threads) whose address space is capped with ``RLIMIT_AS`` and that dies with its parent
(``PR_SET_PDEATHSIG``). It receives one staging job at a time over a pipe and answers with
the file's report; the staged Parquet files it writes hold pseudonymised data only. When a
worker dies or overruns its time, the file is rejected as ``reader_failed`` and the next file
gets a fresh worker. Workers are kept for the life of the process (starting one costs about a
second) and stopped by :func:`stop_workers`, at exit at the latest.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import queue
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ingest.stage import FileReport, rejected_file, stage_extract

PR_SET_PDEATHSIG = 1
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class WorkerLimits:
    """What one worker process may use: address space (MiB) and seconds per file."""

    memory_mb: int = 2048
    seconds_per_file: float = 600.0


@dataclass(frozen=True)
class StageJob:
    """The arguments of one :func:`ingest.stage.stage_extract` call (``path`` and ``sha256``
    first, then its keywords)."""

    path: Any
    sha256: str
    options: dict[str, Any]


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the pipe's end still stops the loop
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _serve(connection: Connection, memory_mb: int) -> None:
    """The worker's loop: set the limits, then stage each job received until the pipe closes."""
    _die_with_parent()
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job: StageJob = connection.recv()
        except (EOFError, OSError):
            return
        try:
            report = stage_extract(job.path, job.sha256, **job.options)
        except MemoryError:
            report = _failed(job, "the reader ran out of its memory limit")
        except Exception as error:  # a message could quote row content: keep only the type
            report = rejected_file(_name(job), job.sha256, 0, "processing_failed", type(error).__name__,
                                   job.options.get("sender"))  # fmt: skip
        connection.send(report)


def _name(job: StageJob) -> str:
    return str(job.options.get("file_name") or getattr(job.path, "name", job.path))


def _failed(job: StageJob, detail: str) -> FileReport:
    try:
        size = job.path.stat().st_size
    except OSError:
        size = 0
    return rejected_file(_name(job), job.sha256, size, "reader_failed", detail, job.options.get("sender"))


class IsolatedStager:
    """One worker process and its pipe; restarted after a file killed it."""

    def __init__(self, limits: WorkerLimits) -> None:
        self.limits = limits
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    def _start(self) -> Connection:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_serve, args=(child, self.limits.memory_mb), daemon=True,
                                   name="wachtlijst-reader")  # fmt: skip
        process.start()
        child.close()
        self._process, self._connection = process, parent
        return parent

    def stage(self, job: StageJob) -> FileReport:
        """Return the report of staging ``job`` in the worker; a worker that dies or overruns
        its time rejects the file as ``reader_failed`` and is replaced for the next file."""
        connection = self._connection if self._process is not None and self._process.is_alive() else None
        connection = connection or self._start()
        try:
            connection.send(job)
            if connection.poll(self.limits.seconds_per_file):
                report: FileReport = connection.recv()
                return report
            detail = f"reading took longer than {self.limits.seconds_per_file:g} s"
        except (EOFError, OSError, BrokenPipeError):
            detail = f"the reader stopped (over its memory limit of {self.limits.memory_mb} MiB, or crashed)"
        self.stop()
        return _failed(job, detail)

    def stop(self) -> None:
        """Stop the worker process, waiting for it to be gone."""
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
        self._process, self._connection = None, None


class WorkerPool:
    """Idle workers of this process, handed to one thread at a time."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[IsolatedStager] = queue.SimpleQueue()
        self._all: list[IsolatedStager] = []
        self._lock = threading.Lock()

    @contextmanager
    def worker(self, limits: WorkerLimits) -> Iterator[IsolatedStager]:
        """Yield an idle worker with ``limits`` (a new one when none is idle) and take it back."""
        try:
            stager = self._idle.get_nowait()
        except queue.Empty:
            stager = IsolatedStager(limits)
            with self._lock:
                self._all.append(stager)
        if stager.limits != limits:
            stager.stop()
            stager.limits = limits
        try:
            yield stager
        finally:
            self._idle.put(stager)

    def stop_all(self) -> None:
        """Stop every worker process of this pool."""
        with self._lock:
            for stager in self._all:
                stager.stop()


POOL = WorkerPool()


def stop_workers() -> None:
    """Stop this process's worker processes (they are restarted when needed)."""
    POOL.stop_all()


atexit.register(stop_workers)
