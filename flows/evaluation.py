"""Evaluation of the linkage on a generated noisy round with truth and on FEBRL4 (extract
fields only: names, birth date, postcode): ours on keyed encodings beside the recordlinkage
tutorial approach on the plain data. ``python -m benchmarks.linkage_evaluation`` adds Splink
on the plain data and runs every system in a process of its own, for its peak memory.

    wachtlijst evaluate

It lives in ``flows`` because the command line runs it and it drives a whole staged round
(imports point down only; ``benchmarks`` may import ``flows``, not the other way round).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows.evaluation_data import (
    Dataset,
    evaluation_key,
    febrl4_dataset,
    generated_dataset,
    ordered,
    pairs_in_groups,
    peak_memory_mib,
    precision_recall,
    recall_per_pass,
)
from hashing.encodings import encode_quasi_identifiers
from hashing.pseudonyms import PURPOSE_QUASI_IDENTIFIER, pseudonymise_series
from linkage.blocking import find_candidates
from linkage.comparisons import linking_columns_sql
from linkage.parameters import LinkageParameters
from linkage.probabilistic import link_probabilistically
from linkage.store import load_linking_table, query_frame

SYSTEM_LABELS = {
    "ours": "wachtlijst (keyed encodings)",
    "splink": "Splink 5, DuckDB (plain data)",
    "recordlinkage": "recordlinkage ECM (plain data)",
}


def _linkage_summary(report: Any) -> dict[str, Any]:
    """Return what a run of our linkage reports, for the evaluation's JSON."""
    return {"candidate_pairs": report.candidate_pairs, "pairs_per_pass": report.pairs_per_pass,
            "links": report.links, "review_pairs": report.review_pairs,
            "refused_one_to_one": report.refused_one_to_one, "split_clusters": report.split_clusters,
            "labelled_matches": report.labelled_matches, "seconds": report.seconds}  # fmt: skip


def ours_generated(dataset: Dataset) -> dict[str, Any]:
    """Run the pipeline's staging and linking on the generated round; return pair precision and
    recall, blocking recall per pass, and precision and recall of double-waiter entries for
    entries without a usable BSN and with one (the figures the providers' lists rest on)."""
    from flows.round_context import RoundContext
    from flows.round_run import stage_and_link
    from flows.settings import load_settings
    from hashing.keys import create_key_file
    from ingest.stage import staged_paths
    from sample_data.generate import RoundSpec

    if dataset.round_dir is None:
        raise ValueError("the generated round's folder is needed to run the pipeline on it")
    work = dataset.round_dir / "work"
    shutil.rmtree(work, ignore_errors=True)
    key_file = work / "evaluation.key"
    create_key_file(key_file, secret=evaluation_key().secret)
    context = RoundContext.create(
        input_dir=dataset.round_dir / "input", output_dir=work, round_id="evaluation", key_file=key_file,
        settings=load_settings(dataset.round_dir / "config.toml"), reference_date=RoundSpec().reference_date,
    )  # fmt: skip
    started = time.perf_counter()
    reports, linked = stage_and_link(context)
    seconds = time.perf_counter() - started
    staged_files = [staged_paths(context.staging_dir, r.sha256)[0] for r in reports if r.status == "accepted"]
    with duckdb.connect(str(context.store_path)) as con:
        predicted = query_frame(
            con,
            "SELECT f.entry_id, f.provider, f.client_id, f.person_id AS found_person, f.is_double, e.bsn_status "
            "FROM entry_facts AS f JOIN entries AS e USING (entry_id)",
        )
        # the store keeps no encodings: load the linking table again to see what blocking proposes
        load_linking_table(con, staged_files)
        find_candidates(con, left_filter="l.bsn_token IS NULL")
        candidates = query_frame(con, "SELECT l, r, pass::VARCHAR AS pass FROM candidate_passes")
    peers = dataset.sources[0]
    joined = predicted.join(peers.select("provider", "client_id", "unique_id", "has_bsn"), on=["provider", "client_id"])
    if not joined.height == predicted.height == peers.height:
        raise RuntimeError("every entry must meet its truth")
    unique_of = dict(zip(joined["entry_id"].to_list(), joined["unique_id"].to_list(), strict=True))
    candidates = candidates.with_columns(pl.col("l").replace_strict(unique_of), pl.col("r").replace_strict(unique_of))
    result: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "blocking_recall": recall_per_pass(candidates, dataset.truth),
        "pairs": precision_recall(pairs_in_groups(joined, "found_person", skip_both_bsn=True), dataset.truth),
        "linkage": _linkage_summary(linked.linkage),
    }
    truth = pl.read_parquet(dataset.round_dir / "truth" / "entry_flags.parquet")
    flags = joined.join(truth, on=["provider", "client_id"], suffix="_true")
    for label, valid in (("without_usable_bsn", False), ("with_bsn", True)):
        subset = flags.filter((pl.col("bsn_status") == "valid") == valid)
        result[f"double_waiters_{label}"] = precision_recall(
            set(subset.filter(pl.col("is_double"))["unique_id"].to_list()),
            set(subset.filter(pl.col("is_double_true"))["unique_id"].to_list()),
        ) | {"entries": subset.height}
    return result


def ours_febrl4(dataset: Dataset, parameters: LinkageParameters | None = None) -> dict[str, Any]:
    """Link FEBRL4 file A (one provider) to file B (another) on keyed encodings; return pair
    precision and recall, blocking recall per pass and the time taken (encoding included)."""
    plain = pl.concat(dataset.sources)  # the peer columns keep the pipeline's plain columns
    started = time.perf_counter()
    key = evaluation_key()
    encoded = pl.concat(
        [plain.select("unique_id", "provider", "birth_year"), encode_quasi_identifiers(plain, key)], how="horizontal"
    ).with_columns(
        pl.col("unique_id").alias("entry_id"),
        pl.lit(None, dtype=pl.Utf8).alias("bsn_token"),
        pseudonymise_series(plain["qid"], key, PURPOSE_QUASI_IDENTIFIER).alias("qid_token"),
    )
    del plain
    with duckdb.connect() as con:
        con.register("encoded", encoded.drop("unique_id"))
        con.sql(linking_columns_sql("encoded")).create("entries")
        report = link_probabilistically(con, parameters or LinkageParameters())
        candidates = query_frame(con, "SELECT l, r, pass::VARCHAR AS pass FROM candidate_passes")
        people = query_frame(con, "SELECT entry_id AS unique_id, person_id FROM entry_person")
    seconds = time.perf_counter() - started
    side = encoded.select("unique_id", "provider")
    linked = people.join(side, on="unique_id").with_columns(pl.lit(False).alias("has_bsn"))
    cross = cross_source_pairs(pairs_in_groups(linked, "person_id", skip_both_bsn=False), side)
    return {
        "seconds": round(seconds, 2),
        "blocking_recall": recall_per_pass(candidates, dataset.truth),
        "pairs": precision_recall(cross, dataset.truth),
        "linkage": _linkage_summary(report),
    }


def cross_source_pairs(pairs: set[tuple[Any, Any]], sources: pl.DataFrame) -> set[tuple[Any, Any]]:
    """Return the pairs whose two ids (``unique_id`` in ``sources``) lie in different
    ``provider``s: a link-only evaluation scores only those."""
    source = dict(zip(sources["unique_id"].to_list(), sources["provider"].to_list(), strict=True))
    return {(a, b) for a, b in pairs if source[a] != source[b]}


def recordlinkage_pairs(dataset: Dataset) -> dict[str, Any]:
    """Return pair precision and recall, blocking recall and time of the recordlinkage tutorial
    approach on the plain data: blocking on first name, Jaro-Winkler on names, exact date of
    birth and postcode, the ECM classifier."""
    import recordlinkage

    frames = [source.to_pandas().set_index("unique_id") for source in dataset.sources]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        indexer = recordlinkage.Index()
        indexer.block("first_name")
        candidates = indexer.index(*frames)
        compare = recordlinkage.Compare()
        compare.string("first_name", "first_name", method="jarowinkler", threshold=0.85, label="first_name")
        compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
        compare.exact("dob", "dob", label="dob")
        compare.exact("postcode", "postcode", label="postcode")
        features = compare.compute(candidates, *frames)
        matches = recordlinkage.ECMClassifier().fit_predict(features)
    seconds = time.perf_counter() - started
    blocked = ordered(candidates)
    return {
        "seconds": round(seconds, 2),
        "blocking_recall": {"alle": round(len(blocked & dataset.truth) / max(1, len(dataset.truth)), 4)},
        "pairs": precision_recall(without_both_bsn(ordered(matches), dataset), dataset.truth),
    }


def without_both_bsn(pairs: set[tuple[Any, Any]], dataset: Dataset) -> set[tuple[Any, Any]]:
    """Return ``pairs`` less those whose two records both have a usable BSN (the truth leaves
    them out: the BSN links them, the linkage is measured on the others)."""
    with_bsn = set(pl.concat([s.filter(pl.col("has_bsn")).select("unique_id") for s in dataset.sources])["unique_id"])
    return {(a, b) for a, b in pairs if not (a in with_bsn and b in with_bsn)}


def run_system(dataset_name: str, system: str, entries: int, seed: int) -> dict[str, Any]:
    """Load ``dataset_name`` (``generated`` or ``febrl4``) and run ``system`` on it; return its
    figures with the peak memory of this process (run each in a fresh process to compare)."""
    ours: Callable[[Dataset], dict[str, Any]] = ours_generated if dataset_name == "generated" else ours_febrl4
    runners = {"ours": ours, "recordlinkage": recordlinkage_pairs}
    if system not in runners:
        raise ValueError(f"{system} runs from benchmarks.linkage_evaluation")
    with tempfile.TemporaryDirectory() as folder:
        dataset = generated_dataset(Path(folder), entries, seed) if dataset_name == "generated" else febrl4_dataset()
        result = runners[system](dataset)
    return result | {"peak_memory_mib": peak_memory_mib()}


def run(entries: int, seed: int, febrl: bool, systems: tuple[str, ...] = ("ours", "recordlinkage")) -> dict[str, Any]:
    """Run every system on every dataset in this process; return the results."""
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "entries": entries, "seed": seed}
    for dataset_name in ("generated", "febrl4") if febrl else ("generated",):
        results[dataset_name] = {system: run_system(dataset_name, system, entries, seed) for system in systems}
    return results


def print_results(results: dict[str, Any]) -> None:
    """Print the evaluation as side-by-side tables."""
    titles = {
        "generated": f"generated noisy round, {results['entries']} entries: pairs of one person not both with a BSN",
        "febrl4": "FEBRL4, file A to file B, extract fields only (names, birth date, postcode)",
    }
    for dataset_name, title in titles.items():
        if dataset_name not in results:
            continue
        print(title)
        print(f"  {'system':32} {'blocking R':>10} {'P':>7} {'R':>7} {'F1':>7} {'seconds':>8} {'peak MiB':>9}")
        for system, figures in results[dataset_name].items():
            pairs = figures["pairs"]
            blocking = figures["blocking_recall"]["alle"]
            print(f"  {SYSTEM_LABELS[system]:32} {blocking:>10.4f} {pairs['precision']:>7.4f} {pairs['recall']:>7.4f} "
                  f" {pairs['f1']:>7.4f} {figures['seconds']:>8.2f} "
                  f"{figures['peak_memory_mib']:>9.0f}")  # fmt: skip
        ours = results[dataset_name].get("ours", {})
        for label in ("without_usable_bsn", "with_bsn"):
            if (r := ours.get(f"double_waiters_{label}")) is not None:
                print(f"  ours, double-waiter entries {label:20} P {r['precision']:.4f}  R {r['recall']:.4f}  "
                      f"F1 {r['f1']:.4f}  ({r['true']} true of {r['entries']})")  # fmt: skip
        if "blocking_recall" in ours:
            passes = ", ".join(f"{name} {value:.3f}" for name, value in ours["blocking_recall"].items())
            print(f"  ours, blocking recall per pass: {passes}")


def parser() -> argparse.ArgumentParser:
    """Return the evaluation's argument parser (shared with the benchmark)."""
    result = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--entries", type=int, default=20_000)
    result.add_argument("--seed", type=int, default=3)
    result.add_argument("--no-febrl", action="store_true")
    result.add_argument("--json", type=Path, help="also write the results to this file")
    return result


def main() -> None:
    """Command-line entry of the evaluation."""
    args = parser().parse_args()
    results = run(args.entries, args.seed, not args.no_febrl)
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
