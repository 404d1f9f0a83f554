"""The files of a round's input folder, with content hashes and duplicate detection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.read import file_sha256


@dataclass(frozen=True)
class InputFile:
    """One delivered file; ``duplicate_of`` names an earlier file with the same content.

    ``name`` is its path relative to the round's input folder. ``folder`` is the top-level
    subfolder it lies in (a sender folder when it is an 8-digit organisation code), None for a
    file directly in the input folder.
    """

    path: Path
    sha256: str
    size: int
    duplicate_of: str | None = None
    name: str = ""
    folder: str | None = None

    @property
    def sender(self) -> str | None:
        """The organisation AGB code of its sender folder, or None (no verified sender)."""
        return self.folder if self.folder is not None and is_agb_code(self.folder) else None


def is_agb_code(text: str) -> bool:
    """Return whether ``text`` is an 8-digit AGB code in ASCII digits."""
    return len(text) == 8 and text.isascii() and text.isdigit()


FEEDBACK_DIR = "terugmelding"
"""Subfolder of a round's input with provider feedback (see :mod:`ingest.feedback`), not extracts."""


def is_feedback(relative: Path) -> bool:
    """Return whether a path relative to the input folder is a feedback file: under
    ``terugmelding/``, or under ``<organisatie>/terugmelding/`` (feedback from that sender)."""
    parts = relative.parts
    return parts[0] == FEEDBACK_DIR or (len(parts) > 2 and parts[1] == FEEDBACK_DIR)


def visible_files(folder: Path) -> list[Path]:
    """Return the regular files under ``folder`` (recursively) whose names do not start with a
    dot, sorted by path; none when ``folder`` is not a directory."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def inventory(input_dir: Path) -> list[InputFile]:
    """Return every visible regular file in ``input_dir`` (recursively, except the feedback
    folder ``terugmelding/``), sorted by path, with the top-level folder it lies in.

    A file whose content hash equals an earlier file's is marked as its duplicate.
    """
    seen: dict[str, str] = {}
    files = []
    for path in (p for p in visible_files(input_dir) if not is_feedback(p.relative_to(input_dir))):
        relative = path.relative_to(input_dir)
        digest = file_sha256(path)
        folder = relative.parts[0] if len(relative.parts) > 1 else None
        files.append(InputFile(path, digest, path.stat().st_size, seen.get(digest), relative.as_posix(), folder))
        seen.setdefault(digest, relative.as_posix())
    return files


def expired_inputs(files: list[InputFile], retention_days: int, now: float) -> list[InputFile]:
    """Return the input files whose modification time is at least ``retention_days`` old."""
    return [f for f in files if now - f.path.stat().st_mtime >= retention_days * 86_400]
