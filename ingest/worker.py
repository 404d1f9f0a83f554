"""Staging untrusted files in worker processes with a memory limit, so that a file whose
decoder crashes or exhausts memory (a native abort cannot be caught) costs only itself.

Each worker is a child process (``python -m ingest.worker``, started with ``subprocess``: it
works from threads and from inside daemonic processes such as Dask's workers, where
``multiprocessing`` may not start children) whose address space is capped with
``RLIMIT_AS`` and that ends itself when its parent is gone. It receives one group of staging
jobs at a time on its standard input (small files go together, see
:func:`ingest.stage.stage_extracts`) and answers on its own pipe with the files' reports as
JSON (the parent never unpickles what a process that read hostile data sends). The staged
Parquet files it writes hold pseudonymised data only. When a worker dies or overruns its time,
the file is rejected as ``reader_failed`` and the next file gets a fresh worker; when a group
killed or stalled it, its files are staged again one by one, so that only the file that did it
is rejected. Workers are kept for the life of the process (starting one costs about a second)
and stopped by :func:`stop_workers`, at exit at the latest.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pickle
import queue
import resource
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from ingest.file_report import FileReport, rejected_file
from ingest.stage import StageJob, stage_extracts

FRAME = struct.Struct("<Q")
MAX_REPLY_BYTES = 64 << 20


@dataclass(frozen=True)
class WorkerLimits:
    """What one worker process may use: address space (MiB), seconds per file and polars threads
    (None: polars' default, every core)."""

    memory_mb: int = 3072
    seconds_per_file: float = 600.0
    threads: int | None = None


def _die_with_parent(interval_s: float = 0.5) -> None:
    """Start a thread that ends this process as soon as its parent is gone (the parent's pipe
    also closes then, but a worker busy decoding would not read it). ``PR_SET_PDEATHSIG`` is not
    used: Linux sends it when the parent *thread* ends, and workers outlive the task threads
    that start them."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the pipe closed")
        data += chunk
    return data


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(FRAME.pack(len(payload)) + payload)
    stream.flush()


def _stage_safely(jobs: list[StageJob]) -> list[FileReport]:
    """Return the reports of staging ``jobs`` together; when that fails as a whole, of staging
    each alone, so that only the file that failed is rejected."""
    try:
        return stage_extracts(jobs)
    except MemoryError:
        if len(jobs) > 1:
            return [report for job in jobs for report in _stage_safely([job])]
        return [_failed(jobs[0], "the reader ran out of its memory limit")]
    except Exception as error:  # a message could quote row content: keep only the type
        if len(jobs) > 1:
            return [report for job in jobs for report in _stage_safely([job])]
        return [rejected_file(jobs[0].name, jobs[0].sha256, 0, "processing_failed", type(error).__name__,
                              jobs[0].options.get("sender"))]  # fmt: skip


def serve(memory_mb: int) -> None:
    """The worker's loop: set the limits, then stage each job read from standard input until it
    closes, answering each with its report as JSON on the original standard output (which is
    moved aside first, so that nothing a library prints can corrupt the answers)."""
    _die_with_parent()
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    jobs = sys.stdin.buffer
    while True:
        try:
            (size,) = FRAME.unpack(_read_exactly(jobs, FRAME.size))
            # jobs come from our own parent process only; the answers go back as JSON, never pickled
            batch: list[StageJob] = pickle.loads(_read_exactly(jobs, size))  # noqa: S301
        except (EOFError, OSError):
            return
        _write_frame(replies, json.dumps([asdict(report) for report in _stage_safely(batch)]).encode())


def _failed(job: StageJob, detail: str) -> FileReport:
    try:
        size = job.path.stat().st_size
    except OSError:
        size = 0
    return rejected_file(job.name, job.sha256, size, "reader_failed", detail, job.options.get("sender"))


class IsolatedStager:
    """One worker process and its pipes; restarted after a file killed it."""

    def __init__(self, limits: WorkerLimits) -> None:
        self.limits = limits
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        # glibc reserves 64 MiB of address space per thread arena: without a cap on arenas the
        # readers' thread pools alone would eat the address-space limit before any data is read
        environment = {**os.environ, "MALLOC_ARENA_MAX": "2"}
        if self.limits.threads is not None:
            environment["POLARS_MAX_THREADS"] = str(self.limits.threads)
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "ingest.worker", str(self.limits.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, close_fds=True,
        )  # fmt: skip
        return self._process

    def is_alive(self) -> bool:
        """Return whether the worker process runs."""
        return self._process is not None and self._process.poll() is None

    def stage(self, job: StageJob) -> FileReport:
        """Return the report of staging ``job`` in the worker; a worker that dies or overruns
        its time rejects the file as ``reader_failed`` and is replaced for the next file."""
        return self.stage_together([job])[0]

    def stage_together(self, jobs: list[StageJob]) -> list[FileReport]:
        """Return the reports of staging ``jobs`` in the worker in one go (see
        :func:`ingest.stage.stage_extracts`), within the time of one file. When the worker dies
        or overruns that time, each file is staged again alone in a fresh worker, so that only
        the file that killed it is rejected as ``reader_failed``."""
        process = self._process if self.is_alive() else self._start()
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the reader worker was started without its pipes")
        try:
            _write_frame(process.stdin, pickle.dumps(jobs))
            ready, _, _ = select.select([process.stdout], [], [], self.limits.seconds_per_file)
            if ready:
                (size,) = FRAME.unpack(_read_exactly(process.stdout, FRAME.size))
                if size > MAX_REPLY_BYTES:
                    raise EOFError("reply too large")
                reports = [FileReport(**report) for report in json.loads(_read_exactly(process.stdout, size))]
                if len(reports) != len(jobs):
                    raise ValueError("one report per file expected")
                return reports
            detail = f"reading took longer than {self.limits.seconds_per_file:g} s"
        except (EOFError, OSError, ValueError, TypeError):
            detail = f"the reader stopped (over its memory limit of {self.limits.memory_mb} MiB, or crashed)"
        self.stop()
        if len(jobs) > 1:
            return [self.stage(job) for job in jobs]
        return [_failed(jobs[0], detail)]

    def peak_rss_mib(self) -> float:
        """Return the worker process's peak resident memory since it started (VmHWM; 0 when no
        worker runs). ``getrusage`` of children would count the parent's pages copied at fork."""
        if not self.is_alive() or self._process is None:
            return 0.0
        try:
            status = Path(f"/proc/{self._process.pid}/status").read_text()
        except OSError:
            return 0.0
        line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), "VmHWM: 0 kB")
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        """Stop the worker process, waiting for it to be gone."""
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


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

    def peak_rss_mib(self) -> float:
        """Return the largest peak resident memory of this pool's running workers."""
        with self._lock:
            return max((stager.peak_rss_mib() for stager in self._all), default=0.0)

    def stop_all(self) -> None:
        """Stop every worker process of this pool."""
        with self._lock:
            for stager in self._all:
                stager.stop()


POOL = WorkerPool()


def pooled_worker(limits: WorkerLimits) -> AbstractContextManager[IsolatedStager]:
    """Return a context that lends an idle worker of this process with ``limits``."""
    return POOL.worker(limits)


def stop_workers() -> None:
    """Stop this process's worker processes (they are restarted when needed)."""
    POOL.stop_all()


atexit.register(stop_workers)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
