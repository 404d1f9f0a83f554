"""The insurer report's charts as inline SVG, drawn from the suppressed tables: a suppressed
count is never drawn as a number (a bar or dot is left out and the page says so)."""

from __future__ import annotations

import html
import math

import polars as pl

from reports.disclosure import SUPPRESSED_MARK

TREND_COLOURS = {"wachtenden": "#1f5f99", "dubbel_wachtenden": "#d9822b", "boven_norm": "#7a3e9d"}
WAITERS_COLOUR = "#9cc3e6"
DOUBLES_COLOUR = "#d9822b"
TOP_PROVIDERS = 25


BREAKDOWN_NL: tuple[tuple[str, str, str], ...] = (
    ("Wachtfase", "wachtenden_aanmelding", "aanmeldfase"),
    ("Wachtfase", "wachtenden_behandeling", "behandelfase"),
    ("Wachttijd in de eigen fase", "wacht_0_4_weken", "0 tot en met 4 weken"),
    ("Wachttijd in de eigen fase", "wacht_4_10_weken", "meer dan 4, tot en met 10 weken"),
    ("Wachttijd in de eigen fase", "wacht_10_14_weken", "meer dan 10, tot en met 14 weken"),
    ("Wachttijd in de eigen fase", "wacht_meer_14_weken", "meer dan 14 weken"),
)
"""The breakdown of the totals row: (group, column, Dutch label)."""


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
    return (
        '<div class="trend">'
        + "".join(_trend_series(history, column, colour, threshold) for column, colour in TREND_COLOURS.items())
        + "</div>"
    )


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
