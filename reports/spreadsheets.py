"""Spreadsheets for people: insurer tables and provider contact lists as .xlsx (header, number
formats, frozen header row, definitions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from reports.disclosure import SUPPRESSED_MARK, suppressed_note
from reports.xlsx import Sheet, workbook_bytes

FIXED_CREATED = dt.datetime(2026, 1, 1)
"""Workbooks carry this creation time, so the same tables give the same bytes on a rerun."""

DEFINITIONS_NL: tuple[tuple[str, str], ...] = (
    ("agb_code", "AGB-code van de zorgaanbieder (organisatie; vestigingen zijn samengevoegd)."),
    ("verzekeraar", "Elke persoon telt bij precies één verzekeraar (UZOVI): die van zijn meest recente aanmelding "
                    "(bij gelijke datum de laagste UZOVI-code), ook voor zijn inschrijvingen met een andere UZOVI. "
                    "Zo tellen de tabellen van de verzekeraars samen precies op tot de landelijke tabel."),
    ("wachtenden", "Aantal inschrijvingen op de wachtlijst van de aanbieder."),
    ("unieke_personen", "Aantal verschillende personen op die wachtlijst."),
    ("dubbel_wachtenden", "Personen op de lijst die ook bij een andere aanbieder wachten (ggz: zelfde sector; "
                          "msz: zelfde specialisme)."),
    ("interne_dubbelingen", "Personen die meer dan eens op de lijst van deze aanbieder staan."),
    ("dubbel_inschrijvingen", "Inschrijvingen van personen die ook bij een andere aanbieder wachten: de plaatsen "
                              "op de lijst die dubbel wachtenden innemen. Minstens één per dubbel wachtende; in de "
                              "totaalrij minstens twee, want elke dubbel wachtende staat bij twee aanbieders."),
    ("sector en zorgvraag", "De landelijke tabel naar sector en zorgvraag (blad 'Sector en zorgvraag', "
                            "uitsplitsing.csv) telt inschrijvingen: wachtenden, inschrijvingen van dubbel "
                            "wachtenden en boven de norm. Per aanbieder wordt deze verdeling niet gepubliceerd."),
    ("boven_norm", "Inschrijvingen waarvan de wachttijd op de peildatum boven de Treeknorm ligt: in de "
                   "aanmeldfase gerekend vanaf de aanmelddatum, in de behandelfase vanaf de intakedatum (zonder "
                   "intakedatum: vanaf de aanmelddatum, tegen de normen van beide fasen samen)."),
    ("boven_norm_geschoond", "Idem, waarbij elke dubbel wachtende één keer telt: bij de aanbieder waar hij het "
                             "langst wacht."),
    ("dubbel_nieuw", "Dubbel wachtenden die in de vorige ronde nergens dubbel wachtten."),
    ("dubbel_blijvend", "Dubbel wachtenden die in de vorige ronde ook al dubbel wachtten (nieuw + blijvend = "
                        "dubbel_wachtenden)."),
    ("dubbel_opgelost", "Personen die in de vorige ronde bij deze aanbieder dubbel wachtten en nu nergens meer "
                        "dubbel wachten."),
    ("opgelost_verwijderd", "Van de opgeloste: de aanbieder meldde 'verwijderd van de wachtlijst'."),
    ("opgelost_in_behandeling", "Van de opgeloste: de aanbieder meldde 'gestart met behandeling'."),
    ("opgelost_blijft_wachten", "Van de opgeloste: de aanbieder meldde 'blijft bewust wachten'."),
    ("opgelost_onbereikbaar", "Van de opgeloste: de aanbieder meldde 'onbereikbaar'. Opgeloste zonder "
                              "terugmelding vallen in geen van deze vier."),
    ("wachtenden_aanmelding", "Inschrijvingen in de aanmeldfase (wachten op de intake)."),
    ("wachtenden_behandeling", "Inschrijvingen in de behandelfase (wachten op de behandeling). Aanmeldfase + "
                               "behandelfase = wachtenden."),
    ("wacht_0_4_weken", "Inschrijvingen die op de peildatum 0 tot en met 4 weken (28 dagen) wachten, in hun eigen "
                        "fase: de aanmeldfase vanaf de aanmelddatum, de behandelfase vanaf de intakedatum (zonder "
                        "intakedatum vanaf de aanmelddatum)."),
    ("wacht_4_10_weken", "Idem, meer dan 4 en ten hoogste 10 weken (29 tot en met 70 dagen)."),
    ("wacht_10_14_weken", "Idem, meer dan 10 en ten hoogste 14 weken (71 tot en met 98 dagen)."),
    ("wacht_meer_14_weken", "Idem, meer dan 14 weken (99 dagen of meer). De vier wachttijdklassen samen = "
                            "wachtenden."),
    ("totaal", "De totaalrij telt elke persoon één keer. Voor inschrijvingen (wachtenden, boven de norm, "
               "wachtfase en wachttijd) is dat de som van de rijen; voor personen is het minder, omdat een persoon "
               "bij meer aanbieders kan staan."),
)  # fmt: skip
COLUMN_LABELS_NL: dict[str, str] = {
    "agb_code": "AGB-code", "naam": "Naam", "wachtenden": "Wachtenden", "unieke_personen": "Unieke personen",
    "dubbel_wachtenden": "Dubbel wachtenden", "interne_dubbelingen": "Interne dubbelingen",
    "dubbel_inschrijvingen": "Inschrijvingen van dubbel wachtenden", "sector": "Sector", "zorgvraag": "Zorgvraag",
    "omschrijving": "Omschrijving",
    "boven_norm": "Boven de norm", "boven_norm_geschoond": "Boven de norm, geschoond",
    "wachtenden_aanmelding": "In aanmeldfase", "wachtenden_behandeling": "In behandelfase",
    "wacht_0_4_weken": "Wachttijd 0-4 weken", "wacht_4_10_weken": "Wachttijd 4-10 weken",
    "wacht_10_14_weken": "Wachttijd 10-14 weken", "wacht_meer_14_weken": "Wachttijd meer dan 14 weken",
    "dubbel_nieuw": "Nieuw dubbel", "dubbel_blijvend": "Nog dubbel", "dubbel_opgelost": "Opgelost sinds vorige ronde",
    "opgelost_verwijderd": "Opgelost: verwijderd", "opgelost_in_behandeling": "Opgelost: in behandeling",
    "opgelost_blijft_wachten": "Opgelost: blijft wachten", "opgelost_onbereikbaar": "Opgelost: onbereikbaar",
}  # fmt: skip
"""Readable Dutch column headers of the insurer spreadsheets (the CSV and Parquet keep the names)."""
PHASE_NAMES_NL = {"aanmelding": "aanmeldfase", "behandeling": "behandelfase"}


def insurer_workbook(
    table: pl.DataFrame,
    totals: pl.DataFrame,
    threshold: int,
    round_id: str,
    *,
    reference_date: str = "",
    scope: str = "",
    norms_weeks: Mapping[str, Mapping[str, int]] | None = None,
    rounding_base: int = 1,
    categories: pl.DataFrame | None = None,
) -> bytes:
    """Return an .xlsx with the provider table and the totals (Dutch headers), the national table
    by sector and zorgvraag when given (``categories``), a sheet stating round, peildatum, scope,
    threshold, rounding and norms, and the definitions (Dutch); suppressed cells read
    :data:`~reports.disclosure.SUPPRESSED_MARK`."""
    notes = [*DEFINITIONS_NL, ("onderdrukt", suppressed_note(threshold)), ("ronde", round_id)]
    definitions = pl.DataFrame({"begrip": [n for n, _ in notes], "betekenis": [t for _, t in notes]})
    facts = [
        ("ronde", round_id),
        ("peildatum", reference_date),
        ("bereik", scope),
        ("drempel", f"aantallen van 1 tot en met {threshold - 1} zijn onderdrukt (x), en waar nodig een groter "
                    "aantal dat een klein aantal beschermt"),
        ("afronding", "geen" if rounding_base <= 1 else f"op veelvouden van {rounding_base}"),
        *[(f"norm {sector}, {PHASE_NAMES_NL.get(phase, phase)}", f"{weeks} weken")
          for sector, phases in sorted((norms_weeks or {}).items()) for phase, weeks in phases.items()],
        ("totaalrij", dict(DEFINITIONS_NL)["totaal"]),
    ]  # fmt: skip
    round_sheet = pl.DataFrame({"gegeven": [k for k, _ in facts], "waarde": [v for _, v in facts]})
    labelled = {column: COLUMN_LABELS_NL.get(column, column) for column in table.columns}
    totals_labelled = totals.with_columns(pl.lit("Totaal (elke persoon één keer)").alias("agb_code"))
    total_labels = {column: COLUMN_LABELS_NL.get(column, column) for column in totals.columns}
    sheets = [
        Sheet("Aanbieders", table.rename(labelled), marker=SUPPRESSED_MARK),
        Sheet("Totaal", totals_labelled.rename(total_labels), marker=SUPPRESSED_MARK),
    ]
    if categories is not None and categories.height:
        category_labels = {column: COLUMN_LABELS_NL.get(column, column) for column in categories.columns}
        sheets.append(Sheet("Sector en zorgvraag", categories.rename(category_labels), marker=SUPPRESSED_MARK))
    return workbook_bytes([*sheets, Sheet("Ronde", round_sheet), Sheet("Definities", definitions)])


def contact_workbook(contacts: pl.DataFrame, rows_xml: str | None = None) -> bytes:
    """Return a provider's contact list as an .xlsx with a formatted, filterable sheet (``rows_xml``:
    its rows' XML made beforehand for many providers at once, see :func:`reports.xlsx.rows_xml_by`)."""
    shown = contacts.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"))
    return workbook_bytes([Sheet("Contactlijst", shown, rows_xml=rows_xml)])
