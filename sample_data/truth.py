"""The truth of a generated round, computed from the generator's own person ids, independently of the
pipeline's linking code, so that tests can compare every output count with it."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ingest.columns import DEFAULT_NORMS_WEEKS


def compute_truth(entries: pl.DataFrame, reference_date: dt.date, rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Return the expected insurer tables, contact lists and rejections from person ids.

    ``entries`` are the generated, valid entries with ``person_id`` and ``provider``
    (organisation); the default scope and norms apply.
    """
    facts = true_facts(entries, reference_date)
    national = provider_table(facts)
    measures = (pl.len().alias("wachtenden"), pl.col("is_double").sum().alias("dubbel_inschrijvingen"),
                pl.col("over_norm").sum().alias("boven_norm"))  # fmt: skip
    categories = pl.concat(
        [
            facts.group_by("sector").agg(*measures).with_columns(pl.lit("alle").alias("zorgvraag")),
            facts.group_by("sector", "zorgvraag").agg(*measures),
        ],
        how="diagonal",
    ).select("sector", "zorgvraag", "wachtenden", "dubbel_inschrijvingen", "boven_norm")
    per_uzovi = pl.concat(
        [
            provider_table(facts.filter(pl.col("uzovi") == code)).with_columns(pl.lit(code).alias("uzovi"))
            for code in sorted(facts["uzovi"].unique().to_list())
        ]
    )
    contacts = (
        facts.filter(pl.col("is_double") | pl.col("is_internal"))
        .select(
            "provider",
            "client_id",
            pl.when(pl.col("is_double")).then(pl.lit("dubbel")).otherwise(pl.lit("intern")).alias("soort"),
            (pl.col("n_providers") - 1).alias("aantal_andere_aanbieders"),
        )
        .sort("provider", "client_id")
    )
    totals = pl.DataFrame(
        {
            "entries": [facts.height],
            "persons": [facts["person_id"].n_unique()],
            "double_waiters": [facts.filter(pl.col("is_double"))["person_id"].n_unique()],
            "internal_duplicates": [facts.filter(pl.col("is_internal"))["person_id"].n_unique()],
            "providers": [facts["provider"].n_unique()],
        }
    )
    rejected = rows.filter(pl.col("expected_reason").is_not_null()).select(
        "provider", "client_id", pl.col("agb_code"), "expected_reason"
    )
    entry_flags = facts.select("provider", "client_id", "person_id", "is_double", "is_internal")
    return {
        "national": national,
        "categories": categories,
        "per_uzovi": per_uzovi,
        "contacts": contacts,
        "totals": totals,
        "rejected": rejected,
        "entry_flags": entry_flags,
    }


def true_facts(entries: pl.DataFrame, reference_date: dt.date) -> pl.DataFrame:
    """Return every generated entry with its scope, waiting days, norm, and whether its person
    waits at two providers (``is_double``), twice at one (``is_internal``) and is counted once."""
    norms = pl.DataFrame(
        [
            {"sector": s, "wachtfase": p, "norm_days": w * 7}
            for s, ph in DEFAULT_NORMS_WEEKS.items()
            for p, w in ph.items()
        ]
    )
    return (
        entries.with_columns(
            pl.when(pl.col("sector") == "msz")
            .then(pl.col("sector") + "|" + pl.col("zorgvraag"))
            .otherwise(pl.col("sector"))
            .alias("scope"),
            (
                pl.lit(reference_date)
                - pl.when((pl.col("wachtfase") == "behandeling") & pl.col("intakedatum").is_not_null())
                .then(pl.col("intakedatum"))
                .otherwise(pl.col("aanmelddatum"))
            )
            .dt.total_days()
            .alias("waiting_days"),
        )
        .join(norms, on=["sector", "wachtfase"])
        .join(
            norms.filter(pl.col("wachtfase") == "aanmelding").select("sector", pl.col("norm_days").alias("first")),
            on="sector",
            how="left",
        )
        .with_columns(  # the treatment phase without an intake date: both phases' norms together
            pl.when((pl.col("wachtfase") == "behandeling") & pl.col("intakedatum").is_null())
            .then(pl.col("norm_days") + pl.col("first").fill_null(0))
            .otherwise(pl.col("norm_days"))
            .alias("norm_days")
        )
        .with_columns(
            pl.col("provider").n_unique().over("person_id", "scope").alias("n_providers"),
            pl.len().over("person_id", "scope", "provider").alias("n_here"),
        )
        .with_columns(
            (pl.col("n_providers") >= 2).alias("is_double"),
            (pl.col("n_here") >= 2).alias("is_internal"),
            (pl.col("waiting_days") > pl.col("norm_days")).alias("over_norm"),
        )
        .sort(["waiting_days", "provider", "client_id"], descending=[True, False, False])
        .with_columns(
            ((pl.col("n_providers") < 2) | (pl.int_range(pl.len()).over("person_id", "scope") == 0)).alias(
                "counted_once"
            )
        )
    )


def provider_table(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the insurer table's counts per provider of the facts in ``frame``."""
    return (
        frame.group_by("provider")
        .agg(
            pl.len().alias("wachtenden"),
            pl.col("person_id").n_unique().alias("unieke_personen"),
            pl.col("person_id").filter(pl.col("is_double")).n_unique().alias("dubbel_wachtenden"),
            pl.col("person_id").filter(pl.col("is_internal")).n_unique().alias("interne_dubbelingen"),
            pl.col("over_norm").sum().alias("boven_norm"),
            (pl.col("over_norm") & pl.col("counted_once")).sum().alias("boven_norm_geschoond"),
            pl.col("is_double").sum().alias("dubbel_inschrijvingen"),
            (pl.col("wachtfase") == "aanmelding").sum().alias("wachtenden_aanmelding"),
            (pl.col("wachtfase") == "behandeling").sum().alias("wachtenden_behandeling"),
            (pl.col("waiting_days") < 4 * 7 + 1).sum().alias("wacht_0_4_weken"),
            pl.col("waiting_days").is_between(4 * 7 + 1, 10 * 7).sum().alias("wacht_4_10_weken"),
            pl.col("waiting_days").is_between(10 * 7 + 1, 14 * 7).sum().alias("wacht_10_14_weken"),
            (pl.col("waiting_days") > 14 * 7).sum().alias("wacht_meer_14_weken"),
        )
        .rename({"provider": "agb_code"})
        .sort("agb_code")
    )
