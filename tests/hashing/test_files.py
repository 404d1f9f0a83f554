"""Atomic writes and the hashes writers make: the manifest uses them without reading back what
this process wrote, and never trusts them for a file changed since."""

import hashlib
import os
from pathlib import Path

import pytest

from hashing.files import file_digest, write_atomic
from reports.files import build_manifest


def test_a_written_file_is_not_read_back_for_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    written = write_atomic(tmp_path / "round" / "a.csv", b"agb_code;client_id\n")
    assert written.sha256 == hashlib.sha256(b"agb_code;client_id\n").hexdigest()

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("read back")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    assert build_manifest(tmp_path / "round") == {"files": [{"path": "a.csv", "size": 19, "sha256": written.sha256}]}


def test_a_file_changed_after_writing_is_hashed_as_it_is_now(tmp_path: Path):
    path = tmp_path / "b.csv"
    write_atomic(path, b"one")
    path.write_bytes(b"two")  # the same size, in place
    os.utime(path, ns=(1, 1))
    assert file_digest(path) == (3, hashlib.sha256(b"two").hexdigest())
    other = tmp_path / "c.csv"
    other.write_bytes(b"never written by write_atomic")
    assert file_digest(other)[1] == hashlib.sha256(b"never written by write_atomic").hexdigest()
