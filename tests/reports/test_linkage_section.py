"""The operator page's linkage section: weights, the probability histogram and the decisions."""

import json

from linkage.comparisons import LEVEL_COUNTS, LEVEL_LABELS
from reports.linkage_section import CHART_WIDTH, LABEL_WIDTH, histogram_bars, linkage_context, weight_rows


def test_every_level_has_a_dutch_label():
    assert {name: len(labels) for name, labels in LEVEL_LABELS.items()} == LEVEL_COUNTS


def test_a_weight_bar_points_right_for_evidence_for_and_left_against():
    rows = weight_rows({"sex": [0.02, 0.98]}, {"sex": [0.5, 0.5]})
    zero = LABEL_WIDTH + (CHART_WIDTH - LABEL_WIDTH) / 2
    against, for_ = rows
    assert not against["positive"] and against["x"] + against["width"] == zero and against["weight"].startswith("-4,6")
    assert for_["positive"] and for_["x"] == zero and for_["weight"] == "0,97"
    assert [row["level"] for row in rows] == ["anders", "gelijk"]


def test_the_histogram_marks_both_thresholds_and_shows_a_single_pair():
    chart = histogram_bars([1000, 0, 0, 1], review=0.2, link=0.5)
    assert chart["review_x"] == 0.2 * CHART_WIDTH and chart["link_x"] == 0.5 * CHART_WIDTH
    heights = [bar["height"] for bar in chart["bars"]]
    assert heights[0] == chart["height"] and heights[1] == heights[2] == 0 < heights[3]


def test_no_section_without_a_model_and_no_person_level_data_with_one():
    assert linkage_context({}, {}) == {}
    linkage = {"m": {"sex": [0.1, 0.9]}, "u": {"sex": [0.5, 0.5]}, "probability_histogram": [3] * 20,
               "review_per_provider": {"22100001": 2, "22100002": 5}, "links": 7}  # fmt: skip
    context = linkage_context(linkage, {"linkage": {"review_threshold": 0.3, "link_threshold": 0.6}})
    assert context["review_per_provider"] == [("22100002", 5), ("22100001", 2)]
    assert ("koppelingen (samengevoegd)", 7) in context["decisions"]
    assert json.dumps(context, default=str)  # plain numbers and text only
