"""Row validation of an extract: vectorised checks that give each bad row one reason code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from hashing.bsn import bsn_passes_check_expr, normalised_bsn_expr
from hashing.normalise import normalised_postcode_expr
from ingest.columns import DATE_COLUMNS, GESLACHTEN, ROW_REASONS, SECTORS, WACHTFASEN
from ingest.read import ROW_NUMBER

REASON = "reden"
DATE_FORMAT_NAMES: tuple[str, ...] = ("jjjj-mm-dd", "dd-mm-jjjj", "dd/mm/jjjj")
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    (r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
)


@dataclass(frozen=True)
class ValidatedExtract:
    """Accepted rows with typed columns, rejected rows with their reason, warning counts."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    warnings: dict[str, int]
    date_formats: dict[str, int]


def parse_date_expr(column: str) -> pl.Expr:
    """Return an expression parsing ``YYYY-MM-DD``, ``DD-MM-YYYY`` or ``DD/MM/YYYY``; else null."""
    text = pl.col(column)
    parsed = [
        pl.when(text.str.contains(pattern)).then(text.str.to_date(fmt, strict=False)) for pattern, fmt in DATE_FORMATS
    ]
    return pl.coalesce(parsed)


def _padded_digits(column: str, width: int, min_width: int) -> pl.Expr:
    text = pl.col(column)
    return pl.when(text.str.contains(rf"^\d{{{min_width},{width}}}$")).then(text.str.zfill(width)).otherwise(None)


def validate_extract(raw: pl.DataFrame, reference_date: dt.date) -> ValidatedExtract:
    """Return the accepted and rejected rows of one extract read by ``read_extract``.

    Accepted rows get typed dates, a nine-digit ``bsn`` (null when missing or invalid),
    ``bsn_status`` (``valid``/``missing``/``invalid``), normalised codes and postcode.
    Rejected rows keep ``source_row``, a readable ``client_id`` and ``agb_code``, and
    ``reden``. Rows without a ``peildatum`` are measured against ``reference_date``.
    """
    typed = raw.with_columns(
        [parse_date_expr(column).alias(f"_{column}") for column in DATE_COLUMNS]
        + [
            _padded_digits("agb_code", 8, 7).alias("_agb_code"),
            _padded_digits("uzovi", 4, 3).alias("_uzovi"),
            pl.col("sector").str.to_lowercase().alias("_sector"),
            pl.col("wachtfase").str.to_lowercase().alias("_wachtfase"),
            normalised_bsn_expr("bsn").alias("_bsn9"),
        ]
    ).with_columns(
        pl.coalesce(pl.col("_peildatum"), pl.lit(reference_date)).alias("_peil"),
    )

    def missing(column: str) -> pl.Expr:
        return pl.col(column).is_null()

    def unparsed(column: str) -> pl.Expr:
        return pl.col(column).is_not_null() & pl.col(f"_{column}").is_null()

    checks: dict[str, pl.Expr] = {
        "agb_code_missing": missing("agb_code"),
        "agb_code_invalid": pl.col("_agb_code").is_null(),
        "client_id_missing": missing("client_id"),
        "client_id_invalid": pl.col("client_id").str.len_chars() > 64,
        "geboortedatum_missing": missing("geboortedatum"),
        "geboortedatum_invalid": pl.col("_geboortedatum").is_null(),
        "geboortedatum_future": pl.col("_geboortedatum") > pl.col("_peil"),
        "achternaam_missing": missing("achternaam"),
        "uzovi_missing": missing("uzovi"),
        "uzovi_invalid": pl.col("_uzovi").is_null(),
        "sector_missing": missing("sector"),
        "sector_invalid": ~pl.col("_sector").is_in(SECTORS),
        "aanmelddatum_missing": missing("aanmelddatum"),
        "aanmelddatum_invalid": pl.col("_aanmelddatum").is_null(),
        "aanmelddatum_future": pl.col("_aanmelddatum") > pl.col("_peil"),
        "aanmelddatum_before_geboortedatum": pl.col("_aanmelddatum") < pl.col("_geboortedatum"),
        "wachtfase_missing": missing("wachtfase"),
        "wachtfase_invalid": ~pl.col("_wachtfase").is_in(WACHTFASEN),
        "verwijsdatum_invalid": unparsed("verwijsdatum"),
        "verwijsdatum_future": pl.col("_verwijsdatum") > pl.col("_peil"),
        "peildatum_invalid": unparsed("peildatum"),
    }
    assert set(checks) == set(ROW_REASONS), "every reason code has exactly one check"
    reason = pl.lit(None, dtype=pl.Utf8)
    for code in reversed(list(checks)):
        reason = pl.when(checks[code].fill_null(False)).then(pl.lit(code)).otherwise(reason)
    typed = typed.with_columns(reason.alias(REASON))

    rejected = typed.filter(pl.col(REASON).is_not_null()).select(
        ROW_NUMBER,
        pl.when(pl.col("client_id").str.len_chars() <= 64).then(pl.col("client_id")).alias("client_id"),
        pl.col("_agb_code").alias("agb_code"),
        REASON,
    )
    good = typed.filter(pl.col(REASON).is_null())
    bsn_ok = bsn_passes_check_expr(pl.col("_bsn9")).fill_null(False)
    postcode = normalised_postcode_expr("postcode")
    geslacht = pl.col("geslacht").str.to_uppercase()
    accepted = good.select(
        ROW_NUMBER,
        pl.col("_agb_code").alias("agb_code"),
        "client_id",
        pl.when(bsn_ok).then(pl.col("_bsn9")).alias("bsn"),
        pl.when(bsn_ok)
        .then(pl.lit("valid"))
        .when(pl.col("bsn").is_null())
        .then(pl.lit("missing"))
        .otherwise(pl.lit("invalid"))
        .alias("bsn_status"),
        pl.col("_geboortedatum").alias("geboortedatum"),
        "achternaam",
        "tussenvoegsel",
        "voornaam",
        "voorletters",
        pl.when(geslacht.is_in(GESLACHTEN)).then(geslacht).alias("geslacht"),
        (pl.col("geslacht").is_not_null() & ~geslacht.is_in(GESLACHTEN)).alias("_geslacht_bad"),
        postcode.alias("postcode"),
        (pl.col("postcode").is_not_null() & postcode.is_null()).alias("_postcode_bad"),
        "huisnummer",
        pl.col("_uzovi").alias("uzovi"),
        pl.col("_sector").alias("sector"),
        pl.when((pl.col("_sector") == "msz") & pl.col("zorgvraag").str.contains(r"^\d{1,4}$"))
        .then(pl.col("zorgvraag").str.zfill(4))
        .otherwise(pl.col("zorgvraag"))
        .alias("zorgvraag"),
        pl.col("_verwijsdatum").alias("verwijsdatum"),
        pl.col("_aanmelddatum").alias("aanmelddatum"),
        pl.col("_wachtfase").alias("wachtfase"),
        pl.col("_peil").alias("peildatum"),
    )
    warnings = {
        "bsn_missing": int((accepted["bsn_status"] == "missing").sum()),
        "bsn_invalid": int((accepted["bsn_status"] == "invalid").sum()),
        "postcode_invalid": int(accepted["_postcode_bad"].sum()),
        "geslacht_invalid": int(accepted["_geslacht_bad"].sum()),
    }
    date_formats = {
        name: int(
            raw.select(
                pl.sum_horizontal([pl.col(c).str.contains(pattern).fill_null(False) for c in DATE_COLUMNS]).sum()
            ).item()
        )
        for name, (pattern, _) in zip(DATE_FORMAT_NAMES, DATE_FORMATS, strict=True)
    }
    return ValidatedExtract(
        date_formats={name: count for name, count in date_formats.items() if count},
        accepted=accepted.drop("_postcode_bad", "_geslacht_bad"),
        rejected=rejected,
        warnings=warnings,
    )
