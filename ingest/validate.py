"""Row validation of an extract: vectorised checks that give each bad row one reason code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from hashing.bsn import bsn_passes_check_expr, normalised_bsn_expr
from hashing.normalise import normalised_postcode_expr
from ingest.columns import ALL_COLUMNS, DATE_COLUMNS, GESLACHTEN, ROW_MALFORMED, ROW_REASONS, SECTORS, WACHTFASEN
from ingest.limits import DEFAULT_FIELD_CHARS
from ingest.read import ROW_NUMBER

REASON = "reden"
DATE_FORMAT_NAMES: tuple[str, ...] = ("jjjj-mm-dd", "dd-mm-jjjj", "dd/mm/jjjj")
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    (r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$", "%Y-%m-%d"),
    (r"^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}$", "%d-%m-%Y"),
    (r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$", "%d/%m/%Y"),
)
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f]"
PLACEHOLDER_NAMES: tuple[str, ...] = (
    "onbekend", "onbekende", "unknown", "nn", "nnb", "nb", "x", "xx", "xxx", "xxxx", "test", "testpatient",
    "testclient", "anoniem", "anonymous", "geen", "leeg", "dummy", "patient", "client", "naam", "achternaam",
    "voornaam", "nvt", "onb",
)  # fmt: skip
"""Names (in letters a-z, lower case) that EHR exports write where the name is not known."""
PLACEHOLDER_POSTCODES: tuple[str, ...] = ("1000AA", "1111AA", "9999XX", "9999ZZ", "1234AB")
PLACEHOLDER_BIRTH_BEFORE = dt.date(1901, 1, 2)
"""A birth date before this (1900-01-01, 1901-01-01, 0001-01-01) is a placeholder."""


@dataclass(frozen=True)
class RowRules:
    """What rows are checked against besides the format: the provider registry's codes and
    sectors, the codes the file's sender may deliver for, and the field-length limits."""

    registered: Mapping[str, str | None] | None = None
    """{agb_code: registered sector, or None for either}; None: no registry."""
    sender_codes: frozenset[str] | None = None
    """The codes a sender folder's organisation may deliver for; None: no verified sender."""
    field_chars: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_FIELD_CHARS))


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
    return pl.when(text.str.contains(rf"^[0-9]{{{min_width},{width}}}$")).then(text.str.zfill(width)).otherwise(None)


def agb_code_expr(registered: Mapping[str, object] | None) -> pl.Expr:
    """Return an expression giving the 8-digit AGB code of a row, or null: 8 ASCII digits, or 7
    digits when the code with a leading 0 is registered (spreadsheets drop that 0)."""
    text = pl.col("agb_code")
    eight = pl.when(text.str.contains(r"^[0-9]{8}$")).then(text)
    if not registered:
        return eight.otherwise(None)
    zero = pl.lit("0") + text
    return eight.when(text.str.contains(r"^[0-9]{7}$") & zero.is_in(list(registered))).then(zero).otherwise(None)


def _placeholder_flags() -> list[pl.Expr]:
    """Return expressions marking placeholder surname, first name, birth date and postcode."""

    def letters(column: str) -> pl.Expr:
        return pl.col(column).str.to_lowercase().str.replace_all(r"[^a-z]", "")

    return [
        letters("achternaam").is_in(PLACEHOLDER_NAMES).fill_null(False).alias("_sn_placeholder"),
        letters("voornaam").is_in(PLACEHOLDER_NAMES).fill_null(False).alias("_fn_placeholder"),
        (pl.col("_geboortedatum") < PLACEHOLDER_BIRTH_BEFORE).fill_null(False).alias("_dob_placeholder"),
        normalised_postcode_expr("postcode").is_in(PLACEHOLDER_POSTCODES).fill_null(False).alias("_pc_placeholder"),
    ]


FILE_INDEX = "_file"
"""The position of a row's extract among the extracts validated together."""


def validate_extract(raw: pl.DataFrame, reference_date: dt.date, rules: RowRules | None = None) -> ValidatedExtract:
    """Return the accepted and rejected rows of one extract read by ``read_extract``.

    Accepted rows get typed dates, a nine-digit ``bsn`` (null when missing or invalid),
    ``bsn_status`` (``valid``/``missing``/``invalid``), normalised codes and postcode.
    Rejected rows keep ``source_row``, a readable ``client_id`` and ``agb_code``, and
    ``reden``. Rows without a ``peildatum`` are measured against ``reference_date``. With
    ``rules``, codes are checked against the registry and the sender, and fields against
    their length limits.
    """
    return validate_extracts([raw], reference_date, [rules or RowRules()])[0]


def validate_extracts(
    raws: Sequence[pl.DataFrame], reference_date: dt.date, rules: Sequence[RowRules]
) -> list[ValidatedExtract]:
    """Return what :func:`validate_extract` returns for each of ``raws`` with its ``rules``,
    computed in one pass over all of them (a small file costs mostly the passes' overhead).

    The extracts must have the columns ``read_extract`` gives, and their rules the same
    registry and field limits; each may have its own sender.
    """
    first = rules[0]
    if len(rules) != len(raws) or any((r.registered, r.field_chars) != (first.registered, first.field_chars)
                                      for r in rules):  # fmt: skip
        raise ValueError("extracts validated together need one rule each, with one registry and field limits")
    raw = pl.concat([frame.with_columns(pl.lit(i, pl.UInt32).alias(FILE_INDEX)) for i, frame in enumerate(raws)])
    typed = raw.with_columns(
        [parse_date_expr(column).alias(f"_{column}") for column in DATE_COLUMNS]
        + [
            agb_code_expr(first.registered).alias("_agb_code"),
            _padded_digits("uzovi", 4, 3).alias("_uzovi"),
            pl.col("sector").str.to_lowercase().alias("_sector"),
            pl.col("wachtfase").str.to_lowercase().alias("_wachtfase"),
            normalised_bsn_expr("bsn").alias("_bsn9"),
        ]
    ).with_columns(
        pl.coalesce(pl.col("_peildatum"), pl.lit(reference_date)).alias("_peil"),
    )
    typed = _with_sender_check(typed, rules)
    checks = row_checks(first)
    if set(checks) | {ROW_MALFORMED} != set(ROW_REASONS):
        raise RuntimeError("every reason code must have exactly one check")
    reason = pl.lit(None, dtype=pl.Utf8)
    for code in reversed(list(checks)):
        reason = pl.when(checks[code].fill_null(False)).then(pl.lit(code)).otherwise(reason)
    typed = typed.with_columns(reason.alias(REASON))

    rejected = typed.filter(pl.col(REASON).is_not_null()).select(
        ROW_NUMBER,
        pl.when(
            (pl.col("client_id").str.len_chars() <= first.field_chars.get("client_id", 64))
            & ~pl.col("client_id").str.contains(CONTROL_CHARACTERS)
        )
        .then(pl.col("client_id"))
        .alias("client_id"),
        pl.when(pl.col(REASON) != "agb_code_unknown").then(pl.col("_agb_code")).alias("agb_code"),
        REASON,
        FILE_INDEX,
    )
    accepted = accepted_rows(typed.filter(pl.col(REASON).is_null()).with_columns(_placeholder_flags()))
    return [
        ValidatedExtract(
            date_formats=date_formats,
            accepted=accepted_part.drop("_postcode_bad", "_geslacht_bad", "_placeholder"),
            rejected=rejected_part,
            warnings=row_warnings(accepted_part),
        )
        for accepted_part, rejected_part, date_formats in zip(
            _by_file(accepted, len(raws)), _by_file(rejected, len(raws)), date_formats_used(raw, len(raws)), strict=True
        )
    ]


def _by_file(frame: pl.DataFrame, count: int) -> list[pl.DataFrame]:
    """Return the rows of each of ``count`` extracts in ``frame``, in order, without the index."""
    parts = frame.partition_by(FILE_INDEX, as_dict=True, include_key=False, maintain_order=True)
    empty = frame.clear().drop(FILE_INDEX)
    return [parts.get((index,), empty) for index in range(count)]


def _with_sender_check(typed: pl.DataFrame, rules: Sequence[RowRules]) -> pl.DataFrame:
    """Return ``typed`` with ``_not_sender``: whether a row's code is one its file's sender may
    not deliver for (null without a code; false for a file without a verified sender)."""
    allowed = [(index, code) for index, r in enumerate(rules) if r.sender_codes is not None for code in r.sender_codes]
    unrestricted = [index for index, r in enumerate(rules) if r.sender_codes is None]
    codes = pl.DataFrame(
        {FILE_INDEX: [index for index, _ in allowed], "_agb_code": [code for _, code in allowed], "_allowed": True},
        schema={FILE_INDEX: pl.UInt32, "_agb_code": pl.Utf8, "_allowed": pl.Boolean},
    )
    return (
        typed.join(codes, on=[FILE_INDEX, "_agb_code"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_agb_code").is_null())
            .then(None)
            .otherwise(~(pl.col("_allowed").fill_null(False) | pl.col(FILE_INDEX).is_in(unrestricted)))
            .alias("_not_sender")
        )
        .drop("_allowed")
    )


def row_checks(rules: RowRules) -> dict[str, pl.Expr]:
    """Return the check of every reason code (:data:`ingest.columns.ROW_REASONS`) as an expression
    over the typed columns (the sender's codes are checked in ``_not_sender``, made per file by
    :func:`validate_extracts`); the first check a row fails is its reason."""

    def missing(column: str) -> pl.Expr:
        return pl.col(column).is_null()

    def unparsed(column: str) -> pl.Expr:
        return pl.col(column).is_not_null() & pl.col(f"_{column}").is_null()

    registered = pl.lit(False) if rules.registered is None else ~pl.col("_agb_code").is_in(list(rules.registered))
    registered_sector = (
        pl.lit(None, dtype=pl.Utf8)
        if rules.registered is None
        else pl.col("_agb_code").replace_strict(dict(rules.registered), default=None, return_dtype=pl.Utf8)
    )
    return {
        **{
            f"{column}_too_long": pl.col(column).str.len_chars() > rules.field_chars.get(column, 200)
            for column in ALL_COLUMNS
        },
        "control_characters": pl.any_horizontal(
            [pl.col(column).str.contains(CONTROL_CHARACTERS).fill_null(False) for column in ALL_COLUMNS]
        ),
        "agb_code_missing": missing("agb_code"),
        "agb_code_invalid": pl.col("_agb_code").is_null(),
        "agb_code_unknown": registered,
        "agb_code_not_sender": pl.col("_not_sender"),
        "client_id_missing": missing("client_id"),
        "geboortedatum_missing": missing("geboortedatum"),
        "geboortedatum_invalid": pl.col("_geboortedatum").is_null(),
        "geboortedatum_future": pl.col("_geboortedatum") > pl.col("_peil"),
        "achternaam_missing": missing("achternaam"),
        "uzovi_missing": missing("uzovi"),
        "uzovi_invalid": pl.col("_uzovi").is_null(),
        "sector_missing": missing("sector"),
        "sector_invalid": ~pl.col("_sector").is_in(SECTORS),
        "sector_not_registered": registered_sector.is_not_null() & (registered_sector != pl.col("_sector")),
        "aanmelddatum_missing": missing("aanmelddatum"),
        "aanmelddatum_invalid": pl.col("_aanmelddatum").is_null(),
        "aanmelddatum_future": pl.col("_aanmelddatum") > pl.col("_peil"),
        "aanmelddatum_before_geboortedatum": pl.col("_aanmelddatum") < pl.col("_geboortedatum"),
        "wachtfase_missing": missing("wachtfase"),
        "wachtfase_invalid": ~pl.col("_wachtfase").is_in(WACHTFASEN),
        "verwijsdatum_invalid": unparsed("verwijsdatum"),
        "verwijsdatum_future": pl.col("_verwijsdatum") > pl.col("_peil"),
        "peildatum_invalid": unparsed("peildatum"),
        "intakedatum_invalid": unparsed("intakedatum")
        | (pl.col("_intakedatum") < pl.col("_aanmelddatum"))
        | (pl.col("_intakedatum") > pl.col("_peil")),
    }


def accepted_rows(good: pl.DataFrame) -> pl.DataFrame:
    """Return the accepted rows in the staged shape: typed, normalised, placeholders blanked,
    with the helper flags ``_postcode_bad``, ``_geslacht_bad`` and ``_placeholder`` for the warnings,
    and the file index."""
    bsn_ok = bsn_passes_check_expr(pl.col("_bsn9")).fill_null(False)
    postcode = normalised_postcode_expr("postcode")
    geslacht = pl.col("geslacht").str.to_uppercase()
    return good.select(
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
        pl.when(~pl.col("_dob_placeholder")).then(pl.col("_geboortedatum")).alias("geboortedatum"),
        pl.when(~pl.col("_sn_placeholder")).then(pl.col("achternaam")).alias("achternaam"),
        pl.when(~pl.col("_sn_placeholder")).then(pl.col("tussenvoegsel")).alias("tussenvoegsel"),
        pl.when(~pl.col("_fn_placeholder")).then(pl.col("voornaam")).alias("voornaam"),
        "voorletters",
        pl.when(geslacht.is_in(GESLACHTEN)).then(geslacht).alias("geslacht"),
        (pl.col("geslacht").is_not_null() & ~geslacht.is_in(GESLACHTEN)).alias("_geslacht_bad"),
        pl.when(~pl.col("_pc_placeholder")).then(postcode).alias("postcode"),
        (pl.col("postcode").is_not_null() & postcode.is_null()).alias("_postcode_bad"),
        "huisnummer",
        pl.col("_uzovi").alias("uzovi"),
        pl.col("_sector").alias("sector"),
        pl.when((pl.col("_sector") == "msz") & pl.col("zorgvraag").str.contains(r"^[0-9]{1,4}$"))
        .then(pl.col("zorgvraag").str.zfill(4))
        .otherwise(pl.col("zorgvraag"))
        .alias("zorgvraag"),
        pl.col("_verwijsdatum").alias("verwijsdatum"),
        pl.col("_aanmelddatum").alias("aanmelddatum"),
        pl.col("_wachtfase").alias("wachtfase"),
        pl.col("_intakedatum").alias("intakedatum"),
        pl.col("_peil").alias("peildatum"),
        pl.any_horizontal("_sn_placeholder", "_fn_placeholder", "_dob_placeholder", "_pc_placeholder").alias(
            "_placeholder"
        ),
        FILE_INDEX,
    )


def row_warnings(accepted: pl.DataFrame) -> dict[str, int]:
    """Return how many accepted rows carry each warning."""
    return {
        "bsn_missing": int((accepted["bsn_status"] == "missing").sum()),
        "bsn_invalid": int((accepted["bsn_status"] == "invalid").sum()),
        "postcode_invalid": int(accepted["_postcode_bad"].sum()),
        "geslacht_invalid": int(accepted["_geslacht_bad"].sum()),
        "placeholder_value": int(accepted["_placeholder"].sum()),
        "intakedatum_missing": int(
            ((accepted["wachtfase"] == "behandeling") & accepted["intakedatum"].is_null()).sum()
        ),
    }


def date_formats_used(raw: pl.DataFrame, count: int) -> list[dict[str, int]]:
    """Return, for each of ``count`` extracts in ``raw``, how many date cells are written in
    each recognised format (formats not used left out), counted in one pass."""
    counts = raw.group_by(FILE_INDEX).agg(
        pl.sum_horizontal([pl.col(c).str.contains(pattern).fill_null(False) for c in DATE_COLUMNS]).sum().alias(name)
        for name, (pattern, _) in zip(DATE_FORMAT_NAMES, DATE_FORMATS, strict=True)
    )
    by_file = {row.pop(FILE_INDEX): row for row in counts.iter_rows(named=True)}
    return [{name: int(n) for name, n in by_file.get(index, {}).items() if n} for index in range(count)]
