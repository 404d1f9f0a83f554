"""Disclosure control of one release, side by side: per-table suppression (the baseline, each
table with its own totals) and release-wide protection with search. For each: seconds, cells
suppressed, and small counts an attacker holding every insurer file can still compute.

Run: ``python -m benchmarks.disclosure_benchmark [--providers 24 200] [--insurers 10]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from reports.disclosure import COUNT_COLUMNS
from reports.release import NATIONAL, audit_release, build_release, protect_release, suppress_each_table


def synthetic_tables(providers: int, insurers: int, seed: int) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Return unsuppressed tables: provider sizes from a gamma, split over insurers by market
    share; person and norm columns as fixed shares of the entries (national = sum of slices)."""
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(insurers, 2.0))
    sizes = rng.gamma(1.5, 60, size=providers)
    counts = rng.poisson(np.outer(shares, sizes)).astype(np.int64)
    fractions = {"wachtenden": 1.0, "unieke_personen": 0.95, "dubbel_wachtenden": 0.12,
                 "interne_dubbelingen": 0.02, "boven_norm": 0.55, "boven_norm_geschoond": 0.5}  # fmt: skip
    per_slice = [{c: np.floor(counts[s] * f).astype(np.int64) for c, f in fractions.items()} for s in range(insurers)]
    national = {c: sum(columns[c] for columns in per_slice) for c in COUNT_COLUMNS}
    agb = [f"22{i:06d}" for i in range(providers)]
    tables = {}
    for scope, columns in [(NATIONAL, national), *((f"{3300 + s}", cols) for s, cols in enumerate(per_slice))]:
        frame = pl.DataFrame({"agb_code": agb, **columns})
        frame = frame.filter(pl.col("wachtenden") > 0) if scope != NATIONAL else frame
        tables[scope] = (
            frame,
            frame.select(pl.lit("totaal").alias("agb_code"), *[pl.col(c).sum() for c in COUNT_COLUMNS]),
        )
    return tables


def main() -> None:
    """Print one line per method and size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, nargs="+", default=[24, 200])
    parser.add_argument("--insurers", type=int, default=10)
    parser.add_argument("--threshold", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'providers':>9} {'method':<28} {'seconds':>8} {'suppressed':>10} {'small counts computable':>24}")
    for providers in args.providers:
        for name, method in (
            ("per table (baseline)", suppress_each_table),
            ("release-wide with search", protect_release),
        ):
            release = build_release(synthetic_tables(providers, args.insurers, args.seed))
            started = time.perf_counter()
            method(release, args.threshold)
            seconds = time.perf_counter() - started
            hidden = sum(int(h.sum()) for h in release.hidden.values())
            exposed = len(audit_release(release, args.threshold))
            print(f"{providers:>9} {name:<28} {seconds:>8.2f} {hidden:>10} {exposed:>24}", flush=True)


if __name__ == "__main__":
    main()
