"""The example extracts of the providers' delivery guide (docs/voorbeelden/), one per supported
format, with fictional clients. ``python -m sample_data.examples`` writes them anew."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "voorbeelden"

EXAMPLE_ROWS: tuple[dict[str, str], ...] = (
    {"agb_code": "22000001", "client_id": "C-1001", "bsn": "123456782", "geboortedatum": "1987-03-14",
     "achternaam": "Berg", "tussenvoegsel": "van den", "voornaam": "Sanne", "voorletters": "S.",
     "geslacht": "V", "postcode": "3511 AB", "huisnummer": "12a", "uzovi": "3311", "sector": "ggz",
     "zorgvraag": "angst", "verwijsdatum": "2026-08-02", "aanmelddatum": "2026-08-20",
     "wachtfase": "aanmelding", "peildatum": "2026-11-01", "intakedatum": ""},
    {"agb_code": "22000001", "client_id": "C-1002", "bsn": "111222333", "geboortedatum": "2001-11-30",
     "achternaam": "Ünal", "tussenvoegsel": "", "voornaam": "Zoë", "voorletters": "Z.",
     "geslacht": "V", "postcode": "3512CD", "huisnummer": "7", "uzovi": "7095", "sector": "ggz",
     "zorgvraag": "depressie", "verwijsdatum": "2026-06-11", "aanmelddatum": "2026-06-15",
     "wachtfase": "behandeling", "peildatum": "2026-11-01", "intakedatum": "2026-07-09"},
    {"agb_code": "22000101", "client_id": "C-1003", "bsn": "", "geboortedatum": "1959-07-01",
     "achternaam": "Jansen", "tussenvoegsel": "", "voornaam": "Pieter", "voorletters": "P.J.",
     "geslacht": "M", "postcode": "3513 EF", "huisnummer": "101", "uzovi": "0101", "sector": "ggz",
     "zorgvraag": "", "verwijsdatum": "", "aanmelddatum": "2026-10-05",
     "wachtfase": "aanmelding", "peildatum": "2026-11-01", "intakedatum": ""},
    {"agb_code": "22000001", "client_id": "C-1004", "bsn": "23456784", "geboortedatum": "1975-02-28",
     "achternaam": "Vries", "tussenvoegsel": "de", "voornaam": "Mohamed", "voorletters": "M.",
     "geslacht": "X", "postcode": "", "huisnummer": "", "uzovi": "3343", "sector": "msz",
     "zorgvraag": "0303", "verwijsdatum": "2026-09-01", "aanmelddatum": "2026-09-03",
     "wachtfase": "behandeling", "peildatum": "2026-11-01", "intakedatum": "2026-09-24"},
)  # fmt: skip
"""Four fictional clients: a prefix and a house-number addition, diacritics, a location code and
no BSN, an 8-digit BSN that is left-padded, and an msz specialism code; the two in the treatment
phase have their intake date (extract format version 2)."""


EXAMPLE_REFERENCE_DATE = dt.date(2026, 11, 1)
"""The peildatum of the examples."""


def example_frame() -> pl.DataFrame:
    """Return the example rows as text columns, in the order of the extract format."""
    return pl.DataFrame(list(EXAMPLE_ROWS))


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    date_columns = ("geboortedatum", "verwijsdatum", "aanmelddatum", "peildatum", "intakedatum")
    return frame.with_columns([pl.col(c).str.to_date("%Y-%m-%d") for c in date_columns])


def write_examples(folder: Path) -> list[Path]:
    """Write the example extract in every supported format to ``folder``; return the paths.

    ``;`` CSV in UTF-8, ``,`` CSV in Windows-1252 with DD-MM-YYYY dates, ``.xlsx`` with date
    cells, and ``.parquet`` with a date type.
    """
    folder.mkdir(parents=True, exist_ok=True)
    frame = example_frame().with_columns(pl.all().replace("", None))
    paths = {
        "csv": folder / "wachtlijst_puntkomma_utf8.csv",
        "cp1252": folder / "wachtlijst_komma_windows1252.csv",
        "xlsx": folder / "wachtlijst.xlsx",
        "parquet": folder / "wachtlijst.parquet",
    }
    paths["csv"].write_text(frame.write_csv(separator=";"), encoding="utf-8", newline="")
    dutch_dates = frame.with_columns(
        [
            pl.col(c).str.to_date("%Y-%m-%d").dt.to_string("%d-%m-%Y")
            for c in ("geboortedatum", "verwijsdatum", "aanmelddatum", "peildatum", "intakedatum")
        ]
    )
    paths["cp1252"].write_bytes(dutch_dates.write_csv(separator=",").encode("cp1252"))
    typed = _typed(frame)
    typed.write_excel(paths["xlsx"], worksheet="Wachtlijst", autofit=True)
    typed.write_parquet(paths["parquet"])
    return list(paths.values())


def main() -> None:
    """Write the examples into docs/voorbeelden/ (or the folder given as argument)."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES_DIR
    for path in write_examples(folder):
        print(path)


if __name__ == "__main__":
    main()
