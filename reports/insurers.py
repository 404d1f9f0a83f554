"""Insurer outputs: aggregate counts per provider, suppressed, for the nation and per UZOVI."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from hashing.files import WrittenFile, parquet_bytes, write_atomic
from linkage.frames import query_frame
from linkage.store import provider_counts, sql_text, trend_counts
from reports.breakdowns import category_counts, category_table, choose_categories
from reports.disclosure import BREAKDOWN_COLUMNS, COUNT_COLUMNS, DOUBLE_ENTRIES
from reports.files import csv_bytes
from reports.html_report import ReportContext, history_frame, insurer_report_html
from reports.ledger import forced_suppressions, read_ledger, record_release
from reports.protection import protect_release
from reports.release import (
    NATIONAL,
    PREVIOUS_DOUBLE,
    TOTALS_ROW,
    TREND_COLUMNS,
    Release,
    add_fixed_column,
    build_release,
    category_totals,
    release_tables,
    round_published,
)
from reports.spreadsheets import insurer_workbook

PUBLISHED_COLUMNS: tuple[str, ...] = (*COUNT_COLUMNS, DOUBLE_ENTRIES, *BREAKDOWN_COLUMNS, *TREND_COLUMNS)
INSURER_COLUMNS: tuple[str, ...] = ("agb_code", *PUBLISHED_COLUMNS)
SLICE_CODES_SQL = "SELECT slice_uzovi AS uzovi FROM entry_facts UNION SELECT uzovi FROM previous_entries ORDER BY uzovi"
"""The insurers with a slice: each person belongs to one (``entry_facts.slice_uzovi``)."""


def scope_tables(con: duckdb.DuckDBPyConnection, uzovi: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the unsuppressed (provider table, totals row) of one scope with the count and trend
    columns and the previous round's double waiters (``vorig_dubbel``); a provider of only one of
    the two rounds counts 0 in the other's columns. The totals row has no ``agb_code``."""
    table, totals = provider_counts(con, uzovi)
    trend, trend_totals = trend_counts(con, uzovi)
    providers = (
        table.select("agb_code", *COUNT_COLUMNS, DOUBLE_ENTRIES, *BREAKDOWN_COLUMNS)
        .join(trend, on="agb_code", how="full", coalesce=True)
        .with_columns(pl.exclude("agb_code").fill_null(0).cast(pl.Int64))
        .select(*INSURER_COLUMNS, PREVIOUS_DOUBLE)
        .sort("agb_code")
    )
    # each query has exactly one totals row: the empty grouping set gives one even over no rows
    counted = totals.select(*COUNT_COLUMNS, DOUBLE_ENTRIES, *BREAKDOWN_COLUMNS)
    both = pl.concat([counted, trend_totals], how="horizontal").with_columns(pl.all().cast(pl.Int64))
    return providers, both.select(*PUBLISHED_COLUMNS, PREVIOUS_DOUBLE)


def previous_hidden(
    release: Release, ledger: list[dict[str, Any]], previous_round: str | None, threshold: int
) -> np.ndarray:
    """Return which cells of the previous round's ``dubbel_wachtenden`` its last release left
    empty, on this release's grid; without a ledger entry, every count from 1 to the threshold."""
    counts = release.counts[PREVIOUS_DOUBLE]
    hidden = (counts >= 1) & (counts < threshold)
    entries = [entry for entry in ledger if entry["round"] == previous_round]
    if not entries:
        return hidden
    cells: dict[str, dict[str, dict[str, int | None]]] = entries[-1]["cells"]
    names = release.row_names
    for s, scope in enumerate(release.scopes):
        for p, name in enumerate(names):
            published = cells.get(scope, {}).get(name, {})
            hidden[s, p] = counts[s, p] > 0 and published.get("dubbel_wachtenden", 0) is None
    return hidden


def add_categories(con: duckdb.DuckDBPyConnection, release: Release, per_sector: int, min_providers: int) -> Release:
    """Add the category columns (tables by sector and zorgvraag, see :mod:`reports.breakdowns`)
    to ``release``: published in their totals rows only. Returns the release."""
    counts = query_frame(con, sql_text("category_counts.sql"))
    if not counts.height:
        return release
    shown = choose_categories(counts, per_sector, min_providers)
    categories = category_counts(counts, release.scopes, release.providers, shown, NATIONAL)
    release.counts.update(categories.counts)
    release.hidden.update({c: np.zeros_like(v, dtype=bool) for c, v in categories.counts.items()})
    release.columns = (*release.columns, *categories.columns)
    release.totals_only = frozenset(categories.columns)
    return release


def protected_release(
    con: duckdb.DuckDBPyConnection,
    threshold: int,
    ledger: Sequence[dict[str, Any]] = (),
    round_id: str = "",
    previous_round: str | None = None,
    *,
    categories_per_sector: int = 15,
    category_min_providers: int = 2,
) -> Release:
    """Return the round's release (national table and every UZOVI slice, counts and trend
    columns, and the tables by sector and zorgvraag) protected together: small counts,
    complements, cells that differ by a small count from an earlier release of the same round in
    ``ledger`` (the release ledger's entries, see :func:`reports.ledger.read_ledger`), whatever
    else the search finds derivable, also with the previous round's release (``previous_round``)
    beside it. ``categories_per_sector`` and ``category_min_providers`` say which zorgvraag codes
    are shown by name (see :func:`reports.breakdowns.choose_categories`)."""
    codes = query_frame(con, SLICE_CODES_SQL)["uzovi"].to_list()
    tables = {uzovi or NATIONAL: scope_tables(con, uzovi) for uzovi in [None, *codes]}
    release = build_release(tables, (*PUBLISHED_COLUMNS, PREVIOUS_DOUBLE))
    release.columns = PUBLISHED_COLUMNS
    add_categories(con, release, categories_per_sector, category_min_providers)
    add_fixed_column(
        release,
        PREVIOUS_DOUBLE,
        release.counts[PREVIOUS_DOUBLE],
        previous_hidden(release, list(ledger), previous_round, threshold),
    )
    forced = forced_suppressions(list(ledger), round_id, release, threshold)
    return protect_release(release, threshold, forced)


def earlier_totals(ledger: Sequence[Mapping[str, Any]], round_id: str) -> pl.DataFrame:
    """Return the totals rows that the last release of each round before ``round_id`` published,
    from the release ledger and rounded as they were published: one row per round and scope
    (``ronde``, ``uzovi`` and the count columns; null = suppressed). Only published values are
    read, so a trend never shows what an earlier release suppressed."""
    last = {entry["round"]: entry for entry in ledger if entry["round"] < round_id}
    schema = {"ronde": pl.Utf8, "uzovi": pl.Utf8, **dict.fromkeys(COUNT_COLUMNS, pl.Int64)}
    frames = [
        round_published(
            pl.DataFrame(
                [
                    {"ronde": earlier, "uzovi": scope, **{c: cells.get(TOTALS_ROW, {}).get(c) for c in COUNT_COLUMNS}}
                    for scope, cells in entry["cells"].items()
                ],
                schema=schema,
                orient="row",
            ),
            int(entry.get("rounding_base", 1)),
        )
        for earlier, entry in sorted(last.items())
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class ReleaseText:
    """What the pages and workbooks of one release say besides the counts."""

    round_id: str
    reference_date: str
    threshold: int
    norms_weeks: Mapping[str, Mapping[str, int]]
    rounding_base: int
    insurer_names: Mapping[str, str] | None
    categories_per_sector: int
    category_min_providers: int


def scope_outputs(
    text: ReleaseText,
    release: Release,
    scope_code: str,
    categories: pl.DataFrame,
    history: pl.DataFrame,
    provider_names: Mapping[str, str] | None,
) -> tuple[dict[str, bytes], pl.DataFrame]:
    """Return the files of one scope of the release (national or one UZOVI: CSV, Parquet, .xlsx,
    HTML) and its totals row for ``totalen.csv``."""
    uzovi = None if scope_code == NATIONAL else scope_code
    table, totals = (round_published(frame, text.rounding_base) for frame in release_tables(release, scope_code))
    if provider_names is not None:
        names = pl.col("agb_code").replace_strict(dict(provider_names), default=None, return_dtype=pl.Utf8)
        table = table.insert_column(1, table.select(names.alias("naam")).to_series())
    name = "national" if uzovi is None else uzovi
    outputs = {f"{name}.csv": csv_bytes(table), f"{name}.parquet": parquet_bytes(table)}
    insurer = None if uzovi is None else insurer_label(uzovi, text.insurer_names)
    scope = (
        "Alle verzekerden."
        if insurer is None
        else f"Alleen verzekerden van {insurer} (elke persoon telt bij één verzekeraar, zie Begrippen)."
    )
    scope_categories = categories if uzovi is None else None
    outputs[f"{name}.xlsx"] = insurer_workbook(
        table, totals, text.threshold, text.round_id, reference_date=text.reference_date, scope=scope,
        norms_weeks=text.norms_weeks, rounding_base=text.rounding_base, categories=scope_categories,
    )  # fmt: skip
    context = ReportContext(
        title=f"Dubbel wachtenden, ronde {text.round_id}: " + ("landelijk" if insurer is None else insurer),
        scope=scope, round_id=text.round_id, reference_date=text.reference_date, threshold=text.threshold,
        norms_weeks=text.norms_weeks, category_min_providers=text.category_min_providers,
        categories_per_sector=text.categories_per_sector,
    )  # fmt: skip
    scope_history = history_frame(
        [
            *history.filter(pl.col("uzovi") == scope_code).drop("uzovi").to_dicts(),
            {"ronde": text.round_id, **totals.drop("agb_code").row(0, named=True)},
        ]
    )
    outputs[f"{name}.html"] = insurer_report_html(context, table, totals, scope_history, scope_categories)
    return outputs, totals.drop("agb_code").insert_column(0, pl.Series("uzovi", [scope_code]))


def write_insurer_outputs(
    con: duckdb.DuckDBPyConnection,
    insurers_dir: Path,
    threshold: int,
    round_id: str,
    *,
    reference_date: str,
    norms_weeks: Mapping[str, Mapping[str, int]],
    rounding_base: int = 1,
    ledger_path: Path | None = None,
    previous_round: str | None = None,
    provider_names: Mapping[str, str] | None = None,
    insurer_names: Mapping[str, str] | None = None,
    categories_per_sector: int = 15,
    category_min_providers: int = 2,
) -> list[WrittenFile]:
    """Write national and per-UZOVI tables (CSV, Parquet, .xlsx, HTML report) and totals.

    Returns the files written (at their final paths, with size and SHA-256). Only protected
    aggregates are written (see :func:`protected_release`), rounded to ``rounding_base`` when it
    is above 1; the release is recorded in the ledger at ``ledger_path``, whose releases of earlier
    rounds give the trend charts (what they published). With
    ``provider_names`` (the registry's), each table has the provider's ``naam`` beside its code;
    with ``insurer_names`` (the configured UZOVI list), each insurer's report names its insurer.
    The national table by sector and zorgvraag goes to ``uitsplitsing.csv`` (and ``.parquet``)
    and into the national report and workbook.

    The files are written to a folder beside ``insurers_dir`` that replaces it only when all
    are written, so a failure (a full disk) never leaves a partial release.
    """
    final_dir = insurers_dir
    insurers_dir = final_dir.with_name(f".{final_dir.name}.partial")
    if insurers_dir.exists():
        shutil.rmtree(insurers_dir)
    text = ReleaseText(round_id, reference_date, threshold, norms_weeks, rounding_base, insurer_names,
                       categories_per_sector, category_min_providers)  # fmt: skip
    ledger = read_ledger(ledger_path) if ledger_path else []  # read once: the trend and the protection
    history = earlier_totals(ledger, round_id)
    release = protected_release(
        con, threshold, ledger, round_id, previous_round,
        categories_per_sector=categories_per_sector, category_min_providers=category_min_providers,
    )  # fmt: skip
    categories = round_published(category_table(category_totals(release, NATIONAL)), rounding_base)
    outputs: dict[str, bytes] = {}
    if categories.height:
        outputs |= {"uitsplitsing.csv": csv_bytes(categories), "uitsplitsing.parquet": parquet_bytes(categories)}
    totals_rows = []
    for scope_code in release.scopes:
        files, totals_row = scope_outputs(text, release, scope_code, categories, history, provider_names)
        outputs |= files
        totals_rows.append(totals_row)
    outputs["totalen.csv"] = csv_bytes(pl.concat(totals_rows))
    written = [write_atomic(insurers_dir / file_name, data) for file_name, data in outputs.items()]
    swap_in(insurers_dir, final_dir)
    if ledger_path is not None:
        csv_hashes = {w.path.name: w.sha256 for w in written if w.path.suffix == ".csv"}
        record_release(ledger_path, round_id, release, threshold, rounding_base, csv_hashes)
    return [replace(w, path=final_dir / w.path.name) for w in written]


def insurer_label(uzovi: str, insurer_names: Mapping[str, str] | None) -> str:
    """Return how a report names an insurer: ``UZOVI 3311 (naam)``, or the code alone."""
    name = (insurer_names or {}).get(uzovi)
    return f"UZOVI {uzovi} ({name})" if name else f"UZOVI {uzovi}"


def swap_in(new_dir: Path, final_dir: Path) -> None:
    """Replace ``final_dir`` by the complete ``new_dir`` (two renames; the old one is removed)."""
    old_dir = final_dir.with_name(f".{final_dir.name}.old")
    if old_dir.exists():
        shutil.rmtree(old_dir)
    if final_dir.exists():
        final_dir.rename(old_dir)
    new_dir.rename(final_dir)
    if old_dir.exists():
        shutil.rmtree(old_dir)
