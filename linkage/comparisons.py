"""Comparison levels of a candidate pair on keyed encodings: SQL builders over the ``entries``
table (names by the Dice similarity of their Bloom filters, birth date by which parts agree,
postcode, sex), with the shared values that term frequencies weigh."""

from __future__ import annotations

from hashing.encodings import BLOOM_WORDS

FIELDS: tuple[str, ...] = ("sn", "fn", "dob", "pc", "sex")


MISSING = -1


LEVEL_COUNTS: dict[str, int] = {"sn": 4, "fn": 4, "dob": 4, "pc": 3, "sex": 2}


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
