import datetime as dt

import pytest

from linkage.store import contact_rows, provider_counts, round_totals, scope_key_sql
from tests.linkage.conftest import background, person, valid_bsn

BORN = dt.date(1980, 5, 17)
BSN_1, BSN_2 = valid_bsn(99_000_001), valid_bsn(99_000_101)


def clients(con) -> list[str]:
    return sorted(c for c in contact_rows(con)["client_id"].to_list() if not c.startswith("B"))


def test_same_bsn_at_two_providers_is_a_double_waiter(link):
    con = link(
        [
            *background(),
            person("22000001", "A1", BSN_1, "Jansen", "Emma", BORN, "1234AB"),
            person("22000002", "C1", BSN_1, "Jansen", "Emma", BORN, "1234AB"),
            person("22000002", "C2", BSN_2, "Visser", "Daan", BORN, "5678CD"),
        ]
    )
    assert clients(con) == ["A1", "C1"]
    rows = contact_rows(con).filter(contact_rows(con)["client_id"].is_in(["A1", "C1"]))
    assert set(rows["koppeling"].to_list()) == {"bsn"} and set(rows["zekerheid"].to_list()) == {1.0}
    table, totals = provider_counts(con)
    assert totals["wachtenden"][0] == table["wachtenden"].sum() == 603
    assert totals["unieke_personen"][0] == 302
    assert round_totals(con)["double_waiters"] == 301


def test_missing_bsn_with_typo_and_swapped_date_is_linked_probabilistically(link):
    con = link(
        [
            *background(),
            person("22000001", "A1", BSN_1, "van der Berg", "Emma", BORN, "1234AB"),
            person("22000002", "C1", None, "Bergh", "Ema", BORN, "1234AB", tussenvoegsel="van der"),
        ]
    )
    rows = contact_rows(con).filter(contact_rows(con)["client_id"].is_in(["A1", "C1"]))
    assert sorted(rows["client_id"].to_list()) == ["A1", "C1"]
    assert set(rows["koppeling"].to_list()) == {"probabilistisch"}
    assert all(0.9 <= z <= 1.0 for z in rows["zekerheid"].to_list())


def test_day_and_month_swapped_and_a_move(link):
    con = link(
        [
            *background(),
            person("22000001", "A1", BSN_1, "Dijkstra", "Noor", dt.date(1975, 3, 8), "1234AB"),
            person("22000002", "C1", None, "Dijkstra", "Noor", dt.date(1975, 8, 3), "9876ZX"),
        ]
    )
    assert clients(con) == ["A1", "C1"]


def test_two_different_bsns_are_never_merged(link):
    rows = [
        *background(),
        person("22000001", "A1", BSN_1, "Jansen", "Emma", BORN, "1234AB"),
        person("22000002", "C1", BSN_2, "Jansen", "Emma", BORN, "1234AB"),
        person("22000003", "D1", None, "Jansen", "Emma", BORN, "1234AB"),
    ]
    con = link(rows)
    people = con.sql(
        "SELECT e.client_id, p.person_id FROM entry_person p JOIN entries e USING (entry_id) "
        "WHERE e.client_id IN ('A1', 'C1', 'D1')"
    ).fetchall()
    person_of = dict(people)
    assert person_of["A1"] != person_of["C1"]
    assert person_of["D1"] in (person_of["A1"], person_of["C1"])


def test_different_people_stay_apart(link):
    con = link(
        [
            *background(),
            person("22000001", "A1", None, "Jansen", "Emma", BORN, "1234AB"),
            person("22000002", "C1", None, "Bakker", "Sem", dt.date(1990, 1, 2), "5678CD"),
        ]
    )
    assert clients(con) == []


def test_internal_duplicate_and_location_mapping(link):
    rows = [
        *background(),
        person("22000001", "A1", BSN_1, "Jansen", "Emma", BORN, "1234AB"),
        person("22000101", "A2", BSN_1, "Jansen", "Emma", BORN, "1234AB"),
    ]
    con = link(rows, locations={"22000101": "22000001"})
    own = contact_rows(con).filter(contact_rows(con)["client_id"].is_in(["A1", "A2"]))
    assert set(own["soort"].to_list()) == {"intern"} and own.height == 2


def test_msz_scope_includes_the_specialism(link):
    rows = [
        *background(),
        person("06000001", "H1", BSN_1, "Jansen", "Emma", BORN, "1234AB", sector="msz", zorgvraag="0301"),
        person("06000002", "H2", BSN_1, "Jansen", "Emma", BORN, "1234AB", sector="msz", zorgvraag="0320"),
        person("06000003", "H3", BSN_1, "Jansen", "Emma", BORN, "1234AB", sector="msz", zorgvraag="0320"),
    ]
    assert clients(link(rows)) == ["H2", "H3"]


def test_over_norm_and_counted_once_at_the_longest_wait(link):
    rows = [
        person("22000001", "A1", BSN_1, "Jansen", "Emma", BORN, None, aanmelddatum=dt.date(2026, 6, 1)),
        person("22000002", "C1", BSN_1, "Jansen", "Emma", BORN, None, aanmelddatum=dt.date(2026, 8, 1)),
        person(
            "22000002", "C2", valid_bsn(99_000_201), "Visser", "Daan", BORN, None, aanmelddatum=dt.date(2026, 10, 4)
        ),  # exactly 4 weeks: not over
        person(
            "22000002", "C3", valid_bsn(99_000_301), "Smit", "Sem", BORN, None, aanmelddatum=dt.date(2026, 10, 3)
        ),  # 29 days: over
    ]
    table, _ = provider_counts(link(rows))
    counts = {row["agb_code"]: row for row in table.to_dicts()}
    assert counts["22000001"]["boven_norm"] == 1 and counts["22000001"]["boven_norm_geschoond"] == 1
    assert counts["22000002"]["boven_norm"] == 2 and counts["22000002"]["boven_norm_geschoond"] == 1


def test_scope_sql_accepts_only_known_columns():
    assert "zorgvraag" in scope_key_sql({"msz": ["sector", "zorgvraag"]})
    with pytest.raises(ValueError, match="invalid match scope"):
        scope_key_sql({"msz": ["sector", "1; DROP TABLE entries"]})
    with pytest.raises(ValueError, match="invalid match scope"):
        scope_key_sql({"m'sz": ["sector"]})


def test_entries_under_two_key_versions_are_never_linked(tmp_path):
    import polars as pl

    from flows.settings import DEFAULT_MATCH_SCOPE
    from hashing.keys import PseudonymKey
    from hashing.pseudonyms import pseudonymise_entries
    from linkage.store import KeyVersionMismatch, link_round, open_store
    from tests.linkage.conftest import NORM_DAYS, PEIL

    files = []
    for index, key in enumerate((PseudonymKey("kold", b"o" * 32), PseudonymKey("knew", b"n" * 32))):
        rows = [person(f"2200000{index}", f"A{index}", BSN_1, "Jansen", "Emma", BORN, "1234AB")]
        frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(pl.col(pl.Null).cast(pl.Utf8))
        staged = pseudonymise_entries(frame, key).with_columns(
            pl.lit("f.csv").alias("source_file"), pl.lit(str(index) * 64).alias("file_sha256")
        )
        files.append(tmp_path / f"{index}.parquet")
        staged.write_parquet(files[-1])
    with open_store(tmp_path / "round.duckdb") as con, pytest.raises(KeyVersionMismatch, match="2 key ids"):
        link_round(con, files, match_scope=DEFAULT_MATCH_SCOPE, norm_days=NORM_DAYS, locations={}, reference_date=PEIL)


def test_each_entry_says_how_it_is_linked_and_what_holds_elsewhere(link):
    """A person with the same BSN at two providers and a third entry without a BSN: the two BSN
    entries read bsn / 1.0 although the person's weakest link is probabilistic, the third its own
    link's probability (never 1), and each sees the most advanced phase and the longest whole
    weeks elsewhere (counted by hand from the dates below; the peildatum is 2026-11-01)."""
    con = link(
        [
            *background(),
            person("22000001", "A1", BSN_1, "van der Berg", "Emma", BORN, "1234AB",
                   aanmelddatum=dt.date(2026, 9, 1), wachtfase="behandeling"),
            person("22000002", "C1", BSN_1, "van der Berg", "Emma", BORN, "1234AB",
                   aanmelddatum=dt.date(2026, 10, 20)),
            person("22000003", "D1", None, "Berg", "Emma", BORN, "1234AB", tussenvoegsel="van der",
                   aanmelddatum=dt.date(2026, 8, 2)),
        ]
    )  # fmt: skip
    rows = {r["client_id"]: r for r in contact_rows(con).to_dicts() if r["client_id"] in {"A1", "C1", "D1"}}
    assert sorted(rows) == ["A1", "C1", "D1"]
    assert rows["A1"]["koppeling"] == rows["C1"]["koppeling"] == "bsn"
    assert rows["A1"]["zekerheid"] == rows["C1"]["zekerheid"] == 1.0
    assert rows["D1"]["koppeling"] == "probabilistisch" and 0.5 <= rows["D1"]["zekerheid"] < 1.0
    assert rows["D1"]["zekerheid"] == int(rows["D1"]["zekerheid"] * 10_000) / 10_000
    # A1: elsewhere C1 (12 days, aanmelding) and D1 (91 days, aanmelding): 13 whole weeks.
    assert (rows["A1"]["wachtfase_elders"], rows["A1"]["weken_elders"]) == ("aanmelding", 13)
    # C1: elsewhere A1 (61 days, behandeling) and D1 (91 days): behandeling, 13 weeks.
    assert (rows["C1"]["wachtfase_elders"], rows["C1"]["weken_elders"]) == ("behandeling", 13)
    # D1: elsewhere A1 (61 days, behandeling) and C1 (12 days): behandeling, 8 weeks.
    assert (rows["D1"]["wachtfase_elders"], rows["D1"]["weken_elders"]) == ("behandeling", 8)
    assert rows["D1"]["other_provider_codes"] == "22000001;22000002"
    assert rows["A1"]["other_provider_codes"] == "22000002;22000003"


def test_an_internal_duplicate_by_bsn_reads_bsn_and_names_nothing_elsewhere(link):
    con = link(
        [
            *background(),
            person("22000001", "A1", BSN_1, "Jansen", "Emma", BORN, "1234AB"),
            person("22000001", "A2", BSN_1, "Jansen", "Emma", BORN, "1234AB", sector="ggz"),
        ]
    )
    rows = contact_rows(con).filter(contact_rows(con)["client_id"].is_in(["A1", "A2"]))
    assert set(rows["soort"].to_list()) == {"intern"} and set(rows["koppeling"].to_list()) == {"bsn"}
    assert rows["wachtfase_elders"].null_count() == rows["weken_elders"].null_count() == 2
