"""Consecutive generated rounds with provider feedback between them, and their truth.

One generated population waits over several rounds: most persons wait from the first round,
some join later; after each round some double waiters are resolved (one provider takes them
off its list and reports it), some are reported unreachable or waiting by choice and stay, and
some single waiters leave. Each round's inbox folder holds the extracts of the entries still
waiting and, from the second round on, ``terugmelding/`` with the providers' feedback on the
previous round's contact lists (with a few bad rows). The truth of every round (insurer trend
columns and feedback accounting) is computed from person ids, independently of the pipeline.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ingest.feedback import OUTCOMES
from sample_data.generate import GeneratedRound, RoundSpec, generate_round

BAD_FEEDBACK = {"uitkomst_invalid": 1, "feedback_not_on_contact_list": 1, "feedback_duplicate": 1}


@dataclass
class GeneratedRounds:
    """The inbox (one folder per round), the configuration, and each round's truth."""

    inbox: Path
    config_file: Path
    round_ids: list[str]
    providers: list[str]
    trend: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Per round: agb_code (and 'totaal') with the trend columns, from person ids."""
    feedback_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per round: feedback rows received, accepted, and rejected by reason."""
    contact_keys: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Per round: provider, client_id of every entry on a contact list."""


def _flags(active: pl.DataFrame) -> pl.DataFrame:
    return active.with_columns(
        pl.col("provider").n_unique().over("person_id", "scope").alias("n_providers"),
        pl.len().over("person_id", "scope", "provider").alias("n_here"),
    ).with_columns((pl.col("n_providers") >= 2).alias("is_double"), (pl.col("n_here") >= 2).alias("is_internal"))


def _precedence(outcome: pl.Expr) -> pl.Expr:
    return outcome.replace_strict({o: i for i, o in enumerate(OUTCOMES)}, default=None, return_dtype=pl.Int64)


def trend_truth(previous: pl.DataFrame, current: pl.DataFrame, feedback: pl.DataFrame) -> pl.DataFrame:
    """Return per provider and 'totaal' the trend columns from person ids: ``previous`` and
    ``current`` are flagged entries (provider, client_id, person_id, is_double, ...);
    ``feedback`` holds the accepted rows (provider, client_id, uitkomst)."""
    was_double = previous.filter("is_double")["person_id"].unique().implode()
    still_double = current.filter("is_double")["person_id"].unique().implode()
    now = current.filter("is_double").with_columns(pl.col("person_id").is_in(was_double).alias("was"))
    reported = (
        previous.join(feedback, on=["provider", "client_id"])
        .with_columns(_precedence(pl.col("uitkomst")).alias("rank"))
        .sort("rank")
        .group_by("person_id", "provider")
        .agg(pl.col("uitkomst").first())
    )
    resolved = (
        previous.filter(pl.col("is_double") & ~pl.col("person_id").is_in(still_double))
        .select("person_id", "provider")
        .unique()
        .join(reported, on=["person_id", "provider"], how="left")
    )
    person_outcome = (
        resolved.drop_nulls("uitkomst")
        .with_columns(_precedence(pl.col("uitkomst")).alias("rank"))
        .sort("rank")
        .group_by("person_id")
        .agg(pl.col("uitkomst").first())
    )
    totals_resolved = resolved.select("person_id").unique().join(person_outcome, on="person_id", how="left")

    def resolved_counts(frame: pl.DataFrame) -> list[pl.Expr]:
        return [
            pl.col("person_id").n_unique().alias("dubbel_opgelost"),
            *[pl.col("person_id").filter(pl.col("uitkomst") == o).n_unique().alias(f"opgelost_{o}") for o in OUTCOMES],
        ]

    per_provider = (
        now.group_by("provider")
        .agg(
            pl.col("person_id").filter(~pl.col("was")).n_unique().alias("dubbel_nieuw"),
            pl.col("person_id").filter(pl.col("was")).n_unique().alias("dubbel_blijvend"),
        )
        .join(resolved.group_by("provider").agg(resolved_counts(resolved)), on="provider", how="full", coalesce=True)
    )
    totals = pl.concat(
        [
            now.select(
                pl.col("person_id").filter(~pl.col("was")).n_unique().alias("dubbel_nieuw"),
                pl.col("person_id").filter(pl.col("was")).n_unique().alias("dubbel_blijvend"),
            ),
            totals_resolved.select(resolved_counts(totals_resolved)),
        ],
        how="horizontal",
    ).with_columns(pl.lit("totaal").alias("provider"))
    return (
        pl.concat([per_provider, totals.select(per_provider.columns)], how="vertical_relaxed")
        .rename({"provider": "agb_code"})
        .fill_null(0)
        .sort(pl.col("agb_code") == "totaal", "agb_code")
    )


def _population_files(universe: GeneratedRound) -> tuple[dict[str, tuple[pl.DataFrame, str]], pl.DataFrame]:
    """Return the population round's files ({name: (rows, its client_id column)}) and one row
    per entry with its file, person and scope (sector, and zorgvraag in msz)."""
    flags = universe.truth["entry_flags"].select("provider", "client_id", "person_id")
    files = {}
    rows = []
    for path in sorted(universe.input_dir.glob("*.parquet")):
        frame = pl.read_parquet(path)
        columns = {c.strip().lower(): c for c in frame.columns}
        client = columns.get("client_id") or columns["cliëntnummer"]
        agb = columns["agb_code"]
        files[path.name] = (frame, client)
        rows.append(
            frame.select(
                pl.col(client).alias("client_id"),
                pl.col(agb).alias("agb_delivered"),
                pl.col("sector"),
                pl.col("zorgvraag"),
                pl.lit(path.name).alias("file"),
            )
        )
    entries = (
        pl.concat(rows)
        .join(flags, on="client_id")
        .with_columns(
            pl.when(pl.col("sector") == "msz")
            .then(pl.col("sector") + "|" + pl.col("zorgvraag"))
            .otherwise(pl.col("sector"))
            .alias("scope")
        )
    )
    return files, entries


def generate_rounds(out_dir: Path, round_ids: Sequence[str], spec: RoundSpec | None = None) -> GeneratedRounds:
    """Write ``out_dir/inbox/<round>/`` for each of ``round_ids`` (at least two) with its
    extracts and, from the second round on, its feedback; return the inbox and the truth."""
    spec = dataclasses.replace(spec or RoundSpec(), formats=("parquet",), bad_rows_per_kind=0, bad_files=False)
    rng = np.random.default_rng(spec.seed + 7)
    universe = generate_round(out_dir / "population", spec)
    files, entries = _population_files(universe)
    persons = entries["person_id"].unique().sort()
    start = dict(zip(persons.to_list(), rng.choice([0, 0, 0, 0, 0, 0, 1, 2], size=len(persons)).tolist(), strict=True))
    entries = entries.with_columns(
        pl.col("person_id").replace_strict(start, return_dtype=pl.Int64).alias("start"),
        pl.lit(len(round_ids), dtype=pl.Int64).alias("end"),
    )
    result = GeneratedRounds(
        inbox=out_dir / "inbox", config_file=universe.config_file, round_ids=list(round_ids),
        providers=universe.providers,
    )  # fmt: skip
    previous: pl.DataFrame | None = None
    pending_feedback = pl.DataFrame(schema={"provider": pl.Utf8, "agb_delivered": pl.Utf8, "client_id": pl.Utf8,
                                            "uitkomst": pl.Utf8})  # fmt: skip
    for k, round_id in enumerate(round_ids):
        active = _flags(entries.filter((pl.col("start") <= k) & (pl.col("end") >= k)))
        folder = result.inbox / round_id
        folder.mkdir(parents=True, exist_ok=True)
        for name, (frame, client) in files.items():
            keep = active.filter(pl.col("file") == name)["client_id"].implode()
            own = frame.filter(pl.col(client).is_in(keep))
            if own.height:
                own.write_parquet(folder / name)
        contacts = active.filter(pl.col("is_double") | pl.col("is_internal"))
        result.contact_keys[round_id] = contacts.select("provider", "client_id")
        if previous is not None:
            feedback = _write_feedback(folder, pending_feedback, previous)
            result.feedback_rows[round_id] = feedback
            result.trend[round_id] = trend_truth(previous, active, pending_feedback)
        if k + 1 < len(round_ids):
            entries, pending_feedback = _churn(entries, active, k, rng)
        previous = active
    (out_dir / "truth_rounds.json").write_text(
        json.dumps({r: f.to_dicts() for r, f in result.trend.items()}, indent=1), encoding="utf-8"
    )
    return result


def _churn(
    entries: pl.DataFrame, active: pl.DataFrame, k: int, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """End entries after round ``k`` and return (entries, the feedback providers will send)."""
    doubles = active.filter("is_double").select("person_id", "scope", "provider").unique().sort("person_id", "scope")
    double_persons = doubles["person_id"].unique().sort().to_list()
    resolved = set(rng.choice(double_persons, size=int(len(double_persons) * 0.4), replace=False).tolist())
    picks = (
        doubles.filter(pl.col("person_id").is_in(list(resolved)))
        .with_columns(pl.Series("draw", rng.random(doubles.filter(pl.col("person_id").is_in(list(resolved))).height)))
        .sort("person_id", "draw")
        .group_by("person_id", maintain_order=True)
        .first()
        .select("person_id", "scope", "provider")
    )
    leaving = active.join(picks, on=["person_id", "scope", "provider"])
    singles = active.filter(~pl.col("person_id").is_in(double_persons))["person_id"].unique().sort().to_list()
    gone = rng.choice(singles, size=int(len(singles) * 0.08), replace=False).tolist()
    ended = set(leaving["client_id"].to_list()) | set(
        active.filter(pl.col("person_id").is_in(gone))["client_id"].to_list()
    )
    entries = entries.with_columns(
        pl.when(pl.col("client_id").is_in(list(ended))).then(pl.lit(k, dtype=pl.Int64)).otherwise(pl.col("end"))
        .alias("end")
    )  # fmt: skip
    draw = rng.random(leaving.height)
    removed = leaving.with_columns(
        pl.Series("uitkomst", ["verwijderd" if d < 0.5 else "in_behandeling" if d < 0.8 else None for d in draw])
    ).drop_nulls("uitkomst")
    staying = active.filter(pl.col("is_double") & ~pl.col("client_id").is_in(list(ended)))
    chosen = staying.sample(fraction=0.15, seed=int(rng.integers(1 << 31)))
    stayed = chosen.with_columns(
        pl.Series("uitkomst", rng.choice(["onbereikbaar", "blijft_wachten"], size=chosen.height))
    )
    feedback = pl.concat([removed, stayed], how="diagonal_relaxed").select(
        "provider", "agb_delivered", "client_id", "uitkomst"
    )
    return entries, feedback.sort("provider", "client_id")


def _write_feedback(folder: Path, feedback: pl.DataFrame, previous: pl.DataFrame) -> dict[str, int]:
    """Write each provider's feedback file (with the bad rows of :data:`BAD_FEEDBACK` in the
    first one) to ``folder/terugmelding``; return the expected row accounting."""
    target = folder / "terugmelding"
    target.mkdir(exist_ok=True)
    not_listed = previous.filter(~pl.col("is_double") & ~pl.col("is_internal")).row(0, named=True)
    received = 0
    for index, (provider, rows) in enumerate(feedback.group_by("provider", maintain_order=True)):
        out = rows.select(pl.col("agb_delivered").alias("agb_code"), "client_id", "uitkomst")
        if index == 0:
            first = out.row(0, named=True)
            bad = pl.DataFrame(
                [
                    {**first, "uitkomst": "weet niet"},
                    {"agb_code": not_listed["agb_delivered"], "client_id": not_listed["client_id"],
                     "uitkomst": "verwijderd"},
                    first,
                ]
            )  # fmt: skip
            out = pl.concat([out, bad])
        received += out.height
        out.write_csv(target / f"terugmelding_{provider[0]}.csv", separator=";")
    rejected = sum(BAD_FEEDBACK.values()) if feedback.height else 0
    return {"received": received, "accepted": received - rejected, "rejected": rejected, **BAD_FEEDBACK}
