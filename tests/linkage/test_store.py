import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from flows.settings import DEFAULT_MATCH_SCOPE, DEFAULT_NORMS_WEEKS
from linkage.store import contact_rows, link_round, open_store, provider_counts, round_totals, scope_key_sql

PEIL = dt.date(2026, 11, 1)
NORM_DAYS = {(s, p): w * 7 for s, phases in DEFAULT_NORMS_WEEKS.items() for p, w in phases.items()}


def entry(provider: str, client: str, bsn: str | None, qid: str | None, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source_row": 1,
        "agb_code": provider,
        "client_id": client,
        "bsn_status": "valid" if bsn else "missing",
        "bsn_token": bsn,
        "qid_token": qid,
        "key_id": "k",
        "birth_year": 1980,
        "uzovi": "3311",
        "sector": "ggz",
        "zorgvraag": None,
        "verwijsdatum": None,
        "aanmelddatum": dt.date(2026, 10, 1),
        "wachtfase": "aanmelding",
        "peildatum": PEIL,
        "source_file": "f.csv",
        "file_sha256": "0" * 64,
    }
    row.update(extra)
    return row


def linked(tmp_path: Path, rows: list[dict[str, object]], locations: dict[str, str] | None = None):
    staged = tmp_path / "staged.parquet"
    frame = (
        pl.DataFrame(rows, infer_schema_length=None)
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64).alias("source_row"))
        .drop("i")
    )
    frame.write_parquet(staged)
    con = open_store(tmp_path / "round.duckdb")
    link_round(
        con,
        [staged],
        match_scope=DEFAULT_MATCH_SCOPE,
        norm_days=NORM_DAYS,
        locations=locations or {},
        reference_date=PEIL,
    )
    return con


def test_same_bsn_at_two_providers_is_a_double_waiter(tmp_path: Path):
    con = linked(
        tmp_path,
        [entry("22000001", "A1", "b1", "q1"), entry("22000002", "B1", "b1", "q9"), entry("22000002", "B2", "b2", "q2")],
    )
    totals = round_totals(con)
    assert (totals["persons"], totals["double_waiters"], totals["internal_duplicates"]) == (2, 1, 0)
    contacts = contact_rows(con)
    assert sorted(contacts["client_id"].to_list()) == ["A1", "B1"]
    assert set(contacts["koppeling"].to_list()) == {"bsn"}
    assert contacts["aantal_andere_aanbieders"].to_list() == [1, 1]
    table, totals = provider_counts(con)
    assert table["unieke_personen"].sum() == 3
    assert totals.select("agb_code", "wachtenden", "unieke_personen", "dubbel_wachtenden").row(0) == (
        "totaal", 3, 2, 1,
    )


def test_missing_bsn_links_on_quasi_identifier_to_the_one_bsn_that_shares_it(tmp_path: Path):
    con = linked(tmp_path, [entry("22000001", "A1", "b1", "q1"), entry("22000002", "B1", None, "q1")])
    contacts = contact_rows(con)
    assert sorted(contacts["client_id"].to_list()) == ["A1", "B1"]
    assert set(contacts["koppeling"].to_list()) == {"probabilistisch"}


def test_two_different_bsns_are_never_merged(tmp_path: Path):
    rows = [
        entry("22000001", "A1", "b1", "q1"),
        entry("22000002", "B1", "b2", "q1"),
        entry("22000003", "C1", None, "q1"),
    ]
    con = linked(tmp_path, rows)
    totals = round_totals(con)
    assert totals["persons"] == 3 and totals["double_waiters"] == 0
    assert totals["links_ambiguous"] == 1


def test_internal_duplicate_and_location_mapping(tmp_path: Path):
    rows = [entry("22000001", "A1", "b1", "q1"), entry("22000101", "A2", "b1", "q1")]
    con = linked(tmp_path, rows, locations={"22000101": "22000001"})
    totals = round_totals(con)
    assert (totals["providers"], totals["double_waiters"], totals["internal_duplicates"]) == (1, 0, 1)
    assert set(contact_rows(con)["soort"].to_list()) == {"intern"}


def test_msz_scope_includes_the_specialism(tmp_path: Path):
    rows = [
        entry("06000001", "H1", "b1", "q1", sector="msz", zorgvraag="0301"),
        entry("06000002", "H2", "b1", "q1", sector="msz", zorgvraag="0320"),
        entry("06000003", "H3", "b1", "q1", sector="msz", zorgvraag="0320"),
    ]
    con = linked(tmp_path, rows)
    contacts = contact_rows(con)
    assert sorted(contacts["client_id"].to_list()) == ["H2", "H3"]


def test_over_norm_and_counted_once_at_the_longest_wait(tmp_path: Path):
    rows = [
        entry("22000001", "A1", "b1", "q1", aanmelddatum=dt.date(2026, 6, 1)),  # 153 days
        entry("22000002", "B1", "b1", "q1", aanmelddatum=dt.date(2026, 8, 1)),  # 92 days
        entry("22000002", "B2", "b2", "q2", aanmelddatum=dt.date(2026, 10, 4)),  # exactly 4 weeks: not over
        entry("22000002", "B3", "b3", "q3", aanmelddatum=dt.date(2026, 10, 3)),  # 29 days: over
    ]
    counts = {row["agb_code"]: row for row in provider_counts(linked(tmp_path, rows))[0].to_dicts()}
    assert counts["22000001"]["boven_norm"] == 1 and counts["22000001"]["boven_norm_geschoond"] == 1
    assert counts["22000002"]["boven_norm"] == 2 and counts["22000002"]["boven_norm_geschoond"] == 1


def test_scope_sql_accepts_only_known_columns():
    assert "zorgvraag" in scope_key_sql({"msz": ["sector", "zorgvraag"]})
    with pytest.raises(ValueError):
        scope_key_sql({"msz": ["sector", "1; DROP TABLE entries"]})
    with pytest.raises(ValueError):
        scope_key_sql({"m'sz": ["sector"]})
