import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from hashing.bsn import BSN_WEIGHTS, bsn_passes_check_expr, is_valid_bsn, normalised_bsn_expr


def with_check_digit(prefix: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(prefix, BSN_WEIGHTS[:8], strict=True))
    check = total % 11
    return None if check == 10 or total == 0 else prefix + str(check)


def test_known_numbers():
    assert is_valid_bsn("999999151")
    assert is_valid_bsn("111222333")
    assert not is_valid_bsn("123456789")
    assert not is_valid_bsn("000000000")
    assert not is_valid_bsn("12345678")


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 8), st.integers(1, 9))
def test_one_changed_digit_fails_the_check(prefix: str, position: int, delta: int):
    bsn = with_check_digit(prefix)
    if bsn is None:
        return
    assert is_valid_bsn(bsn)
    changed = bsn[:position] + str((int(bsn[position]) + delta) % 10) + bsn[position + 1 :]
    assert not is_valid_bsn(changed)


@given(st.lists(st.text(alphabet="0123456789", min_size=9, max_size=9), min_size=1, max_size=50))
def test_vectorised_check_equals_scalar_check(numbers: list[str]):
    frame = pl.DataFrame({"bsn": numbers}).select(bsn_passes_check_expr(pl.col("bsn")).alias("ok"))
    assert frame["ok"].to_list() == [is_valid_bsn(n) for n in numbers]


def test_normalisation_pads_eight_digits_and_strips_separators():
    frame = pl.DataFrame({"bsn": ["99999151", "999 99 9151", "999.999.151", "12345", "abcdefghi", None]})
    assert frame.select(normalised_bsn_expr("bsn"))["bsn"].to_list() == [
        "099999151",
        "999999151",
        "999999151",
        None,
        None,
        None,
    ]
