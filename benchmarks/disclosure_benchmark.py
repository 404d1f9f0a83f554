"""Disclosure control of one insurer release, side by side in one run: per-table suppression
(each table against its own totals row), stop 17's release-wide search (insurer slices of a
person column as inequalities), and the protection with witnesses (slices that add up exactly,
every relation between columns). For each: seconds, cells suppressed, what an attacker who
holds every file computes, and small counts left unprotected.

The releases come from random populations (``sample_data.populations``): persons with one
insurer, waiting at one to three providers, internal duplicates, trend columns against a
previous round. Run:

    python -m benchmarks.disclosure_benchmark [--providers 40 200 2000] [--insurers 10]

The integer-programming attacker (``benchmarks/attacker.py``) runs up to ``--attack-max``
providers; above that the direct difference (national minus the other insurers) is counted.
Stop 17's method runs up to ``--legacy-max`` providers (at 2,000 it takes well over ten minutes).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import duckdb

from benchmarks.attacker import attack, differenced
from benchmarks.legacy_protection import legacy_protect_release
from reports.insurers import protected_release
from reports.protection import protect_release, suppress_each_table
from reports.release import NATIONAL, Release, category_totals, release_tables
from sample_data.populations import PopulationSpec, load_population


def per_table(release: Release, threshold: int, forced: object = ()) -> Release:
    """Per-table suppression only (the oldest baseline)."""
    return suppress_each_table(release, threshold)


METHODS: dict[str, Callable[..., Release]] = {
    "per table": per_table,
    "stop 17 search": legacy_protect_release,
    "witnesses (this)": protect_release,
}


def measure(spec: PopulationSpec, method: str, threshold: int, attack_max: int) -> dict[str, object]:
    """Return seconds, cells suppressed and what an attacker finds for one method and population."""
    import reports.insurers as insurers

    con = duckdb.connect()
    load_population(con, spec)
    original = insurers.protect_release
    insurers.protect_release = METHODS[method]
    started = time.perf_counter()
    try:
        release = protected_release(con, threshold)
    finally:
        insurers.protect_release = original
    seconds = time.perf_counter() - started
    published = {scope: release_tables(release, scope) for scope in release.scopes}
    categories = category_totals(release, NATIONAL)
    # published cells only: the provider cells of the table by sector and zorgvraag never are
    hidden = sum(int(release.hidden[c].sum()) for c in release.columns if c not in release.totals_only)
    hidden += sum(value is None for value in categories.values())
    direct = sum(1 <= value < threshold for *_, value in differenced(published))
    pinned: int | str = "-"
    if spec.providers <= attack_max:  # an attacker who knows which provider delivers which zorgvraag
        support = {(f"cat:{column}", provider) for column in release.totals_only
                   for i, provider in enumerate(release.providers) if release.counts[column][0, i] > 0}  # fmt: skip
        split = {(s, z, m): value for column, value in categories.items() for s, z, m in [column.split("|")]}
        found = attack(published, categories=split, support=support, only_below=threshold)
        pinned = len(found.small_counts_pinned(threshold))
    stats = getattr(release, "stats", None)
    return {"seconds": seconds, "hidden": hidden, "direct": direct, "pinned": pinned,
            "exposed": len(stats.exposed) if stats is not None else "-"}  # fmt: skip


def main() -> None:
    """Print one line per size and method."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", type=int, nargs="+", default=[40, 200, 2000])
    parser.add_argument("--insurers", type=int, default=10)
    parser.add_argument("--threshold", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--attack-max", type=int, default=40)
    parser.add_argument("--legacy-max", type=int, default=200)
    args = parser.parse_args()
    print(f"{'providers':>9} {'method':<18} {'seconds':>8} {'suppressed':>10} {'national-others':>15} "
          f"{'attacker pins':>13} {'unprotected':>11}")  # fmt: skip
    for providers in args.providers:
        spec = PopulationSpec(providers=providers, insurers=args.insurers, seed=args.seed)
        for method in METHODS:
            if method == "stop 17 search" and providers > args.legacy_max:
                print(f"{providers:>9} {method:<18} {'skipped (--legacy-max)':>30}", flush=True)
                continue
            r = measure(spec, method, args.threshold, args.attack_max)
            print(f"{providers:>9} {method:<18} {r['seconds']:>8.2f} {r['hidden']:>10} {r['direct']:>15} "
                  f"{r['pinned']:>13} {r['exposed']:>11}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
