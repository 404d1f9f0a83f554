"""Normalisation of quasi-identifiers (surname, postcode) so that spelling variants agree."""

from __future__ import annotations

import polars as pl

SURNAME_PREFIXES: tuple[str, ...] = (
    "van",
    "von",
    "vd",
    "v.d.",
    "der",
    "den",
    "de",
    "di",
    "da",
    "du",
    "del",
    "des",
    "het",
    "'t",
    "ter",
    "ten",
    "te",
    "in",
    "op",
    "aan",
    "bij",
    "uit",
    "la",
    "le",
    "l'",
    "d'",
    "el",
    "al",
)

_PREFIX_ALTERNATION = "|".join(prefix.replace(".", r"\.").replace("'", "'") for prefix in SURNAME_PREFIXES)
_LEADING_PREFIXES = rf"^(?:(?:{_PREFIX_ALTERNATION})\s+)+"
_TRAILING_PREFIXES = rf",\s*(?:(?:{_PREFIX_ALTERNATION})\s*)+$"


def normalised_surname_expr(surname: str, prefix: str | None = None) -> pl.Expr:
    """Return an expression giving the surname without prefixes, diacritics, case or punctuation.

    ``van der Berg``, ``Berg, van der``, ``Berg`` with prefix ``van der`` and ``BERG`` all give
    ``berg``; ``Müller-Lüdenscheidt`` gives ``mullerludenscheidt``.
    """
    text = pl.col(surname).fill_null("")
    if prefix is not None:
        text = pl.concat_str([pl.col(prefix).fill_null(""), pl.lit(" "), text])
    text = (
        text.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[’`´]", "'")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.replace(_TRAILING_PREFIXES, "")
        .str.replace(_LEADING_PREFIXES, "")
        .str.replace_all(r"[^a-z]", "")
    )
    return pl.when(text == "").then(None).otherwise(text)


def normalised_postcode_expr(column: str) -> pl.Expr:
    """Return an expression giving a Dutch postcode as ``1234AB``, or null when malformed."""
    cleaned = pl.col(column).str.replace_all(r"\s", "").str.to_uppercase()
    return pl.when(cleaned.str.contains(r"^[1-9][0-9]{3}[A-Z]{2}$")).then(cleaned).otherwise(None)
