"""Random populations of linked waiting-list entries, straight into the tables the insurer
release is computed from (``entry_facts``, the previous round's ``previous_entries``,
``person_was_double`` and ``previous_resolved``), without files, keys or linkage.

They exercise disclosure control at any shape (2,000 providers x 10 insurers in a second):
persons with one insurer, several entries at one or more providers, internal duplicates,
waiting times over the norm, and a previous round whose double waiters stay, resolve (with
the outcome their providers reported) or leave.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

OUTCOMES: tuple[str, ...] = ("verwijderd", "in_behandeling", "blijft_wachten", "onbereikbaar")
GGZ_DEMANDS: tuple[str, ...] = ("angst", "depressie", "trauma")
MSZ_DEMANDS: tuple[str, ...] = ("0301", "0303")
"""Zorgvraag codes of a population: every fourth provider is an msz provider."""


@dataclass(frozen=True)
class PopulationSpec:
    """The shape of a population: providers, insurers, and how persons wait."""

    providers: int = 40
    insurers: int = 10
    mean_entries: float = 90.0
    """Mean entries per provider (sizes follow a gamma distribution with shape 1.5)."""
    double_share: float = 0.12
    triple_share: float = 0.15
    """Of the double waiters, the share waiting at a third provider too."""
    internal_share: float = 0.02
    over_norm_share: float = 0.5
    seed: int = 1


def _persons(spec: PopulationSpec, rng: np.random.Generator, offset: int) -> pl.DataFrame:
    """Return one round's entries: person_id, provider index, insurer index, over_norm."""
    sizes = np.maximum(1, rng.gamma(1.5, spec.mean_entries / 1.5, size=spec.providers)).astype(np.int64)
    weights = sizes / sizes.sum()
    shares = rng.dirichlet(np.full(spec.insurers, 2.0))
    n_persons = int(sizes.sum() / (1 + spec.double_share + spec.internal_share))
    insurer = rng.choice(spec.insurers, size=n_persons, p=shares)
    first = rng.choice(spec.providers, size=n_persons, p=weights)
    persons = np.arange(offset, offset + n_persons)
    double = rng.random(n_persons) < spec.double_share
    second = rng.choice(spec.providers, size=n_persons, p=weights)
    double &= second != first
    third = rng.choice(spec.providers, size=n_persons, p=weights)
    triple = double & (rng.random(n_persons) < spec.triple_share) & (third != first) & (third != second)
    internal = rng.random(n_persons) < spec.internal_share
    person = np.concatenate([persons, persons[double], persons[triple], persons[internal]])
    provider = np.concatenate([first, second[double], third[triple], first[internal]])
    frame = pl.DataFrame(
        {
            "person_id": person,
            "provider_index": provider,
            "insurer_index": np.concatenate([insurer, insurer[double], insurer[triple], insurer[internal]]),
            "over_norm": rng.random(len(person)) < spec.over_norm_share,
            "waiting_days": rng.integers(0, 400, size=len(person)),
        }
    )
    return frame


def _facts(entries: pl.DataFrame, spec: PopulationSpec) -> pl.DataFrame:
    """Return ``entry_facts`` rows of a round's entries (one scope: every entry is ggz)."""
    agb = pl.format("22{}", pl.col("provider_index").cast(pl.Utf8).str.zfill(6))
    uzovi = pl.format("{}", (pl.col("insurer_index") + 3300).cast(pl.Utf8))
    n_providers = pl.col("provider").n_unique().over("person_id")
    n_here = pl.len().over("person_id", "provider")
    longest = pl.col("waiting_days").rank("ordinal", descending=True).over("person_id") == 1
    # sector and zorgvraag from a stream of their own, so that the rest stays as the seed made it
    demand_rng = np.random.default_rng([spec.seed, 11])
    codes = demand_rng.integers(0, len(GGZ_DEMANDS) + 1, size=entries.height)
    is_msz = entries["provider_index"].to_numpy() % 4 == 3
    zorgvraag = [
        None if code == len(GGZ_DEMANDS) else (MSZ_DEMANDS[code % len(MSZ_DEMANDS)] if msz else GGZ_DEMANDS[code])
        for code, msz in zip(codes.tolist(), is_msz.tolist(), strict=True)
    ]
    return (
        entries.with_columns(
            provider=agb,
            uzovi=uzovi,
            sector=pl.Series(np.where(is_msz, "msz", "ggz")),
            zorgvraag=pl.Series(zorgvraag, dtype=pl.Utf8),
        )
        .with_columns(
            slice_uzovi=pl.col("uzovi"),
            is_double=n_providers >= 2,
            is_internal=n_here >= 2,
            # derived, not drawn, so that the rest of the population stays as the seed made it
            wachtfase=pl.when(pl.col("waiting_days") % 3 == 0)
            .then(pl.lit("behandeling"))
            .otherwise(pl.lit("aanmelding")),
        )
        .with_columns(counted_once=~pl.col("is_double") | longest)
        .with_row_index("entry_id")
        .select(
            "entry_id",
            "person_id",
            "provider",
            "uzovi",
            "slice_uzovi",
            "is_double",
            "is_internal",
            "over_norm",
            "counted_once",
            "wachtfase",
            "waiting_days",
            "sector",
            "zorgvraag",
        )
    )


def load_population(con: duckdb.DuckDBPyConnection, spec: PopulationSpec) -> None:
    """Create this round's and the previous round's tables of a random population in ``con``.

    The previous round's persons are this round's (same ids) with some entries gone and others
    added: those double then and double now are still double, those double then and double
    nowhere now are resolved, each at their providers with a reported outcome or none."""
    rng = np.random.default_rng(spec.seed)
    current = _persons(spec, rng, 0)
    earlier = _persons(spec, rng, 0)
    facts = _facts(current, spec)
    previous = _facts(earlier, spec)
    was_double = previous.filter("is_double").select("person_id").unique()
    now_double = facts.filter("is_double").select("person_id").unique()
    resolved = previous.filter(pl.col("is_double")).join(now_double, on="person_id", how="anti")
    outcome_index = rng.integers(0, len(OUTCOMES) + 2, size=resolved.height)
    outcome = pl.Series("uitkomst", [OUTCOMES[i] if i < len(OUTCOMES) else None for i in outcome_index], dtype=pl.Utf8)
    resolved = (
        resolved.select("person_id", "provider", "uzovi")
        .with_columns(outcome)
        .unique(["person_id", "provider"], keep="first", maintain_order=True)
        .with_columns(rank=pl.col("uitkomst").replace_strict(list(OUTCOMES), list(range(4)), default=None))
        .with_columns(person_uitkomst=pl.col("uitkomst").sort_by("rank", nulls_last=True).first().over("person_id"))
        .drop("rank")
    )
    tables = {
        "entry_facts": facts,
        "previous_entries": previous.select("person_id", "provider", "uzovi", "is_double", "is_internal"),
        "person_was_double": current.select("person_id").unique().join(was_double, on="person_id"),
        "previous_resolved": resolved,
    }
    for name, frame in tables.items():
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")  # noqa: S608 (names of this dict)
        con.unregister("frame")
