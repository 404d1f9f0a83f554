"""Hostile and broken provider files, made on the fly: the adversarial corpus of extract format
version 2 (bombs, ragged lines, foreign encodings, formulas, placeholders, cross-sender rows)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "agb_code;client_id;bsn;geboortedatum;achternaam;voornaam;postcode;uzovi;sector;aanmelddatum;wachtfase"
FORMULAS: tuple[str, ...] = ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3")
SECRET_HEADER = "Jansen 123456782 1234AB"
"""An unknown header holding person data: it may reach only the provider's own package."""


def row(agb: str, client: str, *, bsn: str = "", born: str = "1980-05-17", surname: str = "Jansen",
        first: str = "Piet", postcode: str = "3511AB", uzovi: str = "3311", sector: str = "ggz") -> str:  # fmt: skip
    """Return one extract line in :data:`HEADER`'s column order."""
    return ";".join([agb, client, bsn, born, surname, first, postcode, uzovi, sector, "2026-09-01", "aanmelding"])


def write_lines(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    """Write ``HEADER`` and ``lines`` as a CSV file; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode(encoding))
    return path


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def xlsx_dimension_bomb(path: Path, dimension: str = "A1:XFD1048576") -> Path:
    """Write a tiny .xlsx whose first sheet declares ``dimension`` (all of Excel's 17 billion
    cells by default) but holds one header cell: readers that trust it allocate 512 GiB."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        f'2006/main"><dimension ref="{dimension}"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>agb_code'
        '</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


PARQUET_COLUMNS = ("agb_code", "client_id", "geboortedatum", "achternaam", "uzovi", "sector", "aanmelddatum",
                   "wachtfase")  # fmt: skip


def parquet_bomb(path: Path, agb: str, rows: int = 20_000_000) -> Path:
    """Write a Parquet file of ``rows`` identical rows (a few hundred KB on disk, gigabytes
    once decoded), in row groups of two million so that making it stays cheap."""
    values = (agb, "C1", "1980-05-17", "Jansen", "3311", "ggz", "2026-09-01", "aanmelding")
    group = min(rows, 2_000_000)
    indices = pa.array(np.zeros(group, dtype=np.int8))
    table = pa.table(
        {name: pa.DictionaryArray.from_arrays(indices, pa.array([value])) for name, value in
         zip(PARQUET_COLUMNS, values, strict=True)}
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        written = 0
        while written < rows:
            part = table.slice(0, min(group, rows - written))
            writer.write_table(part)
            written += part.num_rows
    return path


def placeholder_rows(agb: str, n: int, prefix: str, *, surname: str = "Onbekend", first: str = "Onbekend",
                     born: str = "1900-01-01", postcode: str = "1000AA") -> list[str]:  # fmt: skip
    """Return ``n`` rows without a BSN that share one placeholder identity."""
    return [row(agb, f"{prefix}{i}", surname=surname, first=first, born=born, postcode=postcode) for i in range(n)]


def ragged_lines(agb: str) -> list[str]:
    """Return two good rows around a line with extra fields and one with too few (rows 2 and 3)."""
    return [row(agb, "R1"), row(agb, "R2") + ";extra;more", row(agb, "R3").rsplit(";", 2)[0], row(agb, "R4")]


def mixed_encoding(path: Path, agb: str) -> Path:
    """Write a UTF-8 file ("Müller") with one Windows-1252 byte on line 3."""
    text = "\n".join([HEADER, row(agb, "M1", surname="Müller")]).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text + b"\n" + row(agb, "M2", surname="M\xfcller").encode("latin-1") + b"\n")
    return path
