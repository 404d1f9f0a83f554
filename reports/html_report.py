"""The insurer report as one self-contained HTML page in Dutch: headline figures, charts as
inline SVG, a sortable and filterable provider table, definitions and trends.

Everything is inline and a Content-Security-Policy forbids any fetch, so the page opens on a
locked-down machine without a network request. Suppressed cells read ``<threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import polars as pl
from markupsafe import Markup

from reports.breakdowns import ALL
from reports.charts import TOP_PROVIDERS, bar_chart, breakdown_chart, dutch_number, scatter_chart, share, trend_chart
from reports.disclosure import COUNT_COLUMNS, SUPPRESSED_MARK, suppressed_note
from reports.spreadsheets import DEFINITIONS_NL
from reports.templating import macro, render

PARTS = "report_parts.html"
"""The template of the report's tables, cards and lists."""
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

HEADLINES_NL: tuple[tuple[str, str], ...] = (
    ("wachtenden", "Wachtenden"),
    ("unieke_personen", "Unieke personen"),
    ("dubbel_wachtenden", "Dubbel wachtenden"),
    ("interne_dubbelingen", "Interne dubbelingen"),
    ("boven_norm", "Boven de norm"),
    ("boven_norm_geschoond", "Boven de norm, geschoond"),
)

PHASES_NL = {"aanmelding": "aanmeldwachttijd", "intake": "intake", "behandeling": "behandelwachttijd"}


@dataclass(frozen=True)
class ReportContext:
    """What the page says about its round: scope, dates, norms and the suppression threshold."""

    title: str
    scope: str
    round_id: str
    reference_date: str
    threshold: int
    norms_weeks: Mapping[str, Mapping[str, int]]
    category_min_providers: int = 2
    categories_per_sector: int = 15


DISPLAY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("agb_code", "AGB-code"),
    ("naam", "Naam"),
    ("wachtenden", "Wachtenden"),
    ("unieke_personen", "Unieke personen"),
    ("dubbel_wachtenden", "Dubbel wachtenden"),
    ("aandeel_dubbel", "% dubbel"),
    ("interne_dubbelingen", "Interne dubbelingen"),
    ("dubbel_inschrijvingen", "Inschrijvingen van dubbel wachtenden"),
    ("boven_norm", "Boven norm"),
    ("aandeel_boven_norm", "% boven norm"),
    ("boven_norm_geschoond", "Boven norm, geschoond"),
    ("wachtenden_aanmelding", "In aanmeldfase"),
    ("wachtenden_behandeling", "In behandelfase"),
    ("wacht_0_4_weken", "0-4 weken"),
    ("wacht_4_10_weken", "4-10 weken"),
    ("wacht_10_14_weken", "10-14 weken"),
    ("wacht_meer_14_weken", "> 14 weken"),
    ("dubbel_nieuw", "Nieuw dubbel"),
    ("dubbel_blijvend", "Nog dubbel"),
    ("dubbel_opgelost", "Opgelost sinds vorige ronde"),
    ("opgelost_verwijderd", "Opgelost: verwijderd"),
    ("opgelost_in_behandeling", "Opgelost: in behandeling"),
    ("opgelost_blijft_wachten", "Opgelost: blijft wachten"),
    ("opgelost_onbereikbaar", "Opgelost: onbereikbaar"),
)
TOTALS_LABEL = "Totaal"
TOTALS_NOTE = (
    "In de totaalrij telt elke persoon één keer. Bij wachtenden, boven de norm en de verdeling over wachtfase "
    "en wachttijd (inschrijvingen) is dat de som van de rijen; bij de kolommen over personen (unieke personen, "
    "dubbel wachtenden, interne dubbelingen en de trend) is het minder dan die som, omdat een persoon bij "
    "meer aanbieders kan staan."
)


def _row_values(row: Mapping[str, object]) -> dict[str, object]:
    values = dict(row)
    values["aandeel_dubbel"] = share(row["dubbel_wachtenden"], row["unieke_personen"])  # type: ignore[arg-type]
    values["aandeel_boven_norm"] = share(row["boven_norm"], row["wachtenden"])  # type: ignore[arg-type]
    return values


@dataclass(frozen=True)
class Cell:
    """One cell of the provider table: its text, its number for sorting (None: a text cell),
    and whether it is suppressed."""

    text: str
    number: object = None
    suppressed: bool = False


def _cell(column: str, value: object, threshold: int) -> Cell:
    if column in ("agb_code", "naam"):
        return Cell("" if value is None else str(value))
    if value is None:
        return Cell(SUPPRESSED_MARK, -1, suppressed=True)
    decimals = 1 if column.startswith("aandeel") else 0
    return Cell(dutch_number(value, threshold, decimals) + (" %" if decimals else ""), value)  # type: ignore[arg-type]


def provider_table(table: pl.DataFrame, totals: pl.DataFrame, threshold: int) -> str:
    """Return the sortable, filterable HTML table of providers with a totals row in the footer."""
    shown = [(c, title) for c, title in DISPLAY_COLUMNS if c in table.columns or c.startswith("aandeel")]
    footer = totals.with_columns(pl.lit(TOTALS_LABEL).alias("agb_code"), pl.lit("").alias("naam"))

    def rows(frame: pl.DataFrame) -> list[list[Cell]]:
        named = map(_row_values, frame.iter_rows(named=True))
        return [[_cell(c, values[c], threshold) for c, _ in shown] for values in named]

    return macro(PARTS, "provider_table")(
        [title for _, title in shown],
        rows(table),
        rows(footer),
        f"onderdrukt: een aantal van 1 tot {threshold}, of een groter aantal dat een klein aantal beschermt",
        TOTALS_NOTE,
    )


def _fragment(markup: str) -> Markup:
    """Return ``markup`` for the page template as it is: a constant, a package file, or a
    fragment rendered from a template (every value escaped) or drawn by :mod:`reports.charts`."""
    return Markup(markup)  # noqa: S704 (see the docstring)


def _static(name: str) -> str:
    """Return the text of ``reports/static/<name>``, inlined into the page (no fetch)."""
    return (resources.files("reports") / "static" / name).read_text(encoding="utf-8")


def _share_text(percent: float | None, of_what: str, threshold: int) -> str:
    if percent is None:
        return f"aandeel {of_what}: niet te geven (onderdrukt)"
    return f"{dutch_number(percent, threshold, 1)} % {of_what}"


def _headline_cards(totals: pl.DataFrame, threshold: int) -> str:
    row = totals.row(0, named=True) if totals.height else dict.fromkeys(COUNT_COLUMNS)
    cards = []
    for column, label in HEADLINES_NL:
        sub = ""
        if column in ("boven_norm", "boven_norm_geschoond"):
            sub = _share_text(share(row[column], row["wachtenden"]), "van de wachtenden", threshold)
        elif column == "dubbel_wachtenden":
            sub = _share_text(share(row["dubbel_wachtenden"], row["unieke_personen"]), "van de personen", threshold)
        cards.append({"column": column, "label": label, "value": dutch_number(row[column], threshold), "sub": sub})
    if row.get("dubbel_blijvend", 0) != 0 or row.get("dubbel_opgelost", 0) != 0:  # there was a previous round
        sub = (f"{dutch_number(row['dubbel_nieuw'], threshold)} nieuw dubbel, "
               f"{dutch_number(row['dubbel_blijvend'], threshold)} nog dubbel")  # fmt: skip
        cards.append({"column": "dubbel_opgelost", "label": "Opgelost sinds vorige ronde",
                      "value": dutch_number(row["dubbel_opgelost"], threshold), "sub": sub})  # fmt: skip
    return macro(PARTS, "headline_cards")(cards)


def _norms_list(norms_weeks: Mapping[str, Mapping[str, int]]) -> str:
    return macro(PARTS, "norms_list")(
        [
            (sector, PHASES_NL.get(phase, phase), weeks)
            for sector, phases in sorted(norms_weeks.items())
            for phase, weeks in phases.items()
        ]
    )


def category_note(min_providers: int, per_sector: int) -> str:
    """Return the Dutch explanation of the table by sector and zorgvraag, with the settings that
    decide which zorgvraag codes it names."""
    providers = "één aanbieder" if min_providers == 1 else f"{min_providers} aanbieders"
    largest = "de grootste" if per_sector == 1 else f"de {per_sector} grootste"
    return (
        "Alle wachtenden van de ronde naar sector en zorgvraag (ggz: zorgvraag zoals aangeleverd; msz: "
        "specialisme). Het zijn inschrijvingen, geen personen: de rijen van een sector tellen op tot de rij "
        f"'alle', de sectoren tot het landelijke totaal. Een zorgvraag staat er met zijn eigen code als minstens "
        f"{providers} hem aanleveren en hij bij {largest} van zijn sector hoort; de rest valt onder 'overig'. "
        "Per aanbieder wordt deze verdeling niet gepubliceerd."
    )


CATEGORY_COLUMNS_NL: tuple[tuple[str, str], ...] = (
    ("sector", "Sector"),
    ("zorgvraag", "Zorgvraag"),
    ("omschrijving", "Omschrijving"),
    ("wachtenden", "Wachtenden"),
    ("dubbel_inschrijvingen", "Inschrijvingen van dubbel wachtenden"),
    ("aandeel_dubbel", "% van dubbel wachtenden"),
    ("boven_norm", "Boven norm"),
    ("aandeel_boven_norm", "% boven norm"),
)


def category_section(
    categories: pl.DataFrame | None, threshold: int, min_providers: int = 2, per_sector: int = 15
) -> str:
    """Return the section with the national table by sector and zorgvraag (suppressed cells read
    the mark; a share only where both counts are published); without it (an insurer's report),
    where to find it; nothing when the round has no such table."""
    if categories is None:
        return (
            "<h2>Naar sector en zorgvraag</h2><p>De verdeling naar sector en zorgvraag wordt alleen landelijk "
            "gepubliceerd: zie het landelijke rapport (national.html) en uitsplitsing.csv.</p>"
        )
    if not categories.height:
        return ""
    rows = []
    for row in categories.iter_rows(named=True):
        values = {
            **row,
            "aandeel_dubbel": share(row["dubbel_inschrijvingen"], row["wachtenden"]),
            "aandeel_boven_norm": share(row["boven_norm"], row["wachtenden"]),
        }
        cells = []
        for column, _ in CATEGORY_COLUMNS_NL:
            value = values[column]
            if column in ("sector", "zorgvraag", "omschrijving"):
                cells.append((False, str(value or "")))
            elif column.startswith("aandeel"):
                cells.append((True, "" if value is None else dutch_number(value, threshold, 1)))
            else:
                cells.append((True, dutch_number(value, threshold)))
        rows.append((row["zorgvraag"] == ALL, cells))
    return macro(PARTS, "category_section")(
        category_note(min_providers, per_sector), [label for _, label in CATEGORY_COLUMNS_NL], rows
    )


def insurer_report_html(
    context: ReportContext,
    table: pl.DataFrame,
    totals: pl.DataFrame,
    history: pl.DataFrame | None = None,
    categories: pl.DataFrame | None = None,
) -> bytes:
    """Return the Dutch insurer report for one scope (national or one UZOVI) as HTML bytes.

    ``table`` and ``totals`` are the suppressed tables (null = suppressed); ``history`` has one
    row per round (column ``ronde`` and the count columns) and gives the trend chart when it
    holds more than one round; ``categories`` is the national table by sector and zorgvraag.
    """
    threshold = context.threshold
    frames = (table, totals) if categories is None else (table, totals, categories)
    hidden = sum(frame.select(pl.col(pl.Int64).is_null().sum()).sum_horizontal().item() for frame in frames)
    hidden_cells = "is 1 cel" if hidden == 1 else f"zijn {hidden} cellen"
    scatter, left_out = scatter_chart(table, threshold)
    trend = (
        trend_chart(history, threshold)
        if history is not None and history.height > 1
        else "<p>Nog geen eerdere rondes: het verloop verschijnt vanaf de tweede ronde.</p>"
    )
    left_out_note = f" {left_out} aanbieder(s) met een onderdrukt aantal staan niet in deze grafiek." * bool(left_out)
    return render(
        "insurer_report.html",
        csp=_fragment(CONTENT_SECURITY_POLICY),
        style=_fragment(_static("insurer_report.css")),
        script=_fragment(_static("insurer_report.js")),
        context=context,
        suppressed_note=suppressed_note(threshold),
        hidden_cells=hidden_cells,
        headline_cards=_fragment(_headline_cards(totals, threshold)),
        breakdown=_fragment(breakdown_chart(totals, threshold)),
        categories=_fragment(category_section(categories, threshold, context.category_min_providers,
                                           context.categories_per_sector)),
        top=min(TOP_PROVIDERS, table.height),
        bars=_fragment(bar_chart(table, threshold)),
        left_out_note=left_out_note,
        scatter=_fragment(scatter),
        trend=_fragment(trend),
        provider_table=_fragment(provider_table(table, totals, threshold)),
        definitions=DEFINITIONS_NL,
        mark=SUPPRESSED_MARK,
        norms=_fragment(_norms_list(context.norms_weeks)),
    )  # fmt: skip


def history_frame(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    """Return rows of (ronde, count columns) as a frame sorted by round, for ``trend_chart``."""
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"ronde": pl.Utf8, **dict.fromkeys(COUNT_COLUMNS, pl.Int64)}
    return pl.DataFrame([{k: row.get(k) for k in schema} for row in rows], schema=schema).sort("ronde")
