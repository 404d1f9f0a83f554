"""The insurer page's charts and tables come from templates: every text in them is escaped, a
suppressed count is never drawn."""

import polars as pl

from reports.charts import bar_chart, breakdown_chart, scatter_chart, trend_chart
from reports.disclosure import COUNT_COLUMNS
from reports.html_report import history_frame, provider_table

HOSTILE = "<img src=x onerror=alert(1)>'\"&"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;&#x27;&quot;&amp;"


def providers() -> pl.DataFrame:
    return pl.DataFrame(
        {"agb_code": ["22000001", HOSTILE, "22000003"], "wachtenden": [120, 40, None],
         "dubbel_wachtenden": [12, None, 3]},
        schema={"agb_code": pl.Utf8, "wachtenden": pl.Int64, "dubbel_wachtenden": pl.Int64},
    )


def test_every_text_of_the_charts_and_the_table_is_escaped():
    table = providers()
    totals = pl.DataFrame([{c: 160 for c in COUNT_COLUMNS}])
    table_full = table.with_columns(*(pl.lit(1, pl.Int64).alias(c) for c in COUNT_COLUMNS if c not in table.columns))
    rounds = [{"ronde": HOSTILE, **dict.fromkeys(COUNT_COLUMNS, 50)}, {"ronde": "2026-11", "wachtenden": 60}]
    history = history_frame(rounds)
    pages = [bar_chart(table, 10), scatter_chart(table, 10)[0], trend_chart(history, 10),
             provider_table(table_full, totals, 10)]  # fmt: skip
    for page in pages:
        assert HOSTILE not in str(page) and "<img" not in str(page)
    assert all(ESCAPED in str(page) for page in (pages[0], pages[2], pages[3]))
    assert scatter_chart(table, 10)[1] == 2, "the two providers with a suppressed count are left out"
    assert "<circle" in str(pages[1]) and str(pages[1]).count("<circle") == 1


def test_a_suppressed_count_draws_no_bar():
    chart = str(bar_chart(providers(), 10))
    assert chart.count('height="16"') == 2, "a waiters bar for the two published counts only"
    assert chart.count('height="8"') == 2, "a double-waiters bar for the two published counts only"
    row = {"wachtenden": 100, "wachtenden_aanmelding": None, "wachtenden_behandeling": 60, "wacht_0_4_weken": 10,
           "wacht_4_10_weken": 20, "wacht_10_14_weken": 30, "wacht_meer_14_weken": 40}  # fmt: skip
    breakdown = str(breakdown_chart(pl.DataFrame([row], schema=dict.fromkeys(row, pl.Int64)), 10))
    assert breakdown.count('height="14"') == 5 and "x</text>" in breakdown
