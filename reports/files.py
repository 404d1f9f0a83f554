"""CSV for Dutch spreadsheets, the round manifest and the append-only audit log (atomic writing
and hashing are in :mod:`hashing.files`)."""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import json
import os
import socket
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from hashing.files import file_digest, sha256_bytes, write_atomic

CSV_SEPARATOR = ";"
GENESIS_HASH = "0" * 64


FORMULA_STARTS = r"^[=+\-@\t\r]"
"""A cell a spreadsheet would read as a formula starts with one of these (OWASP CSV injection)."""


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with every text cell that a spreadsheet would read as a formula
    (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) prefixed with ``'``."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_STARTS))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def csv_bytes(frame: pl.DataFrame, *, formula_escaped: bool = False) -> bytes:
    """Return ``frame`` as CSV for Dutch spreadsheet users: UTF-8 with BOM, ``;``, a decimal comma
    (``0,9731``), ISO dates, and formula-looking text escaped (:func:`formula_safe`; ``formula_escaped``
    says the caller did that already, for many files at once). Every CSV of a round is written here."""
    safe = frame if formula_escaped else formula_safe(frame)
    text = safe.write_csv(separator=CSV_SEPARATOR, date_format="%Y-%m-%d", decimal_comma=True)
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def build_manifest(round_dir: Path, exclude: tuple[str, ...] = ("manifest.json",)) -> dict[str, Any]:
    """Return {"files": [{path, size, sha256}]} for every file below ``round_dir`` (the hashes
    made while writing them, for files this process wrote and nothing changed since)."""
    files = []
    for path in sorted(p for p in round_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(round_dir)
        if relative.as_posix() in exclude or any(part.startswith(".") for part in relative.parts):
            continue
        size, sha256 = file_digest(path)
        files.append({"path": relative.as_posix(), "size": size, "sha256": sha256})
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

    @staticmethod
    def _last_hash(handle: BinaryIO) -> str:
        """Return the SHA-256 of the last line, reading only the end of the file (a log that
        grows with every round must not be read whole for every line appended)."""
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

    def _set_torn_tail_aside(self, handle: BinaryIO) -> dict[str, Any] | None:
        """When the last line lacks its newline (a write cut off by a crash or a full disk), move
        those bytes to a file beside the log, cut them off and return what to record; else None."""
        end = handle.seek(0, os.SEEK_END)
        if end == 0:
            return None
        handle.seek(end - 1)
        if handle.read(1) == b"\n":
            return None
        chunk = 4096
        while True:
            start = max(0, end - chunk)
            handle.seek(start)
            cut = handle.read(end - start).rfind(b"\n")
            if cut >= 0 or start == 0:
                keep = start + cut + 1 if cut >= 0 else 0
                break
            chunk *= 4
        handle.seek(keep)
        torn = handle.read()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        write_atomic(aside, torn)
        handle.truncate(keep)
        os.fsync(handle.fileno())
        return {"object": aside.name, "torn_bytes": len(torn), "torn_sha256": sha256_bytes(torn)}

    def _record(
        self, event: str, object: str | None, recipient: str | None, fields: dict[str, Any], prev: str
    ) -> bytes:
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "actor": self.actor,
            "on_behalf_of": self.on_behalf_of,
            "system": self.system,
            "event": event,
            "object": object,
            "recipient": recipient,
            **fields,
            "prev": prev,
        }
        return (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    def append(self, event: str, *, object: str | None = None, recipient: str | None = None, **fields: Any) -> None:
        """Append one event line with time, actor, on whose behalf, system, object, recipient
        and the previous line's hash, fsynced before returning.

        A torn last line (the previous append was cut off) is first set aside in
        ``<log>.torn-<time>``, cut off, and recorded as an ``audit_tail_torn`` event with its
        size and hash, so the chain goes on from the last whole line.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _AUDIT_LOCK, self.path.open("a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                torn = self._set_torn_tail_aside(handle)
                lines = []
                if torn is not None:
                    aside = torn.pop("object")
                    lines.append(self._record("audit_tail_torn", aside, None, torn, self._last_hash(handle)))
                previous = sha256_bytes(lines[-1].rstrip(b"\n")) if lines else self._last_hash(handle)
                lines.append(self._record(event, object, recipient, fields, previous))
                handle.seek(0, os.SEEK_END)
                handle.write(b"".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


_AUDIT_LOCK = threading.Lock()


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
                torn = not line.endswith(b"\n")
                problems.append(
                    f"line {number}: "
                    + (
                        "incomplete last line (a torn write; the next append sets it aside)"
                        if torn
                        else "not an audit record"
                    )
                )
                stated = previous if torn else None
            if stated != previous:
                problems.append(f"line {number}: chain broken (line edited, removed or reordered)")
            previous = sha256_bytes(raw)
    return problems
