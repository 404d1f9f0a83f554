"""Scaling benchmark: the whole ``wachtlijst run`` on rounds of 0.1 M to 10 M entries in 2,000
provider files of every format, beside a naive baseline on the smaller sizes, with the curve.

    python -m benchmarks.scaling_benchmark                        # 0.1, 1 and 3 M entries
    python -m benchmarks.scaling_benchmark --sizes 0.1,1,3,10     # and 10 M

Each round is generated once and cached in ``--dir`` (extracts, provider keys, TTP key). Every
measurement runs in a fresh process: the whole command as an operator types it (Prefect and its
temporary server included), recording seconds per stage from the round's own summary, the peak
memory of the command's whole process tree (sampled), the bytes it caused to be written to disk
(the kernel's ``write_bytes``, DuckDB's spills included) and what it leaves on disk. The naive
baseline reads the same files with pandas, pseudonymises with a per-row ``hmac.new`` loop and
finds double waiters by an exact-key pandas dedupe. Writes ``result.json`` (the latest run) and
``runs/<started>-<commit>.json`` (kept), each result with the commit and start of its run, and
draws ``scaling.png`` / ``scaling.svg`` (time and memory per entry against entries, one line per
stage).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.naive_baseline import run_naive_baseline
from benchmarks.round_benchmark import prepare
from flows.progress import bytes_written
from sample_data.generate import FORMATS

DEFAULT_SIZES = (0.1, 1.0, 3.0)
FILES = 2000
BASELINE_LARGEST = 1_000_000
"""The naive baseline runs on rounds up to this many entries (beyond, it takes too long to wait for)."""
STAGES = {
    "reading + pseudonymising files": "reading",
    "linking": "linking",
    "writing insurer reports": "insurer reports",
    "encrypting provider packages": "provider packages",
    "writing summary": "summary",
}
"""The round's stages (as its summary names them) and their short labels."""
SAMPLE_SECONDS = 0.5
"""How often the process tree's memory is read (reading /proc costs the measured command CPU)."""


def _tree_rss(process: psutil.Process) -> int:
    """Return the resident memory of ``process`` and all its descendants, in bytes."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def _folder_bytes(folder: Path) -> int:
    """Return the bytes of every file under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def config_variant(target: Path, memory_mb: int | None = None, runner: str | None = None, workers: int = 2) -> Path:
    """Return the round's configuration, or a copy of it with ``[store] memory_mb`` capping DuckDB
    (beyond it the store spills to disk) and/or ``[runner]`` set to ``runner`` with ``workers``
    threads or Dask workers (a local cluster)."""
    config = target / "config.toml"
    extra = ""
    if memory_mb is not None:
        extra += f"\n[store]\nmemory_mb = {int(memory_mb)}\n"
    if runner == "dask":
        extra += f'\n[runner]\nkind = "dask"\ndask_workers = {int(workers)}\n'
    elif runner == "threads":
        extra += f'\n[runner]\nkind = "threads"\nthreads = {int(workers)}\n'
    if not extra:
        return config
    variant = target / f"config-{memory_mb or 'all'}mb-{runner or 'default'}{workers}.toml"
    variant.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return variant


def run_round(target: Path, config: Path) -> dict[str, Any]:
    """Run the whole ``wachtlijst run`` on the round in ``target`` with ``config`` in a fresh
    process; return its seconds (whole command, flow, per stage), peak memory, bytes written and
    bytes left on disk."""
    out = target / "cli_out"
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    command = [
        sys.executable, "-m", "flows.cli", "run", "--input", str(target / "input"), "--output", str(out),
        "--round", "2026-11", "--config", str(config),
        "--key-file", str(target / "ttp.key"), "--json",
    ]  # fmt: skip
    written_before = bytes_written()
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        process = psutil.Process(child.pid)
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(process))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"wachtlijst run failed ({child.returncode}): {stderr.decode(errors='replace')[-2000:]}")
    summary = json.loads((out / "2026-11" / "run_summary.json").read_text())
    stages = {STAGES.get(name, name): value for name, value in summary["stage_seconds"].items()}
    return {
        "config": config.name,
        "seconds": round(seconds, 2),
        "flow_s": summary["duration_s"],
        "outside_flow_s": round(seconds - summary["duration_s"], 2),
        "stages_s": stages,
        "linking_s": summary["linkage"]["seconds"],
        "stage_written_bytes": {STAGES.get(k, k): v for k, v in summary.get("stage_bytes_written", {}).items()},
        "entries": summary["entries"],
        "rows_received": summary["rows"]["received"],
        "files": summary["files"]["received"],
        "candidate_pairs": summary["linkage"]["candidate_pairs"],
        "peak_tree_mib": round(peak[0] / 2**20, 1),
        "peak_process_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "written_bytes": bytes_written() - written_before,
        "left_on_disk_bytes": _folder_bytes(out),
        "input_bytes": _folder_bytes(target / "input"),
    }


def run_child(*args: str) -> dict[str, Any]:
    """Run this module in a fresh process and return the JSON it prints."""
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.scaling_benchmark", *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def code_commit() -> str:
    """Return the commit of the code this benchmark runs (with ``+changes`` when its work tree
    differs from it), or ``unknown`` outside a git checkout."""
    here = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
        changed = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+changes" if changed else commit


def draw_curve(results: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Draw time per entry (per stage and whole command) and memory and disk per entry against
    entries; return the PNG and SVG written into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted((r for r in results if "round" in r), key=lambda r: r["round"]["entries"])
    entries = [r["round"]["entries"] for r in runs]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    lines = {"whole command": [r["round"]["seconds"] for r in runs]}
    for label in STAGES.values():
        if all(label in r["round"]["stages_s"] for r in runs):
            lines[label] = [r["round"]["stages_s"][label] for r in runs]
    lines["start-up and Prefect (outside the flow)"] = [r["round"]["outside_flow_s"] for r in runs]
    for label, seconds in lines.items():
        style = {"linewidth": 2.5, "color": "black"} if label == "whole command" else {}
        left.plot(entries, [1e6 * s / n for s, n in zip(seconds, entries, strict=True)], marker="o", label=label,
                  **style)  # fmt: skip
    baseline = [(r["round"]["entries"], r["naive"]["seconds"]) for r in runs if "naive" in r]
    if baseline:
        left.plot([n for n, _ in baseline], [1e6 * s / n for n, s in baseline], marker="s", linestyle="--",
                  color="grey", label="naive baseline (read + HMAC loop + exact dedupe)")  # fmt: skip
    left.set(xscale="log", yscale="log", xlabel="entries in the round", ylabel="µs per entry",
             title="Time per entry, 2,000 provider files")  # fmt: skip
    left.legend(fontsize=7)
    right.plot(entries, [r["round"]["peak_tree_mib"] * 1024 / n * 1000 for r, n in zip(runs, entries, strict=True)],
               marker="o", label="peak memory (KiB per 1,000 entries)")  # fmt: skip
    right.plot(entries, [r["round"]["written_bytes"] / 1024 / n * 1000 for r, n in zip(runs, entries, strict=True)],
               marker="o", label="bytes written to disk (KiB per 1,000 entries)")  # fmt: skip
    right.plot(entries, [r["round"]["input_bytes"] / 1024 / n * 1000 for r, n in zip(runs, entries, strict=True)],
               marker="o", linestyle=":", label="input files (KiB per 1,000 entries)")  # fmt: skip
    right.set(xscale="log", yscale="log", xlabel="entries in the round", ylabel="KiB per 1,000 entries",
              title="Memory and disk per entry")  # fmt: skip
    right.legend(fontsize=7)
    figure.tight_layout()
    written = [folder / "scaling.png", folder / "scaling.svg"]
    folder.mkdir(parents=True, exist_ok=True)
    for path in written:
        figure.savefig(path, dpi=110, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(figure)
    return written


def table(results: list[dict[str, Any]]) -> str:
    """Return the results as a Markdown table (one row per round)."""
    head = (
        "| entries | files | whole command | reading | linking | insurer reports | provider packages | "
        "outside the flow | peak memory (tree) | written to disk | left on disk | naive baseline | naive / ours |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for result in results:
        run = result["round"]
        stages = run["stages_s"]
        naive = result.get("naive")
        ratio = f"{naive['seconds'] / run['seconds']:.2f}" if naive else ""
        naive_seconds = f"{naive['seconds']:.1f} s" if naive else ""
        rows.append(
            f"| {run['entries']:,} | {run['files']:,} | {run['seconds']:.1f} s | {stages.get('reading', 0):.1f} s | "
            f"{stages.get('linking', 0):.1f} s | {stages.get('insurer reports', 0):.1f} s | "
            f"{stages.get('provider packages', 0):.1f} s | {run['outside_flow_s']:.1f} s | "
            f"{run['peak_tree_mib'] / 1024:.2f} GiB | {run['written_bytes'] / 2**30:.2f} GiB | "
            f"{run['left_on_disk_bytes'] / 2**30:.2f} GiB | {naive_seconds} | {ratio} |"
        )
    return "\n".join(rows)


def main() -> None:
    """Parse arguments, generate or reuse the rounds, measure each and draw the curve."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="millions of entries, by commas")
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("bench_out") / "scaling")
    parser.add_argument("--baseline-largest", type=int, default=BASELINE_LARGEST)
    parser.add_argument("--memory-mb", type=int, help="cap DuckDB's memory (MiB): measures spilling")
    parser.add_argument("--runner", choices=["threads", "dask"], help="run the files' tasks on threads or Dask")
    parser.add_argument("--workers", type=int, default=2, help="threads or local Dask workers of --runner")
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--curve-dir", type=Path, help="where to draw the curve (default: --dir)")
    parser.add_argument("--redraw", type=Path, nargs="+", help="only print and draw these result files, together")
    parser.add_argument("--child", choices=["round", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        config = args.config or args.target / "config.toml"
        print(json.dumps(run_round(args.target, config) if args.child == "round" else
                         run_naive_baseline(args.target)))  # fmt: skip
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.redraw:
        merged = [result for path in args.redraw for result in json.loads(path.read_text())]
        print(table(sorted(merged, key=lambda r: r["round"]["entries"])))
        for path in draw_curve(merged, args.curve_dir or args.dir):
            print(f"curve: {path}")
        return
    results = []
    label = f"-{args.memory_mb}mb" if args.memory_mb else ""
    label += f"-{args.runner}{args.workers}" if args.runner else ""
    run = {"commit": code_commit(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": args.files}
    kept = args.dir / "runs" / f"{run['started'].replace(':', '')}-{run['commit']}{label}.json"
    kept.parent.mkdir(exist_ok=True)
    for size in (float(s) for s in args.sizes.split(",")):
        entries = int(size * 1_000_000)
        started = time.perf_counter()
        target = prepare(args.dir, entries, args.files, args.seed, formats=FORMATS)
        print(f"{entries:,} entries in {args.files} files: {target} (ready in {time.perf_counter() - started:.0f} s)",
              flush=True)  # fmt: skip
        config = config_variant(target, args.memory_mb, args.runner, args.workers)
        result: dict[str, Any] = {
            "run": run,
            "round": run_child("--child", "round", "--target", str(target), "--config", str(config))
        }
        if entries <= args.baseline_largest:
            result["naive"] = run_child("--child", "naive", "--target", str(target))
        results.append(result)
        print(json.dumps(result), flush=True)
        for path in (args.dir / f"result{label}.json", kept):
            path.write_text(json.dumps(results, indent=2))
    print(table(results))
    for path in draw_curve(results, args.curve_dir or args.dir):
        print(f"curve: {path}")


if __name__ == "__main__":
    main()
