"""Limits on what one delivered file may cost, checked before its content is decoded.

A file over a limit is rejected whole as ``too_large`` with the limit named. The checks read
only sizes and metadata: a file's size on disk, a CSV's record count, the declared dimension
and uncompressed size of an ``.xlsx`` sheet, a Parquet file's footer. What still slips through
(a lying sheet, a decoder that allocates beyond reason) is stopped by the memory limit of the
worker process that reads untrusted files (:mod:`ingest.worker`).
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ingest.columns import ALL_COLUMNS


class LimitExceeded(Exception):
    """A file is over one of its limits; the message names the limit, never content."""


DEFAULT_FIELD_CHARS: dict[str, int] = {
    "agb_code": 16,
    "client_id": 64,
    "bsn": 16,
    "geboortedatum": 32,
    "achternaam": 200,
    "tussenvoegsel": 40,
    "voornaam": 200,
    "voorletters": 40,
    "geslacht": 16,
    "postcode": 16,
    "huisnummer": 32,
    "uzovi": 16,
    "sector": 16,
    "zorgvraag": 64,
    "verwijsdatum": 32,
    "aanmelddatum": 32,
    "wachtfase": 32,
    "peildatum": 32,
    "intakedatum": 32,
}
"""Longest value accepted per column (characters); a longer one rejects its row."""


@dataclass(frozen=True)
class ReadLimits:
    """What one delivered file may hold. Every limit has a safe default."""

    max_file_bytes: int = 256 << 20
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_cells: int = 25_000_000
    max_uncompressed_bytes: int = 1 << 30
    field_chars: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_FIELD_CHARS))

    def check_cells(self, rows: int, columns: int, what: str) -> None:
        """Raise :class:`LimitExceeded` naming every limit that ``rows`` x ``columns`` breaks."""
        over = []
        if rows > self.max_rows:
            over.append(f"{rows} rows (limit {self.max_rows})")
        if columns > self.max_columns:
            over.append(f"{columns} columns (limit {self.max_columns})")
        if rows * columns > self.max_cells:
            over.append(f"{rows * columns} cells (limit {self.max_cells})")
        if over:
            raise LimitExceeded(f"{what} holds {', '.join(over)}")


if not set(DEFAULT_FIELD_CHARS) >= set(ALL_COLUMNS):
    raise RuntimeError("every extract column must have a length limit")

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?\"")
_FIRST_SHEET_ID = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]{1,64})\"")
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb"\b(Id|Target)=\"([^\"]{1,512})\"")
SMALL_PART_BYTES = 4 << 20
"""Workbook and relationship parts are small; a larger one is refused, not parsed."""
DIMENSION_SEARCH_BYTES = 64 << 10


def column_number(letters: bytes) -> int:
    """Return the 1-based column number of spreadsheet column letters (``A`` 1, ``XFD`` 16384)."""
    number = 0
    for letter in letters:
        number = number * 26 + (letter - ord("A") + 1)
    return number


def check_file_size(path: Path, limits: ReadLimits) -> int:
    """Return the file's size in bytes; raise :class:`LimitExceeded` above ``max_file_bytes``."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise LimitExceeded(f"the file is {size} bytes; the limit is {limits.max_file_bytes}")
    return size


def _read_part(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise LimitExceeded(f"workbook part {name} is {info.file_size} bytes uncompressed; the limit is {limit}")
    with archive.open(info) as handle:
        return handle.read(limit + 1)[:limit]


def first_sheet_part(archive: zipfile.ZipFile) -> str:
    """Return the archive path of the workbook's first sheet (as Excel orders them)."""
    workbook = _read_part(archive, "xl/workbook.xml", SMALL_PART_BYTES)
    match = _FIRST_SHEET_ID.search(workbook)
    if match is None:
        raise ValueError("workbook lists no sheet")
    relations = _read_part(archive, "xl/_rels/workbook.xml.rels", SMALL_PART_BYTES)
    for element in _RELATIONSHIP.findall(relations):
        attributes = dict(_ATTRIBUTE.findall(element))
        if attributes.get(b"Id") == match.group(1) and b"Target" in attributes:
            target = attributes[b"Target"].decode("ascii", "replace")
            path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            return str(PurePosixPath(path))
    raise ValueError("the first sheet has no part")


def check_xlsx(path: Path, limits: ReadLimits) -> None:
    """Check an ``.xlsx`` file's first sheet before it is decoded: its uncompressed size, the
    shared strings' size and the cells its declared dimension spans. Raises
    :class:`LimitExceeded`, or ValueError / zipfile.BadZipFile for a file that is no workbook."""
    with zipfile.ZipFile(path) as archive:
        sheet = first_sheet_part(archive)
        info = archive.getinfo(sheet)
        total = info.file_size + sum(
            i.file_size for i in archive.infolist() if i.filename == "xl/sharedStrings.xml"
        )
        if total > limits.max_uncompressed_bytes:
            raise LimitExceeded(
                f"the first sheet is {total} bytes uncompressed; the limit is {limits.max_uncompressed_bytes}"
            )
        with archive.open(info) as handle:
            head = handle.read(DIMENSION_SEARCH_BYTES)
    match = _DIMENSION.search(head)
    if match is None:
        return
    first_column, first_row = column_number(match.group(1)), int(match.group(2))
    last_column = column_number(match.group(3)) if match.group(3) else first_column
    last_row = int(match.group(4)) if match.group(4) else first_row
    rows = max(0, last_row - first_row + 1)
    columns = max(0, last_column - first_column + 1)
    limits.check_cells(max(0, rows - 1), columns, "the first sheet, as declared,")


PARQUET_MAGIC = b"PAR1"
MAX_PARQUET_FOOTER = 16 << 20


def check_parquet(path: Path, limits: ReadLimits) -> None:
    """Check a Parquet file from its footer before any data is read: rows, columns, cells and
    the uncompressed size of its row groups. Raises :class:`LimitExceeded` or ValueError."""
    import pyarrow.parquet as pq

    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        if size < 12:
            raise ValueError("too short for Parquet")
        handle.seek(size - 8)
        tail = handle.read(8)
    footer_length = struct.unpack("<I", tail[:4])[0]
    if tail[4:] != PARQUET_MAGIC:
        raise ValueError("not a Parquet file")
    if footer_length > MAX_PARQUET_FOOTER:
        raise LimitExceeded(f"the Parquet footer is {footer_length} bytes; the limit is {MAX_PARQUET_FOOTER}")
    metadata = pq.ParquetFile(path).metadata
    limits.check_cells(metadata.num_rows, metadata.num_columns, "the file")
    uncompressed = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if uncompressed > limits.max_uncompressed_bytes:
        raise LimitExceeded(
            f"the data is {uncompressed} bytes uncompressed; the limit is {limits.max_uncompressed_bytes}"
        )
