import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from ingest.read import ExtractRejected, read_extract
from tests.ingest.conftest import GOOD_ROW, HEADER


def test_semicolon_and_comma_csv_give_the_same_rows(write_csv):
    semicolon = read_extract(write_csv(f"{HEADER}\n{GOOD_ROW}\n", "a.csv"), {})
    comma = read_extract(write_csv(f"{HEADER}\n{GOOD_ROW}\n".replace(";", ","), "b.csv"), {})
    assert semicolon.delimiter == ";" and comma.delimiter == ","
    assert semicolon.frame.equals(comma.frame)
    assert semicolon.frame["source_row"].to_list() == [1]


def test_encodings_are_detected(write_csv):
    text = f"{HEADER};tussenvoegsel\n{GOOD_ROW.replace('Jansen', 'Çelik-Müller')};\n"
    bom = read_extract(write_csv("\ufeff" + text, "bom.csv"), {})
    cp1252 = read_extract(write_csv(text, "cp.csv", "cp1252"), {})
    assert bom.encoding == "utf-8-sig" and cp1252.encoding == "cp1252"
    assert bom.frame["achternaam"].to_list() == cp1252.frame["achternaam"].to_list() == ["Çelik-Müller"]


def test_headers_match_case_and_space_insensitively_and_through_aliases(write_csv):
    header = " AGB_Code ;Cliëntnummer;BSN;Geboorte datum;ACHTERNAAM;uzovi;sector;aanmelddatum;wachtfase;Extra"
    raw = read_extract(
        write_csv(f"{header}\n{GOOD_ROW};x\n"),
        {"cliëntnummer": "client_id", "geboorte datum": "geboortedatum"},
    )
    assert raw.frame["client_id"].to_list() == ["C1"]
    assert raw.unknown_columns == ("Extra",)
    assert "Extra" not in raw.frame.columns


def test_values_are_trimmed_and_blank_rows_dropped(write_csv):
    raw = read_extract(write_csv(f"{HEADER}\n{GOOD_ROW.replace('Jansen', '  Jansen ')}\n;;;;;;;;\n"), {})
    assert raw.frame.height == 1
    assert raw.frame["achternaam"].to_list() == ["Jansen"]
    assert raw.frame["tussenvoegsel"].to_list() == [None]


def test_xlsx_and_parquet_with_native_dates(tmp_path: Path):
    frame = pl.DataFrame(
        {
            "agb_code": ["22000001"],
            "client_id": ["C1"],
            "bsn": ["999999151"],
            "geboortedatum": [dt.date(1980, 5, 17)],
            "achternaam": ["Jansen"],
            "uzovi": ["3311"],
            "sector": ["ggz"],
            "aanmelddatum": [dt.datetime(2026, 9, 1, 0, 0)],
            "wachtfase": ["aanmelding"],
        }
    )
    frame.write_excel(tmp_path / "a.xlsx")
    frame.write_parquet(tmp_path / "a.parquet")
    for name in ("a.xlsx", "a.parquet"):
        raw = read_extract(tmp_path / name, {})
        assert raw.frame["geboortedatum"].to_list() == ["1980-05-17"]
        assert raw.frame["aanmelddatum"].to_list() == ["2026-09-01"]


def test_numeric_cells_lose_no_digits(tmp_path: Path):
    frame = pl.DataFrame(
        {
            "agb_code": [22000001.0],
            "client_id": [17],
            "bsn": [999999151.0],
            "geboortedatum": ["1980-05-17"],
            "achternaam": ["Jansen"],
            "uzovi": [3311],
            "sector": ["ggz"],
            "aanmelddatum": ["2026-09-01"],
            "wachtfase": ["aanmelding"],
        }
    )
    frame.write_excel(tmp_path / "n.xlsx")
    raw = read_extract(tmp_path / "n.xlsx", {})
    assert raw.frame.select("agb_code", "client_id", "bsn", "uzovi").row(0) == ("22000001", "17", "999999151", "3311")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.txt", b"hello", "unsupported_format"),
        ("broken.xlsx", b"\x00\x01not a zip", "unreadable"),
        ("broken.parquet", b"PAR1garbage", "unreadable"),
        ("empty.csv", b"", "empty"),
        ("header_only.csv", (HEADER + "\n").encode(), "empty"),
        ("missing.csv", b"agb_code;client_id\n22000001;C1\n", "missing_columns"),
        ("twice.csv", (HEADER + ";AGB_CODE\n" + GOOD_ROW + ";1\n").encode(), "ambiguous_columns"),
    ],
)
def test_unusable_files_are_rejected_with_a_reason_and_no_content(tmp_path: Path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExtractRejected) as caught:
        read_extract(path, {})
    assert caught.value.reason == reason
    assert "Jansen" not in str(caught.value) and "999999151" not in str(caught.value)
