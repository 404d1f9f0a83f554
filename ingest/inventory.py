"""The files of a round's input folder, with content hashes and duplicate detection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.read import file_sha256


@dataclass(frozen=True)
class InputFile:
    """One delivered file; ``duplicate_of`` names an earlier file with the same content."""

    path: Path
    sha256: str
    size: int
    duplicate_of: str | None = None


FEEDBACK_DIR = "terugmelding"
"""Subfolder of a round's input with provider feedback (see :mod:`ingest.feedback`), not extracts."""


def visible_files(folder: Path) -> list[Path]:
    """Return the regular files under ``folder`` (recursively) whose names do not start with a
    dot, sorted by path; none when ``folder`` is not a directory."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def inventory(input_dir: Path) -> list[InputFile]:
    """Return every visible regular file in ``input_dir`` (recursively, except the feedback
    folder ``terugmelding/``), sorted by path.

    A file whose content hash equals an earlier file's is marked as its duplicate.
    """
    seen: dict[str, str] = {}
    files = []
    for path in (p for p in visible_files(input_dir) if p.relative_to(input_dir).parts[0] != FEEDBACK_DIR):
        digest = file_sha256(path)
        files.append(InputFile(path, digest, path.stat().st_size, seen.get(digest)))
        seen.setdefault(digest, path.relative_to(input_dir).as_posix())
    return files


def expired_inputs(files: list[InputFile], retention_days: int, now: float) -> list[InputFile]:
    """Return the input files whose modification time is at least ``retention_days`` old."""
    return [f for f in files if now - f.path.stat().st_mtime >= retention_days * 86_400]
