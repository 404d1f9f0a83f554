import datetime as dt
from pathlib import Path

import polars as pl

from hashing.keys import PseudonymKey
from hashing.pseudonyms import entry_keys
from ingest.columns import PLAIN_IDENTIFIER_COLUMNS
from ingest.read import file_sha256
from ingest.stage import FileReport, stage_extract, staged_paths, supersede_earlier_deliveries
from tests.ingest.conftest import GOOD_ROW, HEADER

KEY = PseudonymKey("ktest", b"s" * 32)


def test_staged_files_hold_pseudonyms_only(write_csv, tmp_path: Path):
    path = write_csv(f"{HEADER};postcode\n{GOOD_ROW};1234 AB\n{GOOD_ROW.replace('2026-09-01', '2099-01-01')};\n")
    report = stage_extract(
        path,
        file_sha256(path),
        aliases={},
        reference_date=dt.date(2026, 11, 1),
        key=KEY,
        staging_dir=tmp_path / "staging",
    )
    assert (report.rows_received, report.rows_accepted, report.rows_rejected) == (2, 1, 1)
    assert report.rejected_by_reason == {"aanmelddatum_future": 1}
    assert report.agb_codes == ["22000001"]
    entries_path, rejected_path = staged_paths(tmp_path / "staging", report.sha256)
    entries = pl.read_parquet(entries_path)
    assert not set(PLAIN_IDENTIFIER_COLUMNS) & set(entries.columns)
    assert entries["birth_year"].to_list() == [1980] and entries["key_id"].to_list() == ["ktest"]
    # the history's key of each entry is made here, in the reader's process, under the round's key
    assert entries["entry_key"].to_list() == entry_keys(entries["agb_code"], entries["client_id"], KEY).to_list()
    for staged in (entries_path, rejected_path):
        data = staged.read_bytes()
        for plain in (b"999999151", b"Jansen", b"1234AB", b"1234 AB", b"1980-05-17"):
            assert plain not in data


def report(name: str, status: str = "accepted", codes: tuple[str, ...] = ("22000001",)) -> FileReport:
    return FileReport(file=name, sha256=name, size=1, status=status, agb_codes=list(codes))


def test_only_the_newest_file_of_a_provider_stays():
    reports = [
        report("a.csv"),
        report("b.csv"),
        report("c.csv", codes=("22000002",)),
        report("d.csv", codes=("22000101",)),
        report("e.csv", codes=("22000001", "22000002")),
    ]
    modified = {"a.csv": 1.0, "b.csv": 3.0, "c.csv": 1.0, "d.csv": 2.0, "e.csv": 9.0}
    result = {r.file: r for r in supersede_earlier_deliveries(reports, modified, {"22000101": "22000001"})}
    assert result["b.csv"].status == "accepted" and result["c.csv"].status == "accepted"
    assert result["e.csv"].status == "accepted"
    for name in ("a.csv", "d.csv"):
        assert (result[name].status, result[name].reason, result[name].detail) == (
            "rejected",
            "superseded",
            "replaced by b.csv",
        )
