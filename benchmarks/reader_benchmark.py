"""Benchmark of reading untrusted files in worker processes against reading them in-process.

    python -m benchmarks.reader_benchmark --entries 1000000 --providers 200

Generates (or reuses, from ``--dir``) the round of ``benchmarks.round_benchmark``, then stages
every file twice in this one invocation, on two threads as the flow does: (1) in-process, the
baseline; (2) each file in a worker process with its memory limit (``ingest.worker``), as the
round does by default. Both stage the same files with the same options; the staged reports must
agree. Prints seconds, the ratio and peak memory, and writes JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.round_benchmark import prepare


def stage_all(target: Path, isolated: bool, threads: int, memory_mb: int) -> dict[str, Any]:
    """Stage every file of the round at ``target`` on ``threads`` threads, in worker processes
    when ``isolated``; return seconds, rows and the reports' digest."""
    from flows.settings import load_settings
    from hashing.keys import load_key_file
    from ingest.file_report import FileReport
    from ingest.inventory import inventory
    from ingest.stage import stage_extract
    from ingest.worker import POOL, StageJob, WorkerLimits, stop_workers

    settings = load_settings(target / "config.toml")
    key = load_key_file(target / "ttp.key")
    staging = target / ("staging_isolated" if isolated else "staging_in_process")
    shutil.rmtree(staging, ignore_errors=True)
    files = [f for f in inventory(target / "input") if f.duplicate_of is None]
    options: dict[str, Any] = {
        "aliases": settings.merged_aliases(), "reference_date": settings.reference_date or dt.date(2026, 11, 1),
        "key": key, "staging_dir": staging, "csv_encoding": settings.csv_encoding,
        "limits": settings.limits.read_limits(),
    }  # fmt: skip
    limits = WorkerLimits(memory_mb=memory_mb)
    chunks = [files[i::threads] for i in range(threads)]

    def run(chunk: list[Any]) -> list[FileReport]:
        if not isolated:
            return [stage_extract(f.path, f.sha256, **options) for f in chunk]
        with POOL.worker(limits) as stager:
            return [stager.stage(StageJob(f.path, f.sha256, options)) for f in chunk]

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        reports = [report for batch in pool.map(run, chunks) for report in batch]
    seconds = time.perf_counter() - started
    worker_peak = POOL.peak_rss_mib()
    stop_workers()
    shutil.rmtree(staging, ignore_errors=True)
    digest = sorted((r.file, r.status, r.rows_received, r.rows_accepted, r.rows_rejected) for r in reports)
    return {"seconds": round(seconds, 3), "files": len(reports), "rows": sum(r.rows_received for r in reports),
            "peak_rss_mib": round(worker_peak if isolated else own_peak_mib()), "digest": digest}  # fmt: skip


def whole_command(target: Path, isolated: bool) -> float:
    """Return the seconds of one whole ``wachtlijst run`` on the round, readers isolated or not."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    environment["WACHTLIJST_LIMITS__ISOLATE_READERS"] = "true" if isolated else "false"
    out = target / ("cli_isolated" if isolated else "cli_in_process")
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--input", str(target / "input"), "--output", str(out),
         "--round", "2026-11", "--config", str(target / "config.toml"), "--key-file", str(target / "ttp.key"),
         "--quiet"],
        check=True, env=environment,
    )  # fmt: skip
    return round(time.perf_counter() - started, 2)


def own_peak_mib() -> float:
    """Return this process's peak resident memory (VmHWM) in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def main() -> None:
    """Parse arguments, run both ways in this invocation and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-mb", type=int, default=3072, help="the workers' address-space limit")
    parser.add_argument("--dir", type=Path, default=Path("bench_out"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--whole-command", action="store_true", help="also time wachtlijst run both ways")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    target = prepare(args.dir, args.entries, args.providers, args.seed)
    if not args.child:  # measure in a fresh process, so that generating the round counts in no peak
        result = subprocess.run([sys.executable, "-m", "benchmarks.reader_benchmark", *sys.argv[1:], "--child"],
                                check=True, capture_output=True, text=True)  # fmt: skip
        print(result.stdout, end="")
        return
    runs: dict[str, list[dict[str, Any]]] = {"in_process": [], "isolated": []}
    for _ in range(args.repeat):  # alternately, so that neither way gets a warmer machine
        runs["isolated"].append(stage_all(target, isolated=True, threads=args.threads, memory_mb=args.memory_mb))
        runs["in_process"].append(stage_all(target, isolated=False, threads=args.threads, memory_mb=args.memory_mb))
    assert len({str(run["digest"]) for way in runs.values() for run in way}) == 1, "both ways must stage the same"
    in_process = min(runs["in_process"], key=lambda run: run["seconds"])
    isolated = min(runs["isolated"], key=lambda run: run["seconds"])
    ratio = isolated["seconds"] / in_process["seconds"]
    print(f"staging {in_process['files']} files, {in_process['rows']} rows, on {args.threads} threads "
          f"(best of {args.repeat}):")  # fmt: skip
    print(f"{'  in-process (baseline)':44} {in_process['seconds']:>9.2f} s   peak {in_process['peak_rss_mib']:>6} MiB")
    print(f"{'  worker processes, ' + str(args.memory_mb) + ' MiB limit each':44} {isolated['seconds']:>9.2f} s   "
          f"peak {isolated['peak_rss_mib']:>6} MiB (largest worker)")  # fmt: skip
    print(f"  cost of isolation: {100 * (ratio - 1):+.1f} %")
    if args.whole_command:
        seconds = {"isolated": whole_command(target, True), "in_process": whole_command(target, False)}
        change = 100 * (seconds["isolated"] / seconds["in_process"] - 1)
        print(f"  whole command: {seconds['isolated']:.1f} s with worker processes, "
              f"{seconds['in_process']:.1f} s reading in-process ({change:+.1f} %)")
    report: dict[str, Any] = {
        way: [{k: v for k, v in run.items() if k != "digest"} for run in each] for way, each in runs.items()
    }
    report["ratio"] = round(ratio, 3)
    if args.whole_command:
        report["whole_command_s"] = seconds
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "reader_result.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
