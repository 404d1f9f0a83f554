import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from hashing.keys import PseudonymKey
from hashing.pseudonyms import entry_keys
from ingest.columns import PLAIN_IDENTIFIER_COLUMNS
from ingest.file_report import FileReport, supersede_earlier_deliveries
from ingest.read import file_sha256
from ingest.stage import stage_extract, staged_paths
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


def _staged_bytes(staging: Path, reports: list[FileReport]) -> list[bytes]:
    return [path.read_bytes() if path.exists() else b"" for r in reports for path in staged_paths(staging, r.sha256)]


@pytest.mark.parametrize("senders", [False, True], ids=["flat", "sender-folders-and-registry"])
def test_files_staged_together_are_staged_as_one_by_one(tmp_path: Path, senders: bool):
    """A generated round in every format, with rejected rows, files rejected whole and a
    provider's aliases (and, in sender folders with a registry, rules per sender): staging the
    files together gives every file the same report and the same staged bytes as alone."""
    from flows.settings import load_settings
    from ingest.inventory import inventory
    from ingest.registry import load_registry, rules_for_sender
    from ingest.stage import StageJob, stage_extracts
    from sample_data.generate import RoundSpec, generate_round

    spec = RoundSpec(entries=600, providers=14, seed=7, sender_folders=senders, registry=senders)
    generated = generate_round(tmp_path / "round", spec)
    settings = load_settings(generated.config_file)
    registry = load_registry(settings.paths.registry) if settings.paths.registry else None
    files = [f for f in inventory(generated.input_dir) if f.duplicate_of is None]
    assert len(files) >= 15 and all(f.sender for f in files) == senders

    def jobs(staging: Path) -> list[StageJob]:
        options = {"aliases": settings.merged_aliases(), "reference_date": dt.date(2026, 11, 1), "key": KEY,
                   "staging_dir": staging}  # fmt: skip
        return [
            StageJob(f.path, f.sha256, {**options, "file_name": f.name, "sender": f.sender, "rules": rules_for_sender(
                f.folder, f.sender, registry, settings.locations, settings.limits.field_chars)})
            for f in files
        ]  # fmt: skip

    alone = [stage_extracts([job])[0] for job in jobs(tmp_path / "alone")]
    together = stage_extracts(jobs(tmp_path / "together"))
    assert together == alone
    assert {r.status for r in alone} == {"accepted", "rejected"}
    assert sum(r.rows_rejected for r in alone) > 0
    assert _staged_bytes(tmp_path / "together", together) == _staged_bytes(tmp_path / "alone", alone)


def test_a_file_that_fails_pseudonymisation_costs_only_itself(write_csv, tmp_path: Path, monkeypatch):
    import ingest.stage
    from ingest.stage import StageJob, stage_extracts

    real = ingest.stage.pseudonymise_entries

    def failing_on_c666(accepted: pl.DataFrame, key: PseudonymKey) -> pl.DataFrame:
        if "C666" in accepted["client_id"].to_list():
            raise ValueError("C666 cannot be pseudonymised")
        return real(accepted, key)

    monkeypatch.setattr(ingest.stage, "pseudonymise_entries", failing_on_c666)
    paths = [
        write_csv(f"{HEADER}\n{GOOD_ROW.replace('C1', client)}\n", f"{client}.csv") for client in ("C1", "C666", "C2")
    ]
    options = {"aliases": {}, "reference_date": dt.date(2026, 11, 1), "key": KEY, "staging_dir": tmp_path / "s"}
    reports = stage_extracts([StageJob(path, file_sha256(path), options) for path in paths])
    assert [(r.file, r.status, r.reason, r.detail) for r in reports] == [
        ("C1.csv", "accepted", None, None),
        ("C666.csv", "rejected", "processing_failed", "ValueError"),
        ("C2.csv", "accepted", None, None),
    ]
