"""Keyed pseudonyms (HMAC-SHA-256 under per-purpose subkeys) over polars columns."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import polars as pl

from hashing.keys import PseudonymKey
from hashing.normalise import normalised_surname_expr

PURPOSE_BSN = "bsn"
PURPOSE_QUASI_IDENTIFIER = "qid/surname-birthdate-postcode"


class KeyedHasher:
    """HMAC-SHA-256 with precomputed inner and outer pad states, for hashing many values fast.

    Gives exactly ``hmac.new(subkey, value, sha256).hexdigest()``; copying the two
    prepared SHA-256 states saves the key schedule that ``hmac.new`` repeats per value.
    """

    def __init__(self, subkey: bytes) -> None:
        block = subkey.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def __repr__(self) -> str:
        return "KeyedHasher(<secret>)"

    def hexdigest(self, value: bytes) -> str:
        """Return the hex HMAC of one value."""
        inner = self._inner.copy()
        inner.update(value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def hexdigests(self, values: Iterable[str | None]) -> list[str | None]:
        """Return the hex HMAC of each value; None stays None."""
        digest = self.hexdigest
        return [None if value is None else digest(value.encode()) for value in values]


def pseudonymise_series(values: pl.Series, key: PseudonymKey, purpose: str) -> pl.Series:
    """Return a string series of HMAC pseudonyms of ``values`` under the subkey for ``purpose``.

    Nulls stay null. Each distinct value is hashed once.
    """
    hasher = KeyedHasher(key.subkey(purpose))
    unique = values.drop_nulls().unique()
    tokens = pl.Series(hasher.hexdigests(unique.to_list()), dtype=pl.Utf8)
    mapping = pl.DataFrame({"value": unique, "token": tokens})
    return (
        values.to_frame("value")
        .join(mapping, on="value", how="left", maintain_order="left")
        .get_column("token")
        .rename(values.name)
    )


STORED_ENTRY_COLUMNS: tuple[str, ...] = (
    "source_row",
    "agb_code",
    "client_id",
    "bsn_status",
    "bsn_token",
    "qid_token",
    "key_id",
    "birth_year",
    "uzovi",
    "sector",
    "zorgvraag",
    "verwijsdatum",
    "aanmelddatum",
    "wachtfase",
    "peildatum",
)
"""What the TTP keeps per entry: no plain identifier, only pseudonyms and waiting data."""


def quasi_identifier_expr() -> pl.Expr:
    """Return an expression giving ``surname|birthdate|postcode`` from normalised fields.

    Null when the normalised surname is empty; the postcode part is empty when unknown.
    """
    surname = normalised_surname_expr("achternaam", "tussenvoegsel")
    return (
        pl.when(surname.is_not_null())
        .then(
            pl.concat_str(
                [
                    surname,
                    pl.col("geboortedatum").dt.to_string("%Y-%m-%d"),
                    pl.col("postcode").fill_null(""),
                ],
                separator="|",
            )
        )
        .otherwise(None)
    )


def pseudonymise_entries(accepted: pl.DataFrame, key: PseudonymKey) -> pl.DataFrame:
    """Return the accepted rows with pseudonyms in place of every plain identifier.

    ``bsn_token`` is the HMAC of the valid BSN (null otherwise), ``qid_token`` the HMAC of
    the quasi-identifier under its own subkey; both carry ``key_id``. Of the birth date only
    the year is kept.
    """
    quasi_identifiers = accepted.select(quasi_identifier_expr().alias("qid")).get_column("qid")
    return accepted.with_columns(
        pseudonymise_series(accepted.get_column("bsn"), key, PURPOSE_BSN).alias("bsn_token"),
        pseudonymise_series(quasi_identifiers, key, PURPOSE_QUASI_IDENTIFIER).alias("qid_token"),
        pl.lit(key.key_id).alias("key_id"),
        pl.col("geboortedatum").dt.year().cast(pl.Int32).alias("birth_year"),
    ).select(STORED_ENTRY_COLUMNS)
