"""Benchmark of a national round of many provider files: time per file, beside the same entries
in few files (the baseline), in the same run.

    python -m benchmarks.many_files_benchmark --files 2000 --baseline-files 20 --entries 200000

Generates both rounds (cached in --dir; every provider gets a delivery key), then runs the
whole ``wachtlijst run`` command on each in a fresh process and reads the seconds per stage
from its ``run_summary.json``. The per-file overhead is the difference in reading and
pseudonymising time divided by the difference in file count: the entries are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.attacker import differenced
from benchmarks.published_release import read_release

FORMATS = ("csv-semicolon", "parquet", "csv-semicolon-bom", "csv-comma-cp1252")


def prepare(folder: Path, files: int, entries: int, seed: int) -> Path:
    """Generate a round of ``entries`` over ``files`` providers into ``folder`` unless cached."""
    from hashing.keys import create_key_file
    from reports.recipients import create_age_keys, pin_recipients
    from sample_data.generate import RoundSpec, generate_round

    target = folder / f"files-{files}-{entries}-{seed}"
    if (target / "ready").exists():
        return target
    spec = RoundSpec(entries=entries, providers=files, seed=seed, formats=FORMATS, bad_files=False)
    generated = generate_round(target, spec)
    recipients = target / "recipients"
    for agb in generated.providers:
        public_path, _ = create_age_keys(agb, target / "provider_keys")
        recipients.mkdir(exist_ok=True)
        shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    create_key_file(target / "ttp.key")
    (target / "ready").write_text("ok")
    return target


def run_round(target: Path) -> dict[str, Any]:
    """Run ``wachtlijst run`` on the round in a fresh process; return its timings."""
    output = target / "out"
    shutil.rmtree(output, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--input", str(target / "input"), "--output", str(output),
         "--round", "2026-11", "--config", str(target / "config.toml"), "--key-file", str(target / "ttp.key"),
         "--recipients", str(target / "recipients"), "--json"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    summary = json.loads((output / "2026-11" / "run_summary.json").read_text())
    release = read_release(output / "2026-11" / "insurers")
    ledger = (output / "_ttp" / "release_ledger.jsonl").read_text().splitlines()
    protection = json.loads(ledger[-1]).get("protection", {})
    return {
        "small_counts_by_difference": sum(1 <= value < 10 for *_, value in differenced(release)),
        "cells_suppressed": sum(int(table[c].null_count()) for table, _ in release.values() for c in table.columns[1:]),
        "unprotected": len(protection.get("exposed_by_previous_release", [])),
        "files": summary["files"]["received"],
        "entries": summary["entries"],
        "delivered": len(summary["delivered"]),
        "stage_seconds": summary["stage_seconds"],
        "command_s": round(seconds, 2),
        "peak_rss_mib_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Parse arguments, run both rounds and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--baseline-files", type=int, default=20)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("bench_out"))
    args = parser.parse_args()
    results = {}
    for files in (args.baseline_files, args.files):
        started = time.perf_counter()
        target = prepare(args.dir, files, args.entries, args.seed)
        print(f"{files} files: generated/cached in {time.perf_counter() - started:.0f} s; running", flush=True)
        results[files] = run_round(target)
    base, many = results[args.baseline_files], results[args.files]
    stages = list(dict.fromkeys([*base["stage_seconds"], *many["stage_seconds"]]))
    print(f"\n{'':44} {args.baseline_files:>10} files {args.files:>10} files")
    print(f"{'entries':44} {base['entries']:>16} {many['entries']:>16}")
    for stage in stages:
        before, after = base["stage_seconds"].get(stage, 0), many["stage_seconds"].get(stage, 0)
        print(f"{stage + ' (s)':44} {before:>16.2f} {after:>16.2f}")
    print(f"{'whole command (s)':44} {base['command_s']:>16.2f} {many['command_s']:>16.2f}")
    read = "reading + pseudonymising files"
    for name, result in ((args.baseline_files, base), (args.files, many)):
        print(f"{f'{read}, ms per file ({name} files)':44} {1000 * result['stage_seconds'][read] / name:>16.1f}")
    overhead = (many["stage_seconds"][read] - base["stage_seconds"][read]) / (args.files - args.baseline_files)
    print(f"{'per-file overhead of reading (ms per extra file)':44} {1000 * overhead:>16.1f}")
    for key in ("cells_suppressed", "small_counts_by_difference", "unprotected"):
        print(f"{'insurer release: ' + key.replace('_', ' '):44} {base[key]:>16} {many[key]:>16}")
    (args.dir / "many_files_result.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
