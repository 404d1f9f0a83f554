"""Spreadsheets and cover notes for people: insurer tables and provider contact lists as
.xlsx (header, number formats, frozen header row, definitions), and a Dutch cover note."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence

import polars as pl
import xlsxwriter

from reports.disclosure import SUPPRESSED_MARK, suppressed_note

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
    ("boven_norm", "Inschrijvingen waarvan de wachttijd op de peildatum boven de Treeknorm ligt."),
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


def _workbook(buffer: io.BytesIO) -> xlsxwriter.Workbook:
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    workbook.set_properties({"created": FIXED_CREATED, "author": "wachtlijst"})
    return workbook


def _sheet(
    workbook: xlsxwriter.Workbook, name: str, frame: pl.DataFrame, *, suppressed_text: str | None = None
) -> None:
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    number = workbook.add_format({"num_format": "#,##0"})
    hidden = workbook.add_format({"align": "right", "italic": True, "font_color": "#7F7F7F"})
    sheet = workbook.add_worksheet(name)
    for column, title in enumerate(frame.columns):
        sheet.write_string(0, column, title, header)
        sheet.set_column(column, column, max(12, len(title) + 2))
    for row, values in enumerate(frame.iter_rows(), start=1):
        for column, value in enumerate(values):
            dtype = frame.dtypes[column]
            if value is None:
                if suppressed_text is not None and dtype.is_integer():
                    sheet.write_string(row, column, suppressed_text, hidden)
            elif dtype.is_integer() or dtype.is_float():
                sheet.write_number(row, column, value, number if dtype.is_integer() else None)
            else:
                sheet.write_string(row, column, str(value))
    sheet.freeze_panes(1, 0)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, len(frame.columns) - 1)


def insurer_workbook(table: pl.DataFrame, totals: pl.DataFrame, threshold: int, round_id: str) -> bytes:
    """Return an .xlsx with the provider table, the totals and the definitions (Dutch);
    suppressed cells read :data:`~reports.disclosure.SUPPRESSED_MARK`."""
    buffer = io.BytesIO()
    workbook = _workbook(buffer)
    _sheet(workbook, "Aanbieders", table, suppressed_text=SUPPRESSED_MARK)
    _sheet(workbook, "Totaal", totals, suppressed_text=SUPPRESSED_MARK)
    notes = [*DEFINITIONS_NL, ("onderdrukt", suppressed_note(threshold)), ("ronde", round_id)]
    _sheet(workbook, "Definities", pl.DataFrame({"begrip": [n for n, _ in notes], "betekenis": [t for _, t in notes]}))
    workbook.close()
    return buffer.getvalue()


def contact_workbook(contacts: pl.DataFrame) -> bytes:
    """Return a provider's contact list as an .xlsx with a formatted, filterable sheet."""
    buffer = io.BytesIO()
    workbook = _workbook(buffer)
    _sheet(workbook, "Contactlijst", contacts.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")))
    workbook.close()
    return buffer.getvalue()


def cover_note(provider: str, round_id: str, contacts: pl.DataFrame, rejected_rows: int, files: Sequence[str]) -> bytes:
    """Return the Dutch cover note of a provider's delivery as a self-contained HTML page."""
    double = int((contacts["soort"] == "dubbel").sum()) if contacts.height else 0
    internal = contacts.height - double
    probabilistic = int((contacts["koppeling"] == "probabilistisch").sum()) if contacts.height else 0
    items = "".join(f"<li><code>{html.escape(name)}</code></li>" for name in files)
    page = f"""<!doctype html><html lang="nl"><head><meta charset="utf-8">
<title>Opschoning wachtlijst {html.escape(round_id)} - {html.escape(provider)}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}</style></head><body>
<h1>Opschoning wachtlijst, ronde {html.escape(round_id)}</h1>
<p>Voor zorgaanbieder met AGB-code <strong>{html.escape(provider)}</strong>.</p>
<p>De vertrouwde derde partij (TTP) heeft de wachtlijsten van alle deelnemende aanbieders
vergeleken, zonder namen of BSN's te bewaren. Deze levering bevat alleen uw eigen cliënten:</p>
<ul>
<li><strong>{double}</strong> inschrijvingen van cliënten die ook bij een andere aanbieder wachten
(soort <code>dubbel</code>);</li>
<li><strong>{internal}</strong> inschrijvingen van cliënten die meer dan eens op uw eigen lijst staan
(soort <code>intern</code>);</li>
<li><strong>{rejected_rows}</strong> regels uit uw aanlevering die niet verwerkt konden worden
(<code>afgewezen.csv</code>, met toelichting).</li>
</ul>
<p>Bij <strong>{probabilistic}</strong> inschrijvingen is de koppeling niet op BSN gemaakt maar op
naam, geboortedatum en postcode (<code>koppeling = probabilistisch</code>); de kolom
<code>zekerheid</code> geeft de kans dat het om dezelfde persoon gaat. Controleer bij deze
cliënten de identiteit voordat u conclusies trekt.</p>
<h2>Wat wordt er van u verwacht?</h2>
<ol>
<li>Neem contact op met de cliënten op de contactlijst en bespreek of zij op uw wachtlijst willen blijven.</li>
<li>Leg per <code>client_id</code> de uitkomst vast, bijvoorbeeld: van de lijst gehaald, blijft bewust
wachten, gestart met behandeling, niet bereikbaar.</li>
<li>Geef die uitkomst terug aan de TTP op de manier die met u is afgesproken; de volgende ronde
verwerkt de terugkoppeling.</li>
<li>Verbeter de afgewezen regels in uw volgende aanlevering.</li>
</ol>
<p>Welke andere aanbieders het betreft, staat er bewust niet in. Zorgverzekeraars ontvangen alleen
geaggregeerde aantallen per aanbieder, nooit gegevens over personen.</p>
<h2>Bestanden in deze levering</h2><ul>{items}</ul>
</body></html>
"""
    return page.encode("utf-8")
