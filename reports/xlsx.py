"""A small, fast .xlsx writer for tables: the sheet XML is built column-wise by polars, not
cell by cell in Python, so a contact list of a million cells takes a fraction of a second.

What it writes: one sheet per table, a bold header row that stays in view (frozen) with an
autofilter, whole numbers with a thousands separator, text as inline strings (never a formula:
a cell that starts with ``=`` stays text), dates as date cells, empty cells for nulls or a marker text in grey. The
bytes depend only on the tables (fixed timestamps), so a rerun gives the same file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

FIXED_TIME = (2026, 1, 1, 0, 0, 0)
"""The time stamped on every part of the workbook (the zip entries and the document properties)."""
INVALID_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
"""Characters XML 1.0 cannot hold (control characters are rejected at ingest; this is a second net)."""

HEADER_STYLE, NUMBER_STYLE, MARKER_STYLE, DATE_STYLE = 1, 2, 3, 4
EXCEL_EPOCH = "1899-12-30"
"""Day 0 of the workbook's 1900 date system (serial 1 is 1900-01-01 and Excel counts a 29 February 1900)."""

STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font>\
<font><i/><sz val="11"/><color rgb="FF7F7F7F"/><name val="Calibri"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>
<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>\
<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>\
<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>\
<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">\
<alignment horizontal="right"/></xf>\
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


@dataclass(frozen=True)
class Sheet:
    """A table to write as one sheet; with ``marker``, a null whole number reads as that text.
    ``rows_xml``, when given, is the XML of the frame's rows made beforehand (see
    :func:`rows_xml_by`), so that many workbooks cost one pass over their rows together."""

    name: str
    frame: pl.DataFrame
    marker: str | None = None
    rows_xml: str | None = None


def column_letters(index: int) -> str:
    """Return the spreadsheet column name of the 0-based ``index`` (0: A, 26: AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _escaped(text: str) -> str:
    """Return ``text`` safe inside an XML element or attribute."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _escaped_expr(expression: pl.Expr) -> pl.Expr:
    """Return the polars expression of :func:`_escaped` (invalid characters dropped)."""
    return (
        expression.str.replace_all(INVALID_XML, "")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _cell_expr(frame: pl.DataFrame, index: int, marker: str | None) -> pl.Expr:
    """Return an expression giving each row's XML for the cell of column ``index`` (empty
    for a null without marker)."""
    name, dtype = frame.columns[index], frame.dtypes[index]
    reference = pl.lit(f'<c r="{column_letters(index)}') + pl.col("__row").cast(pl.Utf8)
    column = pl.col(name)
    if dtype.is_integer():
        value = pl.concat_str(
            [reference, pl.lit(f'" s="{NUMBER_STYLE}"><v>'), column.cast(pl.Utf8), pl.lit("</v></c>")]
        )
        empty = (
            pl.lit("")
            if marker is None
            else pl.concat_str(
                [reference, pl.lit(f'" s="{MARKER_STYLE}" t="inlineStr"><is><t>{_escaped(marker)}</t></is></c>')]
            )
        )
    elif dtype == pl.Date:  # a date cell: its serial day number, shown as a date
        serial = (column - pl.lit(EXCEL_EPOCH).str.to_date()).dt.total_days()
        value = pl.concat_str([reference, pl.lit(f'" s="{DATE_STYLE}"><v>'), serial.cast(pl.Utf8), pl.lit("</v></c>")])
        empty = pl.lit("")
    elif dtype.is_float():
        value = pl.concat_str([reference, pl.lit('"><v>'), column.cast(pl.Utf8), pl.lit("</v></c>")])
        return pl.when(column.is_null() | ~column.is_finite()).then(pl.lit("")).otherwise(value)  # no NaN cell
    else:
        text = _escaped_expr(column.cast(pl.Utf8))
        value = pl.concat_str(
            [reference, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), text, pl.lit("</t></is></c>")]
        )
        empty = pl.lit("")
    return pl.when(column.is_null()).then(empty).otherwise(value)


def _rows_xml(frame: pl.DataFrame, marker: str | None, group: str | None = None) -> tuple[pl.Expr, pl.Expr]:
    """Return the expressions of each row's XML and of its row number ``__row`` (from 2, per
    ``group`` when given; ``group`` itself is not a cell)."""
    cells = [i for i, name in enumerate(frame.columns) if name != group]
    shown = frame.select(frame.columns[i] for i in cells)
    number = pl.int_range(2, pl.len() + 2, dtype=pl.Int64)
    xml = pl.concat_str(
        [
            pl.lit('<row r="'),
            pl.col("__row").cast(pl.Utf8),
            pl.lit('">'),
            *(_cell_expr(shown, i, marker) for i in range(len(shown.columns))),
            pl.lit("</row>"),
        ]
    ).alias("xml")
    return xml, (number.over(group) if group is not None else number).alias("__row")


XML_BATCH_ROWS = 100_000
"""Rows whose XML :func:`rows_xml_by` makes in one pass. A national round's contact lists have
XML of several times their rows' size; made for all of them at once, the 3 M round's 814,000
rows held 3.2 GiB, in batches of this many rows 1.6 GiB, in the same time (measured)."""


def rows_xml_by(frame: pl.DataFrame, group: str, marker: str | None = None) -> dict[str, str]:
    """Return {value of ``group``: the XML of its rows} for a frame holding many sheets' rows,
    each group's rows in frame order and numbered from 2 (``group`` is not written). Groups are
    made in batches of about :data:`XML_BATCH_ROWS` rows, in order of first appearance."""
    if frame.is_empty():
        return {}
    if frame.height <= XML_BATCH_ROWS or frame[group].null_count():
        return _rows_xml_in_one_pass(frame, group, marker)
    sizes = frame.group_by(group, maintain_order=True).len()
    batches: list[list[object]] = [[]]
    rows = 0
    for value, count in sizes.iter_rows():
        if rows >= XML_BATCH_ROWS:
            batches.append([])
            rows = 0
        batches[-1].append(value)
        rows += count
    made: dict[str, str] = {}
    for batch in batches:
        made |= _rows_xml_in_one_pass(frame.filter(pl.col(group).is_in(batch)), group, marker)
    return made


def _rows_xml_in_one_pass(frame: pl.DataFrame, group: str, marker: str | None) -> dict[str, str]:
    xml, number = _rows_xml(frame, marker, group)
    joined = (
        frame.with_columns(number)
        .select(pl.col(group), xml)
        .group_by(group, maintain_order=True)
        .agg(pl.col("xml").str.join(""))
    )
    return dict(zip(joined[group].cast(pl.Utf8).to_list(), joined["xml"].to_list(), strict=True))


def _sheet_xml(sheet: Sheet) -> bytes:
    """Return the worksheet XML of one table."""
    frame = sheet.frame
    width = max(1, len(frame.columns))
    header = "".join(
        f'<c r="{column_letters(i)}1" s="{HEADER_STYLE}" t="inlineStr"><is><t>{_escaped(title)}</t></is></c>'
        for i, title in enumerate(frame.columns)
    )
    columns = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{max(12, len(title) + 2)}" customWidth="1"/>'
        for i, title in enumerate(frame.columns)
    )
    body = ""
    if sheet.rows_xml is not None:
        body = sheet.rows_xml
    elif frame.height and frame.columns:
        xml, number = _rows_xml(frame, sheet.marker)
        body = frame.with_columns(number).select(xml)["xml"].str.join("").item()
    last = f"{column_letters(width - 1)}{frame.height + 1}"
    autofilter = f'<autoFilter ref="A1:{last}"/>' if frame.height and frame.columns else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"{f'<cols>{columns}</cols>' if columns else ''}"
        f'<sheetData><row r="1">{header}</row>{body}</sheetData>{autofilter}'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    ).encode()


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
)
"""The start of ``[Content_Types].xml``: one override per sheet follows."""
ROOT_RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/></Relationships>'
)
CORE_PROPERTIES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:creator>{author}</dc:creator>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">2026-01-01T00:00:00Z</dcterms:created>'
    "</cp:coreProperties>"
)
"""``docProps/core.xml`` with ``{author}`` to fill in (escaped); a fixed time stamp."""


def workbook_bytes(sheets: Sequence[Sheet], author: str = "wachtlijst") -> bytes:
    """Return an .xlsx holding ``sheets`` in order (names at most 31 characters, distinct)."""
    names = [sheet.name[:31] for sheet in sheets]
    if len(set(names)) != len(names) or not names:
        raise ValueError("a workbook needs one or more sheets with distinct names")
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    parts = {
        "[Content_Types].xml": f"{CONTENT_TYPES}{overrides}</Types>",
        "_rels/.rels": ROOT_RELATIONSHIPS,
        "docProps/core.xml": CORE_PROPERTIES.format(author=_escaped(author)),
        "xl/workbook.xml": _workbook_xml(names, sheets),
        "xl/_rels/workbook.xml.rels": _workbook_relationships(len(sheets)),
        "xl/styles.xml": STYLES,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            _write(archive, name, text.encode("utf-8"))
        for i, sheet in enumerate(sheets, 1):
            _write(archive, f"xl/worksheets/sheet{i}.xml", _sheet_xml(sheet))
    return buffer.getvalue()


def _workbook_xml(names: Sequence[str], sheets: Sequence[Sheet]) -> str:
    """Return ``xl/workbook.xml``: the sheets by name, each table's auto-filter range."""
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"'{_escaped(name)}'!$A$1:${column_letters(max(1, len(sheet.frame.columns)) - 1)}"
        f"${sheet.frame.height + 1}</definedName>"
        for i, (name, sheet) in enumerate(zip(names, sheets, strict=True))
        if sheet.frame.height and sheet.frame.columns
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name="{_escaped(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, 1))
        + f"</sheets>{f'<definedNames>{defined}</definedNames>' if defined else ''}</workbook>"
    )


def _workbook_relationships(count: int) -> str:
    """Return ``xl/_rels/workbook.xml.rels``: ``count`` sheets, then the styles."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, count + 1)
        )
        + f'<Relationship Id="rId{count + 1}" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/styles" Target="styles.xml"/></Relationships>'
    )


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Add one part to the workbook with the fixed time stamp, compressed quickly."""
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data, compresslevel=1)
