import datetime as dt
from itertools import combinations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from ingest.file_report import rejected_file
from reports.cover_note import cover_note
from reports.files import csv_bytes
from reports.providers import CONTACT_COLUMNS, contact_list, rejected_list
from reports.quality import EXTRACT, FEEDBACK, REJECTED_ROWS_SCHEMA, rejected_rows
from reports.templating import count_phrase


def contact_rows(rows: list[tuple[int, str, str, float]]) -> pl.DataFrame:
    """Return contact rows as linkage gives them: (person_id, client_id, koppeling, zekerheid)."""
    return pl.DataFrame(
        {
            "provider": ["22000001"] * len(rows),
            "person_id": [r[0] for r in rows],
            "client_id": [r[1] for r in rows],
            "aanmelddatum": [dt.date(2026, 10, 1)] * len(rows),
            "wachtfase": ["aanmelding"] * len(rows),
            "zorgvraag": [None] * len(rows),
            "soort": ["dubbel"] * len(rows),
            "aantal_andere_aanbieders": [1] * len(rows),
            "koppeling": [r[2] for r in rows],
            "zekerheid": [r[3] for r in rows],
            "wachtfase_elders": ["behandeling"] * len(rows),
            "weken_elders": [3] * len(rows),
            "other_provider_codes": ["22000002;22000003"] * len(rows),
            "agb_code": ["22000001"] * len(rows),
            "eerder_gemeld": ["nee"] * len(rows),
            "terugmelding": [None] * len(rows),
        },
        schema_overrides={"zorgvraag": pl.Utf8, "terugmelding": pl.Utf8},
    )


def test_groups_are_local_numbered_and_shared_by_one_persons_entries():
    listed = contact_list(
        contact_rows(
            [(907, "C9", "bsn", 1.0), (12, "C2", "probabilistisch", 0.9731), (907, "C1", "bsn", 1.0),
             (12, "C5", "probabilistisch", 0.99)]
        )
    )  # fmt: skip
    assert listed.columns == list(CONTACT_COLUMNS)
    assert listed.select("groep", "client_id").rows() == [("G0001", "C1"), ("G0001", "C9"), ("G0002", "C2"),
                                                           ("G0002", "C5")]  # fmt: skip
    assert listed["zekerheid_label"].to_list() == ["zeker", "zeker", "waarschijnlijk", "zeker"]
    assert "907" not in csv_bytes(listed).decode()


@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=30))
def test_every_person_gets_exactly_one_group(people: list[int]):
    rows = [(person, f"C{index:03d}", "bsn", 1.0) for index, person in enumerate(people)]
    listed = contact_list(contact_rows(rows))
    by_client = dict(zip(listed["client_id"], listed["groep"], strict=True))
    for (person, client, _, _), (other, other_client, _, _) in combinations(rows, 2):
        assert (by_client[client] == by_client[other_client]) == (person == other)
    assert listed["groep"].n_unique() == len(set(people))


def test_csv_numbers_use_a_decimal_comma():
    text = csv_bytes(contact_list(contact_rows([(1, "C1", "probabilistisch", 0.9731)]))).decode("utf-8-sig")
    assert ";0,9731;waarschijnlijk;" in text


def test_rejected_list_gives_the_spreadsheet_row_and_whole_files_first():
    extract = pl.DataFrame(
        {"source_row": [3], "client_id": ["C1"], "agb_code": ["22000001"], "reden": ["achternaam_missing"],
         "source_file": ["22000001/lijst.csv"], "file_sha256": ["aa"], "sender": ["22000001"]}
    )  # fmt: skip
    feedback = pl.DataFrame(
        {"source_row": [1, 2], "client_id": ["C1", "C2"], "agb_code": ["22000001", "22000001"],
         "reden": [None, "uitkomst_invalid"], "source_file": ["terugmelding/t.csv"] * 2, "file_sha256": ["bb"] * 2,
         "sender": [None, None]}
    )  # fmt: skip
    whole = rejected_file("22000001/kapot.xlsx", "cc", 10, "unreadable", None, "22000001")
    rows = rejected_rows([extract], feedback, [whole])
    assert rows.columns == list(REJECTED_ROWS_SCHEMA)
    assert rows["soort"].to_list() == [EXTRACT, FEEDBACK, EXTRACT]
    listed = rejected_list(rows)
    assert listed.rows() == [
        ("22000001/kapot.xlsx", EXTRACT, None, None, "unreadable",
         "het bestand is niet te lezen als zijn bestandsformaat"),
        ("22000001/lijst.csv", EXTRACT, 4, "C1", "achternaam_missing", "achternaam is leeg"),
        ("terugmelding/t.csv", FEEDBACK, 3, "C2", "uitkomst_invalid",
         "uitkomst is niet verwijderd, in_behandeling, blijft_wachten of onbereikbaar"),
    ]  # fmt: skip


def test_a_file_rejected_whole_without_a_verified_sender_goes_back_to_no_one():
    rows = rejected_rows([], None, [rejected_file("los.csv", "dd", 10, "unreadable", None, None)])
    assert rows.is_empty()


def test_dutch_counts_have_singular_forms():
    assert count_phrase(1, "inschrijving", "inschrijvingen") == "1 inschrijving"
    assert count_phrase(0, "regel", "regels") == "0 regels"
    contacts = contact_list(contact_rows([(1, "C1", "probabilistisch", 0.9)]))
    empty = rejected_list(rejected_rows([], None, []))
    note = cover_note("22000001", "2026-11", contacts, empty, None, ["contactlijst.csv"], 0.99).decode()
    assert "<strong>1 inschrijving</strong> van cliënten" in note
    assert "<strong>1 cliënt</strong>" in note and "<strong>0 regels</strong>" in note
    assert "1 inschrijvingen" not in note and "1 regels" not in note


def test_the_cover_note_escapes_what_a_provider_delivered():
    contacts = contact_list(contact_rows([(1, "C1", "bsn", 1.0)])).clear()
    note = cover_note("<script>", "2026-11", contacts, rejected_list(rejected_rows([], None, [])), None,
                      ["<b>.csv"], 0.99).decode()  # fmt: skip
    assert "<script>" not in note and "&lt;script&gt;" in note and "&lt;b&gt;.csv" in note


def test_other_providers_are_named_only_when_asked():
    rows = contact_rows([(1, "C1", "bsn", 1.0)])
    assert "andere_aanbieders" not in contact_list(rows).columns
    assert "22000002" not in csv_bytes(contact_list(rows)).decode()
    named = contact_list(rows, {"22000002": "GGZ Noord"})
    assert named.columns.index("andere_aanbieders") == named.columns.index("aantal_andere_aanbieders") + 1
    assert named["andere_aanbieders"].to_list() == ["22000002 GGZ Noord; 22000003"]
    empty = rejected_list(rejected_rows([], None, []))
    note = cover_note("22000001", "2026-11", named, empty, None, [], 0.99).decode()
    assert "<code>andere_aanbieders</code>" in note and "bewust niet" not in note
    assert "bewust niet" in cover_note("22000001", "2026-11", contact_list(rows), empty, None, [], 0.99).decode()
