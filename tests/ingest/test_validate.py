import datetime as dt

import polars as pl
import pytest

from ingest.columns import ALL_COLUMNS, ROW_MALFORMED, ROW_REASONS, ROW_REASONS_NL
from ingest.limits import DEFAULT_FIELD_CHARS
from ingest.validate import RowRules, validate_extract

PEIL = dt.date(2026, 11, 1)
GOOD = {
    "agb_code": "22000001",
    "client_id": "C1",
    "bsn": "999999151",
    "geboortedatum": "1980-05-17",
    "achternaam": "Jansen",
    "uzovi": "3311",
    "sector": "ggz",
    "aanmelddatum": "2026-09-01",
    "wachtfase": "aanmelding",
}


def raw(*rows: dict[str, str | None]) -> pl.DataFrame:
    full = [{column: row.get(column) for column in ALL_COLUMNS} for row in rows]
    frame = pl.DataFrame(full, schema={column: pl.Utf8 for column in ALL_COLUMNS})
    return frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))


BAD_ROWS: dict[str, dict[str, str | None]] = {
    "agb_code_missing": {"agb_code": None},
    "agb_code_invalid": {"agb_code": "2200A001"},
    "client_id_missing": {"client_id": None},
    "control_characters": {"achternaam": "Jan\x00sen"},
    "agb_code_unknown": {"agb_code": "22000099"},
    "agb_code_not_sender": {"agb_code": "22000002"},
    "geboortedatum_missing": {"geboortedatum": None},
    "geboortedatum_invalid": {"geboortedatum": "31-02-1980"},
    "geboortedatum_future": {"geboortedatum": "2027-01-01", "aanmelddatum": "2027-02-01"},
    "achternaam_missing": {"achternaam": None},
    "uzovi_missing": {"uzovi": None},
    "uzovi_invalid": {"uzovi": "33110"},
    "sector_missing": {"sector": None},
    "sector_invalid": {"sector": "wlz"},
    "sector_not_registered": {"sector": "msz"},
    "aanmelddatum_missing": {"aanmelddatum": None},
    "aanmelddatum_invalid": {"aanmelddatum": "2026-13-01"},
    "aanmelddatum_future": {"aanmelddatum": "2026-11-02"},
    "aanmelddatum_before_geboortedatum": {"aanmelddatum": "1979-01-01"},
    "wachtfase_missing": {"wachtfase": None},
    "wachtfase_invalid": {"wachtfase": "intake"},
    "verwijsdatum_invalid": {"verwijsdatum": "1-1"},
    "verwijsdatum_future": {"verwijsdatum": "2030-01-01"},
    "peildatum_invalid": {"peildatum": "morgen"},
    "intakedatum_invalid": {"wachtfase": "behandeling", "intakedatum": "2026-08-31"},  # before aanmelddatum
    **{f"{column}_too_long": {column: "1" * (DEFAULT_FIELD_CHARS[column] + 1)} for column in ALL_COLUMNS},
}
REGISTRY_RULES = RowRules(
    registered={"22000001": "ggz", "22000002": None, "06020101": None}, sender_codes=frozenset({"22000001"})
)
"""The registry and the sender of the rows above (row-level reasons of extract format v2)."""


def test_every_reason_code_has_a_bad_row_here_and_a_dutch_explanation():
    assert set(BAD_ROWS) | {ROW_MALFORMED} == set(ROW_REASONS) == set(ROW_REASONS_NL)


@pytest.mark.parametrize("reason", sorted(BAD_ROWS))
def test_each_bad_row_is_rejected_with_its_reason(reason: str):
    result = validate_extract(raw(GOOD, {**GOOD, **BAD_ROWS[reason]}), PEIL, REGISTRY_RULES)
    assert result.accepted.height == 1
    assert result.rejected["reden"].to_list() == [reason]
    assert result.rejected["source_row"].to_list() == [2]


def test_dates_in_all_three_formats_and_row_peildatum():
    rows = [
        {**GOOD, "aanmelddatum": "2026-09-01"},
        {**GOOD, "aanmelddatum": "01-09-2026"},
        {**GOOD, "aanmelddatum": "1/9/2026"},
        {**GOOD, "aanmelddatum": "2026-12-01", "peildatum": "2026-12-31"},
    ]
    result = validate_extract(raw(*rows), PEIL)
    assert result.rejected.height == 0
    assert result.accepted["aanmelddatum"].to_list()[:3] == [dt.date(2026, 9, 1)] * 3
    assert result.accepted["peildatum"].to_list() == [PEIL, PEIL, PEIL, dt.date(2026, 12, 31)]


def test_invalid_bsn_is_counted_not_rejected_and_eight_digits_are_padded():
    rows = [GOOD, {**GOOD, "bsn": "123456789"}, {**GOOD, "bsn": None}, {**GOOD, "bsn": "99999151"}]
    result = validate_extract(raw(*rows), PEIL)
    assert result.rejected.height == 0
    assert result.accepted["bsn_status"].to_list() == ["valid", "invalid", "missing", "invalid"]
    assert result.accepted["bsn"].to_list() == ["999999151", None, None, None]
    assert result.warnings["bsn_invalid"] == 2 and result.warnings["bsn_missing"] == 1
    padded = validate_extract(raw({**GOOD, "bsn": "11222335"}), PEIL)
    assert padded.accepted["bsn"].to_list() == ["011222335"]


def test_codes_are_normalised():
    row = {
        **GOOD,
        "sector": "MSZ",
        "zorgvraag": "301",
        "wachtfase": "Behandeling",
        "agb_code": "6020101",
        "uzovi": "101",
    }
    accepted = validate_extract(raw(row), PEIL, RowRules(registered={"06020101": None})).accepted
    assert accepted.select("sector", "zorgvraag", "wachtfase", "agb_code", "uzovi").row(0) == (
        "msz",
        "0301",
        "behandeling",
        "06020101",
        "0101",
    )


def test_seven_digit_codes_are_padded_only_when_registered_and_digits_are_ascii():
    rows = [{**GOOD, "agb_code": "6020101"}, {**GOOD, "agb_code": "2200001"}, {**GOOD, "agb_code": "２２０００００１"},
            {**GOOD, "uzovi": "３３１１"}, {**GOOD, "bsn": "９９９９９９１５１"}]  # fmt: skip
    registered = validate_extract(raw(*rows), PEIL, RowRules(registered={"06020101": None, "22000001": None}))
    assert registered.accepted["agb_code"].to_list() == ["06020101", "22000001"]
    assert registered.accepted["bsn_status"].to_list() == ["valid", "invalid"]
    assert registered.rejected["reden"].to_list() == ["agb_code_invalid", "agb_code_invalid", "uzovi_invalid"]
    without_registry = validate_extract(raw(rows[0]), PEIL)
    assert without_registry.rejected["reden"].to_list() == ["agb_code_invalid"]


def test_rows_for_another_organisation_keep_no_route_but_the_sender():
    result = validate_extract(raw(GOOD, {**GOOD, "agb_code": "22000099", "client_id": "=cmd"}), PEIL, REGISTRY_RULES)
    assert result.rejected.select("agb_code", "reden").row(0) == (None, "agb_code_unknown")


def test_accounting_accepted_plus_rejected_is_received():
    rows = [GOOD] * 5 + [{**GOOD, **bad} for bad in BAD_ROWS.values()]
    result = validate_extract(raw(*rows), PEIL, REGISTRY_RULES)
    assert result.accepted.height + result.rejected.height == len(rows)
    assert sorted(result.accepted["source_row"].to_list() + result.rejected["source_row"].to_list()) == list(
        range(1, len(rows) + 1)
    )


@pytest.mark.parametrize(
    ("intake", "accepted"),
    [("2026-09-01", True), ("2026-11-01", True), ("2026-11-02", False), ("2026-08-31", False), ("31-02-2026", False)],
)
def test_an_intake_date_lies_between_aanmelddatum_and_the_peildatum(intake: str, accepted: bool):
    result = validate_extract(raw({**GOOD, "wachtfase": "behandeling", "intakedatum": intake}), PEIL)
    assert result.accepted.height == int(accepted)
    if not accepted:
        assert result.rejected["reden"].to_list() == ["intakedatum_invalid"]


def test_a_treatment_row_without_intake_date_is_kept_and_counted():
    result = validate_extract(
        raw({**GOOD, "wachtfase": "behandeling"}, {**GOOD, "client_id": "C2"}, {**GOOD, "client_id": "C3",
            "wachtfase": "behandeling", "intakedatum": "2026-10-01"}),
        PEIL,
    )  # fmt: skip
    assert result.accepted.height == 3 and result.warnings["intakedatum_missing"] == 1
    assert result.accepted["intakedatum"].to_list() == [None, None, dt.date(2026, 10, 1)]


def test_extracts_validated_together_are_validated_as_alone():
    """Every bad row, in files of their own with different senders (one without a verified
    sender, one whose sender may deliver nothing, one with no rows accepted): validated
    together, each file gets exactly what it gets alone."""
    from ingest.validate import validate_extracts

    senders = [frozenset({"22000001"}), None, frozenset({"22000002", "06020101"}), frozenset(), frozenset({"22000001"})]
    rows = [GOOD, *({**GOOD, **bad, "client_id": f"C{reason}"} for reason, bad in sorted(BAD_ROWS.items()))]
    frames = [raw(*rows[i::4]) for i in range(4)] + [raw({**GOOD, "agb_code": None})]
    rules = [RowRules(registered=REGISTRY_RULES.registered, sender_codes=codes) for codes in senders]
    together = validate_extracts(frames, PEIL, rules)
    for frame, rule, result in zip(frames, rules, together, strict=True):
        alone = validate_extract(frame, PEIL, rule)
        assert result.accepted.equals(alone.accepted) and result.rejected.equals(alone.rejected)
        assert (result.warnings, result.date_formats) == (alone.warnings, alone.date_formats)
    reasons = {code for result in together for code in result.rejected["reden"]}
    assert reasons >= {"agb_code_not_sender", "uzovi_invalid"}
    assert together[4].accepted.height == 0 and together[3].accepted.height == 0
    with pytest.raises(ValueError, match="one registry"):
        validate_extracts(frames[:2], PEIL, [rules[0], RowRules()])
