"""The reader against hostile and broken files (extract format, version 2): each costs only
itself, with a reason, and never more memory than its limits allow."""

import datetime as dt
import functools
import io
import resource
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashing.keys import PseudonymKey
from ingest.limits import ReadLimits
from ingest.read import ExtractRejected, read_extract
from ingest.stage import stage_extract
from ingest.validate import validate_extract
from ingest.worker import IsolatedStager, StageJob, WorkerLimits
from tests.hostile_corpus import (
    HEADER,
    mixed_encoding,
    parquet_bomb,
    ragged_lines,
    row,
    write_lines,
    xlsx_dimension_bomb,
)

KEY = PseudonymKey(key_id="ktest", secret=b"k" * 32)
PEIL = dt.date(2026, 11, 1)


def rejected_reason(path: Path, limits: ReadLimits | None = None) -> tuple[str, str]:
    with pytest.raises(ExtractRejected) as caught:
        read_extract(path, {}, limits=limits)
    return caught.value.reason, caught.value.detail


def test_xlsx_dimension_bomb_is_refused_before_decoding(tmp_path: Path):
    reason, detail = rejected_reason(xlsx_dimension_bomb(tmp_path / "bom.xlsx"))
    assert reason == "too_large" and "as declared" in detail
    wide = xlsx_dimension_bomb(tmp_path / "wide.xlsx", "A1:XFD2000")
    assert rejected_reason(wide) == (
        "too_large", "the first sheet, as declared, holds 16384 columns (limit 200), 32751616 cells (limit 25000000)"
    )


def test_parquet_bomb_is_refused_from_its_footer_without_reading_data(tmp_path: Path):
    bomb = parquet_bomb(tmp_path / "bom.parquet", "22000001")
    assert bomb.stat().st_size < 2_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reason, detail = rejected_reason(bomb)
    assert reason == "too_large" and "20000000 rows (limit 1000000)" in detail
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing was decoded


def test_limits_on_bytes_rows_and_columns(tmp_path: Path):
    path = write_lines(tmp_path / "a.csv", [row("22000001", f"C{i}") for i in range(50)])
    assert rejected_reason(path, ReadLimits(max_file_bytes=100))[0] == "too_large"
    assert "rows" in rejected_reason(path, ReadLimits(max_rows=10))[1]
    assert "columns" in rejected_reason(path, ReadLimits(max_columns=8))[1]
    assert read_extract(path, {}, limits=ReadLimits(max_rows=50)).frame.height == 50


def test_a_huge_field_rejects_its_row_only(tmp_path: Path):
    huge = row("22000001", "C2").replace("Jansen", "J" * 10_000_000)
    raw = read_extract(write_lines(tmp_path / "a.csv", [row("22000001", "C1"), huge]), {})
    result = validate_extract(raw.frame, PEIL)
    assert result.accepted.height == 1
    assert result.rejected.select("source_row", "reden").row(0) == (2, "achternaam_too_long")


def test_ragged_lines_are_rejected_one_by_one_with_their_row_numbers(tmp_path: Path):
    raw = read_extract(write_lines(tmp_path / "a.csv", ragged_lines("22000001")), {})
    assert raw.malformed_rows == (2, 3)
    assert raw.frame["client_id"].to_list() == ["R1", "R4"]
    assert raw.frame["source_row"].to_list() == [1, 4]


def test_ragged_lines_in_a_quoted_file_with_newlines_inside_fields(tmp_path: Path):
    text = HEADER + "\n" + row("22000001", '"C\n1"') + "\n" + row("22000001", "C2") + ";x\n" + row("22000001", "C3")
    raw = read_extract(write_lines(tmp_path / "a.csv", [text.split("\n", 1)[1]]), {})
    assert raw.malformed_rows == (2,)
    assert raw.frame["client_id"].to_list() == ["C\n1", "C3"]


def test_utf16_and_mixed_encodings_are_named(tmp_path: Path):
    utf16 = tmp_path / "u.csv"
    utf16.write_bytes("\n".join([HEADER, row("22000001", "C1")]).encode("utf-16"))
    assert rejected_reason(utf16) == ("unreadable_encoding", "the file is UTF-16; save it as UTF-8 or Windows-1252")
    reason, detail = rejected_reason(mixed_encoding(tmp_path / "m.csv", "22000001"))
    assert reason == "unreadable_encoding" and "mixed encodings" in detail and "line 3" in detail


def test_nul_bytes_and_control_characters_reject_their_row(tmp_path: Path):
    raw = read_extract(write_lines(tmp_path / "a.csv", [row("22000001", "C1"), row("22000001", "C\x002"),
                                                        row("22000001", "C3", surname="Jan\x1bsen")]), {})  # fmt: skip
    result = validate_extract(raw.frame, PEIL)
    assert result.rejected["reden"].to_list() == ["control_characters"] * 2
    assert result.rejected["client_id"].to_list() == [None, "C3"]


def test_full_width_digits_are_not_digits(tmp_path: Path):
    lines = [
        row("22000001", "C1", bsn="２２８５１４１６２"),
        row("２２０００００１", "C2"),
        row("22000001", "C3", uzovi="３３１１"),
    ]
    raw = read_extract(write_lines(tmp_path / "a.csv", lines), {})
    result = validate_extract(raw.frame, PEIL)
    assert result.accepted.select("client_id", "bsn_status").rows() == [("C1", "invalid")]
    assert result.rejected["reden"].to_list() == ["agb_code_invalid", "uzovi_invalid"]


def test_stage_accounts_for_malformed_rows(tmp_path: Path):
    path = write_lines(tmp_path / "a.csv", ragged_lines("22000001"))
    report = stage_extract(path, "f" * 64, aliases={}, reference_date=PEIL, key=KEY, staging_dir=tmp_path / "s")
    assert (report.rows_received, report.rows_accepted, report.rows_rejected) == (4, 2, 2)
    assert report.rejected_by_reason == {"row_malformed": 2}


def test_a_reader_that_exhausts_its_memory_costs_only_its_file(tmp_path: Path):
    """The dimension bomb with its pre-checks switched off: the decoder tries to allocate
    hundreds of GiB and aborts (a native abort, not an exception). In the worker process that
    rejects this file alone; the next file is staged by a fresh worker."""
    bomb = xlsx_dimension_bomb(tmp_path / "bom.xlsx")
    good = write_lines(tmp_path / "good.csv", [row("22000001", "C1")])
    open_limits = ReadLimits(max_rows=10**9, max_columns=10**6, max_cells=10**15)
    options = {"aliases": {}, "reference_date": PEIL, "key": KEY, "staging_dir": tmp_path / "s", "limits": open_limits}
    stager = IsolatedStager(WorkerLimits(memory_mb=1536, seconds_per_file=120))
    try:
        died = stager.stage(StageJob(bomb, "a" * 64, options))
        assert (died.status, died.reason) == ("rejected", "reader_failed")
        assert "memory limit of 1536 MiB" in (died.detail or "")
        survived = stager.stage(StageJob(good, "b" * 64, options))
        assert (survived.status, survived.rows_accepted) == ("accepted", 1)
        process = stager._process
        assert process is not None and stager.is_alive()
    finally:
        stager.stop()
    assert process.poll() is not None, "no worker is left behind"


def test_a_reader_over_its_time_is_stopped(tmp_path: Path):
    good = write_lines(tmp_path / "good.csv", [row("22000001", f"C{i}") for i in range(20_000)])
    options = {"aliases": {}, "reference_date": PEIL, "key": KEY, "staging_dir": tmp_path / "s"}
    stager = IsolatedStager(WorkerLimits(seconds_per_file=0.001))
    try:
        report = stager.stage(StageJob(good, "c" * 64, options))
    finally:
        stager.stop()
    assert report.reason == "reader_failed" and "longer than" in (report.detail or "")


SEPARATORS = st.sampled_from([";", ",", '"', "\n", "\r\n", "\x00", "é", "=", " "])
CELLS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(st.one_of(CELLS, SEPARATORS), max_size=14).map("".join), max_size=12))
def test_any_csv_is_read_or_rejected_with_a_reason_and_every_record_is_counted(tmp_path: Path, lines: list[str]):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(("\n".join([HEADER, *lines])).encode("utf-8"))
    try:
        raw = read_extract(path, {})
    except ExtractRejected as rejection:  # either outcome is fine; a rejection must say why
        reason = rejection.reason
    else:
        reason = None
    if reason is not None:
        assert reason in {"empty", "unreadable", "too_large", "missing_columns", "ambiguous_columns"}
        return
    numbers = raw.frame["source_row"].to_list() + list(raw.malformed_rows)
    assert len(numbers) == len(set(numbers))
    result = validate_extract(raw.frame, PEIL)
    assert result.accepted.height + result.rejected.height == raw.frame.height


@functools.cache
def _valid_file(suffix: str) -> bytes:
    """Return one valid workbook or Parquet file, made once per process.

    Made once because a workbook carries its creation time, so two calls can differ in
    length, and Hypothesis needs the same draws to mean the same bytes on replay."""
    frame = pl.DataFrame({c: ["x"] for c in HEADER.split(";")})
    buffer = io.BytesIO()
    if suffix == ".xlsx":
        frame.write_excel(buffer)
    else:
        frame.write_parquet(buffer)
    return buffer.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".xlsx", ".parquet"]), data=st.data())
def test_any_broken_workbook_or_parquet_is_rejected_with_a_reason(tmp_path: Path, suffix: str, data: st.DataObject):
    original = bytearray(_valid_file(suffix))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=8))
    for position, value in flips:
        original[position] = value
    cut = data.draw(st.integers(0, len(original)))
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(bytes(original[: cut or len(original)]))
    try:
        raw = read_extract(path, {})
    except ExtractRejected as rejection:  # either outcome is fine; a rejection must say why
        reason = rejection.reason
    else:
        reason = None
        assert raw.frame.height <= 1
    assert reason in {None, "unreadable", "too_large", "missing_columns", "empty", "ambiguous_columns"}


def test_a_worker_ends_when_the_process_that_started_it_dies(tmp_path: Path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys\n"
        "from ingest.worker import IsolatedStager, WorkerLimits\n"
        "stager = IsolatedStager(WorkerLimits())\n"
        "process = stager._start()\n"
        "print(process.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    import subprocess
    import sys
    import time

    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60)
    pid = int(result.stdout.strip())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        status = Path(f"/proc/{pid}/status").read_text() if Path(f"/proc/{pid}").exists() else ""
        if "State:\tZ" in status:
            break
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()


def test_a_file_that_kills_the_worker_of_a_group_costs_only_itself(tmp_path: Path):
    """Small files are staged together; when one of them kills the worker, the group is staged
    again file by file, so only the bomb is rejected and its neighbours are staged."""
    bomb = xlsx_dimension_bomb(tmp_path / "bom.xlsx")
    good = [write_lines(tmp_path / f"good{i}.csv", [row("22000001", f"C{i}")]) for i in range(3)]
    open_limits = ReadLimits(max_rows=10**9, max_columns=10**6, max_cells=10**15)
    options = {"aliases": {}, "reference_date": PEIL, "key": KEY, "staging_dir": tmp_path / "s", "limits": open_limits}
    stager = IsolatedStager(WorkerLimits(memory_mb=1536, seconds_per_file=120))
    try:
        jobs = [StageJob(path, f"{i}" * 64, options) for i, path in enumerate([good[0], bomb, good[1], good[2]])]
        reports = stager.stage_together(jobs)
    finally:
        stager.stop()
    assert [(r.file, r.status, r.reason) for r in reports] == [
        ("good0.csv", "accepted", None),
        ("bom.xlsx", "rejected", "reader_failed"),
        ("good1.csv", "accepted", None),
        ("good2.csv", "accepted", None),
    ]
    assert [r.rows_accepted for r in reports] == [1, 0, 1, 1]
