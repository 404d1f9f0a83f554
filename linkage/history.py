"""Round history: every round's pseudonymised result in the TTP's history store, and the
comparison of a round with the one before it (new, still and resolved double waiters, and the
providers' feedback on the previous contact lists).

The history store (``history.duckdb`` in the TTP's work folder) holds per round only entry keys
(keyed pseudonyms of agb_code + client_id), BSN pseudonyms, the round-local person number,
provider, UZOVI and the double/internal flags; feedback as entry key and outcome. Rounds are
compared only under the same key id: pseudonyms under different keys never match.
"""

from __future__ import annotations

import datetime as dt
import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from hashing.keys import PseudonymKey
from hashing.pseudonyms import entry_keys
from linkage.frames import query_frame
from linkage.store import run_script, sql_text

RECORD_ROUND_SQL = """
BEGIN TRANSACTION;
DELETE FROM history.round_entries WHERE round_id = $round_id;
DELETE FROM history.feedback WHERE round_id = $round_id;
DELETE FROM history.rounds WHERE round_id = $round_id;
INSERT INTO history.round_entries
SELECT $round_id, f.person_id, f.provider, f.slice_uzovi, k.entry_key, e.bsn_token, f.is_double, f.is_internal
FROM entry_facts AS f JOIN entry_keys AS k USING (entry_id) JOIN entries AS e USING (entry_id);
INSERT INTO history.feedback SELECT $round_id, entry_key, provider, uitkomst FROM received_feedback;
INSERT INTO history.rounds VALUES ($round_id, $reference_date, $key_id);
COMMIT;
"""
"""Replaces an earlier record of the round in one transaction: a killed run leaves the old
record or the new one, never half of either."""

PREVIOUS_SLICES_SQL = """
UPDATE previous_entries AS p SET uzovi = s.uzovi
FROM (
    SELECT person_id, min(uzovi) AS uzovi FROM previous_entries
    GROUP BY person_id HAVING count(DISTINCT uzovi) > 1
) AS s
WHERE p.person_id = s.person_id;
"""
"""One insurer slice per person of the previous round. Rounds are recorded with the person's
slice (``slice_uzovi``) already; this only aligns rounds recorded before slices were exact."""


@dataclass(frozen=True)
class HistoryComparison:
    """What the comparison with the previous round found (counts only), and the feedback rows
    with their final ``reden`` (null: accepted) for accounting and for the providers."""

    previous_round: str | None
    previous_key_differs: bool
    feedback_rows: pl.DataFrame

    def counts(self) -> dict[str, object]:
        """Return the comparison's counts for the run summary."""
        rows = self.feedback_rows
        accepted = rows.filter(pl.col("reden").is_null())
        by_outcome = accepted.group_by("uitkomst").len().sort("uitkomst")
        rejected = rows.filter(pl.col("reden").is_not_null()).group_by("reden").len().sort("reden")
        return {
            "previous_round": self.previous_round,
            "previous_key_differs": self.previous_key_differs,
            "feedback_rows": {
                "received": rows.height,
                "accepted": accepted.height,
                "rejected": rows.height - accepted.height,
                "by_outcome": dict(zip(by_outcome["uitkomst"].to_list(), by_outcome["len"].to_list(), strict=True)),
                "rejected_by_reason": dict(zip(rejected["reden"].to_list(), rejected["len"].to_list(), strict=True)),
            },
        }


@contextmanager
def history_lock(history_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the history store while one round reads and records it
    (rounds of different ids may run at once; they wait for each other here)."""
    history_path.parent.mkdir(parents=True, exist_ok=True)
    with history_path.with_suffix(".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_entry_keys(con: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    """Create the table ``entry_keys`` (entry_id, entry_key) of the round's entries: the keys
    staging made when the entries carry them, else made here."""
    if "entry_key" in {row[0] for row in con.execute("DESCRIBE entries").fetchall()}:
        con.execute("CREATE OR REPLACE TABLE entry_keys AS SELECT entry_id, entry_key FROM entries")
        return
    frame = query_frame(con, "SELECT entry_id, agb_code, client_id FROM entries")
    keys = frame.select("entry_id", entry_keys(frame["agb_code"], frame["client_id"], key)).to_arrow()
    con.register("new_entry_keys", keys)
    con.execute("CREATE OR REPLACE TABLE entry_keys AS SELECT entry_id, entry_key FROM new_entry_keys")
    con.unregister("new_entry_keys")


def match_feedback(feedback: pl.DataFrame, contact_keys: pl.DataFrame) -> pl.DataFrame:
    """Return ``feedback`` with ``reden`` set for rows that repeat an earlier row's client
    (``feedback_duplicate``) or name a client that was not on the provider's previous contact
    list (``feedback_not_on_contact_list``); ``contact_keys`` has ``entry_key`` and ``provider``."""
    first = pl.int_range(pl.len()).over("entry_key") == 0
    on_list = pl.col("entry_key").is_in(contact_keys["entry_key"].implode())
    reason = (
        pl.when(pl.col("reden").is_not_null())
        .then(pl.col("reden"))
        .when(~on_list)
        .then(pl.lit("feedback_not_on_contact_list"))
        .when(~first)
        .then(pl.lit("feedback_duplicate"))
        .otherwise(None)
    )
    return feedback.with_columns(reason.alias("reden"))


def compare_with_history(
    con: duckdb.DuckDBPyConnection,
    history_path: Path,
    *,
    round_id: str,
    reference_date: dt.date,
    key: PseudonymKey,
    outcomes: Sequence[str],
    feedback: pl.DataFrame,
) -> HistoryComparison:
    """Compare the linked round in ``con`` with the previous round of the history store, then
    record this round there (replacing an earlier run of it). ``outcomes`` are the feedback
    outcomes in order of precedence; ``feedback`` the round's staged feedback rows (see
    :func:`ingest.feedback.load_feedback`). Leaves the tables of ``history_empty.sql``, filled, in
    the round's store. Returns what was found."""
    run_script(con, sql_text("history_empty.sql"))
    create_entry_keys(con, key)
    with history_lock(history_path):
        con.execute("ATTACH ? AS history", [str(history_path)])
        try:
            run_script(con, sql_text("history_schema.sql"))
            previous = con.execute(
                sql_text("previous_round.sql"), {"round_id": round_id, "reference_date": reference_date}
            ).fetchone()
            key_differs = previous is not None and previous[1] != key.key_id
            previous_round = previous[0] if previous is not None and not key_differs else None
            con.execute(
                "INSERT INTO previous_entries SELECT * EXCLUDE (round_id) FROM history.round_entries "
                "WHERE round_id = $round_id",
                {"round_id": previous_round},
            )
            con.execute(PREVIOUS_SLICES_SQL)
            contact_keys = query_frame(
                con, "SELECT DISTINCT entry_key, provider FROM previous_entries WHERE is_double OR is_internal"
            )
            feedback = match_feedback(feedback, contact_keys)
            accepted = (
                feedback.filter(pl.col("reden").is_null())
                .join(contact_keys, on="entry_key", how="inner", suffix="_list")
                .select("entry_key", pl.col("provider"), "uitkomst")
                .to_arrow()
            )
            con.register("accepted_feedback", accepted)
            con.execute("INSERT INTO received_feedback SELECT entry_key, provider, uitkomst FROM accepted_feedback")
            con.unregister("accepted_feedback")
            run_script(con, sql_text("trend.sql"), {"outcomes": list(outcomes)})
            run_script(
                con, RECORD_ROUND_SQL, {"round_id": round_id, "reference_date": reference_date, "key_id": key.key_id}
            )
        finally:
            con.execute("DETACH history")
    con.execute("CHECKPOINT")
    return HistoryComparison(previous_round, key_differs, feedback)
