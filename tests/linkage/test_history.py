"""The history store: a round compared with the previous one, under the same key only."""

import datetime as dt
from pathlib import Path

from hashing.keys import PseudonymKey
from ingest.feedback import OUTCOMES, load_feedback, stage_feedback, staged_feedback_path
from linkage.history import compare_with_history
from linkage.store import trend_counts
from tests.linkage.conftest import KEY, PEIL, background, person, valid_bsn

BORN = dt.date(1980, 5, 17)


def people(*entries: tuple[str, str, int]) -> list[dict[str, object]]:
    """Rows of (provider, client_id, person number); each person has its own BSN and name."""
    return [
        person(provider, client, valid_bsn(90_000_000 + number), f"Naam{number}", "Anna", BORN, "1234AB")
        for provider, client, number in entries
    ] + background(40)


def test_resolved_new_and_still_double_waiters_with_the_reported_outcome(link, tmp_path: Path):
    history = tmp_path / "history.duckdb"
    first = link(people(("23000001", "X1", 1), ("23000002", "X2", 1), ("23000001", "Y1", 2), ("23000003", "Y3", 2),
                        ("23000003", "W3", 3)))  # fmt: skip
    before = compare_with_history(first, history, round_id="2026-10", reference_date=PEIL, key=KEY,
                                  outcomes=OUTCOMES, feedback=load_feedback([]))  # fmt: skip
    assert before.previous_round is None
    first_totals = trend_counts(first)[1].row(0, named=True)
    assert first_totals["dubbel_blijvend"] == 0 and first_totals["dubbel_opgelost"] == 0
    first.close()

    feedback = tmp_path / "terugmelding.csv"
    feedback.write_text("agb_code;client_id;uitkomst\n23000002;X2;verwijderd\n23000003;W3;onbereikbaar\n")
    report = stage_feedback(feedback, "f" * 64, key=KEY, staging_dir=tmp_path / "staging")
    assert report.rows_accepted == 2
    second = link(people(("23000001", "X1", 1), ("23000001", "Y1", 2), ("23000003", "Y3", 2),
                         ("23000003", "W3", 3), ("23000002", "W2", 3)))  # fmt: skip
    staged = [staged_feedback_path(tmp_path / "staging", "f" * 64)]
    after = compare_with_history(second, history, round_id="2026-11", reference_date=PEIL + dt.timedelta(days=30),
                                 key=KEY, outcomes=OUTCOMES, feedback=load_feedback(staged))  # fmt: skip
    assert after.previous_round == "2026-10"
    providers, totals = trend_counts(second)
    rows = {row["agb_code"]: row for row in providers.to_dicts()}
    total = totals.row(0, named=True)
    # person 1 resolved (removed at 23000002), person 2 still double, person 3 newly double; the 40
    # background persons wait at two other providers in both rounds
    assert (total["dubbel_nieuw"], total["dubbel_blijvend"], total["dubbel_opgelost"]) == (1, 41, 1)
    assert total["opgelost_verwijderd"] == 1 and total["vorig_dubbel"] == 42
    assert (rows["23000003"]["dubbel_nieuw"], rows["23000003"]["dubbel_blijvend"]) == (1, 1)
    assert rows["23000002"]["dubbel_opgelost"] == 1 and rows["23000002"]["opgelost_verwijderd"] == 1
    assert rows["23000001"]["dubbel_opgelost"] == 1 and rows["23000001"]["opgelost_verwijderd"] == 0
    rejected = after.feedback_rows.filter(after.feedback_rows["reden"].is_not_null())
    assert rejected["reden"].to_list() == ["feedback_not_on_contact_list"]  # W3 was not double in 2026-10
    second.close()

    third = link(people(("23000001", "X1", 1)))
    other_key = PseudonymKey("kother", b"o" * 32)
    later = compare_with_history(third, history, round_id="2026-12", reference_date=PEIL + dt.timedelta(days=60),
                                 key=other_key, outcomes=OUTCOMES, feedback=load_feedback([]))  # fmt: skip
    assert later.previous_round is None and later.previous_key_differs
