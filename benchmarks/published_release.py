"""Reading a published insurer folder back as the attacker holds it: every scope's table and
totals row, and the national table by sector and zorgvraag."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from benchmarks.attacker import CATEGORY_MEASURES, NATIONAL


def read_release(folder: Path) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Return {scope: (table, totals row)} of a published insurer folder (CSV files)."""

    def read(path: Path) -> pl.DataFrame:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        return pl.read_csv(data, separator=";", schema_overrides={"agb_code": pl.Utf8, "uzovi": pl.Utf8})

    totals = read(folder / "totalen.csv")
    tables = {}
    for scope in totals["uzovi"].to_list():
        table = read(folder / ("national.csv" if scope == NATIONAL else f"{scope}.csv"))
        scope_totals = totals.filter(pl.col("uzovi") == scope).rename({"uzovi": "agb_code"})
        tables[scope] = (
            table.drop("naam", strict=False),
            scope_totals.with_columns(pl.lit("totaal").alias("agb_code")),
        )
    return tables


def read_categories(folder: Path) -> dict[tuple[str, str, str], int | None]:
    """Return the national table by sector and zorgvraag of a published insurer folder
    (``uitsplitsing.csv``) as :data:`Categories`; empty when the folder has none."""
    path = folder / "uitsplitsing.csv"
    if not path.is_file():
        return {}
    frame = pl.read_csv(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), separator=";", infer_schema=False)
    found: dict[tuple[str, str, str], int | None] = {}
    for row in frame.iter_rows(named=True):
        code = "*" if row["zorgvraag"] == "alle" else row["zorgvraag"]
        for measure in CATEGORY_MEASURES:
            value = row[measure]
            found[(row["sector"], code, measure)] = None if value in (None, "") else int(value)
    return found
