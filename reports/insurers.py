"""Insurer outputs: aggregate counts per provider, suppressed, for the nation and per UZOVI."""

from __future__ import annotations

import html
from pathlib import Path

import duckdb
import polars as pl

from linkage.store import insurer_codes, provider_counts
from reports.disclosure import COUNT_COLUMNS, suppress
from reports.files import csv_bytes, parquet_bytes, write_atomic
from reports.spreadsheets import insurer_workbook

INSURER_COLUMNS: tuple[str, ...] = ("agb_code", *COUNT_COLUMNS)


def suppressed_tables(
    con: duckdb.DuckDBPyConnection, threshold: int, uzovi: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (provider table, totals row) for all insured or one UZOVI, suppressed."""
    table, totals = provider_counts(con, uzovi)
    return suppress(table.select(INSURER_COLUMNS), totals.select(INSURER_COLUMNS), threshold)


def _html_table(title: str, table: pl.DataFrame, totals: pl.DataFrame, threshold: int) -> bytes:
    def cell(value: object) -> str:
        return f"&lt;{threshold}" if value is None else html.escape(str(value))

    header = "".join(f"<th>{html.escape(c)}</th>" for c in INSURER_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in pl.concat([table, totals]).iter_rows()
    )
    page = (
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}"
        "tr:last-child{font-weight:bold}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Aantallen van 1 tot {threshold} zijn onderdrukt (weergegeven als &lt;{threshold}); "
        "waar zo'n aantal uit een totaal terug te rekenen is, is ook een tweede cel onderdrukt.</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></body></html>"
    )
    return page.encode("utf-8")


def write_insurer_outputs(
    con: duckdb.DuckDBPyConnection, insurers_dir: Path, threshold: int, round_id: str
) -> list[Path]:
    """Write national and per-UZOVI tables (CSV, Parquet, .xlsx; HTML for national) and totals.

    Returns the paths written. Only suppressed aggregates are written.
    """
    written: list[Path] = []
    totals_rows = []
    for uzovi in [None, *insurer_codes(con)]:
        table, totals = suppressed_tables(con, threshold, uzovi)
        name = "national" if uzovi is None else uzovi
        outputs = {
            f"{name}.csv": csv_bytes(table),
            f"{name}.parquet": parquet_bytes(table),
            f"{name}.xlsx": insurer_workbook(table, totals, threshold, round_id),
        }
        if uzovi is None:
            outputs[f"{name}.html"] = _html_table(f"Wachtlijsten {round_id}: landelijk", table, totals, threshold)
        for file_name, data in outputs.items():
            write_atomic(insurers_dir / file_name, data)
            written.append(insurers_dir / file_name)
        totals_rows.append(totals.drop("agb_code").insert_column(0, pl.Series("uzovi", [uzovi or "alle"])))
    totals_path = insurers_dir / "totalen.csv"
    write_atomic(totals_path, csv_bytes(pl.concat(totals_rows)))
    written.append(totals_path)
    return written
