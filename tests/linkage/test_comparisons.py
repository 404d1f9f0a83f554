import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from hashing.encodings import BLOOM_WORDS
from linkage.comparisons import dice_sql, linking_columns_sql

WORD = st.integers(min_value=0, max_value=2**64 - 1)
FILTER = st.lists(WORD, min_size=BLOOM_WORDS, max_size=BLOOM_WORDS)


def popcount_dice(left: list[int], right: list[int]) -> float | None:
    """The Dice similarity of two filters of 64-bit words, counted in Python."""
    bits = sum(w.bit_count() for w in left) + sum(w.bit_count() for w in right)
    common = sum((a & b).bit_count() for a, b in zip(left, right, strict=True))
    return None if bits == 0 else 2.0 * common / bits


@settings(max_examples=60, deadline=None)
@given(sn=FILTER, fn=FILTER, other_sn=FILTER, other_fn=FILTER, high_bits=st.booleans())
def test_packed_filters_give_the_dice_of_the_staged_words_bit_for_bit(sn, fn, other_sn, other_fn, high_bits):
    if high_bits:  # every word's top bit set: the signed packing must keep it
        sn, other_fn = [w | 2**63 for w in sn], [w | 2**63 for w in other_fn]
    with duckdb.connect() as con:
        words = ", ".join(f"?::UBIGINT AS {n}_bf{i}" for n in ("sn", "fn") for i in range(BLOOM_WORDS))
        for table, (s, f) in {"a": (sn, fn), "b": (other_sn, other_fn)}.items():
            con.execute(f"CREATE TABLE {table}_words AS SELECT {words}", [*s, *f])
            bits = f"{sum(w.bit_count() for w in s)} AS sn_bits, {sum(w.bit_count() for w in f)} AS fn_bits"
            con.execute(f"CREATE TABLE {table} AS SELECT *, {bits} FROM ({linking_columns_sql(f'{table}_words')})")
        pairs = [("sn", "sn"), ("fn", "fn"), ("sn", "fn"), ("fn", "sn")]
        sql = ", ".join(dice_sql(f"a.{x}", f"b.{y}") for x, y in pairs)
        found = con.execute(f"SELECT {sql} FROM a, b").fetchone()
    assert found == (
        popcount_dice(sn, other_sn),
        popcount_dice(fn, other_fn),
        popcount_dice(sn, other_fn),
        popcount_dice(fn, other_sn),
    )
