"""Spreadsheets for people: insurer tables and provider contact lists as .xlsx (header, number
formats, frozen header row, definitions)."""

from __future__ import annotations

import datetime as dt

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
)  # fmt: skip


def insurer_workbook(table: pl.DataFrame, totals: pl.DataFrame, threshold: int, round_id: str) -> bytes:
    """Return an .xlsx with the provider table, the totals and the definitions (Dutch);
    suppressed cells read :data:`~reports.disclosure.SUPPRESSED_MARK`."""
    notes = [*DEFINITIONS_NL, ("onderdrukt", suppressed_note(threshold)), ("ronde", round_id)]
    definitions = pl.DataFrame({"begrip": [n for n, _ in notes], "betekenis": [t for _, t in notes]})
    return workbook_bytes(
        [
            Sheet("Aanbieders", table, marker=SUPPRESSED_MARK),
            Sheet("Totaal", totals, marker=SUPPRESSED_MARK),
            Sheet("Definities", definitions),
        ]
    )


def contact_workbook(contacts: pl.DataFrame) -> bytes:
    """Return a provider's contact list as an .xlsx with a formatted, filterable sheet."""
    return workbook_bytes([Sheet("Contactlijst", contacts.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")))])
