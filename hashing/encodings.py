"""Keyed encodings of quasi-identifiers for probabilistic linkage, made in memory at ingest.

Stored instead of the plain values:

- ``sn_bf0..7`` / ``fn_bf0..7``: 512-bit Bloom filters of the bigrams of the normalised
  surname and first name (CLK-style, positions from HMAC-SHA-256 under one name subkey, so
  that a surname and first name written in each other's place can be compared), as eight
  unsigned 64-bit words, with ``sn_bits`` / ``fn_bits`` their popcounts;
- ``sn_phon`` / ``fn_phon``: keyed tokens of a Dutch-aware phonetic code (one token space for
  both names, for blocking and for spotting swapped names);
- ``dob_month`` / ``dob_day``: keyed tokens of month and day under one shared subkey, so a
  day-month swap shows as ``a.month = b.day``; the birth year is kept in clear (the extract
  format allows it);
- ``pc_full`` / ``pc_area`` / ``pc_anagram``: keyed tokens of the postcode, its area (PC4)
  and its characters in sorted order (two transposed digits, the commonest postcode typo,
  keep the anagram);
- ``fn_initial``: keyed token of the first initial (of the first name, else of ``voorletters``),
  so that ``J.`` can meet ``Jan``;
- ``sex_tok``: keyed token of geslacht.

Without the key none of these can be recomputed from a dictionary of names or dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import polars as pl

from hashing.keyed_hash import KeyedHasher, map_distinct
from hashing.keys import PseudonymKey
from hashing.normalise import normalised_surname_expr

BLOOM_BITS = 512
BLOOM_WORDS = BLOOM_BITS // 64
BLOOM_HASHES = 10
TOKEN_HEX = 16

PURPOSE_NAME_BLOOM = "bloom/name"
PURPOSE_PHONETIC = "token/phonetic"
PURPOSE_DATE_PART = "token/date-part"
PURPOSE_POSTCODE = "token/postcode"
PURPOSE_SEX = "token/sex"

SN_WORDS: tuple[str, ...] = tuple(f"sn_bf{i}" for i in range(BLOOM_WORDS))
FN_WORDS: tuple[str, ...] = tuple(f"fn_bf{i}" for i in range(BLOOM_WORDS))
ENCODING_COLUMNS: tuple[str, ...] = (
    *SN_WORDS, "sn_bits", *FN_WORDS, "fn_bits", "sn_phon", "fn_phon",
    "dob_month", "dob_day", "pc_full", "pc_area", "sex_tok", "pc_anagram", "fn_initial",
)  # fmt: skip
NEWER_ENCODING_COLUMNS: tuple[str, ...] = ("pc_anagram", "fn_initial")
"""Encodings added after the first two-stage tool: a pre-pseudonymised file without them links
without their evidence (null, neutral)."""

_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    ("sch", "s"), ("eij", "y"), ("ij", "y"), ("ei", "y"), ("ey", "y"), ("ch", "g"), ("ph", "f"),
    ("th", "t"), ("dt", "t"), ("ck", "k"), ("qu", "kw"), ("c", "k"), ("x", "ks"), ("z", "s"),
    ("v", "f"), ("w", "v"), ("ou", "au"), ("ie", "i"), ("oe", "u"),
)  # fmt: skip
_VOWELS = re.compile(r"[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")


def phonetic_code(name: str) -> str:
    """Return a coarse Dutch-aware phonetic code of a normalised name (letters a-z only).

    ``jansen``, ``janssen`` and ``jansens`` share a code, as do ``meijer``, ``meyer`` and
    ``meier``: first letter, then up to three consonants, repeats collapsed.
    """
    text = name
    for source, target in _PHONETIC_RULES:
        text = text.replace(source, target)
    if text.endswith("d"):
        text = text[:-1] + "t"
    text = _REPEATS.sub(r"\1", text)
    if not text:
        return ""
    return (text[0] + _VOWELS.sub("", text[1:]))[:4]


def bigrams(name: str) -> list[str]:
    """Return the bigrams of ``_name_`` (padded so first and last letters count twice)."""
    padded = f"_{name}_"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


class BloomEncoder:
    """Keyed Bloom filters of names: bit positions of a bigram come from its HMAC."""

    def __init__(self, subkey: bytes) -> None:
        self._hasher = KeyedHasher(subkey)
        self._masks: dict[str, int] = {}

    def _mask(self, gram: str) -> int:
        mask = self._masks.get(gram)
        if mask is None:
            digest = bytes.fromhex(self._hasher.hexdigest(gram.encode()))
            mask = 0
            for i in range(BLOOM_HASHES):
                mask |= 1 << (int.from_bytes(digest[2 * i : 2 * i + 2], "big") % BLOOM_BITS)
            self._masks[gram] = mask
        return mask

    def encode(self, name: str) -> int:
        """Return the 512-bit Bloom filter of one name as an int."""
        value = 0
        for gram in bigrams(name):
            value |= self._mask(gram)
        return value

    def frame(self, names: Iterable[str], prefix: str) -> pl.DataFrame:
        """Return ``name`` with the filter as ``<prefix>_bf0..7`` words and ``<prefix>_bits``."""
        names = list(names)
        filters = [self.encode(name) for name in names]
        raw = b"".join(value.to_bytes(BLOOM_BITS // 8, "little") for value in filters)
        words = np.frombuffer(raw, dtype="<u8").reshape(len(names), BLOOM_WORDS) if names else np.zeros((0, 8), "<u8")
        columns = {f"{prefix}_bf{i}": pl.Series(words[:, i], dtype=pl.UInt64) for i in range(BLOOM_WORDS)}
        return pl.DataFrame(
            {"name": pl.Series(names, dtype=pl.Utf8), **columns,
             f"{prefix}_bits": pl.Series([v.bit_count() for v in filters], dtype=pl.Int32)}
        )  # fmt: skip


def _tokens(values: pl.Series, hasher: KeyedHasher) -> pl.Series:
    return map_distinct(values, lambda value: hasher.hexdigest(value)[:TOKEN_HEX])


def _name_encodings(names: pl.Series, bloom: BloomEncoder, phonetic: KeyedHasher, prefix: str) -> pl.DataFrame:
    distinct = names.drop_nulls().unique().to_list()
    table = bloom.frame(distinct, prefix).with_columns(
        pl.Series(
            f"{prefix}_phon",
            [phonetic.hexdigest(phonetic_code(n).encode())[:TOKEN_HEX] for n in distinct],
            dtype=pl.Utf8,
        )
    )
    return names.to_frame("name").join(table, on="name", how="left", maintain_order="left").drop("name")


def normalised_first_name_expr(column: str) -> pl.Expr:
    """Return an expression giving the first given name in letters a-z, or null.

    A word of one or two letters is joined to its neighbour (``ja xson`` and ``stroe h`` are
    typos of ``jaxson`` and ``stroeh``; ``J. Emma`` has an initial first).
    """
    words = pl.col(column).str.strip_chars().str.split(" ")
    short_first = words.list.first().str.len_chars() <= 2
    short_second = (words.list.get(1, null_on_oob=True).str.len_chars() <= 2).fill_null(False)
    first = pl.when(short_first | short_second).then(words.list.slice(0, 2).list.join("")).otherwise(words.list.first())
    text = first.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase().str.replace_all(r"[^a-z]", "")
    return pl.when(text == "").then(None).otherwise(text)


def encode_quasi_identifiers(frame: pl.DataFrame, key: PseudonymKey) -> pl.DataFrame:
    """Return the keyed encodings (:data:`ENCODING_COLUMNS`) of each row of ``frame``.

    ``frame`` holds ``achternaam``, ``tussenvoegsel``, ``voornaam``, ``birth_month``,
    ``birth_day`` (integers or null), ``postcode`` (normalised or null; Dutch ``1234AB``
    has area ``1234``, any other code its first three characters), ``geslacht`` and optionally
    ``voorletters``.
    """
    initials = frame.get_column("voorletters") if "voorletters" in frame.columns else pl.repeat(
        None, frame.height, dtype=pl.Utf8, eager=True)  # fmt: skip
    names = frame.select(
        normalised_surname_expr("achternaam", "tussenvoegsel").alias("sn"),
        normalised_first_name_expr("voornaam").alias("fn"),
        pl.col("birth_month").cast(pl.Int32).cast(pl.Utf8).alias("month"),
        pl.col("birth_day").cast(pl.Int32).cast(pl.Utf8).alias("day"),
        pl.col("postcode").alias("pc"),
        pl.when(pl.col("postcode").str.contains(r"^[1-9][0-9]{3}[A-Z]{2}$"))
        .then(pl.col("postcode").str.slice(0, 4))
        .otherwise(pl.col("postcode").str.slice(0, 3))
        .alias("area"),
        pl.col("geslacht").alias("sex"),
        pl.col("postcode").str.split("").list.sort().list.join("").alias("anagram"),
    ).with_columns(
        pl.coalesce(
            pl.col("fn").str.slice(0, 1),
            initials.str.to_lowercase().str.replace_all(r"[^a-z]", "").str.slice(0, 1).replace("", None),
        ).alias("initial")
    )
    phonetic = KeyedHasher(key.subkey(PURPOSE_PHONETIC))
    date_part = KeyedHasher(key.subkey(PURPOSE_DATE_PART))
    postcode = KeyedHasher(key.subkey(PURPOSE_POSTCODE))
    bloom = BloomEncoder(key.subkey(PURPOSE_NAME_BLOOM))
    surname = _name_encodings(names["sn"], bloom, phonetic, "sn")
    first = _name_encodings(names["fn"], bloom, phonetic, "fn")
    return pl.concat(
        [
            surname,
            first,
            pl.DataFrame(
                {
                    "dob_month": _tokens(names["month"], date_part),
                    "dob_day": _tokens(names["day"], date_part),
                    "pc_full": _tokens(names["pc"], postcode),
                    "pc_area": _tokens("area:" + names["area"], postcode),
                    "sex_tok": _tokens(names["sex"], KeyedHasher(key.subkey(PURPOSE_SEX))),
                    "pc_anagram": _tokens("anagram:" + names["anagram"], postcode),
                    "fn_initial": _tokens("initial:" + names["initial"], phonetic),
                }
            ),
        ],
        how="horizontal",
    ).select(ENCODING_COLUMNS)
