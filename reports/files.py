"""Atomic file writing, the round manifest and the append-only audit log."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

CSV_SEPARATOR = ";"
GENESIS_HASH = "0" * 64


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """Return ``frame`` as CSV for Dutch spreadsheet users: UTF-8 with BOM, ``;``, ISO dates."""
    return b"\xef\xbb\xbf" + frame.write_csv(separator=CSV_SEPARATOR, date_format="%Y-%m-%d").encode("utf-8")


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """Return ``frame`` as Parquet bytes (deterministic for the same frame)."""
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=False)
    return buffer.getvalue()


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``document`` as indented, key-sorted JSON, atomically."""
    write_atomic(path, (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())


def sha256_bytes(data: bytes) -> str:
    """Return the SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def build_manifest(round_dir: Path, exclude: tuple[str, ...] = ("manifest.json",)) -> dict[str, Any]:
    """Return {"files": [{path, size, sha256}]} for every file below ``round_dir``."""
    files = []
    for path in sorted(p for p in round_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(round_dir).as_posix()
        if relative in exclude or path.name.startswith("."):
            continue
        data = path.read_bytes()
        files.append({"path": relative, "size": len(data), "sha256": sha256_bytes(data)})
    return {"files": files}


def default_actor() -> str:
    """Return who acts, for the audit log: ``WACHTLIJST_ACTOR`` (e.g. set by a scheduler to the
    operator's account) or else the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return os.environ.get("WACHTLIJST_ACTOR") or user


def _version() -> str:
    try:
        return version("wachtlijst")
    except PackageNotFoundError:
        return "dev"


class AuditLog:
    """Append-only JSON-lines log in the spirit of NEN 7513; each line carries the SHA-256 of
    the line before it, so an edited, removed or reordered line breaks the chain.

    Every line has time (UTC), actor (who), on_behalf_of (the organisation the actor works
    for), system (program, version and host), event, object and recipient. Lines name events,
    files, recipients and key ids, never identifiers or row content.
    """

    def __init__(self, path: Path, actor: str | None = None, on_behalf_of: str | None = None) -> None:
        self.path = path
        self.actor = actor or default_actor()
        self.on_behalf_of = on_behalf_of or os.environ.get("WACHTLIJST_ON_BEHALF_OF", "TTP")
        self.system = f"wachtlijst {_version()}@{socket.gethostname()}"

    def _last_hash(self) -> str:
        """Return the SHA-256 of the last line, reading only the end of the file (a log that
        grows with every round must not be read whole for every line appended)."""
        if not self.path.exists():
            return GENESIS_HASH
        with self.path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            chunk = 4096
            while True:
                start = max(0, end - chunk)
                handle.seek(start)
                data = handle.read(end - start).rstrip(b"\n")
                cut = data.rfind(b"\n")
                if cut >= 0:
                    return sha256_bytes(data[cut + 1 :])
                if start == 0:
                    return sha256_bytes(data) if data else GENESIS_HASH
                chunk *= 4

    def append(self, event: str, *, object: str | None = None, recipient: str | None = None, **fields: Any) -> None:
        """Append one event line with time, actor, on whose behalf, system, object, recipient
        and the previous line's hash."""
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "actor": self.actor,
            "on_behalf_of": self.on_behalf_of,
            "system": self.system,
            "event": event,
            "object": object,
            "recipient": recipient,
            **fields,
            "prev": self._last_hash(),
        }
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def verify_audit_log(path: Path) -> list[str]:
    """Return the problems found in the hash chain of an audit log (empty when intact)."""
    problems = []
    previous = GENESIS_HASH
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            raw = line.rstrip(b"\n")
            if not raw:
                continue
            try:
                stated = json.loads(raw)["prev"]
            except (ValueError, KeyError):
                problems.append(f"line {number}: not an audit record")
                stated = None
            if stated != previous:
                problems.append(f"line {number}: chain broken (line edited, removed or reordered)")
            previous = sha256_bytes(raw)
    return problems
