"""Insurer outputs are published whole or not at all."""

from pathlib import Path

import polars as pl
import pytest

from flows.settings import DEFAULT_MATCH_SCOPE, DEFAULT_NORMS_WEEKS
from hashing.files import WrittenFile
from hashing.pseudonyms import pseudonymise_entries
from linkage.store import link_round, open_store
from reports import insurers
from reports.insurers import write_insurer_outputs
from tests.linkage.conftest import KEY, NORM_DAYS, PEIL, background


def linked_store(tmp_path: Path):
    rows = background(120)
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.int_range(1, len(rows) + 1).cast(pl.Int64).alias("source_row"), pl.col(pl.Null).cast(pl.Utf8)
    )
    entries = pseudonymise_entries(frame, KEY).with_columns(
        pl.lit("f.csv").alias("source_file"), pl.lit("0" * 64).alias("file_sha256")
    )
    entries.write_parquet(tmp_path / "staged.parquet")
    con = open_store(tmp_path / "round.duckdb")
    link_round(con, [tmp_path / "staged.parquet"], match_scope=DEFAULT_MATCH_SCOPE, norm_days=NORM_DAYS,
               locations={}, reference_date=PEIL)  # fmt: skip
    return con


def test_a_failed_write_leaves_no_partial_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    con = linked_store(tmp_path)
    target = tmp_path / "out" / "2026-11" / "insurers"
    options = {"reference_date": PEIL.isoformat(), "norms_weeks": DEFAULT_NORMS_WEEKS,
               "provider_names": {"21000001": "GGZ Een", "21000002": "GGZ Twee"}}  # fmt: skip
    first = write_insurer_outputs(con, target, 10, "2026-11", **options)
    before = {file.path.name: file.path.read_bytes() for file in first}
    assert "GGZ Een" in before["national.csv"].decode()
    calls = {"n": 0}
    real_write = insurers.write_atomic

    def full_disk(path: Path, data: bytes) -> WrittenFile:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device", str(path))
        return real_write(path, data)

    monkeypatch.setattr(insurers, "write_atomic", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_insurer_outputs(con, target, 10, "2026-11", **{**options, "provider_names": None})
    after = {path.name: path.read_bytes() for path in target.iterdir()}
    assert after == before, "the published release is the complete earlier one"
    con.close()


def test_the_note_on_the_table_by_sector_and_zorgvraag_follows_the_settings():
    from reports.html_report import category_note

    assert "minstens één aanbieder hem" in category_note(1, 1) and "bij de grootste van" in category_note(1, 1)
    assert "minstens 3 aanbieders hem" in category_note(3, 20) and "bij de 20 grootste van" in category_note(3, 20)
