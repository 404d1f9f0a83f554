import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashing.encodings import (
    BLOOM_BITS,
    ENCODING_COLUMNS,
    FN_WORDS,
    SN_WORDS,
    BloomEncoder,
    encode_quasi_identifiers,
    normalised_first_name_expr,
    phonetic_code,
)
from hashing.keys import PseudonymKey

KEY = PseudonymKey("k1", b"a" * 32)
OTHER = PseudonymKey("k2", b"b" * 32)


def people() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "achternaam": ["Jansen", "Janssen", "Vries"],
            "tussenvoegsel": [None, None, "de"],
            "voornaam": ["Emma", "Ema", None],
            "birth_month": [5, 5, 11],
            "birth_day": [17, 17, 3],
            "postcode": ["1234AB", "1234AC", None],
            "geslacht": ["V", "V", "M"],
        }
    )


def dice(frame: pl.DataFrame, words: tuple[str, ...], i: int, j: int) -> float:
    a = [frame[w][i] for w in words]
    b = [frame[w][j] for w in words]
    overlap = sum((x & y).bit_count() for x, y in zip(a, b, strict=True))
    return 2 * overlap / (sum(x.bit_count() for x in a) + sum(y.bit_count() for y in b))


def test_same_input_and_key_give_the_same_encoding():
    first, second = encode_quasi_identifiers(people(), KEY), encode_quasi_identifiers(people(), KEY)
    assert first.columns == list(ENCODING_COLUMNS)
    assert first.equals(second)


def test_another_key_gives_unrelated_encodings():
    ours, theirs = encode_quasi_identifiers(people(), KEY), encode_quasi_identifiers(people(), OTHER)
    for column in ("sn_phon", "fn_phon", "dob_month", "dob_day", "pc_full", "pc_area", "sex_tok"):
        assert set(ours[column].drop_nulls()).isdisjoint(set(theirs[column].drop_nulls())), column
    shared_bits = sum((ours[w][0] & theirs[w][0]).bit_count() for w in SN_WORDS)
    assert shared_bits < 0.5 * ours["sn_bits"][0]


def test_similar_names_have_similar_filters_and_missing_stays_missing():
    encoded = encode_quasi_identifiers(people(), KEY)
    assert dice(encoded, SN_WORDS, 0, 1) > 0.8
    assert dice(encoded, SN_WORDS, 0, 2) < 0.4
    assert encoded["sn_phon"][0] == encoded["sn_phon"][1]
    assert encoded["dob_month"][0] == encoded["dob_month"][1] != encoded["dob_day"][0]
    assert encoded["pc_area"][0] == encoded["pc_area"][1] and encoded["pc_full"][0] != encoded["pc_full"][1]
    assert encoded["fn_bits"][2] is None and all(encoded[w][2] is None for w in FN_WORDS)


def test_day_and_month_share_one_token_space():
    frame = people().with_columns(pl.Series("birth_month", [3, 5, 11]), pl.Series("birth_day", [5, 3, 3]))
    encoded = encode_quasi_identifiers(frame, KEY)
    assert encoded["dob_month"][0] == encoded["dob_day"][1]
    assert encoded["dob_day"][0] == encoded["dob_month"][1]


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20))
def test_bloom_filters_stay_within_their_bits(name: str):
    value = BloomEncoder(b"k" * 32).encode(name)
    assert 0 < value < 1 << BLOOM_BITS


@pytest.mark.parametrize(
    ("names", "same"),
    [
        (("jansen", "janssen", "jansens"), True),
        (("meijer", "meyer", "meier"), True),
        (("dijkstra", "dykstra"), True),
        (("bakker", "backer"), True),
        (("jansen", "bakker"), False),
    ],
)
def test_dutch_phonetic_code(names: tuple[str, ...], same: bool):
    codes = {phonetic_code(n) for n in names}
    assert (len(codes) == 1) is same


def test_first_name_normalisation():
    frame = pl.DataFrame({"v": ["Emma Louise", "ja xson", "stroe h", "J. Emma", "Zoë", None, "--"]})
    assert frame.select(normalised_first_name_expr("v").alias("n"))["n"].to_list() == [
        "emma",
        "jaxson",
        "stroeh",
        "jemma",
        "zoe",
        None,
        None,
    ]
