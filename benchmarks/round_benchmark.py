"""Benchmark of a cleanup round: time per stage and peak memory, beside a naive baseline.

    python -m benchmarks.round_benchmark --entries 1000000

Generates a round (once per size and seed, cached in --dir), then in fresh processes:
(1) the round's stages in this process (``flows.round_run``, as ``--engine direct`` runs them),
timed one by one; (2) the naive baseline for
pseudonymisation, a per-row ``hmac.new`` loop, on the same rows; (3) the whole
``wachtlijst run`` command (Prefect flow included). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

BENCH_FORMATS = ("csv-semicolon-bom", "parquet", "csv-comma-cp1252", "parquet", "xlsx")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Return the peak resident memory of this process (or its children) in MiB."""
    return resource.getrusage(who).ru_maxrss / 1024


def fast_workbook(frame: pl.DataFrame) -> bytes:
    """Return a generated extract as .xlsx bytes, written column-wise (dates as date cells): a
    national round's workbooks in seconds, where writing them cell by cell takes many minutes."""
    from reports.xlsx import Sheet, workbook_bytes

    return workbook_bytes([Sheet("Wachtlijst", frame)], author="bronsysteem")


def prepare(folder: Path, entries: int, providers: int, seed: int, formats: tuple[str, ...] = BENCH_FORMATS) -> Path:
    """Generate the benchmark round into ``folder/round-N-P-S`` unless it is there (with a TTP key
    and every provider's age keys); return it."""
    from hashing.keys import create_key_file
    from reports.recipients import create_age_keys
    from sample_data.generate import RoundSpec, generate_round

    target = folder / f"round-{entries}-{providers}-{seed}"
    if (target / "ready").exists():
        return target
    spec = RoundSpec(entries=entries, providers=providers, seed=seed, formats=formats)
    generated = generate_round(target, spec, workbook=fast_workbook)
    for agb in generated.providers:
        create_age_keys(agb, target / "recipients")
    key_file = target / "ttp.key"
    if not key_file.exists():
        create_key_file(key_file)
    (target / "ready").write_text("ok")
    return target


def measure_core(target: Path) -> dict[str, Any]:
    """Run the whole round in this process with the stages the flow runs (no Prefect); return
    seconds per stage and peak MiB."""
    import shutil

    from flows.round_context import RoundContext
    from flows.round_run import run_round
    from flows.settings import load_settings

    work = target / "core_out"
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    context = RoundContext.create(
        input_dir=target / "input", output_dir=work, round_id="bench", key_file=target / "ttp.key",
        settings=load_settings(target / "config.toml"), reference_date=dt.date(2026, 11, 1),
    )  # fmt: skip
    summary = run_round(context).document()
    times = dict(summary["stage_seconds"])
    times.update({f"  of which {k}": v for k, v in summary["linkage"]["seconds"].items()})
    times["total"] = round(time.perf_counter() - started, 3)
    return {
        "stages_s": times,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "entries": summary["entries"],
        "rows": summary["rows"]["received"],
        "files": summary["files"]["received"],
        "candidate_pairs": summary["linkage"]["candidate_pairs"],
        "probabilistic_links": summary["linkage"]["links"],
    }


def measure_pseudonymisation(target: Path, naive: bool) -> dict[str, Any]:
    """Time pseudonymising every BSN and quasi-identifier of the round, fast or naive."""
    from hashing.keys import load_key_file
    from hashing.pseudonyms import PURPOSE_BSN, PURPOSE_QUASI_IDENTIFIER, pseudonymise_series, quasi_identifier_expr
    from ingest.read import read_extract
    from ingest.validate import validate_extract

    key = load_key_file(target / "ttp.key")
    frames = []
    for path in sorted((target / "input").iterdir()):
        try:
            frames.append(
                validate_extract(
                    read_extract(
                        path,
                        {
                            "cliëntnummer": "client_id",
                            "geboorte datum": "geboortedatum",
                            "datum aanmelding": "aanmelddatum",
                        },
                    ).frame,
                    dt.date(2026, 11, 1),
                ).accepted
            )
        except Exception:
            continue
    accepted = pl.concat(frames)
    bsn = accepted["bsn"]
    qid = accepted.select(quasi_identifier_expr().alias("q"))["q"]
    started = time.perf_counter()
    if naive:
        bsn_key, qid_key = key.subkey(PURPOSE_BSN), key.subkey(PURPOSE_QUASI_IDENTIFIER)
        out_bsn = [None if v is None else hmac.new(bsn_key, v.encode(), hashlib.sha256).hexdigest() for v in bsn]
        out_qid = [None if v is None else hmac.new(qid_key, v.encode(), hashlib.sha256).hexdigest() for v in qid]
        first = out_bsn[0] if out_qid else None
    else:
        fast_bsn = pseudonymise_series(bsn, key, PURPOSE_BSN)
        pseudonymise_series(qid, key, PURPOSE_QUASI_IDENTIFIER)
        first = fast_bsn[0]
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "rows": accepted.height, "first": first}


def run_child(*args: str) -> dict[str, Any]:
    """Run this module in a fresh process and return the JSON it prints."""
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.round_benchmark", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_cli(target: Path) -> dict[str, Any]:
    """Time the whole ``wachtlijst run`` command on the round; return seconds and peak MiB."""
    out = target / "cli_out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            "--input",
            str(target / "input"),
            "--output",
            str(out),
            "--round",
            "2026-11",
            "--config",
            str(target / "config.toml"),
            "--key-file",
            str(target / "ttp.key"),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - started
    summary = json.loads((out / "2026-11" / "run_summary.json").read_text())
    return {
        "seconds": round(seconds, 2),
        "flow_duration_s": summary["duration_s"],
        "peak_rss_mib_children": round(peak_rss_mib(resource.RUSAGE_CHILDREN), 1),
    }


def main() -> None:
    """Parse arguments, run the measurements and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("bench_out"))
    parser.add_argument("--skip-cli", action="store_true", help="do not time the whole CLI run")
    parser.add_argument("--child", choices=["core", "fast", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (
            measure_core(args.target)
            if args.child == "core"
            else measure_pseudonymisation(args.target, naive=args.child == "naive")
        )
        print(json.dumps(result))
        return
    started = time.perf_counter()
    target = prepare(args.dir, args.entries, args.providers, args.seed)
    print(f"round of ~{args.entries} entries in {target} (generated/cached in {time.perf_counter() - started:.1f} s)")
    core = run_child("--child", "core", "--target", str(target))
    fast = run_child("--child", "fast", "--target", str(target))
    naive = run_child("--child", "naive", "--target", str(target))
    assert fast["first"] == naive["first"], "fast and naive pseudonyms must be identical"
    report: dict[str, Any] = {
        "entries": core["entries"],
        "rows": core["rows"],
        "files": core["files"],
        "core": core,
        "pseudonymise_fast": fast,
        "pseudonymise_naive_hmac_loop": naive,
    }
    if not args.skip_cli:
        report["cli"] = run_cli(target)
    print(f"{'stage':40} {'seconds':>10}")
    for stage, seconds in core["stages_s"].items():
        print(f"{stage:40} {seconds:>10.3f}")
    print(f"{'peak memory, core stages (MiB)':40} {core['peak_rss_mib']:>10.1f}")
    print(f"\npseudonymise {fast['rows']} rows (BSN + quasi-identifier):")
    print(f"{'  keyed hasher (ours)':40} {fast['seconds']:>10.3f}")
    print(f"{'  naive per-row hmac.new (baseline)':40} {naive['seconds']:>10.3f}")
    if "cli" in report:
        cli = report["cli"]
        print(
            f"\nwachtlijst run (whole command, Prefect included): {cli['seconds']:.2f} s, "
            f"flow {cli['flow_duration_s']:.2f} s, peak {cli['peak_rss_mib_children']:.0f} MiB"
        )
    (args.dir / "last_result.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
