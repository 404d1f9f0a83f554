"""The operator page's linkage section: why the round linked as it did, in counts and charts
(no person-level data). Charts are computed here as plain numbers and drawn by the template as
inline SVG, so the page stays one file without scripts.

- the match weight of each field and level (log2 of m/u, as Splink's match-weight chart), with
  m and u;
- the distribution of scored pairs' match probabilities with the review and link thresholds;
- the decisions: labelled BSN pairs the model learnt from, links, review band, refusals, splits;
- the review band per provider.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from linkage.comparisons import FIELDS, LEVEL_LABELS

FIELD_NAMES_NL: dict[str, str] = {
    "sn": "achternaam", "fn": "voornaam", "dob": "geboortedatum", "pc": "postcode", "sex": "geslacht",
}  # fmt: skip
CHART_WIDTH = 640
BAR_HEIGHT = 14
LABEL_WIDTH = 330
MAX_WEIGHT = 16.0
"""Weights beyond ±16 bits are drawn at the edge (the number beside the bar is exact)."""


def _decimal(number: float, places: int = 2) -> str:
    return f"{number:.{places}f}".replace(".", ",")


def weight_rows(m: Mapping[str, list[float]], u: Mapping[str, list[float]]) -> list[dict[str, Any]]:
    """Return one row per field and level: Dutch labels, m, u, the match weight log2(m/u) and the
    bar's geometry in a chart :data:`CHART_WIDTH` wide (zero in the middle of the bar area)."""
    rows: list[dict[str, Any]] = []
    half = (CHART_WIDTH - LABEL_WIDTH) / 2
    for name in FIELDS:
        if name not in m or name not in u:
            continue
        for level, (m_value, u_value) in enumerate(zip(m[name], u[name], strict=True)):
            weight = math.log2(max(m_value, 1e-12) / max(u_value, 1e-12))
            clipped = max(-MAX_WEIGHT, min(MAX_WEIGHT, weight))
            length = abs(clipped) / MAX_WEIGHT * half
            rows.append({
                "field": FIELD_NAMES_NL[name], "level": LEVEL_LABELS[name][level] if level < len(LEVEL_LABELS[name])
                else str(level), "m": _decimal(m_value, 4), "u": _decimal(u_value, 4), "weight": _decimal(weight),
                "x": round(LABEL_WIDTH + half - (length if weight < 0 else 0), 1), "width": round(length, 1),
                "positive": weight >= 0, "y": len(rows) * (BAR_HEIGHT + 4),
            })  # fmt: skip
    return rows


def histogram_bars(counts: list[int], review: float, link: float) -> dict[str, Any]:
    """Return the bars of the match-probability histogram (height on a log scale, so that the few
    pairs near 1 show beside the many near 0) and the x of both thresholds."""
    height, width = 160.0, float(CHART_WIDTH)
    step = width / max(1, len(counts))
    top = math.log10(max([*counts, 1]) + 1)
    bars = []
    for index, count in enumerate(counts):
        bar = (math.log10(count + 1) / top * height) if top else 0.0
        bars.append({"x": round(index * step + 1, 1), "width": round(step - 2, 1), "y": round(height - bar, 1),
                     "height": round(bar, 1), "count": count,
                     "range": f"{_decimal(index / len(counts))}–{_decimal((index + 1) / len(counts))}"})  # fmt: skip
    return {"bars": bars, "height": height, "width": width,
            "review_x": round(review * width, 1), "link_x": round(link * width, 1)}  # fmt: skip


def decision_rows(linkage: Mapping[str, Any]) -> list[tuple[str, object]]:
    """Return the (what, how many) of the linkage's training and decisions."""
    return [
        ("paren met hetzelfde BSN-pseudoniem waaruit m is geleerd", linkage.get("labelled_matches", 0)),
        ("kandidaatparen vergeleken", linkage.get("candidate_pairs", 0)),
        ("geschatte kans dat twee willekeurige inschrijvingen één persoon zijn",
         f"{linkage.get('match_prior', 0.0):.2e}".replace(".", ",")),
        ("koppelingen (samengevoegd)", linkage.get("links", 0)),
        ("paren in de beoordelingsband (onder de koppeldrempel)", linkage.get("review_pairs", 0)),
        ("paren boven de drempel niet gekoppeld: één-op-één tussen twee aanbieders",
         linkage.get("refused_one_to_one", 0)),
        ("samenvoegingen geweigerd: twee verschillende BSN's", linkage.get("rejected_bsn_conflict", 0)),
        ("samenvoegingen geweigerd: persoon te groot", linkage.get("rejected_cluster_size", 0)),
        ("personen gesplitst bij hun zwakste koppeling", linkage.get("split_clusters", 0)),
    ]  # fmt: skip


def linkage_context(linkage: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the template's linkage section draws, from ``run_summary.json``'s ``linkage``
    and ``settings.linkage``; empty when the round linked nothing probabilistically."""
    if not linkage.get("m"):
        return {}
    thresholds = settings.get("linkage", {})
    review, link = float(thresholds.get("review_threshold", 0.2)), float(thresholds.get("link_threshold", 0.5))
    weights = weight_rows(linkage["m"], linkage["u"])
    per_provider = sorted(linkage.get("review_per_provider", {}).items(), key=lambda item: (-item[1], item[0]))
    return {
        "weights": weights,
        "weights_height": len(weights) * (BAR_HEIGHT + 4),
        "weights_zero_x": LABEL_WIDTH + (CHART_WIDTH - LABEL_WIDTH) / 2,
        "chart_width": CHART_WIDTH,
        "histogram": histogram_bars(list(linkage.get("probability_histogram", [])), review, link),
        "review": _decimal(review), "link": _decimal(link),
        "decisions": decision_rows(linkage),
        "review_per_provider": per_provider[:25],
        "review_providers": len(per_provider),
    }  # fmt: skip
