"""Stage 2 on top of stage 1 keeps every relation the linkage uses and nothing of stage 1."""

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from hashing.encodings import BLOOM_BITS, FN_WORDS, SN_WORDS
from hashing.keys import PseudonymKey
from hashing.pseudonyms import pseudonymise_entries
from hashing.two_stage import (
    STAGE_TWO_TOKEN_PURPOSES,
    apply_stage_two,
    bloom_permutation,
    permute_bloom_words,
    two_stage_key_id,
)

STAGE_ONE = PseudonymKey("kstage1", b"1" * 32, purpose="stage1")
TTP = PseudonymKey("kttp", b"2" * 32)
OTHER_TTP = PseudonymKey("kother", b"3" * 32)


def accepted_rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_row": [1, 2, 3, 4],
            "agb_code": ["22000001", "22000002", "22000003", "22000003"],
            "client_id": ["a", "b", "c", "d"],
            "bsn": ["123456782", "123456782", None, "111222333"],
            "bsn_status": ["valid", "valid", "missing", "valid"],
            "geboortedatum": [dt.date(1980, 5, 17), dt.date(1980, 5, 17), dt.date(1980, 17 % 12, 5), None],
            "achternaam": ["Jansen", "Janssen", "Emma", "Vries"],
            "tussenvoegsel": [None, None, None, "de"],
            "voornaam": ["Emma", "Ema", "Jansen", None],
            "postcode": ["1234AB", "1234AB", "1234AC", None],
            "geslacht": ["V", "V", None, "M"],
            "uzovi": ["3311"] * 4,
            "sector": ["ggz"] * 4,
            "zorgvraag": [None] * 4,
            "verwijsdatum": [None] * 4,
            "aanmelddatum": [dt.date(2026, 9, 1)] * 4,
            "wachtfase": ["aanmelding"] * 4,
            "peildatum": [dt.date(2026, 11, 1)] * 4,
        },
        schema_overrides={"zorgvraag": pl.Utf8, "verwijsdatum": pl.Date},
    )


def words_matrix(frame: pl.DataFrame, words: tuple[str, ...]) -> np.ndarray:
    matrix = np.ascontiguousarray(frame.select(words).fill_null(0).to_numpy(), dtype="<u8")
    return np.unpackbits(matrix.view(np.uint8), axis=1, bitorder="little")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, BLOOM_BITS - 1), max_size=40), min_size=2, max_size=6))
def test_the_permutation_keeps_every_dice_similarity_and_popcount(bit_sets: list[list[int]]):
    rows = []
    for bits in bit_sets:
        value = sum(1 << b for b in set(bits))
        rows.append([(value >> (64 * i)) & (2**64 - 1) for i in range(8)])
    frame = pl.DataFrame(rows, schema={w: pl.UInt64 for w in SN_WORDS}, orient="row")
    moved = permute_bloom_words(frame, SN_WORDS, bloom_permutation(TTP))
    before, after = words_matrix(frame, SN_WORDS), words_matrix(moved, SN_WORDS)
    assert (before.sum(axis=1) == after.sum(axis=1)).all()
    assert ((before @ before.T) == (after @ after.T)).all()  # pairwise overlaps, hence Dice


def test_the_permutation_is_keyed():
    assert sorted(bloom_permutation(TTP)) == list(range(BLOOM_BITS))
    assert (bloom_permutation(TTP) == bloom_permutation(TTP)).all()
    assert not (bloom_permutation(TTP) == bloom_permutation(OTHER_TTP)).all()


def test_stage_two_keeps_equalities_and_shares_no_value_with_stage_one():
    stage_one = pseudonymise_entries(accepted_rows(), STAGE_ONE)
    stage_two = apply_stage_two(stage_one, TTP, STAGE_ONE.key_id)
    for column in STAGE_TWO_TOKEN_PURPOSES:
        one, two = stage_one[column].to_list(), stage_two[column].to_list()
        for i in range(len(one)):
            for j in range(len(one)):
                assert (one[i] == one[j]) == (two[i] == two[j]), column
            assert (one[i] is None) == (two[i] is None)
            assert one[i] is None or (one[i] != two[i] and len(one[i]) == len(two[i]))
    # day and month share one token space, so a day-month swap still shows
    assert (stage_one["dob_month"][0] == stage_one["dob_day"][2]) == (
        stage_two["dob_month"][0] == stage_two["dob_day"][2]
    )
    # surname and first name share the permutation, so swapped names still compare
    for i in range(4):
        for j in range(4):
            same_before = (words_matrix(stage_one, SN_WORDS)[i] == words_matrix(stage_one, FN_WORDS)[j]).all()
            same_after = (words_matrix(stage_two, SN_WORDS)[i] == words_matrix(stage_two, FN_WORDS)[j]).all()
            assert same_before == same_after
    assert stage_two["fn_bf0"].null_count() == stage_one["fn_bf0"].null_count() == 1
    assert set(stage_two["key_id"]) == {two_stage_key_id(STAGE_ONE.key_id, TTP)} == {"kstage1>kttp"}


def test_another_ttp_key_gives_unrelated_pseudonyms():
    stage_one = pseudonymise_entries(accepted_rows(), STAGE_ONE)
    ours = apply_stage_two(stage_one, TTP, STAGE_ONE.key_id)
    theirs = apply_stage_two(stage_one, OTHER_TTP, STAGE_ONE.key_id)
    for column in STAGE_TWO_TOKEN_PURPOSES:
        assert not set(ours[column].drop_nulls()) & set(theirs[column].drop_nulls()), column
