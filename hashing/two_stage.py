"""Two-stage pseudonymisation: providers pseudonymise with a shared stage-1 key, the TTP
applies its own stage-2 key on top, so that plain identifiers never leave a provider and
neither party alone can recompute the stored pseudonyms.

Stage 2 keeps every relation the linkage uses: equal stage-1 tokens give equal stage-2 tokens
(HMAC is a function), tokens that share a space keep sharing it (both name-phonetic tokens,
both date parts), and Bloom filters get one keyed permutation of their 512 bit positions
(the same for surname and first name), which leaves every Dice similarity and popcount as it
was. A two-stage round therefore links exactly as a plain round of the same extracts does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from hashing.encodings import (
    BLOOM_BITS,
    BLOOM_WORDS,
    FN_WORDS,
    PURPOSE_DATE_PART,
    PURPOSE_PHONETIC,
    PURPOSE_POSTCODE,
    PURPOSE_SEX,
    SN_WORDS,
    TOKEN_HEX,
)
from hashing.keyed_hash import KeyedHasher, map_distinct
from hashing.keys import PseudonymKey
from hashing.pseudonyms import PURPOSE_BSN, PURPOSE_QUASI_IDENTIFIER

STAGE_TWO_PREFIX = "stage2/"
STAGE_TWO_TOKEN_PURPOSES: dict[str, str] = {
    "bsn_token": PURPOSE_BSN,
    "qid_token": PURPOSE_QUASI_IDENTIFIER,
    "sn_phon": PURPOSE_PHONETIC,
    "fn_phon": PURPOSE_PHONETIC,
    "dob_month": PURPOSE_DATE_PART,
    "dob_day": PURPOSE_DATE_PART,
    "pc_full": PURPOSE_POSTCODE,
    "pc_area": PURPOSE_POSTCODE,
    "sex_tok": PURPOSE_SEX,
    "pc_anagram": PURPOSE_POSTCODE,
    "fn_initial": PURPOSE_PHONETIC,
}
"""Token column -> the subkey purpose of stage 2; columns compared with each other share one."""
PURPOSE_BLOOM_PERMUTATION = "stage2/bloom-permutation"
FULL_TOKEN_HEX = 64


def two_stage_key_id(stage_one_key_id: str, stage_two: PseudonymKey) -> str:
    """Return the key id that entries pseudonymised in two stages carry (``k1>k2``)."""
    return f"{stage_one_key_id}>{stage_two.key_id}"


def bloom_permutation(key: PseudonymKey) -> np.ndarray:
    """Return the keyed permutation of the Bloom filter's bit positions (array of 512 ints)."""
    seed = int.from_bytes(key.subkey(PURPOSE_BLOOM_PERMUTATION), "big")
    return np.random.Generator(np.random.PCG64(seed)).permutation(BLOOM_BITS)


def permute_bloom_words(frame: pl.DataFrame, words: tuple[str, ...], permutation: np.ndarray) -> pl.DataFrame:
    """Return the Bloom filter held in ``words`` (8 UInt64 columns, bit i of the filter at
    word i // 64, bit i % 64) with its bits moved: new bit ``permutation[i]`` = old bit i.

    Null filters (no name) stay null.
    """
    matrix = np.ascontiguousarray(frame.select(words).fill_null(0).to_numpy(), dtype="<u8")
    bits = np.unpackbits(matrix.view(np.uint8), axis=1, bitorder="little")
    moved = np.zeros_like(bits)
    moved[:, permutation] = bits
    packed = np.packbits(moved, axis=1, bitorder="little").view("<u8").reshape(-1, BLOOM_WORDS)
    missing = frame.get_column(words[0]).is_null()
    return pl.DataFrame(
        {word: pl.Series(word, packed[:, i], dtype=pl.UInt64) for i, word in enumerate(words)}
    ).with_columns(pl.when(~missing).then(pl.col(word)).alias(word) for word in words)


def _truncated(hasher: KeyedHasher, width: int) -> Callable[[bytes], str]:
    def digest(value: bytes) -> str:
        return hasher.hexdigest(value)[:width]

    return digest


def apply_stage_two(entries: pl.DataFrame, key: PseudonymKey, stage_one_key_id: str) -> pl.DataFrame:
    """Return stage-1 pseudonymised ``entries`` with the TTP's stage-2 key applied to every
    token and Bloom filter, and ``key_id`` set to :func:`two_stage_key_id`.

    Tokens keep their length (64 hex for BSN and quasi-identifier, 16 for the others).
    """
    hashers: dict[str, KeyedHasher] = {}
    columns = []
    for column, purpose in STAGE_TWO_TOKEN_PURPOSES.items():
        hasher = hashers.setdefault(purpose, KeyedHasher(key.subkey(STAGE_TWO_PREFIX + purpose)))
        width = FULL_TOKEN_HEX if column in ("bsn_token", "qid_token") else TOKEN_HEX
        columns.append(map_distinct(entries.get_column(column), _truncated(hasher, width)).alias(column))
    permutation = bloom_permutation(key)
    surname = permute_bloom_words(entries, SN_WORDS, permutation)
    first = permute_bloom_words(entries, FN_WORDS, permutation)
    return entries.with_columns(
        *columns,
        *surname.get_columns(),
        *first.get_columns(),
        pl.lit(two_stage_key_id(stage_one_key_id, key)).alias("key_id"),
    )
