"""The samples the model is trained on, drawn from the round: random pairs for u, pairs that
share a BSN pseudonym for m (free labels), blocking passes for EM, and the match prior."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np

from linkage.blocking import PASS_FIELDS
from linkage.comparisons import FIELDS, LEVEL_COUNTS, TOP_LEVEL, comparison_sql
from linkage.estimation import DEFAULT_M, estimate_m_by_em, level_distribution
from linkage.frames import query_frame

MIN_LABELLED_MATCHES = 200
"""With fewer pairs sharing a BSN pseudonym than this, m is estimated by EM on the blocking
passes instead."""


def _level_patterns(con: duckdb.DuckDBPyConnection, pairs_sql: str) -> tuple[np.ndarray, np.ndarray]:
    con.execute(f"CREATE OR REPLACE TEMP TABLE sample_pairs AS {pairs_sql}")
    frame = query_frame(
        con, f"SELECT {', '.join(FIELDS)}, count(*) AS n FROM ({comparison_sql('sample_pairs')}) GROUP BY ALL"
    )
    con.execute("DROP TABLE sample_pairs")
    return frame.select(FIELDS).to_numpy().astype(np.int64).reshape(-1, len(FIELDS)), frame["n"].to_numpy().astype(
        float
    )


def _ranked_draw(seed: int, pairs: int) -> str:
    """Return SQL giving the ``pairs`` linkable entries first in the order of ``hash(entry_id,
    seed)`` (all of them in a smaller round), with their rank ``k`` in that order: a top-N, not a
    sort of every entry."""
    order = f"hash(entry_id, {int(seed)}), entry_id"
    return f"""SELECT entry_id, bsn_token, row_number() OVER (ORDER BY {order}) AS k
               FROM (SELECT entry_id, bsn_token FROM linkable_entries ORDER BY {order} LIMIT {int(pairs)})"""


def random_pair_u(con: duckdb.DuckDBPyConnection, pairs: int) -> dict[str, list[float]]:
    """Return u: the share of each comparison level among random pairs of entries (almost all
    of them two different persons; pairs sharing a BSN pseudonym are left out).

    Three times, the first ``pairs`` entries of one random order are paired by rank with those of
    another; of those pairs the ``pairs`` first by ``hash(l, r)`` are taken. In a round of at most
    ``pairs`` linkable entries each draw is the whole random permutation."""
    permutations = " UNION ALL ".join(
        f"""SELECT a.entry_id AS l, b.entry_id AS r
            FROM ({_ranked_draw(seed, pairs)}) AS a JOIN ({_ranked_draw(seed + 10, pairs)}) AS b USING (k)
            WHERE a.entry_id <> b.entry_id AND (a.bsn_token IS NULL OR a.bsn_token IS DISTINCT FROM b.bsn_token)"""
        for seed in (1, 2, 3)
    )
    # ordered before the limit: which pairs are taken must not depend on the threads' timing
    matrix, counts = _level_patterns(
        con, f"SELECT * FROM ({permutations}) ORDER BY hash(l, r), l, r LIMIT {int(pairs)}"
    )
    return level_distribution(matrix, counts, np.ones_like(counts))


def same_bsn_m(con: duckdb.DuckDBPyConnection, pairs: int) -> tuple[dict[str, list[float]], int]:
    """Return m from pairs of entries that share a BSN pseudonym (free ground truth, not
    filtered by blocking) and how many pairs it rests on."""
    matrix, counts = _level_patterns(
        con,
        f"""SELECT a.entry_id AS l, b.entry_id AS r FROM entries AS a JOIN entries AS b
            ON a.bsn_token = b.bsn_token AND a.entry_id < b.entry_id
            ORDER BY hash(a.entry_id, b.entry_id), a.entry_id, b.entry_id LIMIT {int(pairs)}""",
    )
    return level_distribution(matrix, counts, np.ones_like(counts)), int(counts.sum())


def m_from_passes(
    con: duckdb.DuckDBPyConnection, u: Mapping[str, list[float]], iterations: int
) -> dict[str, list[float]]:
    """Return m estimated by EM on each blocking pass's pairs for the fields that pass does not
    constrain, averaged over passes weighted by their estimated number of matches."""
    sums: dict[str, np.ndarray] = {name: np.zeros(LEVEL_COUNTS[name]) for name in FIELDS}
    weights: dict[str, float] = dict.fromkeys(FIELDS, 0.0)
    for name, constrained in PASS_FIELDS.items():
        frame = query_frame(
            con,
            f"SELECT {', '.join(FIELDS)}, count(*) AS n FROM candidate_passes JOIN pair_levels USING (l, r) "
            "WHERE pass = $pass GROUP BY ALL",
            {"pass": name},
        )
        if frame.height == 0:
            continue
        counts = frame["n"].to_numpy().astype(float)
        free = frozenset(FIELDS) - constrained
        m, share = estimate_m_by_em(frame.select(FIELDS).to_numpy().astype(np.int64), counts, free, u, iterations)
        expected = share * counts.sum()
        for field_name, values in m.items():
            sums[field_name] += expected * np.asarray(values)
            weights[field_name] += expected
    return {name: list(sums[name] / weights[name]) if weights[name] > 0 else list(DEFAULT_M[name]) for name in FIELDS}


def match_prior(con: duckdb.DuckDBPyConnection, m: Mapping[str, list[float]], u: Mapping[str, list[float]]) -> float:
    """Return the probability that two random entries (not both with a BSN) are one person.

    The number of such persons' pairs is estimated from the candidates that agree exactly on
    surname and birth date (all of which the birth-date pass finds), less the non-matches
    expected to agree by chance, divided by the share of matches that agree on both.
    """
    sn_top, dob_top = TOP_LEVEL["sn"], TOP_LEVEL["dob"]
    row = con.execute(
        """SELECT (SELECT count(*) FROM pair_levels WHERE sn = $sn_top AND dob = $dob_top) AS top,
                  (SELECT count(*) FROM linkable_entries) AS n,
                  (SELECT count(*) FROM linkable_entries WHERE bsn_token IS NOT NULL) AS n_bsn""",
        {"sn_top": sn_top, "dob_top": dob_top},
    ).fetchall()[0]
    top, n, n_bsn = (int(v) for v in row)
    universe = n * (n - 1) / 2 - n_bsn * (n_bsn - 1) / 2
    if universe <= 0:
        return 1e-9
    by_chance = universe * u["sn"][sn_top] * u["dob"][dob_top]
    matches = max(top - by_chance, 1.0) / (m["sn"][sn_top] * m["dob"][dob_top])
    return float(min(max(matches / universe, 1e-12), 0.5))


def entry_count(con: duckdb.DuckDBPyConnection) -> int:
    """Return the number of linkable entries (see :data:`LINKABLE_ENTRIES_SQL`)."""
    return int(con.sql("SELECT count(*) FROM linkable_entries").fetchall()[0][0])
