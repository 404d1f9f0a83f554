"""The generated extracts as files: deliberately bad rows, and every format the extract format allows."""

from __future__ import annotations

import codecs
import datetime as dt
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from sample_data.spec import BAD_ROW_KINDS, RoundSpec


def fold_unencodable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: write a character Windows-1252 lacks without its accents, as EHRs do."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if c.encode("cp1252", errors="ignore") else "?" for c in folded), error.end


codecs.register_error("wachtlijst-fold", fold_unencodable)


def bad_row_changes(reference_date: dt.date) -> dict[str, dict[str, object]]:
    """Return, per kind of bad row, what it changes in a good row."""
    return {
        "agb_code_invalid": {"agb_code": "12345"},
        "client_id_missing": {"client_id": None},
        "geboortedatum_invalid": {"date_override": "geboortedatum=31-02-1980"},
        "geboortedatum_missing": {"geboortedatum": None},
        "achternaam_missing": {"achternaam_written": None},
        "uzovi_invalid": {"uzovi": "33X1"},
        "sector_invalid": {"sector": "ggzz"},
        "aanmelddatum_future": {"aanmelddatum": reference_date + dt.timedelta(days=30)},
        "aanmelddatum_before_geboortedatum": {"aanmelddatum": dt.date(1975, 1, 1)},
        "wachtfase_invalid": {"wachtfase": "intake"},
    }


def bad_rows(spec: RoundSpec, rng: np.random.Generator, providers: list[str], csv_providers: list[str]) -> pl.DataFrame:
    rows = []
    ref = spec.reference_date
    for kind in BAD_ROW_KINDS:
        for number in range(spec.bad_rows_per_kind):
            # a text date that cannot exist only fits a CSV; native date cells cannot hold it
            pool = csv_providers if kind == "geboortedatum_invalid" else providers
            provider = pool[int(rng.integers(0, len(pool)))]
            row = {
                "provider": provider,
                "agb_code": provider,
                "client_id": f"X{kind[:3].upper()}{number:04d}{provider[-3:]}",
                "bsn_written": None,
                "achternaam_written": "Afgewezen",
                "tussenvoegsel_written": None,
                "voornaam": "Rij",
                "geslacht": "O",
                "postcode_written": None,
                "geboortedatum": dt.date(1980, 5, 17),
                "aanmelddatum": ref - dt.timedelta(days=20),
                "verwijsdatum": None,
                "uzovi": "3311",
                "sector": "msz" if provider.startswith("06") else "ggz",
                "zorgvraag": "0301" if provider.startswith("06") else "angst",
                "wachtfase": "aanmelding",
                "intakedatum": None,
                "expected_reason": kind,
                "date_override": None,
            }
            rows.append(row | bad_row_changes(ref).get(kind, {}))
    return pl.DataFrame(rows, infer_schema_length=None)


WorkbookWriter = Callable[[pl.DataFrame], bytes]
"""Returns the .xlsx bytes of a table (dates as date cells); the default is xlsxwriter's."""


def write_extract(
    frame: pl.DataFrame,
    path: Path,
    fmt: str,
    date_format: str,
    headers: dict[str, str],
    workbook: WorkbookWriter | None = None,
) -> None:
    dates = ("geboortedatum", "aanmelddatum", "verwijsdatum", "peildatum", "intakedatum")
    if fmt in ("xlsx", "parquet"):
        out = frame.rename(headers)
        if fmt == "xlsx" and workbook is not None:
            path.write_bytes(workbook(out))
        elif fmt == "xlsx":
            out.write_excel(path, autofit=False)
        else:
            out.write_parquet(path)
        return
    text_frame = frame.with_columns([pl.col(c).dt.to_string(date_format) for c in dates if c in frame.columns])
    if "date_override" in text_frame.columns:
        text_frame = text_frame.with_columns(
            pl.when(pl.col("date_override").str.starts_with("geboortedatum="))
            .then(pl.col("date_override").str.slice(len("geboortedatum=")))
            .otherwise(pl.col("geboortedatum"))
            .alias("geboortedatum")
        ).drop("date_override")
    text_frame = text_frame.rename(headers)
    separator = "," if "comma" in fmt else ";"
    text = text_frame.write_csv(separator=separator)
    if "cp1252" in fmt:
        data = text.encode("cp1252", errors="wachtlijst-fold")
    elif "bom" in fmt:
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    else:
        data = text.encode("utf-8")
    path.write_bytes(data)


EXTRACT_COLUMNS = (
    "agb_code",
    "client_id",
    "bsn",
    "achternaam",
    "tussenvoegsel",
    "voornaam",
    "geslacht",
    "geboortedatum",
    "postcode",
    "uzovi",
    "sector",
    "zorgvraag",
    "verwijsdatum",
    "aanmelddatum",
    "wachtfase",
    "intakedatum",
)
