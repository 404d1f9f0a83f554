"""Provider outputs: each provider's contact list and rejected rows, encrypted to its key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import polars as pl

from ingest.columns import FILE_REASONS_NL, ROW_REASONS_NL
from ingest.feedback import FEEDBACK_REASONS_NL
from linkage.frames import query_frame
from linkage.store import contact_rows
from reports.cover_note import cover_note
from reports.files import csv_bytes, formula_safe
from reports.quality import routed_rejections
from reports.spreadsheets import contact_workbook
from reports.xlsx import rows_xml_by

REASONS_NL: dict[str, str] = {**ROW_REASONS_NL, **FEEDBACK_REASONS_NL, **FILE_REASONS_NL}
WARNINGS_NL: dict[str, str] = {
    "bsn_ontbrekend": "geen BSN aangeleverd; de regel is gekoppeld op naam, geboortedatum en postcode",
    "bsn_ongeldig": "het BSN voldoet niet aan de elfproef of is onleesbaar; behandeld als ontbrekend",
    "verouderd": "aanmelddatum of verwijsdatum ligt lang voor de peildatum; staat deze cliënt nog op de lijst?",
    "behandeling_zonder_intakedatum": "wachtfase behandeling zonder intakedatum; de wachttijd telt vanaf de "
    "aanmelddatum, tegen de normen van beide fasen samen",
}
"""Dutch explanation of each warning in the provider's ``waarschuwingen.csv``."""
CERTAIN_LINK = 0.99
"""A probabilistic link at or above this probability is labelled ``zeker``, like a BSN link."""
CONTACT_COLUMNS: tuple[str, ...] = (
    "groep",
    "client_id",
    "aanmelddatum",
    "wachtfase",
    "zorgvraag",
    "soort",
    "aantal_andere_aanbieders",
    "wachtfase_elders",
    "weken_elders",
    "koppeling",
    "zekerheid",
    "zekerheid_label",
    "agb_code",
    "eerder_gemeld",
    "terugmelding",
)
REJECTED_COLUMNS: tuple[str, ...] = ("bestand", "soort", "rij", "client_id", "reden", "toelichting")
WARNING_COLUMNS: tuple[str, ...] = ("bestand", "rij", "client_id", "waarschuwing", "toelichting")
CONTACT_LIST = "contactlijst.csv"
CONTACT_WORKBOOK = "contactlijst.xlsx"
REJECTED_LIST = "afgewezen.csv"
WARNINGS_LIST = "waarschuwingen.csv"
COVER_NOTE = "toelichting.html"
QUALITY_REPORT = "datakwaliteit.csv"


def _named_providers(codes: pl.Expr, names: Mapping[str, str]) -> pl.Expr:
    """Return ``codes`` (``;``-separated AGB codes) as ``"22000002 GGZ Noord; 22000003"``."""
    return (
        codes.str.split(";")
        .list.eval(
            pl.concat_str(
                pl.element(),
                pl.element().replace_strict(dict(names), default="", return_dtype=pl.Utf8),
                separator=" ",
            ).str.strip_chars()
        )
        .list.join("; ")
    )


def contact_lists(rows: pl.DataFrame, other_provider_names: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Return every provider's contact list (``provider``, then :data:`CONTACT_COLUMNS`) from the
    contact rows of all providers at once, each provider's rows together and in list order.

    ``groep`` numbers the persons of each provider's list (G0001, ...; entries of one person share
    it, the person's first client number decides the order), and ``zekerheid_label`` grades the
    link (``zeker``: a BSN link or a probability of at least :data:`CERTAIN_LINK`).

    With ``other_provider_names`` (only when ``name_other_providers`` is set: code -> name, may be
    empty) the list has ``andere_aanbieders`` after ``aantal_andere_aanbieders``: the codes, and
    names where known, of the providers where the person also waits."""
    first = rows.group_by("provider", "person_id").agg(pl.col("client_id").min().alias("first_client"))
    numbered = first.sort("provider", "first_client", "person_id").with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("provider").alias("number")
    )
    columns = ["provider", *CONTACT_COLUMNS]
    extra: list[pl.Expr] = []
    if other_provider_names is not None:
        columns.insert(columns.index("aantal_andere_aanbieders") + 1, "andere_aanbieders")
        extra.append(_named_providers(pl.col("other_provider_codes"), other_provider_names).alias("andere_aanbieders"))
    return (
        rows.join(numbered.drop("first_client"), on=["provider", "person_id"], how="left")
        .sort("provider", "number", "client_id", "aanmelddatum")
        .with_columns(
            pl.format("G{}", pl.col("number").cast(pl.Utf8).str.zfill(4)).alias("groep"),
            pl.when((pl.col("koppeling") == "bsn") | (pl.col("zekerheid") >= CERTAIN_LINK))
            .then(pl.lit("zeker"))
            .otherwise(pl.lit("waarschijnlijk"))
            .alias("zekerheid_label"),
            *extra,
        )
        .select(columns)
    )


def contact_list(rows: pl.DataFrame, other_provider_names: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Return one provider's contact list (:data:`CONTACT_COLUMNS`) from its contact rows; see
    :func:`contact_lists`."""
    single = rows.with_columns(pl.lit("").alias("provider"))
    return contact_lists(single, other_provider_names).drop("provider")


def rejected_lists(rows: pl.DataFrame) -> pl.DataFrame:
    """Return every provider's ``afgewezen.csv`` rows (``provider``, then :data:`REJECTED_COLUMNS`):
    per provider, files rejected whole first (no ``rij``), then rows by file and row; ``rij`` is
    the row as a spreadsheet numbers it (the header is row 1), and ``soort`` says whether it came
    from the waiting-list extract (``aanlevering``) or from a feedback file (``terugmelding``)."""
    return rows.sort("provider", "source_file", "source_row", nulls_last=False).select(
        "provider",
        pl.col("source_file").alias("bestand"),
        "soort",
        (pl.col("source_row") + 1).alias("rij"),
        "client_id",
        "reden",
        pl.col("reden").replace_strict(REASONS_NL, default=None, return_dtype=pl.Utf8).alias("toelichting"),
    )


def rejected_list(rows: pl.DataFrame) -> pl.DataFrame:
    """Return one provider's ``afgewezen.csv`` (:data:`REJECTED_COLUMNS`); see :func:`rejected_lists`."""
    return rejected_lists(rows.with_columns(pl.lit("").alias("provider"))).drop("provider")


def warning_list(rows: pl.DataFrame) -> pl.DataFrame:
    """Return ``waarschuwingen.csv`` rows (:data:`WARNING_COLUMNS`, after ``provider`` when the
    rows have one): accepted rows that were counted in the data-quality report, each with its
    warning and a Dutch explanation."""
    return rows.select(
        *(["provider"] if "provider" in rows.columns else []),
        "bestand",
        "rij",
        "client_id",
        "waarschuwing",
        pl.col("waarschuwing").replace_strict(WARNINGS_NL, default=None, return_dtype=pl.Utf8).alias("toelichting"),
    )


def _by_provider(frame: pl.DataFrame, key: str = "provider", keep_key: bool = False) -> dict[str, pl.DataFrame]:
    """Return ``frame`` split by its ``key`` column (dropped unless ``keep_key``) in one pass, each
    part in frame order."""
    if frame.is_empty():
        return {}
    parts = frame.partition_by(key, as_dict=True, maintain_order=True, include_key=keep_key)
    return {str(value[0]): part for value, part in parts.items()}


@dataclass(frozen=True)
class _Split:
    """One table of every provider, split by provider: as shown (``plain``, for the workbook and
    the cover note) and with formula-looking text escaped (``safe``, for the CSV)."""

    plain: dict[str, pl.DataFrame]
    safe: dict[str, pl.DataFrame]
    empty: pl.DataFrame

    @classmethod
    def of(cls, frame: pl.DataFrame, key: str = "provider", keep_key: bool = False) -> _Split:
        empty = frame.clear() if keep_key else frame.clear().drop(key)
        return cls(_by_provider(frame, key, keep_key), _by_provider(formula_safe(frame), key, keep_key), empty)

    def plain_of(self, provider: str) -> pl.DataFrame:
        return self.plain.get(provider, self.empty)

    def csv_of(self, provider: str) -> bytes:
        return csv_bytes(self.safe.get(provider, self.empty), formula_escaped=True)


@dataclass(frozen=True)
class ProviderPackages:
    """Every provider's files of a round, rendered one provider at a time (see
    :func:`provider_packages`): the tables of all providers are made and split once up front,
    a provider's bytes only when asked for."""

    providers: tuple[str, ...]
    round_id: str
    contacts: _Split
    routed: _Split
    workbook_rows: Mapping[str, str]
    own_quality: _Split | None
    flagged: _Split | None
    names: tuple[str, ...]

    def files_of(self, provider: str) -> dict[str, bytes]:
        """Return {file name: plaintext} of ``provider``'s package."""
        own_contacts = self.contacts.plain_of(provider)
        files = {
            CONTACT_LIST: self.contacts.csv_of(provider),
            CONTACT_WORKBOOK: contact_workbook(own_contacts, self.workbook_rows.get(provider, "")),
            REJECTED_LIST: self.routed.csv_of(provider),
        }
        quality_row = None
        if self.own_quality is not None:
            quality_row = self.own_quality.plain_of(provider)
            files[QUALITY_REPORT] = self.own_quality.csv_of(provider)
        if self.flagged is not None:
            files[WARNINGS_LIST] = self.flagged.csv_of(provider)
        files[COVER_NOTE] = cover_note(provider, self.round_id, own_contacts, self.routed.plain_of(provider),
                                       quality_row, list(self.names), CERTAIN_LINK)  # fmt: skip
        return files


def provider_packages(
    con: duckdb.DuckDBPyConnection,
    rejected: pl.DataFrame,
    locations: Mapping[str, str],
    round_id: str,
    quality: pl.DataFrame | None = None,
    warnings: pl.DataFrame | None = None,
    other_provider_names: Mapping[str, str] | None = None,
) -> ProviderPackages:
    """Return the packages of every provider in the round, in code order.

    Every provider with accepted or rejected rows gets its contact list (CSV and .xlsx), its
    rejected rows (CSV), a Dutch cover note and, given ``quality`` and ``warnings`` (see
    :func:`linkage.store.entry_warnings`), its own row of the data-quality report and its rows
    with a warning; lists may be empty.
    ``rejected`` holds the round's rejected rows (see :func:`reports.quality.rejected_rows`);
    those without a sender or a valid AGB are not routed. ``other_provider_names`` is given only
    when the configuration says to name the other providers (see :func:`contact_list`).
    Every table is made for all providers at once and split in one pass.
    """
    all_contacts = contact_lists(contact_rows(con), other_provider_names)
    contacts = _Split.of(all_contacts)
    routed = _Split.of(rejected_lists(routed_rejections(rejected, locations)))
    entered = set(query_frame(con, "SELECT DISTINCT provider FROM entries")["provider"].to_list())
    names = [CONTACT_LIST, CONTACT_WORKBOOK, REJECTED_LIST, COVER_NOTE]
    if quality is not None:
        names.append(QUALITY_REPORT)
    if warnings is not None:
        names.append(WARNINGS_LIST)
    return ProviderPackages(
        providers=tuple(sorted(set(contacts.plain) | set(routed.plain) | entered)),
        round_id=round_id,
        contacts=contacts,
        routed=routed,
        workbook_rows=rows_xml_by(all_contacts.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")), "provider"),
        own_quality=_Split.of(quality, "agb_code", keep_key=True) if quality is not None else None,
        flagged=_Split.of(warning_list(warnings)) if warnings is not None else None,
        names=tuple(names),
    )
