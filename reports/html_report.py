"""The insurer report as one self-contained HTML page in Dutch: headline figures, charts as
inline SVG, a sortable and filterable provider table, definitions and trends.

Everything is inline and a Content-Security-Policy forbids any fetch, so the page opens on a
locked-down machine without a network request. Suppressed cells read ``<threshold``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from reports.disclosure import COUNT_COLUMNS, SUPPRESSED_MARK, suppressed_note
from reports.spreadsheets import DEFINITIONS_NL

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

TREND_COLOURS = {"wachtenden": "#1f5f99", "dubbel_wachtenden": "#d9822b", "boven_norm": "#7a3e9d"}
WAITERS_COLOUR = "#9cc3e6"
DOUBLES_COLOUR = "#d9822b"
TOP_PROVIDERS = 25


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


def dutch_number(value: int | float | None, threshold: int, decimals: int = 0) -> str:
    """Return ``value`` with Dutch separators (12.345; 12,3), or the suppression mark for a
    suppressed value (``threshold`` is kept for the callers' sake)."""
    if value is None:
        return SUPPRESSED_MARK
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def share(part: int | None, whole: int | None) -> float | None:
    """Return part/whole in percent, or None when either is suppressed or whole is 0.

    A share is only published when both counts are: from a share and one count the other
    could be recomputed.
    """
    if part is None or whole is None or whole == 0:
        return None
    return 100.0 * part / whole


def _nice_ticks(maximum: float, count: int = 5) -> list[float]:
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)  # counts: never a tick between two whole numbers ("0 0 0 1 1 1")
    return [i * step for i in range(math.ceil(maximum / step) + 1)]


def _svg(width: int, height: int, label: str, body: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{html.escape(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def bar_chart(table: pl.DataFrame, threshold: int) -> str:
    """Return an SVG of waiters against double waiters for the largest providers (by waiters)."""
    rows = (
        table.select("agb_code", "wachtenden", "dubbel_wachtenden")
        .sort(pl.col("wachtenden").fill_null(0), "agb_code", descending=[True, False])
        .head(TOP_PROVIDERS)
        .rows()
    )
    if not rows:
        return "<p>Geen aanbieders.</p>"
    if all(waiters is None for _, waiters, _ in rows):
        return '<p class="no-chart">Geen grafiek: alle aantallen wachtenden zijn onderdrukt (zie de tabel).</p>'
    row_height, left, right, top = 22, 90, 150, 30
    width = 760
    plot = width - left - right
    height = top + row_height * len(rows) + 30
    maximum = max((w or 0) for _, w, _ in rows) or 1
    ticks = _nice_ticks(maximum)
    scale = plot / ticks[-1]
    parts = [
        f'<rect x="{left}" y="6" width="12" height="12" fill="{WAITERS_COLOUR}"/>'
        f'<text x="{left + 16}" y="16">wachtenden</text>'
        f'<rect x="{left + 120}" y="6" width="12" height="12" fill="{DOUBLES_COLOUR}"/>'
        f'<text x="{left + 136}" y="16">dubbel wachtenden</text>'
    ]
    for tick in ticks:
        x = left + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 26}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
            f"{dutch_number(tick, threshold)}</text>"
        )
    for index, (agb, waiters, doubles) in enumerate(rows):
        y = top + index * row_height
        label = f"{agb}: {dutch_number(waiters, threshold)} wachtenden, {dutch_number(doubles, threshold)} dubbel"
        parts.append(f'<g><title>{html.escape(label)}</title><text x="{left - 6}" y="{y + 15}" text-anchor="end">'
                     f"{html.escape(agb)}</text>")  # fmt: skip
        if waiters is not None:
            parts.append(f'<rect x="{left}" y="{y + 3}" width="{waiters * scale:.1f}" height="16" '
                         f'fill="{WAITERS_COLOUR}"/>')  # fmt: skip
        if doubles is not None:
            parts.append(f'<rect x="{left}" y="{y + 7}" width="{doubles * scale:.1f}" height="8" '
                         f'fill="{DOUBLES_COLOUR}"/>')  # fmt: skip
        end = left + (waiters or 0) * scale + 6
        parts.append(f'<text x="{end:.1f}" y="{y + 15}" class="value">{html.escape(dutch_number(waiters, threshold))}'
                     f" / {html.escape(dutch_number(doubles, threshold))}</text></g>")  # fmt: skip
    return _svg(width, height, "Wachtenden en dubbel wachtenden per aanbieder", "".join(parts))


def scatter_chart(table: pl.DataFrame, threshold: int) -> tuple[str, int]:
    """Return (SVG with one dot per provider at (waiters, double waiters), providers left out
    because a count is suppressed)."""
    shown = table.filter(pl.col("wachtenden").is_not_null() & pl.col("dubbel_wachtenden").is_not_null())
    left_out = table.height - shown.height
    if shown.is_empty():
        return ('<p class="no-chart">Geen grafiek: bij geen enkele aanbieder zijn zowel de wachtenden als de '
                "dubbel wachtenden gepubliceerd.</p>", left_out)  # fmt: skip
    width, height, left, bottom, top, right = 760, 340, 60, 40, 16, 20
    x_ticks = _nice_ticks(max(shown["wachtenden"].max() or 1, 1))  # type: ignore[arg-type]
    y_ticks = _nice_ticks(max(shown["dubbel_wachtenden"].max() or 1, 1))  # type: ignore[arg-type]
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = []
    for tick in x_ticks:
        x = left + tick / x_ticks[-1] * plot_w
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#eee"/>'
                     f'<text x="{x:.1f}" y="{height - 22}" text-anchor="middle" class="tick">'
                     f"{dutch_number(tick, threshold)}</text>")  # fmt: skip
    for tick in y_ticks:
        y = top + plot_h - tick / y_ticks[-1] * plot_h
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                     f"{dutch_number(tick, threshold)}</text>")  # fmt: skip
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle">wachtenden</text>'
                 f'<text x="14" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + plot_h / 2:.0f})">dubbel wachtenden</text>')  # fmt: skip
    for agb, waiters, doubles in shown.select("agb_code", "wachtenden", "dubbel_wachtenden").rows():
        x = left + waiters / x_ticks[-1] * plot_w
        y = top + plot_h - doubles / y_ticks[-1] * plot_h
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{DOUBLES_COLOUR}" fill-opacity="0.7">'
                     f"<title>{html.escape(agb)}: {dutch_number(waiters, threshold)} wachtenden, "
                     f"{dutch_number(doubles, threshold)} dubbel</title></circle>")  # fmt: skip
    label = "Per aanbieder: dubbel wachtenden tegen wachtenden"
    return _svg(width, height, label, "".join(parts)), left_out


TREND_LABELS = {"wachtenden": "Wachtenden", "dubbel_wachtenden": "Dubbel wachtenden", "boven_norm": "Boven de norm"}


def trend_chart(history: pl.DataFrame, threshold: int) -> str:
    """Return one small SVG line chart per series (waiters, double waiters, over the norm) over
    the rounds, each on its own axis: double waiters are a small fraction of the waiters, and on
    one axis their course would read as flat."""
    return '<div class="trend">' + "".join(
        _trend_series(history, column, colour, threshold) for column, colour in TREND_COLOURS.items()
    ) + "</div>"


def _trend_series(history: pl.DataFrame, column: str, colour: str, threshold: int) -> str:
    rounds = history["ronde"].to_list()
    values = history[column].to_list()
    width, height, left, right, top, bottom = 360, 220, 60, 16, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    published = [v for v in values if v is not None]
    ticks = _nice_ticks(max(max(published, default=1), 1))
    step = plot_w / max(len(rounds) - 1, 1)
    parts = [f'<text x="{left}" y="16" class="series">{TREND_LABELS[column]}</text>']
    for tick in ticks:
        y = top + plot_h - tick / ticks[-1] * plot_h
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                     f"{dutch_number(tick, threshold)}</text>")  # fmt: skip
    for index, round_id in enumerate(rounds):
        parts.append(f'<text x="{left + index * step:.1f}" y="{height - 18}" text-anchor="middle" class="tick">'
                     f"{html.escape(str(round_id))}</text>")  # fmt: skip
    points = [
        (left + index * step, top + plot_h - value / ticks[-1] * plot_h, value)
        for index, value in enumerate(values)
        if value is not None
    ]
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for x, y, value in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{TREND_LABELS[column]}: '
                     f"{dutch_number(value, threshold)}</title></circle>")  # fmt: skip
    missing = len(values) - len(points)
    if missing:
        parts.append(f'<text x="{left}" y="{height - 2}" class="tick">{missing} ronde(s) onderdrukt</text>')
    return _svg(width, height, f"Verloop: {TREND_LABELS[column].lower()}", "".join(parts))


def breakdown_chart(totals: pl.DataFrame, threshold: int) -> str:
    """Return a table-like SVG of the totals row's split by wachtfase and by waiting time, each bar
    with its count and share of the waiters; a suppressed count shows the mark and no bar."""
    row = totals.row(0, named=True) if totals.height else {}
    if not all(column in row for _, column, _ in BREAKDOWN_NL):
        return ""
    whole = row.get("wachtenden")
    width, left, right, row_height, top = 760, 300, 150, 24, 10
    plot = width - left - right
    maximum = max((row[c] or 0) for _, c, _ in BREAKDOWN_NL) or 1
    parts = []
    y = top
    group = None
    for name, column, label in BREAKDOWN_NL:
        if name != group:
            group = name
            parts.append(f'<text x="4" y="{y + 15}" class="series">{html.escape(name)}</text>')
            y += row_height
        value = row[column]
        percent = share(value, whole)
        text = dutch_number(value, threshold) + (f" ({dutch_number(percent, threshold, 1)} %)" if percent is not None
                                                 else "")  # fmt: skip
        parts.append(f'<g><title>{html.escape(label)}: {html.escape(text)}</title>'
                     f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{html.escape(label)}</text>')  # fmt: skip
        if value is not None:
            parts.append(f'<rect x="{left}" y="{y + 4}" width="{value / maximum * plot:.1f}" height="14" '
                         f'fill="{WAITERS_COLOUR}"/>')  # fmt: skip
        end = left + (value or 0) / maximum * plot + 6
        parts.append(f'<text x="{end:.1f}" y="{y + 15}" class="value">{html.escape(text)}</text></g>')
        y += row_height
    return _svg(width, y + 6, "Wachtenden naar wachtfase en wachttijd", "".join(parts))


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
BREAKDOWN_NL: tuple[tuple[str, str, str], ...] = (
    ("Wachtfase", "wachtenden_aanmelding", "aanmeldfase"),
    ("Wachtfase", "wachtenden_behandeling", "behandelfase"),
    ("Wachttijd in de eigen fase", "wacht_0_4_weken", "0 tot en met 4 weken"),
    ("Wachttijd in de eigen fase", "wacht_4_10_weken", "meer dan 4, tot en met 10 weken"),
    ("Wachttijd in de eigen fase", "wacht_10_14_weken", "meer dan 10, tot en met 14 weken"),
    ("Wachttijd in de eigen fase", "wacht_meer_14_weken", "meer dan 14 weken"),
)
"""The breakdown of the totals row: (group, column, Dutch label)."""


def _row_values(row: Mapping[str, object]) -> dict[str, object]:
    values = dict(row)
    values["aandeel_dubbel"] = share(row["dubbel_wachtenden"], row["unieke_personen"])  # type: ignore[arg-type]
    values["aandeel_boven_norm"] = share(row["boven_norm"], row["wachtenden"])  # type: ignore[arg-type]
    return values


def _cell(column: str, value: object, threshold: int) -> str:
    if column in ("agb_code", "naam"):
        return f"<td>{html.escape('' if value is None else str(value))}</td>"
    if value is None:
        title = f"onderdrukt: een aantal van 1 tot {threshold}, of een groter aantal dat een klein aantal beschermt"
        return f'<td class="num suppressed" data-v="-1" title="{title}">{SUPPRESSED_MARK}</td>'
    decimals = 1 if column.startswith("aandeel") else 0
    text = dutch_number(value, threshold, decimals) + (" %" if decimals else "")  # type: ignore[arg-type]
    return f'<td class="num" data-v="{value}">{html.escape(text)}</td>'


def provider_table(table: pl.DataFrame, totals: pl.DataFrame, threshold: int) -> str:
    """Return the sortable, filterable HTML table of providers with a totals row in the footer."""
    shown = [(c, title) for c, title in DISPLAY_COLUMNS if c in table.columns or c.startswith("aandeel")]
    header = "".join(
        f'<th scope="col" data-col="{i}" aria-sort="none"><button type="button">{html.escape(title)}</button></th>'
        for i, (_, title) in enumerate(shown)
    )
    body = "".join(
        "<tr>" + "".join(_cell(c, values[c], threshold) for c, _ in shown) + "</tr>"
        for values in map(_row_values, table.iter_rows(named=True))
    )
    footer = "".join(
        "<tr>" + "".join(_cell(c, values[c], threshold) for c, _ in shown) + "</tr>"
        for values in map(
            _row_values,
            totals.with_columns(pl.lit(TOTALS_LABEL).alias("agb_code"), pl.lit("").alias("naam")).iter_rows(named=True),
        )
    )
    return (
        '<label for="filter">Zoek op AGB-code of naam: </label><input id="filter" type="search" autocomplete="off"> '
        '<span id="shown"></span>'
        f'<table id="providers"><thead><tr>{header}</tr></thead><tbody>{body}</tbody>'
        f"<tfoot>{footer}</tfoot></table>"
        f'<p class="totals-note">{html.escape(TOTALS_NOTE)}</p>'
    )


TABLE_SCRIPT = """
(function () {
  var table = document.getElementById('providers');
  var body = table.tBodies[0];
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');
  function key(row, col) {
    var cell = row.cells[col];
    return cell.hasAttribute('data-v') ? parseFloat(cell.getAttribute('data-v')) : cell.textContent;
  }
  function count() {
    var visible = 0;
    for (var i = 0; i < body.rows.length; i++) { if (!body.rows[i].hidden) { visible++; } }
    shown.textContent = visible + ' van ' + body.rows.length + ' aanbieders';
  }
  table.querySelectorAll('thead th').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      var col = parseInt(th.getAttribute('data-col'), 10);
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('thead th').forEach(function (other) { other.setAttribute('aria-sort', 'none'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, col), y = key(b, col);
        var order = (typeof x === 'number') ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  filter.addEventListener('input', function () {
    var needle = filter.value.trim();
    for (var i = 0; i < body.rows.length; i++) {
      var text = (body.rows[i].cells[0].textContent + ' ' + body.rows[i].cells[1].textContent).toLowerCase();
      body.rows[i].hidden = needle !== '' && text.indexOf(needle.toLowerCase()) === -1;
    }
    count();
  });
  count();
})();
"""

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:1.5em}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid #1f5f99;padding-bottom:.2em}
.meta{color:#555}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.8em;margin:1em 0}
.card{background:#fff;border-radius:6px;padding:.8em 1em;box-shadow:0 1px 2px rgba(0,0,0,.12)}
.card .label{font-size:.85em;color:#555}.card .value{font-size:1.7em;font-weight:600}
.card .sub{font-size:.85em;color:#555}
.chart{max-width:100%;height:auto;background:#fff;border-radius:6px;font-size:12px}
.chart .tick{fill:#666;font-size:11px}
table{border-collapse:collapse;background:#fff;width:100%;margin-top:.6em;font-size:.92em}
th,td{padding:4px 8px;border-bottom:1px solid #e3e3e3}
th button{font:inherit;font-weight:600;background:none;border:0;cursor:pointer;padding:0;text-align:left}
th[aria-sort=ascending] button::after{content:' \\25B2'}th[aria-sort=descending] button::after{content:' \\25BC'}
thead th{position:sticky;top:0;background:#e8eef6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.suppressed{color:#777;font-style:italic}
tfoot td{font-weight:700;border-top:2px solid #999}
dl dt{font-weight:600;margin-top:.5em}dl dd{margin-left:1.2em}
.note{background:#fff8e1;border-left:4px solid #e0a800;padding:.6em 1em}
.trend{display:flex;flex-wrap:wrap;gap:.8em}.chart .series{font-weight:600;font-size:13px}
.no-chart{color:#555;font-style:italic}.totals-note{color:#555;font-size:.9em}
@media print{thead th{position:static}input,label[for=filter]{display:none}}
"""


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
        cards.append(
            f'<div class="card" data-column="{column}"><div class="label">{label}</div>'
            f'<div class="value">{html.escape(dutch_number(row[column], threshold))}</div>'
            f'<div class="sub">{html.escape(sub)}</div></div>'
        )
    if row.get("dubbel_blijvend", 0) != 0 or row.get("dubbel_opgelost", 0) != 0:  # there was a previous round
        sub = (f"{dutch_number(row['dubbel_nieuw'], threshold)} nieuw dubbel, "
               f"{dutch_number(row['dubbel_blijvend'], threshold)} nog dubbel")  # fmt: skip
        cards.append(
            '<div class="card" data-column="dubbel_opgelost"><div class="label">Opgelost sinds vorige ronde</div>'
            f'<div class="value">{html.escape(dutch_number(row["dubbel_opgelost"], threshold))}</div>'
            f'<div class="sub">{html.escape(sub)}</div></div>'
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _norms_list(norms_weeks: Mapping[str, Mapping[str, int]]) -> str:
    items = "".join(
        f"<li>{html.escape(sector)}, {html.escape(PHASES_NL.get(phase, phase))}: {weeks} weken</li>"
        for sector, phases in sorted(norms_weeks.items())
        for phase, weeks in phases.items()
    )
    return f"<ul>{items}</ul>"


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
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in CATEGORY_COLUMNS_NL)
    body = []
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
                cells.append(f"<td>{html.escape(str(value or ''))}</td>")
            elif column.startswith("aandeel"):
                text = "" if value is None else dutch_number(value, threshold, 1)
                cells.append(f'<td class="num">{html.escape(text)}</td>')
            else:
                cells.append(f'<td class="num">{html.escape(dutch_number(value, threshold))}</td>')
        kind = ' class="total"' if row["zorgvraag"] == "alle" else ""
        body.append(f"<tr{kind}>" + "".join(cells) + "</tr>")
    return (
        f"<h2>Naar sector en zorgvraag</h2><p>{html.escape(category_note(min_providers, per_sector))}</p>"
        f'<table class="categories"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
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
    definitions = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in DEFINITIONS_NL)
    title = html.escape(context.title)
    page = f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body><main>
<h1>{title}</h1>
<p class="meta">Ronde <strong>{html.escape(context.round_id)}</strong>, peildatum
<strong>{html.escape(context.reference_date)}</strong>. {html.escape(context.scope)}</p>
<p class="note">Dit rapport bevat alleen aantallen per aanbieder, nooit gegevens over personen.
{html.escape(suppressed_note(threshold))} In dit rapport {hidden_cells} onderdrukt.
Een 0 is een echte nul.</p>
<h2>Kerncijfers</h2>
{_headline_cards(totals, threshold)}
<h2>Wachtfase en wachttijd</h2>
<p>Alle wachtenden van dit rapport naar wachtfase en naar wachttijd op de peildatum, gerekend in de
eigen fase (de behandelfase vanaf de intake; zonder intakedatum vanaf de aanmelddatum). Per aanbieder
staan dezelfde aantallen in de tabel.</p>
{breakdown_chart(totals, threshold)}
{category_section(categories, threshold, context.category_min_providers, context.categories_per_sector)}
<h2>Wachtenden en dubbel wachtenden per aanbieder</h2>
<p>De {min(TOP_PROVIDERS, table.height)} aanbieders met de meeste wachtenden; alle aanbieders staan in de
tabel hieronder.</p>
{bar_chart(table, threshold)}
<h2>Dubbel wachtenden tegen wachtenden</h2>
<p>Elke stip is een aanbieder.{left_out_note}</p>
{scatter}
<h2>Verloop</h2>
<p>Elke reeks heeft zijn eigen schaal.</p>
{trend}
<h2>Aanbieders</h2>
<p>Klik op een kolomkop om te sorteren. Een aandeel (%) staat er alleen als beide aantallen
gepubliceerd zijn.</p>
{provider_table(table, totals, threshold)}
<h2>Begrippen</h2>
<dl>{definitions}<dt>{SUPPRESSED_MARK}</dt><dd>{html.escape(suppressed_note(threshold))}</dd></dl>
<h2>Gebruikte normen (Treeknormen)</h2>
<p>Een inschrijving telt als boven de norm als de wachttijd op de peildatum langer is dan:</p>
{_norms_list(context.norms_weeks)}
</main>
<script>{TABLE_SCRIPT}</script>
</body></html>
"""
    return page.encode("utf-8")


def history_frame(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    """Return rows of (ronde, count columns) as a frame sorted by round, for ``trend_chart``."""
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"ronde": pl.Utf8, **dict.fromkeys(COUNT_COLUMNS, pl.Int64)}
    return pl.DataFrame([{k: row.get(k) for k in schema} for row in rows], schema=schema).sort("ronde")
