"""The data-quality report per provider: what came in, what was rejected and why, how much
lacks a usable BSN, stale entries, missing or unknown columns and the date notations used."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

from ingest.stage import FileReport
from linkage.store import query_frame, sql_text

QUALITY_COLUMNS: tuple[str, ...] = (
    "agb_code", "bestanden", "rijen_ontvangen", "rijen_geaccepteerd", "rijen_afgewezen", "afgewezen_per_reden",
    "aandeel_zonder_bruikbaar_bsn", "bsn_ontbrekend", "bsn_ongeldig", "verouderd", "behandeling_zonder_intakedatum",
    "ontbrekende_kolommen",
    "onbekende_kolommen", "datumnotaties",
)  # fmt: skip


def months_before(day: dt.date, months: int) -> dt.date:
    """Return the date ``months`` calendar months before ``day`` (clamped to the month's end)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def routed_rejections(rejected: pl.DataFrame, locations: Mapping[str, str]) -> pl.DataFrame:
    """Return the rejected rows that go back to a provider, with its code as ``provider``: the
    sender organisation of a file in a sender folder, else the organisation of the row's own
    ``agb_code`` (a file without a verified sender). Rows with neither are not routed."""
    sender = pl.col("sender") if "sender" in rejected.columns else pl.lit(None, dtype=pl.Utf8)
    return rejected.with_columns(
        pl.coalesce(sender, pl.col("agb_code").replace(dict(locations))).alias("provider")
    ).filter(pl.col("provider").is_not_null())


def operator_quality(quality: pl.DataFrame) -> pl.DataFrame:
    """Return the data-quality table for the operator's own file: unknown headers as a count
    only, since a provider may write anything (person data too) into a header; the names reach
    only that provider's own encrypted package."""
    return quality.with_columns(
        pl.col("onbekende_kolommen")
        .map_elements(lambda names: len(names.split(", ")) if names else 0, return_dtype=pl.Int64)
        .alias("onbekende_kolommen")
    )


def _joined(counter: Mapping[str, int]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in sorted(counter.items()))


def quality_table(
    con: duckdb.DuckDBPyConnection,
    reports: Sequence[FileReport],
    rejected: pl.DataFrame,
    locations: Mapping[str, str],
    reference_date: dt.date,
    stale_after_months: int,
) -> pl.DataFrame:
    """Return one row per provider with the data-quality figures of its delivery.

    File-level findings (missing or unknown columns, date notations) of a file that holds
    rows of several providers count for each of them.
    """
    files: dict[str, set[str]] = defaultdict(set)
    missing: dict[str, set[str]] = defaultdict(set)
    unknown: dict[str, set[str]] = defaultdict(set)
    notations: dict[str, Counter[str]] = defaultdict(Counter)
    for report in reports:
        if report.status != "accepted":
            continue
        for provider in {locations.get(code, code) for code in report.agb_codes}:
            files[provider].add(report.file)
            missing[provider].update(report.missing_columns)
            unknown[provider].update(report.unknown_columns)
            notations[provider].update(report.date_formats)
    stale_from = months_before(reference_date, stale_after_months)
    accepted = {
        row["agb_code"]: row for row in query_frame(con, sql_text("quality.sql"), {"stale_from": stale_from}).to_dicts()
    }
    routed = routed_rejections(rejected, locations)
    rows = []
    for provider in sorted(set(files) | set(accepted)):
        own = accepted.get(provider, {})
        taken = int(own.get("rijen_geaccepteerd", 0))
        reasons = Counter(routed.filter(pl.col("provider") == provider)["reden"].to_list())
        without_bsn = int(own.get("bsn_ontbrekend", 0)) + int(own.get("bsn_ongeldig", 0))
        rows.append(
            {
                "agb_code": provider,
                "bestanden": len(files[provider]),
                "rijen_ontvangen": taken + sum(reasons.values()),
                "rijen_geaccepteerd": taken,
                "rijen_afgewezen": sum(reasons.values()),
                "afgewezen_per_reden": _joined(reasons),
                "aandeel_zonder_bruikbaar_bsn": round(without_bsn / taken, 4) if taken else None,
                "bsn_ontbrekend": int(own.get("bsn_ontbrekend", 0)),
                "bsn_ongeldig": int(own.get("bsn_ongeldig", 0)),
                "verouderd": int(own.get("verouderd", 0)),
                "behandeling_zonder_intakedatum": int(own.get("behandeling_zonder_intakedatum", 0)),
                "ontbrekende_kolommen": ", ".join(sorted(missing[provider])),
                "onbekende_kolommen": ", ".join(sorted(unknown[provider])),
                "datumnotaties": _joined(notations[provider]),
            }
        )
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(QUALITY_COLUMNS, pl.Utf8))
    return pl.DataFrame(rows, schema_overrides={"aandeel_zonder_bruikbaar_bsn": pl.Float64}).select(QUALITY_COLUMNS)
