"""Reading provider extracts (.csv, .xlsx, .parquet) into frames of text columns."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest.columns import ALL_COLUMNS, REQUIRED_COLUMNS

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".parquet")
ROW_NUMBER = "source_row"
UTF8_BOM = b"\xef\xbb\xbf"


class ExtractRejected(Exception):
    """A whole file is rejected. The message names only the file, the reason and column names."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RawExtract:
    """The text columns of one extract, mapped to the extract format's column names."""

    frame: pl.DataFrame
    unknown_columns: tuple[str, ...] = field(default=())
    missing_columns: tuple[str, ...] = field(default=())
    encoding: str = ""
    delimiter: str = ""


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def header_key(name: str) -> str:
    """Return the form in which header names are compared: trimmed and lower case."""
    return name.strip().casefold()


def decode_text(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Return the text of a CSV file and the encoding used (UTF-8 with or without BOM, else
    Windows-1252, else Latin-1), or the configured ``encoding``."""
    if encoding != "auto":
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except (UnicodeDecodeError, LookupError):
            raise ExtractRejected("unreadable_encoding", f"not valid {encoding}") from None
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise ExtractRejected("unreadable_encoding", "BOM says UTF-8, content is not") from None
    for candidate in ("utf-8", "cp1252", "latin-1"):
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    raise ExtractRejected("unreadable_encoding")  # pragma: no cover - latin-1 decodes anything


def detect_delimiter(text: str) -> str:
    """Return ``;`` or ``,``, whichever occurs more often in the header line."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") >= header.count(",") and header.count(";") > 0 else ","


def map_columns(headers: list[str], aliases: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Return ({file header: extract column}, unknown headers) for a file's headers.

    ``aliases`` maps header keys (see :func:`header_key`) to extract column names.
    Raises :class:`ExtractRejected` when required columns are missing or two headers map to
    one column.
    """
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        key = header_key(header)
        target = key if key in ALL_COLUMNS else aliases.get(key)
        if target is None:
            unknown.append(header.strip())
        elif target in mapping.values():
            raise ExtractRejected("ambiguous_columns", f"more than one column maps to {target}")
        else:
            mapping[header] = target
    missing = [column for column in REQUIRED_COLUMNS if column not in mapping.values()]
    if missing:
        raise ExtractRejected("missing_columns", ", ".join(missing))
    return mapping, unknown


def _text_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with every column as text; dates as ISO, whole floats without ``.0``."""
    converted = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            column = column.dt.to_string("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            column = column.dt.date().dt.to_string("%Y-%m-%d")
        elif dtype.is_float():
            column = (
                pl.when(column == column.round(0))
                .then(column.cast(pl.Int64, strict=False).cast(pl.Utf8))
                .otherwise(column.cast(pl.Utf8))
            )
        elif dtype != pl.Utf8:
            column = column.cast(pl.Utf8)
        converted.append(column.alias(name))
    return frame.select(converted)


def read_table(path: Path, csv_encoding: str) -> tuple[pl.DataFrame, str, str]:
    """Return the first table of a .csv, .xlsx or .parquet file as read (CSV: all text), with
    the CSV's encoding and delimiter. Raises :class:`ExtractRejected` for other formats."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text, encoding = decode_text(path.read_bytes(), csv_encoding)
        if not text.strip():
            raise ExtractRejected("empty")
        delimiter = detect_delimiter(text)
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
        return frame, encoding, delimiter
    if suffix == ".xlsx":
        frame = pl.read_excel(path, sheet_id=1, drop_empty_rows=False, raise_if_empty=False)
        return _text_columns(frame), "", ""
    if suffix == ".parquet":
        return _text_columns(pl.read_parquet(path)), "", ""
    raise ExtractRejected("unsupported_format", suffix or "no suffix")


def read_extract(path: Path, aliases: Mapping[str, str], *, csv_encoding: str = "auto") -> RawExtract:
    """Return the extract in ``path`` as text columns named as in the extract format.

    Adds ``source_row``: the 1-based data row number (the header is row 0). Values are
    trimmed and empty values become null. Rows that are empty in every column are dropped.
    Raises :class:`ExtractRejected` when the file cannot be used at all; its message never
    holds file content, since parser errors can quote rows.
    """
    try:
        frame, encoding, delimiter = read_table(path, csv_encoding)
    except ExtractRejected:
        raise
    except Exception:  # parsers raise many types, and their messages may quote row data
        raise ExtractRejected("unreadable", f"not a readable {path.suffix.lower()} file") from None
    mapping, unknown = map_columns(frame.columns, aliases)
    frame = frame.select([pl.col(source).alias(target) for source, target in mapping.items()])
    frame = frame.with_columns([pl.col(name).str.strip_chars().replace("", None).alias(name) for name in frame.columns])
    frame = frame.with_row_index(ROW_NUMBER, offset=1).with_columns(pl.col(ROW_NUMBER).cast(pl.Int64))
    frame = frame.filter(pl.any_horizontal([pl.col(name).is_not_null() for name in mapping.values()]))
    missing_optional = [c for c in ALL_COLUMNS if c not in frame.columns]
    frame = frame.with_columns([pl.lit(None, dtype=pl.Utf8).alias(c) for c in missing_optional])
    if frame.height == 0:
        raise ExtractRejected("empty", "no data rows")
    return RawExtract(
        frame=frame.select([ROW_NUMBER, *ALL_COLUMNS]),
        missing_columns=tuple(missing_optional),
        unknown_columns=tuple(unknown),
        encoding=encoding,
        delimiter=delimiter,
    )
