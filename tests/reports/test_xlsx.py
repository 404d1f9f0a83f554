"""The .xlsx writer: what goes in comes out (read by calamine and by openpyxl), text never
becomes a formula, and the same tables give the same bytes."""

import io
import re
import zipfile

import openpyxl
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import xlsx
from reports.xlsx import INVALID_XML, Sheet, column_letters, workbook_bytes

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


def test_column_letters():
    assert [column_letters(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"
    ]  # fmt: skip


def test_tables_come_back_as_written_and_formulas_stay_text():
    table = pl.DataFrame(
        {
            "agb_code": ["22000001", "=HYPERLINK(\"x\")", "a & b <c> \"d\"", None],
            "wachtenden": [1234567, None, 0, 5],
            "zekerheid": [0.95, 1.0, None, float("nan")],
        }
    )
    data = workbook_bytes([Sheet("Aanbieders", table, marker="<10"), Sheet("Leeg", pl.DataFrame({"x": []}))])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Aanbieders"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["agb_code", "wachtenden", "zekerheid"]
    assert rows[1:] == [
        ["22000001", 1234567, 0.95],
        ['=HYPERLINK("x")', "<10", 1.0],
        ['a & b <c> "d"', 0, None],
        [None, 5, None],
    ]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:C5"
    assert sheet["B2"].number_format == "#,##0" and sheet["A1"].font.b
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    read_back = pl.read_excel(io.BytesIO(data), sheet_name="Aanbieders", infer_schema_length=0)
    assert read_back["agb_code"].to_list()[:3] == table["agb_code"].to_list()[:3]
    assert workbook_bytes([Sheet("Aanbieders", table, marker="<10")]) == workbook_bytes(
        [Sheet("Aanbieders", table, marker="<10")]
    )


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=8), numbers=st.data())
def test_any_text_and_number_comes_back(values: list[str | None], numbers: st.DataObject):
    counts = numbers.draw(st.lists(st.one_of(st.none(), st.integers(-(10**12), 10**12)),
                                   min_size=len(values), max_size=len(values)))  # fmt: skip
    table = pl.DataFrame({"tekst": values, "aantal": counts}, schema={"tekst": pl.Utf8, "aantal": pl.Int64})
    sheet = openpyxl.load_workbook(io.BytesIO(workbook_bytes([Sheet("T", table)])))["T"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2, max_col=2)]
    rows += [[None, None]] * (len(values) - len(rows))  # a reader drops empty rows at the end
    kept = [None if v is None else re.sub(INVALID_XML, "", v) for v in values]  # XML cannot hold those
    assert rows == [[v, c] for v, c in zip(kept, counts, strict=True)]


def test_dates_are_date_cells():
    import datetime as dt

    days = [dt.date(2026, 11, 1), None, dt.date(1900, 3, 1), dt.date(1950, 2, 28)]
    data = workbook_bytes([Sheet("Datums", pl.DataFrame({"datum": days}))])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [sheet.cell(row=i + 2, column=1) for i in range(len(days))]
    assert [c.value.date() if c.value is not None else None for c in cells] == days
    assert all(c.is_date for c in cells if c.value is not None)
    assert pl.read_excel(io.BytesIO(data))["datum"].drop_nulls().to_list() == [d for d in days if d is not None]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["22000001", "22000002", "22000003", "06100004"]), st.text(max_size=6)),
         min_size=1, max_size=40),
    st.integers(min_value=1, max_value=12),
)
def test_rows_made_in_batches_are_the_rows_made_in_one_pass(rows: list[tuple[str, str]], batch_rows: int):
    frame = pl.DataFrame({"provider": [p for p, _ in rows], "naam": [n for _, n in rows], "n": list(range(len(rows)))})
    in_one_pass = xlsx._rows_xml_in_one_pass(frame, "provider", None)
    original = xlsx.XML_BATCH_ROWS
    xlsx.XML_BATCH_ROWS = batch_rows
    try:
        batched = xlsx.rows_xml_by(frame, "provider")
    finally:
        xlsx.XML_BATCH_ROWS = original
    assert list(batched.items()) == list(in_one_pass.items())
