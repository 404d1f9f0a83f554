"""Keyed pseudonyms (HMAC-SHA-256 under per-purpose subkeys) over polars columns."""

from __future__ import annotations

import polars as pl

from hashing.encodings import ENCODING_COLUMNS, encode_quasi_identifiers
from hashing.keyed_hash import KeyedHasher, map_distinct
from hashing.keys import PseudonymKey
from hashing.normalise import normalised_surname_expr

PURPOSE_BSN = "bsn"
PURPOSE_QUASI_IDENTIFIER = "qid/surname-birthdate-postcode"


def pseudonymise_series(values: pl.Series, key: PseudonymKey, purpose: str) -> pl.Series:
    """Return a string series of HMAC pseudonyms of ``values`` under the subkey for ``purpose``.

    Nulls stay null. Each distinct value is hashed once.
    """
    return map_distinct(values, KeyedHasher(key.subkey(purpose)).hexdigest)


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
    "intakedatum",
    *ENCODING_COLUMNS,
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
    the quasi-identifier under its own subkey; both carry ``key_id``. The keyed encodings of
    ``hashing.encodings`` are added for probabilistic linkage. Of the birth date only the year
    is kept in clear. Rows without an ``intakedatum`` column (extract format version 1) get
    an empty one.
    """
    if "intakedatum" not in accepted.columns:
        accepted = accepted.with_columns(pl.lit(None, pl.Date).alias("intakedatum"))
    quasi_identifiers = accepted.select(quasi_identifier_expr().alias("qid")).get_column("qid")
    encodings = encode_quasi_identifiers(
        accepted.with_columns(
            pl.col("geboortedatum").dt.month().alias("birth_month"),
            pl.col("geboortedatum").dt.day().alias("birth_day"),
        ),
        key,
    )
    return (
        pl.concat([accepted, encodings], how="horizontal")
        .with_columns(
            pseudonymise_series(accepted.get_column("bsn"), key, PURPOSE_BSN).alias("bsn_token"),
            pseudonymise_series(quasi_identifiers, key, PURPOSE_QUASI_IDENTIFIER).alias("qid_token"),
            pl.lit(key.key_id).alias("key_id"),
            pl.col("geboortedatum").dt.year().cast(pl.Int32).alias("birth_year"),
        )
        .select(STORED_ENTRY_COLUMNS)
    )


PURPOSE_ENTRY = "entry/agb-client"


def entry_keys(agb_codes: pl.Series, client_ids: pl.Series, key: PseudonymKey) -> pl.Series:
    """Return the keyed pseudonym of each (agb_code, client_id) pair, named ``entry_key``: the
    same client on the same list gets the same key in every round under one key."""
    joined = agb_codes + "\x1f" + client_ids
    return pseudonymise_series(joined, key, PURPOSE_ENTRY).rename("entry_key")
