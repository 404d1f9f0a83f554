"""BSN normalisation and the 11-check, vectorised over polars expressions."""

from __future__ import annotations

import polars as pl

BSN_WEIGHTS: tuple[int, ...] = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(bsn: str) -> bool:
    """Return True when ``bsn`` is nine digits that pass the 11-check and are not all zeros."""
    if len(bsn) != 9 or not (bsn.isascii() and bsn.isdigit()):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(bsn, BSN_WEIGHTS, strict=True))
    return total != 0 and total % 11 == 0


def normalised_bsn_expr(column: str) -> pl.Expr:
    """Return an expression giving the BSN as nine digits (8 digits left-padded), else null.

    Spaces, dots and dashes are removed first; anything that is not 8 or 9 ASCII digits
    then becomes null (a BSN in full-width or other Unicode digits is invalid). The 11-check
    is not applied here: see :func:`bsn_passes_check_expr`.
    """
    cleaned = pl.col(column).str.replace_all(r"[\s.\-]", "")
    return pl.when(cleaned.str.contains(r"^[0-9]{8,9}$")).then(cleaned.str.zfill(9)).otherwise(None)


def bsn_passes_check_expr(nine_digits: pl.Expr) -> pl.Expr:
    """Return a boolean expression: the nine-digit BSN passes the 11-check and is not zero."""
    total = pl.lit(0, dtype=pl.Int64)
    for position, weight in enumerate(BSN_WEIGHTS):
        digit = nine_digits.str.slice(position, 1).cast(pl.Int64)
        total = total + digit * weight
    return (total != 0) & (total % 11 == 0)
