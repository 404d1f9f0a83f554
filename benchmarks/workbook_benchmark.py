"""Writing the providers' contact lists as .xlsx, side by side in one run: the cell-by-cell
xlsxwriter path used until now (the baseline) and ``reports.xlsx`` (sheet XML built column-wise
by polars). The rows are shaped like a round's contact lists.

    python -m benchmarks.workbook_benchmark [--rows 270000] [--providers 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import time

import numpy as np
import polars as pl
import xlsxwriter

from reports.spreadsheets import contact_workbook


def _pick(rng: np.random.Generator, options: list[str | None], rows: int) -> list[str | None]:
    """Return ``rows`` values drawn from ``options`` (None among them: an empty cell)."""
    return [options[i] for i in rng.integers(0, len(options), rows)]


def contact_frame(rows: int, seed: int = 1) -> pl.DataFrame:
    """Return ``rows`` contact-list rows (the columns of ``linkage/sql/contact_rows.sql``)."""
    rng = np.random.default_rng(seed)
    start = dt.date(2025, 1, 1)
    return pl.DataFrame(
        {
            "client_id": [f"C{i:07d}" for i in range(rows)],
            "aanmelddatum": [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 600, rows)],
            "wachtfase": rng.choice(["aanmelding", "intake", "behandeling"], rows),
            "zorgvraag": _pick(rng, ["angst", "depressie", "persoonlijkheid", None], rows),
            "soort": rng.choice(["dubbel", "intern"], rows, p=[0.9, 0.1]),
            "aantal_andere_aanbieders": rng.integers(0, 4, rows),
            "koppeling": rng.choice(["bsn", "probabilistisch"], rows, p=[0.94, 0.06]),
            "zekerheid": rng.uniform(0.5, 1.0, rows).round(3),
            "agb_code": rng.choice([f"2200{i:04d}" for i in range(50)], rows),
            "eerder_gemeld": rng.choice(["ja", "nee"], rows),
            "terugmelding": _pick(rng, ["verwijderd", "in_behandeling", None], rows),
        }
    )


def xlsxwriter_cell_by_cell(frame: pl.DataFrame) -> bytes:
    """Return the workbook as the code before ``reports.xlsx`` wrote it (the baseline)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    number = workbook.add_format({"num_format": "#,##0"})
    sheet = workbook.add_worksheet("Contactlijst")
    frame = frame.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"))
    for column, title in enumerate(frame.columns):
        sheet.write_string(0, column, title, header)
    for row, values in enumerate(frame.iter_rows(), start=1):
        for column, value in enumerate(values):
            dtype = frame.dtypes[column]
            if value is None:
                continue
            if dtype.is_integer() or dtype.is_float():
                sheet.write_number(row, column, value, number if dtype.is_integer() else None)
            else:
                sheet.write_string(row, column, str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, frame.height, len(frame.columns) - 1)
    workbook.close()
    return buffer.getvalue()


def main() -> None:
    """Print seconds and bytes for both writers on the same rows, split over providers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=270_000)
    parser.add_argument("--providers", type=int, default=200)
    args = parser.parse_args()
    frame = contact_frame(args.rows)
    parts = [frame.slice(i * args.rows // args.providers, args.rows // args.providers) for i in range(args.providers)]
    cells = frame.height * frame.width
    print(f"{args.rows:,} rows ({cells:,} cells) in {args.providers} workbooks")
    for name, write in (("xlsxwriter, cell by cell (baseline)", xlsxwriter_cell_by_cell),
                        ("reports.xlsx, column-wise (this)", contact_workbook)):  # fmt: skip
        started = time.perf_counter()
        size = sum(len(write(part)) for part in parts)
        seconds = time.perf_counter() - started
        print(f"{name:<38} {seconds:>7.2f} s  {cells / seconds / 1e6:>6.2f} M cells/s  {size / 1e6:>7.1f} MB")


if __name__ == "__main__":
    main()
