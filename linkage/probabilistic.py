"""Probabilistic linkage on keyed encodings: blocking, comparison levels, Fellegi-Sunter
weights with m and u estimated by EM, mutual-best link selection and clustering that never
joins two different BSNs.

Pure SQL builders return SQL text; :func:`link_probabilistically` runs them on a DuckDB
connection that holds an ``entries`` table with the encodings of ``hashing.encodings``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from hashing.encodings import BLOOM_WORDS
from linkage.frames import query_frame

RARE_NAME_BLOCK = 50
"""Surname + first name alone block only names shared by at most this many entries."""

DOB = ("birth_year", "dob_month", "dob_day")
BLOCKING_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "exacte_sleutel": (("qid_token",), ("qid_token",)),
    "geboortedatum": (DOB, DOB),
    "geboortejaar_achternaam": (("birth_year", "sn_phon"), ("birth_year", "sn_phon")),
    "postcode_geboortejaar": (("pc_full", "birth_year"), ("pc_full", "birth_year")),
    "voornaam_dag_maand": (("fn_phon", "dob_month", "dob_day"), ("fn_phon", "dob_month", "dob_day")),
    "dag_maand_verwisseld": (DOB, ("birth_year", "dob_day", "dob_month")),
    "achternaam_voornaam_pc4": (("sn_phon", "fn_phon", "pc_area"), ("sn_phon", "fn_phon", "pc_area")),
    "achternaam_voornaam_zeldzaam": (("sn_phon", "fn_phon"), ("sn_phon", "fn_phon")),
    "namen_verwisseld": (("sn_phon", "fn_phon", "birth_year"), ("fn_phon", "sn_phon", "birth_year")),
    "postcode_achternaam": (("pc_full", "sn_phon"), ("pc_full", "sn_phon")),
    "postcode_voornaam": (("pc_full", "fn_phon"), ("pc_full", "fn_phon")),
}
"""Blocking passes: a pair is a candidate when the left entry's keys equal the right entry's
keys (in the order given) of any pass."""
PASS_BLOCK_CAPS: dict[str, int] = {"achternaam_voornaam_zeldzaam": RARE_NAME_BLOCK}
"""Passes with a cap of their own below ``max_block_entries``."""

FIELDS: tuple[str, ...] = ("sn", "fn", "dob", "pc", "sex")
PASS_FIELDS: dict[str, frozenset[str]] = {
    "exacte_sleutel": frozenset({"sn", "dob", "pc"}),
    "geboortedatum": frozenset({"dob"}),
    "geboortejaar_achternaam": frozenset({"dob", "sn"}),
    "postcode_geboortejaar": frozenset({"pc", "dob"}),
    "voornaam_dag_maand": frozenset({"fn", "dob"}),
    "dag_maand_verwisseld": frozenset({"dob"}),
    "achternaam_voornaam_pc4": frozenset({"sn", "fn", "pc"}),
    "achternaam_voornaam_zeldzaam": frozenset({"sn", "fn"}),
    "namen_verwisseld": frozenset({"sn", "fn", "dob"}),
    "postcode_achternaam": frozenset({"pc", "sn"}),
    "postcode_voornaam": frozenset({"pc", "fn"}),
}
"""The fields each blocking pass constrains: their m cannot be learnt from that pass's pairs."""
MISSING = -1
SMOOTHING_COUNT = 1.0
MIN_LABELLED_MATCHES = 200
"""Pseudo-count added to every level, so that no level is ever judged impossible."""


@dataclass(frozen=True)
class LinkageParameters:
    """Thresholds and guards of the probabilistic stage."""

    link_threshold: float = 0.5
    review_threshold: float = 0.2
    max_cluster_size: int = 12
    max_block_entries: int = 1000
    block_compared: int = 60
    """A block of up to this many entries is compared whole; in a larger one an entry meets
    about this many of its neighbours (see :func:`blocking_sql`)."""
    em_iterations: int = 100
    random_pairs: int = 200_000
    labelled_pairs: int = 100_000


@dataclass
class LinkageReport:
    """What the probabilistic stage did: counts, estimated parameters and timings."""

    candidate_pairs: int = 0
    pairs_per_pass: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)
    """Per pass, how many blocking keys were shared by too many entries to propose pairs."""
    skipped_block_entries: dict[str, int] = field(default_factory=dict)
    frequent_value_entries: int = 0
    """Entries whose surname, birth date and postcode are shared by more entries than one
    person can have (a placeholder): left out of probabilistic linkage."""
    labelled_matches: int = 0
    links: int = 0
    review_pairs: int = 0
    rejected_bsn_conflict: int = 0
    rejected_cluster_size: int = 0
    match_prior: float = 0.0
    m: dict[str, list[float]] = field(default_factory=dict)
    u: dict[str, list[float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    key_id: str = ""


def dice_sql(left: str, right: str) -> str:
    """Return SQL for the Dice similarity of the Bloom filters ``<left>_bf*`` and ``<right>_bf*``
    (with popcounts ``<left>_bits`` and ``<right>_bits``)."""
    overlap = " + ".join(f"bit_count({left}_bf{i} & {right}_bf{i})::INTEGER" for i in range(BLOOM_WORDS))
    return f"(2.0 * ({overlap}) / nullif({left}_bits + {right}_bits, 0))"


def name_level_sql(prefix: str) -> str:
    """Return SQL giving a name's comparison level: 3 near-exact, 2 close (or the two names
    swapped and close), 1 similar or same sound, 0 different, -1 missing on either side."""
    crossed = "sn_fn_dice" if prefix == "sn" else "fn_sn_dice"
    swapped = "(coalesce(sn_fn_dice, 0) + coalesce(fn_sn_dice, 0) > coalesce(sn_dice, 0) + coalesce(fn_dice, 0) + 0.5)"
    return (
        f"CASE WHEN a_{prefix}_bits IS NULL OR b_{prefix}_bits IS NULL THEN {MISSING} "
        f"WHEN {swapped} THEN CASE WHEN {crossed} >= 0.8 THEN 2 WHEN {crossed} >= 0.6 THEN 1 ELSE 0 END "
        f"WHEN {prefix}_dice >= 0.94 THEN 3 WHEN {prefix}_dice >= 0.8 THEN 2 "
        f"WHEN {prefix}_dice >= 0.6 OR a_{prefix}_phon = b_{prefix}_phon THEN 1 ELSE 0 END"
    )


DOB_LEVEL_SQL = f"""CASE
    WHEN a.birth_year IS NULL AND a.dob_month IS NULL AND a.dob_day IS NULL THEN {MISSING}
    WHEN b.birth_year IS NULL AND b.dob_month IS NULL AND b.dob_day IS NULL THEN {MISSING}
    WHEN a.birth_year = b.birth_year AND a.dob_month = b.dob_month AND a.dob_day = b.dob_day THEN 3
    WHEN a.birth_year = b.birth_year AND a.dob_month = b.dob_day AND a.dob_day = b.dob_month THEN 2
    WHEN coalesce(a.birth_year = b.birth_year, false)::INT + coalesce(a.dob_month = b.dob_month, false)::INT
         + coalesce(a.dob_day = b.dob_day, false)::INT >= 2 THEN 1
    ELSE 0 END"""
POSTCODE_LEVEL_SQL = f"""CASE WHEN a.pc_full IS NULL OR b.pc_full IS NULL THEN {MISSING}
    WHEN a.pc_full = b.pc_full THEN 2 WHEN a.pc_area = b.pc_area THEN 1 ELSE 0 END"""
SEX_LEVEL_SQL = f"""CASE WHEN a.sex_tok IS NULL OR b.sex_tok IS NULL THEN {MISSING}
    WHEN a.sex_tok = b.sex_tok THEN 1 ELSE 0 END"""
LEVEL_COUNTS: dict[str, int] = {"sn": 4, "fn": 4, "dob": 4, "pc": 3, "sex": 2}


def oversized_keys_sql(name: str) -> str:
    """Return SQL selecting the left-side key values of a pass shared by more than ``$cap``
    entries (as ``k0, k1, ...``) with how many entries share each (``n``)."""
    left, _ = BLOCKING_KEYS[name]
    keys = ", ".join(f"{column} AS k{i}" for i, column in enumerate(left))
    present = " AND ".join(f"{column} IS NOT NULL" for column in left)
    return f"SELECT {keys}, count(*) AS n FROM entries WHERE {present} GROUP BY ALL HAVING count(*) > $cap"


SORT_KEYS: dict[str, tuple[str, ...]] = {
    "exacte_sleutel": ("fn_phon", "birth_year"),
    "geboortedatum": ("sn_phon", "fn_phon", "pc_area"),
    "geboortejaar_achternaam": ("fn_phon", "dob_month", "dob_day"),
    "postcode_geboortejaar": ("sn_phon", "fn_phon"),
    "voornaam_dag_maand": ("sn_phon", "birth_year"),
    "dag_maand_verwisseld": ("sn_phon", "fn_phon"),
    "achternaam_voornaam_pc4": ("birth_year", "dob_month"),
    "achternaam_voornaam_zeldzaam": ("birth_year", "dob_month"),
    "namen_verwisseld": ("dob_month", "dob_day"),
    "postcode_achternaam": ("fn_phon", "birth_year"),
    "postcode_voornaam": ("sn_phon", "birth_year"),
}
"""Per pass, the order of a block's entries (fields its keys leave free, most telling first): in
a block too large to compare whole, an entry is compared with its neighbours in this order, so
that the pairs per entry do not grow with the round."""


def _sides_sql(name: str, left_filter: str) -> str:
    """Return SQL giving a pass's entries keyed for the join (``k0, k1, ...``), with their sort
    fields, and whether each takes the left side (passes ``left_filter``) or the right side. A
    pass whose two sides use different keys (swapped fields) lists an entry once per side."""
    left, right = BLOCKING_KEYS[name]
    sort = ", ".join(f"l.{column} AS s{i}" for i, column in enumerate(SORT_KEYS[name]))

    def side(columns: tuple[str, ...], is_left: str, is_right: str, extra: str = "") -> str:
        keys = ", ".join(f"l.{column} AS k{i}" for i, column in enumerate(columns))
        present = " AND ".join(f"l.{column} IS NOT NULL" for column in columns)
        return f"""SELECT l.entry_id, l.bsn_token, {keys}, {sort}, {is_left} AS is_left, {is_right} AS is_right
                   FROM entries AS l WHERE {present} {extra}
                   AND l.entry_id NOT IN (SELECT entry_id FROM frequent_entries)"""

    if left == right:
        return side(left, f"({left_filter})", "true")
    return f"{side(left, 'true', 'false', f'AND ({left_filter})')} UNION ALL {side(right, 'false', 'true')}"


def blocking_sql(name: str, *, left_filter: str) -> str:
    """Return SQL selecting (l, r) entry ids that agree on one blocking pass, each pair once.

    ``l`` is an entry that passes ``left_filter``; both-BSN pairs are never candidates, a pair
    of two left-side entries is taken once (lower id first), entries with frequent values
    (``frequent_entries``) take no part, and no block whose key is in ``oversized_keys``
    proposes pairs. A block of at most ``$whole`` entries is compared whole; in a larger one
    an entry meets only the entries of its window of ``$window`` (in the order of
    :data:`SORT_KEYS`, then entry id, then side: an entry of a swapped-key pass can sit in one
    block on both sides, and the order must not depend on the run) and of the windows on either
    side.
    """
    left, right = BLOCKING_KEYS[name]
    keys = ", ".join(f"k{i}" for i in range(len(left)))
    order = ", ".join(f"s{i} NULLS LAST" for i in range(len(SORT_KEYS[name])))
    same_key = " AND ".join(f"l.k{i} = r.k{i}" for i in range(len(left)))
    outside = " AND ".join(f"o.k{i} = s.k{i}" for i in range(len(left)))
    if left == right:
        pair, distinct = "l.entry_id AS l, r.entry_id AS r", ""
        order_rule = "AND (r.bsn_token IS NOT NULL OR l.entry_id < r.entry_id)"
    else:  # found from either entry's side: put the lower id first when neither has a BSN
        pair = (
            "CASE WHEN r.bsn_token IS NULL THEN least(l.entry_id, r.entry_id) ELSE l.entry_id END AS l, "
            "CASE WHEN r.bsn_token IS NULL THEN greatest(l.entry_id, r.entry_id) ELSE r.entry_id END AS r"
        )
        distinct, order_rule = "DISTINCT", ""
    return f"""
        WITH unblocked AS (
            SELECT * FROM ({_sides_sql(name, left_filter)}) AS s
            WHERE NOT EXISTS (SELECT 1 FROM oversized_keys AS o WHERE {outside})),
        sides AS (  -- only blocks with a left-side entry can propose a pair
            SELECT * FROM unblocked SEMI JOIN (SELECT DISTINCT {keys} FROM unblocked WHERE is_left) USING ({keys})),
        large AS (SELECT {keys} FROM sides GROUP BY ALL HAVING count(*) > $whole),
        windowed AS (
            SELECT entry_id, bsn_token, {keys}, is_left, is_right, 0 AS slot, [0] AS near_slots
            FROM sides ANTI JOIN large USING ({keys})
            UNION ALL
            SELECT entry_id, bsn_token, {keys}, is_left, is_right, slot, [slot - 1, slot, slot + 1] AS near_slots
            FROM (SELECT *, (row_number() OVER (PARTITION BY {keys} ORDER BY {order}, entry_id, is_left) - 1)
                            // $window AS slot
                  FROM sides SEMI JOIN large USING ({keys})))
        SELECT {distinct} {pair}
        FROM windowed AS l
        JOIN (SELECT *, unnest(near_slots) AS near FROM windowed WHERE is_right) AS r
          ON {same_key} AND l.slot = r.near
        WHERE l.is_left AND l.entry_id <> r.entry_id
          AND NOT (l.bsn_token IS NOT NULL AND r.bsn_token IS NOT NULL) {order_rule}"""


TERM_FREQUENCY_FIELDS: dict[str, tuple[str, int]] = {
    "sn": (f"hash({', '.join(f'{{side}}.sn_bf{i}' for i in range(BLOOM_WORDS))})", 3),
    "fn": (f"hash({', '.join(f'{{side}}.fn_bf{i}' for i in range(BLOOM_WORDS))})", 3),
    "pc": ("hash({side}.pc_full)", 2),
}
"""Fields whose exact agreement is weighed by how common the value is: (value key, level)."""

BLOOM_COLUMNS_SQL = ", ".join(
    f"a.{n}_bf{i} AS a_{n}_bf{i}, b.{n}_bf{i} AS b_{n}_bf{i}" for n in ("sn", "fn") for i in range(BLOOM_WORDS)
)
BLOOM_ALIASES_SQL = ", ".join(f"a_{n}_bf{i}, b_{n}_bf{i}" for n in ("sn", "fn") for i in range(BLOOM_WORDS))


def comparison_sql(pairs_table: str) -> str:
    """Return SQL giving the comparison levels of every pair in ``pairs_table`` (l, r)."""
    return f"""
        WITH named AS (
            SELECT c.*, a.sn_bits AS a_sn_bits, b.sn_bits AS b_sn_bits, a.fn_bits AS a_fn_bits,
                   b.fn_bits AS b_fn_bits, a.sn_phon AS a_sn_phon, b.sn_phon AS b_sn_phon,
                   a.fn_phon AS a_fn_phon, b.fn_phon AS b_fn_phon,
                   {DOB_LEVEL_SQL} AS dob, {POSTCODE_LEVEL_SQL} AS pc, {SEX_LEVEL_SQL} AS sex,
                   {shared_values_sql()}, {BLOOM_COLUMNS_SQL}
            FROM {pairs_table} AS c
            JOIN entries AS a ON a.entry_id = c.l
            JOIN entries AS b ON b.entry_id = c.r
        ), compared AS (
            SELECT *, {dice_sql("a_sn", "b_sn")} AS sn_dice, {dice_sql("a_fn", "b_fn")} AS fn_dice,
                   {dice_sql("a_sn", "b_fn")} AS sn_fn_dice, {dice_sql("a_fn", "b_sn")} AS fn_sn_dice
            FROM named)
        SELECT * EXCLUDE ({BLOOM_ALIASES_SQL},
                          a_sn_bits, b_sn_bits, a_fn_bits, b_fn_bits, a_sn_phon, b_sn_phon, a_fn_phon, b_fn_phon,
                          sn_dice, fn_dice, sn_fn_dice, fn_sn_dice),
               {name_level_sql("sn")} AS sn, {name_level_sql("fn")} AS fn
        FROM compared"""


def shared_values_sql() -> str:
    """Return SQL columns giving, per pair (``a``, ``b``), the key of each value both entries
    share exactly (``<field>_shared``, null when they differ): what term frequencies weigh."""
    return ", ".join(
        f"CASE WHEN {key.format(side='a')} = {key.format(side='b')} THEN {key.format(side='a')} END AS {name}_shared"
        for name, (key, _) in TERM_FREQUENCY_FIELDS.items()
    )


DEFAULT_M: dict[str, list[float]] = {
    "sn": [0.04, 0.06, 0.15, 0.75], "fn": [0.05, 0.05, 0.15, 0.75],
    "dob": [0.02, 0.08, 0.05, 0.85], "pc": [0.15, 0.1, 0.75], "sex": [0.05, 0.95],
}  # fmt: skip


def level_distribution(patterns: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> dict[str, list[float]]:
    """Return per field the weighted share of each level, ignoring missing values (smoothed)."""
    result = {}
    for index, name in enumerate(FIELDS):
        levels = patterns[:, index]
        present = levels >= 0
        totals = (
            np.array(
                [
                    np.sum(counts[present & (levels == lv)] * weights[present & (levels == lv)])
                    for lv in range(LEVEL_COUNTS[name])
                ]
            )
            + SMOOTHING_COUNT
        )
        result[name] = list(totals / totals.sum())
    return result


def pattern_probabilities(
    patterns: np.ndarray, m: Mapping[str, list[float]], u: Mapping[str, list[float]], prior: float
) -> np.ndarray:
    """Return the match probability of each comparison pattern under m, u and the prior."""
    log_odds = np.full(len(patterns), np.log(prior / (1 - prior)))
    for index, name in enumerate(FIELDS):
        levels = patterns[:, index]
        present = levels >= 0
        m_values, u_values = np.asarray(m[name]), np.asarray(u[name])
        log_odds[present] += np.log(m_values[levels[present]]) - np.log(u_values[levels[present]])
    return 1 / (1 + np.exp(-log_odds))


def estimate_m_by_em(
    patterns: np.ndarray,
    counts: np.ndarray,
    fields: frozenset[str],
    u: Mapping[str, list[float]],
    iterations: int,
) -> tuple[dict[str, list[float]], float]:
    """Return (m for ``fields``, match share) estimated by EM with ``u`` held fixed.

    Only the columns of ``fields`` enter the likelihood, so a pass's blocking fields, which
    agree by construction, do not bias the estimate.
    """
    m = {name: list(DEFAULT_M[name]) for name in fields}
    prior = 0.1
    mask = [name in fields for name in FIELDS]
    for _ in range(iterations):
        full_m = {name: m.get(name, [1.0] * LEVEL_COUNTS[name]) for name in FIELDS}
        full_u = {name: list(u[name]) if name in fields else [1.0] * LEVEL_COUNTS[name] for name in FIELDS}
        weights = pattern_probabilities(np.where(mask, patterns, MISSING), full_m, full_u, prior)
        new_prior = float(np.sum(counts * weights) / np.sum(counts))
        estimated = level_distribution(patterns, counts, weights)
        m = {name: estimated[name] for name in fields}
        converged = abs(new_prior - prior) < 1e-6
        prior = min(max(new_prior, 1e-6), 0.999)
        if converged:
            break
    return m, prior


def match_prior(con: duckdb.DuckDBPyConnection, m: Mapping[str, list[float]], u: Mapping[str, list[float]]) -> float:
    """Return the probability that two random entries (not both with a BSN) are one person.

    The number of such persons' pairs is estimated from the candidates that agree exactly on
    surname and birth date (all of which the birth-date pass finds), less the non-matches
    expected to agree by chance, divided by the share of matches that agree on both.
    """
    row = con.sql(
        """SELECT (SELECT count(*) FROM pair_levels WHERE sn = 3 AND dob = 3) AS top,
                  (SELECT count(*) FROM linkable_entries) AS n,
                  (SELECT count(*) FROM linkable_entries WHERE bsn_token IS NOT NULL) AS n_bsn"""
    ).fetchall()[0]
    top, n, n_bsn = (int(v) for v in row)
    universe = n * (n - 1) / 2 - n_bsn * (n_bsn - 1) / 2
    if universe <= 0:
        return 1e-9
    by_chance = universe * u["sn"][3] * u["dob"][3]
    matches = max(top - by_chance, 1.0) / (m["sn"][3] * m["dob"][3])
    return float(min(max(matches / universe, 1e-12), 0.5))


FREQUENT_ENTRIES_SQL = """
    CREATE OR REPLACE TEMP TABLE frequent_entries AS
    SELECT entry_id FROM entries
    WHERE qid_token IN (SELECT qid_token FROM entries WHERE qid_token IS NOT NULL
                        GROUP BY qid_token HAVING count(*) > $most)"""


LINKABLE_ENTRIES_SQL = """
    CREATE OR REPLACE TEMP VIEW linkable_entries AS
    SELECT * FROM entries
    WHERE entry_id NOT IN (SELECT entry_id FROM frequent_entries)
      AND (sn_bits IS NOT NULL OR fn_bits IS NOT NULL OR birth_year IS NOT NULL OR pc_full IS NOT NULL)"""
"""The entries that can be linked at all: the match prior, u and term frequencies are
estimated on them, so that placeholder rows (no usable identifier, or one shared identity)
do not dilute the evidence for everyone else."""


CANDIDATE_PASSES_SQL = (
    "CREATE OR REPLACE TEMP TABLE candidate_passes (l BIGINT, r BIGINT, pass ENUM("
    + ", ".join(f"'{name}'" for name in BLOCKING_KEYS)
    + "))"
)
"""The pairs of every pass; the pass as an enumeration (one byte a row, not a string)."""


def find_candidates(
    con: duckdb.DuckDBPyConnection, *, left_filter: str, parameters: LinkageParameters | None = None
) -> BlockingResult:
    """Create ``candidate_pairs`` (l, r) and ``candidate_passes`` (l, r, pass) over every
    blocking pass, pass by pass; return pairs per pass and what was skipped.

    Entries sharing surname, birth date and postcode with more than twice
    ``max_cluster_size`` others identify no one and take no part; a block shared by more than
    ``max_block_entries`` entries (a placeholder name or date, a care home's postcode)
    proposes no pairs, so memory stays bounded whatever the data holds.
    """
    parameters = parameters or LinkageParameters()
    result = BlockingResult()
    con.execute(FREQUENT_ENTRIES_SQL, {"most": 2 * parameters.max_cluster_size})
    con.execute(LINKABLE_ENTRIES_SQL)
    result.frequent_value_entries = int(con.sql("SELECT count(*) FROM frequent_entries").fetchall()[0][0])
    con.execute(CANDIDATE_PASSES_SQL)
    for name in BLOCKING_KEYS:
        cap = min(parameters.max_block_entries, PASS_BLOCK_CAPS.get(name, parameters.max_block_entries))
        con.execute(f"CREATE OR REPLACE TEMP TABLE oversized_keys AS {oversized_keys_sql(name)}", {"cap": cap})
        skipped, entries = con.sql("SELECT count(*), coalesce(sum(n), 0) FROM oversized_keys").fetchall()[0]
        if name not in PASS_BLOCK_CAPS:
            result.skipped_blocks[name], result.skipped_block_entries[name] = int(skipped), int(entries)
        pairs = blocking_sql(name, left_filter=left_filter)
        # one row per pair and pass already: each (l, r) of the join comes out once
        con.execute(
            f"INSERT INTO candidate_passes SELECT l, r, $pass FROM ({pairs})",
            {"pass": name, "whole": parameters.block_compared, "window": max(1, parameters.block_compared // 3)},
        )
    con.execute("DROP TABLE oversized_keys")
    per_pass = query_frame(con, "SELECT pass, count(*) AS n FROM candidate_passes GROUP BY pass")
    con.execute("CREATE OR REPLACE TEMP TABLE candidate_pairs AS SELECT DISTINCT l, r FROM candidate_passes")
    counts = dict(zip(per_pass["pass"].to_list(), per_pass["n"].to_list(), strict=True))
    result.pairs_per_pass = {name: int(counts.get(name, 0)) for name in BLOCKING_KEYS}
    return result


@dataclass
class BlockingResult:
    """What blocking proposed and what it left out."""

    pairs_per_pass: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)
    skipped_block_entries: dict[str, int] = field(default_factory=dict)
    frequent_value_entries: int = 0


def _level_patterns(con: duckdb.DuckDBPyConnection, pairs_sql: str) -> tuple[np.ndarray, np.ndarray]:
    con.execute(f"CREATE OR REPLACE TEMP TABLE sample_pairs AS {pairs_sql}")
    frame = query_frame(
        con, f"SELECT {', '.join(FIELDS)}, count(*) AS n FROM ({comparison_sql('sample_pairs')}) GROUP BY ALL"
    )
    con.execute("DROP TABLE sample_pairs")
    return frame.select(FIELDS).to_numpy().astype(np.int64).reshape(-1, len(FIELDS)), frame["n"].to_numpy().astype(
        float
    )


def random_pair_u(con: duckdb.DuckDBPyConnection, pairs: int) -> dict[str, list[float]]:
    """Return u: the share of each comparison level among random pairs of entries (almost all
    of them two different persons; pairs sharing a BSN pseudonym are left out)."""
    permutations = " UNION ALL ".join(
        f"""SELECT a.entry_id AS l, b.entry_id AS r FROM
              (SELECT entry_id, bsn_token, row_number() OVER (ORDER BY hash(entry_id, {seed})) AS k
               FROM linkable_entries) AS a
              JOIN (SELECT entry_id, bsn_token, row_number() OVER (ORDER BY hash(entry_id, {seed + 10})) AS k
                    FROM linkable_entries) AS b USING (k)
            WHERE a.entry_id <> b.entry_id AND (a.bsn_token IS NULL OR a.bsn_token IS DISTINCT FROM b.bsn_token)"""
        for seed in (1, 2, 3)
    )
    matrix, counts = _level_patterns(con, f"SELECT * FROM ({permutations}) LIMIT {int(pairs)}")
    return level_distribution(matrix, counts, np.ones_like(counts))


def same_bsn_m(con: duckdb.DuckDBPyConnection, pairs: int) -> tuple[dict[str, list[float]], int]:
    """Return m from pairs of entries that share a BSN pseudonym (free ground truth, not
    filtered by blocking) and how many pairs it rests on."""
    matrix, counts = _level_patterns(
        con,
        f"""SELECT a.entry_id AS l, b.entry_id AS r FROM entries AS a JOIN entries AS b
            ON a.bsn_token = b.bsn_token AND a.entry_id < b.entry_id
            ORDER BY hash(a.entry_id) LIMIT {int(pairs)}""",
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


def entry_count(con: duckdb.DuckDBPyConnection) -> int:
    """Return the number of linkable entries (see :data:`LINKABLE_ENTRIES_SQL`)."""
    return int(con.sql("SELECT count(*) FROM linkable_entries").fetchall()[0][0])


def scoring_sql() -> str:
    """Return SQL creating ``scored_pairs``: each pair's probability from its pattern's log-odds,
    adjusted where it agrees exactly on a surname, first name or postcode by how common that
    value is (a shared rare name is stronger evidence than a shared common one); only pairs at or
    above ``$review`` are kept, with both entries' providers."""
    joins, adjustments = [], []
    for name, (key_sql, level) in TERM_FREQUENCY_FIELDS.items():
        joins.append(
            f"LEFT JOIN (SELECT {key_sql.format(side='e')} AS k, count(*) / (SELECT count(*) FROM linkable_entries) "
            f"AS tf FROM linkable_entries AS e GROUP BY k) AS tf_{name} ON tf_{name}.k = p.{name}_shared "
            f"AND p.{name} = {level}"
        )
        adjustments.append(
            f"CASE WHEN tf_{name}.tf IS NULL THEN 0 ELSE ln($u_{name} / greatest(tf_{name}.tf, $floor)) END"
        )
    return f"""
        CREATE OR REPLACE TEMP TABLE scored_pairs AS
        WITH scored AS (
            SELECT p.l, p.r, 1 / (1 + exp(-(f.log_odds + {" + ".join(adjustments)}))) AS probability
            FROM pair_levels AS p JOIN log_odds_frame AS f USING ({", ".join(FIELDS)})
            {" ".join(joins)})
        SELECT s.l, s.r, s.probability, a.provider AS provider_l, b.provider AS provider_r
        FROM scored AS s JOIN entries AS a ON a.entry_id = s.l JOIN entries AS b ON b.entry_id = s.r
        WHERE s.probability >= $review"""


def link_probabilistically(con: duckdb.DuckDBPyConnection, parameters: LinkageParameters) -> LinkageReport:
    """Score candidate pairs, select links and leave ``entry_person`` (entry_id, person_id,
    link_method, zekerheid, entry_zekerheid) in the store; return what was done.

    Entries with the same BSN pseudonym start as one cluster; accepted links then merge
    clusters from the most to the least probable, unless that would put two different BSNs
    or more than ``max_cluster_size`` entries in one person.
    """
    report = LinkageReport()
    started = time.perf_counter()
    blocking = find_candidates(con, left_filter="l.bsn_token IS NULL", parameters=parameters)
    report.pairs_per_pass, report.skipped_blocks = blocking.pairs_per_pass, blocking.skipped_blocks
    report.skipped_block_entries = blocking.skipped_block_entries
    report.frequent_value_entries = blocking.frequent_value_entries
    report.candidate_pairs = int(con.sql("SELECT count(*) FROM candidate_pairs").fetchall()[0][0])
    report.seconds["blocking"] = round(time.perf_counter() - started, 3)

    mark = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE pair_levels AS {comparison_sql('candidate_pairs')}")
    patterns = query_frame(con, f"SELECT {', '.join(FIELDS)}, count(*) AS n FROM pair_levels GROUP BY ALL")
    report.seconds["comparing"] = round(time.perf_counter() - mark, 3)

    mark = time.perf_counter()
    u = random_pair_u(con, parameters.random_pairs)
    m, labelled = same_bsn_m(con, parameters.labelled_pairs)
    report.labelled_matches = labelled
    if labelled < MIN_LABELLED_MATCHES:
        m = m_from_passes(con, u, parameters.em_iterations)
    prior = match_prior(con, m, u)
    if patterns.height:
        matrix = patterns.select(FIELDS).to_numpy().astype(np.int64)
        probabilities = np.clip(pattern_probabilities(matrix, m, u, prior), 1e-15, 1 - 1e-15)
        log_odds_frame = patterns.select(FIELDS).with_columns(
            pl.Series("log_odds", np.log(probabilities / (1 - probabilities)))
        )
        con.register("log_odds_frame", log_odds_frame)
        con.execute(
            scoring_sql(),
            {
                "review": parameters.review_threshold,
                "floor": 1.0 / max(1, entry_count(con)),
                **{f"u_{name}": float(u[name][level]) for name, (_, level) in TERM_FREQUENCY_FIELDS.items()},
            },
        )
        con.unregister("log_odds_frame")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE scored_pairs (l BIGINT, r BIGINT, probability DOUBLE, provider_l VARCHAR, "
            "provider_r VARCHAR)"
        )
    report.m, report.u, report.match_prior = m, u, prior
    report.seconds["estimating"] = round(time.perf_counter() - mark, 3)

    mark = time.perf_counter()
    best = query_frame(
        con,
        """WITH ranked AS (
               SELECT *,
                   row_number() OVER (PARTITION BY l, provider_r ORDER BY probability DESC, r) AS rank_l,
                   row_number() OVER (PARTITION BY r, provider_l ORDER BY probability DESC, l) AS rank_r
               FROM scored_pairs)
           SELECT l, r, probability FROM ranked WHERE rank_l = 1 AND rank_r = 1
           ORDER BY probability DESC, l, r""",
    )
    accepted = best.filter(pl.col("probability") >= parameters.link_threshold)
    report.review_pairs = best.height - accepted.height
    _cluster(con, accepted, parameters, report)
    report.seconds["clustering"] = round(time.perf_counter() - mark, 3)
    return report


def _note_strongest(strongest: dict[int, float], left: int, right: int, probability: float) -> None:
    """Keep, per base cluster, the probability of its strongest accepted link into its person."""
    for cluster in (left, right):
        strongest[cluster] = max(strongest.get(cluster, 0.0), probability)


def _cluster(
    con: duckdb.DuckDBPyConnection, links: pl.DataFrame, parameters: LinkageParameters, report: LinkageReport
) -> None:
    """Merge base clusters (one per BSN, else per entry) along ``links``, strongest first, and
    write ``entry_person``: per entry its person, how it was linked, the weakest link of its
    person (``zekerheid``) and the strongest accepted link of its own base cluster
    (``entry_zekerheid``; the person's weakest where it has none)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE base_cluster AS
           SELECT entry_id, bsn_token,
                  dense_rank() OVER (ORDER BY CASE WHEN bsn_token IS NOT NULL THEN 'b' || bsn_token
                                                   ELSE 'e' || entry_id END) AS cluster
           FROM entries"""
    )
    touched = pl.concat([links["l"], links["r"]]).unique().to_frame("entry_id")
    con.register("touched_entries", touched)
    base = query_frame(
        con,
        """WITH sized AS (
               SELECT entry_id, cluster, bsn_token, count(*) OVER (PARTITION BY cluster) AS size FROM base_cluster)
           SELECT * FROM sized
           WHERE cluster IN (SELECT cluster FROM base_cluster JOIN touched_entries USING (entry_id))""",
    )
    con.unregister("touched_entries")
    cluster_of = dict(zip(base["entry_id"].to_list(), base["cluster"].to_list(), strict=True))
    parent: dict[int, int] = {}
    bsn: dict[int, str | None] = {}
    size: dict[int, int] = {}
    weakest: dict[int, float] = {}
    for cluster, token, count in base.select("cluster", "bsn_token", "size").unique().iter_rows():
        parent[cluster], size[cluster] = cluster, count
        if token is not None:
            bsn[cluster] = token

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    strongest: dict[int, float] = {}
    for left, right, probability in links.iter_rows():
        a, b = root(cluster_of[left]), root(cluster_of[right])
        if a == b:
            _note_strongest(strongest, cluster_of[left], cluster_of[right], probability)
            continue
        if bsn.get(a) is not None and bsn.get(b) is not None and bsn[a] != bsn[b]:
            report.rejected_bsn_conflict += 1
            continue
        if size[a] + size[b] > parameters.max_cluster_size:
            report.rejected_cluster_size += 1
            continue
        a, b = min(a, b), max(a, b)
        parent[b] = a
        size[a] += size[b]
        bsn[a] = bsn.get(a) or bsn.get(b)
        weakest[a] = min(weakest.get(a, 1.0), weakest.get(b, 1.0), probability)
        _note_strongest(strongest, cluster_of[left], cluster_of[right], probability)
        report.links += 1
    mapping = pl.DataFrame(
        {
            "cluster": list(parent),
            "root": [root(c) for c in parent],
            "entry_zekerheid": [strongest.get(c) for c in parent],
        },
        schema={"cluster": pl.Int64, "root": pl.Int64, "entry_zekerheid": pl.Float64},
    ).with_columns(pl.col("root").replace_strict(weakest, default=None, return_dtype=pl.Float64).alias("zekerheid"))
    con.register("cluster_mapping", mapping)
    con.execute(
        """CREATE OR REPLACE TABLE entry_person AS
           WITH resolved AS (
               SELECT b.entry_id, b.bsn_token, coalesce(m.root, b.cluster) AS root, m.zekerheid,
                      m.entry_zekerheid
               FROM base_cluster AS b LEFT JOIN cluster_mapping AS m USING (cluster))
           SELECT entry_id,
                  dense_rank() OVER (ORDER BY root) AS person_id,
                  CASE WHEN bsn_token IS NOT NULL THEN 'bsn'
                       WHEN count(*) OVER (PARTITION BY root) > 1 THEN 'probabilistic'
                       ELSE 'none' END AS link_method,
                  coalesce(zekerheid, 1.0) AS zekerheid,
                  coalesce(entry_zekerheid, zekerheid, 1.0) AS entry_zekerheid
           FROM resolved"""
    )
    con.unregister("cluster_mapping")
