"""Bytes on disk: atomic writes, deterministic Parquet and SHA-256, for every package (a neutral
module at the bottom of the import order)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl


@dataclass(frozen=True)
class WrittenFile:
    """A file as written: where, how many bytes, and their SHA-256 (for the audit log and the
    release ledger, without reading the file back)."""

    path: Path
    size: int
    sha256: str


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> WrittenFile:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename, synced to
    disk first unless ``durable`` is False (for files a rerun rebuilds anyway, such as staging:
    the rename alone keeps readers from ever seeing half a file). Returns what was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    written = WrittenFile(path, len(data), sha256_bytes(data))
    _remember(written)
    return written


MAX_REMEMBERED = 100_000
"""How many written files' hashes this process keeps (the oldest are forgotten first)."""
_REMEMBERED: OrderedDict[str, tuple[tuple[int, int, int], str]] = OrderedDict()
_REMEMBERED_LOCK = threading.Lock()


def _identity(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_ino, status.st_size, status.st_mtime_ns


def _remember(written: WrittenFile) -> None:
    """Keep the hash of a file this process wrote, with what identifies that version of it."""
    identity = _identity(os.stat(written.path))
    with _REMEMBERED_LOCK:
        _REMEMBERED[os.fspath(written.path)] = (identity, written.sha256)
        _REMEMBERED.move_to_end(os.fspath(written.path))
        while len(_REMEMBERED) > MAX_REMEMBERED:
            _REMEMBERED.popitem(last=False)


def file_digest(path: Path) -> tuple[int, str]:
    """Return (size, SHA-256) of the file at ``path``: the hash :func:`write_atomic` made when
    this process wrote it, while the file is still that version (the same inode, size and
    modification time); else the hash of its bytes as read now."""
    status = os.stat(path)
    with _REMEMBERED_LOCK:
        remembered = _REMEMBERED.get(os.fspath(path))
    if remembered is not None and remembered[0] == _identity(status):
        return status.st_size, remembered[1]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return status.st_size, digest.hexdigest()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """Return ``frame`` as Parquet bytes (deterministic for the same frame)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=False)
    return buffer.getvalue()


def write_json_atomic(path: Path, document: Any) -> WrittenFile:
    """Write ``document`` as indented, key-sorted JSON, atomically; return what was written."""
    return write_atomic(path, (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())


def sha256_bytes(data: bytes) -> str:
    """Return the SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()
