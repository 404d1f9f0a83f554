"""Blocking: the candidate pairs of a round, pass by pass, with bounded pairs per entry (SQL
builders and the function that runs them on a DuckDB connection holding ``entries``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from linkage.frames import query_frame
from linkage.parameters import LinkageParameters

RARE_NAME_BLOCK = 50
"""Surname + first name alone block only names shared by at most this many entries."""


DOB = ("birth_year", "dob_month", "dob_day")


BLOCKING_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "exacte_sleutel": (("qid_token",), ("qid_token",)),
    "geboortedatum": (DOB, DOB),
    "geboortejaar_achternaam": (("birth_year", "sn_phon"), ("birth_year", "sn_phon")),
    "postcode_geboortejaar": (("pc_full", "birth_year"), ("pc_full", "birth_year")),
    "achternaam_voornaam_pc4": (("sn_phon", "fn_phon", "pc_area"), ("sn_phon", "fn_phon", "pc_area")),
    "achternaam_voornaam_zeldzaam": (("sn_phon", "fn_phon"), ("sn_phon", "fn_phon")),
    "namen_verwisseld": (("sn_phon", "fn_phon", "birth_year"), ("fn_phon", "sn_phon", "birth_year")),
    "postcode_achternaam": (("pc_full", "sn_phon"), ("pc_full", "sn_phon")),
    "postcode_voornaam": (("pc_full", "fn_phon"), ("pc_full", "fn_phon")),
    "postcode_verwisseld": (("pc_anagram",), ("pc_anagram",)),
    "voornaam_pc4": (("fn_phon", "pc_area"), ("fn_phon", "pc_area")),
    "achternaam_pc4": (("sn_phon", "pc_area"), ("sn_phon", "pc_area")),
}
"""Blocking passes: a pair is a candidate when the left entry's keys equal the right entry's
keys (in the order given) of any pass."""


PASS_BLOCK_CAPS: dict[str, int] = {"achternaam_voornaam_zeldzaam": RARE_NAME_BLOCK}
"""Passes with a cap of their own below ``max_block_entries``."""


PASS_FIELDS: dict[str, frozenset[str]] = {
    "exacte_sleutel": frozenset({"sn", "dob", "pc"}),
    "geboortedatum": frozenset({"dob"}),
    "geboortejaar_achternaam": frozenset({"dob", "sn"}),
    "postcode_geboortejaar": frozenset({"pc", "dob"}),
    "achternaam_voornaam_pc4": frozenset({"sn", "fn", "pc"}),
    "achternaam_voornaam_zeldzaam": frozenset({"sn", "fn"}),
    "namen_verwisseld": frozenset({"sn", "fn", "dob"}),
    "postcode_achternaam": frozenset({"pc", "sn"}),
    "postcode_voornaam": frozenset({"pc", "fn"}),
    "postcode_verwisseld": frozenset({"pc"}),
    "voornaam_pc4": frozenset({"fn", "pc"}),
    "achternaam_pc4": frozenset({"sn", "pc"}),
}
"""The fields each blocking pass constrains: their m cannot be learnt from that pass's pairs."""


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
    "achternaam_voornaam_pc4": ("birth_year", "dob_month"),
    "achternaam_voornaam_zeldzaam": ("birth_year", "dob_month"),
    "namen_verwisseld": ("dob_month", "dob_day"),
    "postcode_achternaam": ("fn_phon", "birth_year"),
    "postcode_voornaam": ("sn_phon", "birth_year"),
    "postcode_verwisseld": ("sn_phon", "fn_phon", "birth_year"),
    "voornaam_pc4": ("sn_phon", "birth_year"),
    "achternaam_pc4": ("fn_phon", "birth_year"),
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


@dataclass
class BlockingResult:
    """What blocking proposed and what it left out."""

    pairs_per_pass: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)
    skipped_block_entries: dict[str, int] = field(default_factory=dict)
    frequent_value_entries: int = 0


def find_candidates(
    con: duckdb.DuckDBPyConnection, *, left_filter: str, parameters: LinkageParameters | None = None
) -> BlockingResult:
    """Create ``candidate_passes`` (l, r, pass) over every blocking pass, pass by pass (a pair
    found by several passes is listed once per pass); return pairs per pass and what was skipped.

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
    counts = dict(zip(per_pass["pass"].to_list(), per_pass["n"].to_list(), strict=True))
    result.pairs_per_pass = {name: int(counts.get(name, 0)) for name in BLOCKING_KEYS}
    return result
