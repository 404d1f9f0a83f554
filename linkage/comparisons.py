"""Comparison levels of a candidate pair on keyed encodings: SQL builders over the ``entries``
table (names by the Dice similarity of their Bloom filters, birth date by which parts agree,
postcode, sex), with the shared values that term frequencies weigh."""

from __future__ import annotations

from hashing.encodings import BLOOM_WORDS

FIELDS: tuple[str, ...] = ("sn", "fn", "dob", "pc", "sex")


MISSING = -1


NAME_BANDS: tuple[float, ...] = (0.55, 0.7, 0.8, 0.9, 0.98)
"""Dice similarities at which a name's level steps up: the m and u of every band are learnt, so
that a near miss weighs as much as the round shows it should (not four fixed bands)."""
LEVEL_COUNTS: dict[str, int] = {"sn": 6, "fn": 7, "dob": 6, "pc": 4, "sex": 2}
TOP_LEVEL: dict[str, int] = {"sn": 5, "fn": 6, "dob": 5, "pc": 3, "sex": 1}
"""The level of exact agreement of each field."""
LEVEL_LABELS: dict[str, tuple[str, ...]] = {
    "sn": ("anders", "Dice ≥ 0,55 of zelfde klank", "Dice ≥ 0,7", "Dice ≥ 0,8", "Dice ≥ 0,9", "gelijk (Dice ≥ 0,98)"),
    "fn": ("anders", "alleen voorletter gelijk", "Dice ≥ 0,55 of zelfde klank", "Dice ≥ 0,7", "Dice ≥ 0,8",
           "Dice ≥ 0,9", "gelijk (Dice ≥ 0,98)"),
    "dob": ("anders", "jaar en dag gelijk, maand anders", "jaar en maand gelijk, dag anders",
            "dag en maand gelijk, jaar anders", "dag en maand verwisseld", "gelijk"),
    "pc": ("anders", "zelfde PC4-gebied", "zelfde tekens, andere volgorde", "gelijk"),
    "sex": ("anders", "gelijk"),
}  # fmt: skip
"""What each level means, for the operator's page (Dutch: the operator reads it)."""


PACKED_WORDS = BLOOM_WORDS // 2
"""A linking table holds each Bloom filter as this many 128-bit integers (``<name>_bf128_<i>``):
half the AND and popcount operations of 64-bit words per Dice similarity (DuckDB counts the bits
of a HUGEINT, not of an unsigned one, so each is the signed integer with the same 128 bits)."""
_TWO_TO_64 = 2**64
_TWO_TO_63 = 2**63


def packed_filters_sql() -> str:
    """Return SQL columns packing the staged Bloom words ``<name>_bf0..7`` (UBIGINT) into
    :data:`PACKED_WORDS` HUGEINTs per name: word ``2i + 1`` as the high and word ``2i`` as the
    low 64 bits of ``<name>_bf128_<i>``, so that the bits of each 128-bit integer are exactly
    those of its two words."""
    columns = []
    for name in ("sn", "fn"):
        for i in range(PACKED_WORDS):
            high, low = f"{name}_bf{2 * i + 1}", f"{name}_bf{2 * i}"
            signed_high = (
                f"(CASE WHEN {high} >= {_TWO_TO_63} THEN {high}::HUGEINT - {_TWO_TO_64} ELSE {high}::HUGEINT END)"
            )
            columns.append(f"({signed_high} * {_TWO_TO_64} + {low}::HUGEINT) AS {name}_bf128_{i}")
    return ", ".join(columns)


def dice_sql(left: str, right: str) -> str:
    """Return SQL for the Dice similarity of the packed Bloom filters ``<left>_bf128_*`` and
    ``<right>_bf128_*`` (with popcounts ``<left>_bits`` and ``<right>_bits``)."""
    overlap = " + ".join(f"bit_count({left}_bf128_{i} & {right}_bf128_{i})::INTEGER" for i in range(PACKED_WORDS))
    return f"(2.0 * ({overlap}) / nullif({left}_bits + {right}_bits, 0))"


def _bands_sql(dice: str, same_sound: str, base: int) -> str:
    """Return SQL giving ``base + k`` for the ``k``-th Dice band ``dice`` reaches (the lowest band
    also when the two sound the same), else null."""
    bands = list(enumerate(NAME_BANDS))[1:]
    steps = " ".join(f"WHEN {dice} >= {threshold} THEN {base + k + 1}" for k, threshold in reversed(bands))
    return f"CASE {steps} WHEN {dice} >= {NAME_BANDS[0]} OR {same_sound} THEN {base + 1} END"


def name_level_sql(prefix: str) -> str:
    """Return SQL giving a name's comparison level: one per Dice band of :data:`NAME_BANDS`
    (the names written in each other's place compared crosswise), 0 different, -1 missing on
    either side. A first name has one more level below the bands: only the initials agree
    (``J.`` and ``Jan``, or ``Johannes`` and ``Jan``), which also serves when a first name is
    missing but both initials are known."""
    crossed = "sn_fn_dice" if prefix == "sn" else "fn_sn_dice"
    swapped = "(coalesce(sn_fn_dice, 0) + coalesce(fn_sn_dice, 0) > coalesce(sn_dice, 0) + coalesce(fn_dice, 0) + 0.5)"
    base = 1 if prefix == "fn" else 0
    same_sound = f"a_{prefix}_phon = b_{prefix}_phon"
    missing = f"a_{prefix}_bits IS NULL OR b_{prefix}_bits IS NULL"
    initials, only_initials = "0", ""
    if prefix == "fn":
        initials = "CASE WHEN a_fn_initial = b_fn_initial THEN 1 ELSE 0 END"
        only_initials = f"WHEN {missing} THEN {initials} "
        missing = f"({missing}) AND (a_fn_initial IS NULL OR b_fn_initial IS NULL)"
    return (
        f"CASE WHEN {missing} THEN {MISSING} {only_initials}"
        f"WHEN {swapped} THEN coalesce({_bands_sql(crossed, 'false', base)}, 0) "
        f"ELSE coalesce({_bands_sql(f'{prefix}_dice', same_sound, base)}, {initials}) END"
    )


DOB_LEVEL_SQL = f"""CASE
    WHEN a.birth_year IS NULL AND a.dob_month IS NULL AND a.dob_day IS NULL THEN {MISSING}
    WHEN b.birth_year IS NULL AND b.dob_month IS NULL AND b.dob_day IS NULL THEN {MISSING}
    WHEN a.birth_year = b.birth_year AND a.dob_month = b.dob_month AND a.dob_day = b.dob_day THEN 5
    WHEN a.birth_year = b.birth_year AND a.dob_month = b.dob_day AND a.dob_day = b.dob_month THEN 4
    WHEN a.dob_month = b.dob_month AND a.dob_day = b.dob_day THEN 3
    WHEN a.birth_year = b.birth_year AND a.dob_month = b.dob_month THEN 2
    WHEN a.birth_year = b.birth_year AND a.dob_day = b.dob_day THEN 1
    ELSE 0 END"""
"""Birth dates by which part differs: a wrong year (a typo in four digits) is more common in
true matches than a wrong month, and the weights show by how much."""


POSTCODE_LEVEL_SQL = f"""CASE WHEN a.pc_full IS NULL OR b.pc_full IS NULL THEN {MISSING}
    WHEN a.pc_full = b.pc_full THEN 3 WHEN a.pc_anagram = b.pc_anagram THEN 2
    WHEN a.pc_area = b.pc_area THEN 1 ELSE 0 END"""


SEX_LEVEL_SQL = f"""CASE WHEN a.sex_tok IS NULL OR b.sex_tok IS NULL THEN {MISSING}
    WHEN a.sex_tok = b.sex_tok THEN 1 ELSE 0 END"""


TERM_FREQUENCY_FIELDS: dict[str, tuple[str, int]] = {
    "sn": ("{side}.sn_key", TOP_LEVEL["sn"]),
    "fn": ("{side}.fn_key", TOP_LEVEL["fn"]),
    "pc": ("{side}.pc_full", TOP_LEVEL["pc"]),
}
"""Fields whose exact agreement is weighed by how common the value is: (value key, level). A
name's key is the hash of its Bloom filter, made once per entry (:data:`NAME_KEYS_SQL`)."""


NAME_KEYS_SQL = ", ".join(
    f"hash({', '.join(f'{name}_bf{i}' for i in range(BLOOM_WORDS))}) AS {name}_key" for name in ("sn", "fn")
)
"""The columns ``sn_key`` and ``fn_key`` of the linking table: a name's value for term frequencies."""

NAME_COLUMNS_SQL = f"{NAME_KEYS_SQL}, {packed_filters_sql()}"
"""The linking table's name columns made from the staged Bloom words: keys and packed filters."""

STAGED_WORDS_SQL = ", ".join(f"{n}_bf{i}" for n in ("sn", "fn") for i in range(BLOOM_WORDS))


def linking_columns_sql(relation: str) -> str:
    """Return SQL selecting every column of ``relation`` (a linking table's encodings, made
    elsewhere than from staged files) with its Bloom words replaced by the name columns of
    :data:`NAME_COLUMNS_SQL`."""
    return f"SELECT * EXCLUDE ({STAGED_WORDS_SQL}), {NAME_COLUMNS_SQL} FROM {relation}"


BLOOM_COLUMNS_SQL = ", ".join(
    f"a.{n}_bf128_{i} AS a_{n}_bf128_{i}, b.{n}_bf128_{i} AS b_{n}_bf128_{i}"
    for n in ("sn", "fn")
    for i in range(PACKED_WORDS)
)


BLOOM_ALIASES_SQL = ", ".join(f"a_{n}_bf128_{i}, b_{n}_bf128_{i}" for n in ("sn", "fn") for i in range(PACKED_WORDS))


def comparison_sql(pairs_table: str) -> str:
    """Return SQL giving the comparison levels of every pair in ``pairs_table`` (l, r; a table
    or a parenthesised query)."""
    return f"""
        WITH named AS (
            SELECT c.*, a.sn_bits AS a_sn_bits, b.sn_bits AS b_sn_bits, a.fn_bits AS a_fn_bits,
                   b.fn_bits AS b_fn_bits, a.sn_phon AS a_sn_phon, b.sn_phon AS b_sn_phon,
                   a.fn_phon AS a_fn_phon, b.fn_phon AS b_fn_phon,
                   a.fn_initial AS a_fn_initial, b.fn_initial AS b_fn_initial,
                   ({DOB_LEVEL_SQL})::TINYINT AS dob, ({POSTCODE_LEVEL_SQL})::TINYINT AS pc,
                   ({SEX_LEVEL_SQL})::TINYINT AS sex,
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
                          a_fn_initial, b_fn_initial,
                          sn_dice, fn_dice, sn_fn_dice, fn_sn_dice),
               ({name_level_sql("sn")})::TINYINT AS sn, ({name_level_sql("fn")})::TINYINT AS fn
        FROM compared"""


def shared_values_sql() -> str:
    """Return SQL columns giving, per pair (``a``, ``b``), the key of each value both entries
    share exactly (``<field>_shared``, null when they differ): what term frequencies weigh."""
    return ", ".join(
        f"CASE WHEN {key.format(side='a')} = {key.format(side='b')} THEN {key.format(side='a')} END AS {name}_shared"
        for name, (key, _) in TERM_FREQUENCY_FIELDS.items()
    )
