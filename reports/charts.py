"""The insurer report's charts as inline SVG, drawn from the suppressed tables: a suppressed
count is never drawn as a number (a bar or dot is left out and the page says so)."""

from __future__ import annotations

import math

import polars as pl

from reports.disclosure import SUPPRESSED_MARK
from reports.templating import macro

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


CHARTS = "charts.html"
"""The template of the charts' markup."""
NO_PROVIDERS = "<p>Geen aanbieders.</p>"
ALL_WAITERS_SUPPRESSED = (
    '<p class="no-chart">Geen grafiek: alle aantallen wachtenden zijn onderdrukt (zie de tabel).</p>'
)
NO_DOTS = (
    '<p class="no-chart">Geen grafiek: bij geen enkele aanbieder zijn zowel de wachtenden als de '
    "dubbel wachtenden gepubliceerd.</p>"
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
        return NO_PROVIDERS
    if all(waiters is None for _, waiters, _ in rows):
        return ALL_WAITERS_SUPPRESSED
    row_height, left, top, width = 22, 90, 30, 760
    plot = width - left - 150
    height = top + row_height * len(rows) + 30
    ticks = _nice_ticks(max((w or 0) for _, w, _ in rows) or 1)
    scale = plot / ticks[-1]
    chart = {
        "width": width, "height": height, "left": left, "top": top,
        "waiters_colour": WAITERS_COLOUR, "doubles_colour": DOUBLES_COLOUR,
        "ticks": [_x_tick(left + tick * scale, tick, threshold) for tick in ticks],
        "rows": [
            {
                "y": top + index * row_height, "agb": agb,
                "title": _provider_title(agb, waiters, doubles, threshold),
                "waiters": None if waiters is None else f"{waiters * scale:.1f}",
                "doubles": None if doubles is None else f"{doubles * scale:.1f}",
                "end": f"{left + (waiters or 0) * scale + 6:.1f}",
                "text": f"{dutch_number(waiters, threshold)} / {dutch_number(doubles, threshold)}",
            }
            for index, (agb, waiters, doubles) in enumerate(rows)
        ],
    }  # fmt: skip
    return macro(CHARTS, "bar_chart")(chart)


def scatter_chart(table: pl.DataFrame, threshold: int) -> tuple[str, int]:
    """Return (SVG with one dot per provider at (waiters, double waiters), providers left out
    because a count is suppressed)."""
    shown = table.filter(pl.col("wachtenden").is_not_null() & pl.col("dubbel_wachtenden").is_not_null())
    left_out = table.height - shown.height
    if shown.is_empty():
        return NO_DOTS, left_out
    width, height, left, bottom, top, right = 760, 340, 60, 40, 16, 20
    x_ticks = _nice_ticks(max(shown["wachtenden"].max() or 1, 1))  # type: ignore[arg-type]
    y_ticks = _nice_ticks(max(shown["dubbel_wachtenden"].max() or 1, 1))  # type: ignore[arg-type]
    plot_w, plot_h = width - left - right, height - top - bottom
    chart = {
        "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w, "plot_h": plot_h,
        "colour": DOUBLES_COLOUR, "x_label_x": f"{left + plot_w / 2:.0f}", "y_label_y": f"{top + plot_h / 2:.0f}",
        "x_ticks": [_x_tick(left + tick / x_ticks[-1] * plot_w, tick, threshold) for tick in x_ticks],
        "y_ticks": [_y_tick(top + plot_h - tick / y_ticks[-1] * plot_h, tick, threshold) for tick in y_ticks],
        "dots": [
            {
                "x": f"{left + waiters / x_ticks[-1] * plot_w:.1f}",
                "y": f"{top + plot_h - doubles / y_ticks[-1] * plot_h:.1f}",
                "title": _provider_title(agb, waiters, doubles, threshold),
            }
            for agb, waiters, doubles in shown.select("agb_code", "wachtenden", "dubbel_wachtenden").rows()
        ],
    }  # fmt: skip
    return macro(CHARTS, "scatter_chart")(chart), left_out


def _provider_title(agb: str, waiters: int | None, doubles: int | None, threshold: int) -> str:
    return f"{agb}: {dutch_number(waiters, threshold)} wachtenden, {dutch_number(doubles, threshold)} dubbel"


def _x_tick(x: float, tick: float, threshold: int) -> dict[str, str]:
    return {"x": f"{x:.1f}", "label": dutch_number(tick, threshold)}


def _y_tick(y: float, tick: float, threshold: int) -> dict[str, str]:
    return {"y": f"{y:.1f}", "text_y": f"{y + 4:.1f}", "label": dutch_number(tick, threshold)}


TREND_LABELS = {"wachtenden": "Wachtenden", "dubbel_wachtenden": "Dubbel wachtenden", "boven_norm": "Boven de norm"}


def trend_chart(history: pl.DataFrame, threshold: int) -> str:
    """Return one small SVG line chart per series (waiters, double waiters, over the norm) over
    the rounds, each on its own axis: double waiters are a small fraction of the waiters, and on
    one axis their course would read as flat."""
    series = [_trend_series(history, column, colour, threshold) for column, colour in TREND_COLOURS.items()]
    return macro(CHARTS, "trend_chart")(series)


def _trend_series(history: pl.DataFrame, column: str, colour: str, threshold: int) -> dict[str, object]:
    rounds = history["ronde"].to_list()
    values = history[column].to_list()
    width, height, left, right, top, bottom = 360, 220, 60, 16, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    published = [v for v in values if v is not None]
    ticks = _nice_ticks(max(max(published, default=1), 1))
    step = plot_w / max(len(rounds) - 1, 1)
    points = [
        (left + index * step, top + plot_h - value / ticks[-1] * plot_h, value)
        for index, value in enumerate(values)
        if value is not None
    ]
    return {
        "width": width, "height": height, "left": left, "plot_w": plot_w, "colour": colour,
        "name": TREND_LABELS[column], "label": f"Verloop: {TREND_LABELS[column].lower()}",
        "ticks": [_y_tick(top + plot_h - tick / ticks[-1] * plot_h, tick, threshold) for tick in ticks],
        "rounds": [_x_tick(left + index * step, 0, threshold) | {"label": str(r)} for index, r in enumerate(rounds)],
        "path": " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points) if len(points) > 1 else "",
        "points": [_y_tick(y, value, threshold) | {"x": f"{x:.1f}"} for x, y, value in points],
        "missing": len(values) - len(points),
    }  # fmt: skip


def breakdown_chart(totals: pl.DataFrame, threshold: int) -> str:
    """Return a table-like SVG of the totals row's split by wachtfase and by waiting time, each bar
    with its count and share of the waiters; a suppressed count shows the mark and no bar."""
    row = totals.row(0, named=True) if totals.height else {}
    if not all(column in row for _, column, _ in BREAKDOWN_NL):
        return ""
    whole = row.get("wachtenden")
    left, row_height, top = 300, 24, 10
    plot = 760 - left - 150
    maximum = max((row[c] or 0) for _, c, _ in BREAKDOWN_NL) or 1
    rows: list[dict[str, object]] = []
    y = top
    group = None
    for name, column, label in BREAKDOWN_NL:
        if name != group:
            group = name
            rows.append({"group": name, "y": y})
            y += row_height
        value = row[column]
        percent = share(value, whole)
        text = dutch_number(value, threshold) + (f" ({dutch_number(percent, threshold, 1)} %)" if percent is not None
                                                 else "")  # fmt: skip
        rows.append({"group": None, "y": y, "label": label, "text": text,
                     "bar": None if value is None else f"{value / maximum * plot:.1f}",
                     "end": f"{left + (value or 0) / maximum * plot + 6:.1f}"})  # fmt: skip
        y += row_height
    chart = {"width": 760, "height": y + 6, "left": left, "colour": WAITERS_COLOUR, "rows": rows}
    return macro(CHARTS, "breakdown_chart")(chart)
