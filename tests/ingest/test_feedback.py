"""Feedback files: read like extracts, validated row by row, every row accounted for."""

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashing.keys import create_key_file, load_key_file
from ingest.feedback import FEEDBACK_REASONS, OUTCOMES, feedback_files, stage_feedback, staged_feedback_path
from ingest.inventory import inventory


@pytest.fixture
def key(tmp_path: Path):
    create_key_file(tmp_path / "ttp.key")
    return load_key_file(tmp_path / "ttp.key")


def test_each_bad_row_gets_its_reason_and_good_rows_their_entry_key(tmp_path: Path, key):
    path = tmp_path / "terugmelding.csv"
    path.write_text(
        "AGB;Cliëntnummer;Resultaat;opmerking\n"
        "22000001;C1;Verwijderd;x\n"
        "22000001;C2;in behandeling;\n"
        ";C3;verwijderd;\n"
        "2200001;C4;verwijderd;\n"
        "22000001;;verwijderd;\n"
        "22000001;C6;;\n"
        "22000001;C7;weet niet;\n",
        encoding="utf-8",
    )
    report = stage_feedback(path, "a" * 64, key=key, staging_dir=tmp_path / "staging")
    assert (report.rows_received, report.rows_accepted, report.rows_rejected) == (7, 2, 5)
    assert report.rejected_by_reason == {
        "agb_code_missing": 1, "agb_code_invalid": 1, "client_id_missing": 1, "uitkomst_missing": 1,
        "uitkomst_invalid": 1,
    }  # fmt: skip
    staged = pl.read_parquet(staged_feedback_path(tmp_path / "staging", "a" * 64))
    accepted = staged.filter(pl.col("reden").is_null())
    assert accepted["uitkomst"].to_list() == ["verwijderd", "in_behandeling"]
    assert accepted["entry_key"].str.len_chars().to_list() == [64, 64]
    assert staged.filter(pl.col("reden").is_not_null())["entry_key"].null_count() == 5


def test_a_file_without_the_columns_is_rejected_whole(tmp_path: Path, key):
    path = tmp_path / "t.csv"
    path.write_text("agb_code;client_id\n22000001;C1\n", encoding="utf-8")
    report = stage_feedback(path, "b" * 64, key=key, staging_dir=tmp_path)
    assert (report.status, report.reason, report.detail) == ("rejected", "missing_columns", "uitkomst")


def test_feedback_files_are_not_extracts(tmp_path: Path):
    (tmp_path / "terugmelding").mkdir()
    (tmp_path / "terugmelding" / "t.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "wachtlijst.csv").write_text("y\n", encoding="utf-8")
    (tmp_path / "22000001" / "terugmelding").mkdir(parents=True)
    (tmp_path / "22000001" / "terugmelding" / "u.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "22000001" / "lijst.csv").write_text("z\n", encoding="utf-8")
    assert [f.name for f in inventory(tmp_path)] == ["22000001/lijst.csv", "wachtlijst.csv"]
    found = feedback_files(tmp_path)
    assert [(f.name, f.sender) for f in found] == [("22000001/terugmelding/u.csv", "22000001"),
                                                   ("terugmelding/t.csv", None)]  # fmt: skip


def test_feedback_in_a_sender_folder_cannot_speak_for_another_organisation(tmp_path: Path, key):
    """Provider X may not report outcomes for provider Y's clients (that would change Y's trend
    columns); such rows are rejected and go back to X only."""
    path = tmp_path / "t.csv"
    path.write_text("agb_code;client_id;uitkomst\n22000001;C1;verwijderd\n22000009;Y1;verwijderd\n", encoding="utf-8")
    report = stage_feedback(path, "d" * 64, key=key, staging_dir=tmp_path, sender="22000001",
                            sender_codes=frozenset({"22000001"}))  # fmt: skip
    assert report.rejected_by_reason == {"agb_code_not_sender": 1}
    staged = pl.read_parquet(staged_feedback_path(tmp_path, "d" * 64))
    assert staged["sender"].to_list() == ["22000001", "22000001"]
    assert staged.filter(pl.col("reden").is_not_null())["entry_key"].to_list() == [None]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["22000001", "2200000", "", "22 000 001"]),
            st.sampled_from(["C1", "C2", "", "x" * 70]),
            st.sampled_from([*OUTCOMES, "", "Blijft wachten", "onbekend"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_row_is_accepted_or_rejected_with_a_known_reason(tmp_path_factory, key, rows):
    folder = tmp_path_factory.mktemp("fb")
    path = folder / "t.csv"
    body = "".join(f"{a};{c};{o}\n" for a, c, o in rows if a or c or o)
    path.write_text("agb_code;client_id;uitkomst\n" + body, encoding="utf-8")
    report = stage_feedback(path, "c" * 64, key=key, staging_dir=folder)
    if not body:
        assert report.status == "rejected"
        return
    assert report.rows_received == body.count("\n")
    assert report.rows_accepted + report.rows_rejected == report.rows_received
    assert set(report.rejected_by_reason) <= set(FEEDBACK_REASONS)
