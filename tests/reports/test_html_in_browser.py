"""The HTML reports opened as a person would: in a real headless Chromium, offline."""

from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest

from linkage.comparisons import LEVEL_LABELS
from reports.disclosure import COUNT_COLUMNS, SUPPRESSED_MARK
from reports.html_report import ReportContext, history_frame, insurer_report_html
from tests.conftest import Browser, RoundRun

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def only_the_page_itself(browser: Browser, page: Path) -> list[str]:
    """Return the URLs the page requested besides itself (should be none)."""
    return [url for url in browser.requested_urls() if url != page.resolve().as_uri()]


def column_values(browser: Browser, column: int) -> list[float]:
    selector = f"#providers tbody tr:not([hidden]) td:nth-child({column + 1})"
    cells = browser.driver.find_elements("css selector", selector)
    return [float(cell.get_attribute("data-v")) for cell in cells]


def chart_sizes(browser: Browser) -> list[tuple[float, float]]:
    return [
        (rect["width"], rect["height"])
        for rect in browser.driver.execute_script(
            "return Array.from(document.querySelectorAll('svg.chart')).map(e => e.getBoundingClientRect().toJSON())"
        )
    ]


def test_detector_sees_a_network_request_and_a_script_error(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text("<!doctype html><img src='http://example.invalid/x.png'><script>undefinedFunction()</script>")
    browser.open(page)
    assert "http://example.invalid/x.png" in only_the_page_itself(browser, page)
    assert browser.console_errors()


def test_national_report_opens_offline_sorts_and_filters(dirty_round: RoundRun, browser: Browser) -> None:
    page = dirty_round.round_dir / "insurers" / "national.html"
    browser.open(page)
    browser.screenshot("insurer-national")
    assert browser.console_errors() == []
    assert only_the_page_itself(browser, page) == []
    sizes = chart_sizes(browser)
    assert len(sizes) == 3, "wachtfase and waiting time, waiters per provider, the scatter"
    assert all(width > 300 and height > 150 for width, height in sizes)
    assert "Totaal" in browser.driver.find_element("css selector", "#providers tfoot").text
    assert "telt elke persoon één keer" in browser.driver.page_source
    suppressed = browser.driver.find_elements("css selector", "#providers td.suppressed")
    assert suppressed and {cell.text for cell in suppressed} == {SUPPRESSED_MARK}

    # the national table by sector and zorgvraag, as published in uitsplitsing.csv
    categories = pl.read_csv(page.with_name("uitsplitsing.csv").read_bytes(), separator=";", infer_schema=False)
    rows = browser.driver.find_elements("css selector", "table.categories tbody tr")
    assert len(rows) == categories.height and categories.height >= 4
    shown = [row.find_elements("css selector", "td") for row in rows]
    expected = list(zip(categories["sector"], categories["zorgvraag"], strict=True))
    assert [(cells[0].text, cells[1].text) for cells in shown] == expected
    for cells, value in zip(shown, categories["wachtenden"], strict=True):
        assert cells[3].text == (SUPPRESSED_MARK if value is None else f"{int(value):,}".replace(",", "."))
    assert any(cells[2].text == "oogheelkunde" for cells in shown), "msz specialisms by name"
    assert "minstens 2 aanbieders" in browser.driver.page_source and "de 15 grootste" in browser.driver.page_source

    national = pl.read_csv(page.with_suffix(".csv").read_bytes(), separator=";")
    waiters_button = browser.driver.find_element("css selector", "#providers thead th[data-col='1'] button")
    waiters_button.click()
    assert column_values(browser, 1) == sorted(float(v) for v in national["wachtenden"])
    waiters_button.click()
    assert column_values(browser, 1) == sorted((float(v) for v in national["wachtenden"]), reverse=True)

    first = str(national["agb_code"][0]).zfill(8)
    browser.driver.find_element("id", "filter").send_keys(first)
    visible = browser.driver.find_elements("css selector", "#providers tbody tr:not([hidden]) td:first-child")
    assert [cell.text for cell in visible] == [first]
    assert browser.driver.find_element("id", "shown").text == f"1 van {national.height} aanbieders"


def test_every_uzovi_report_opens_without_errors(dirty_round: RoundRun, browser: Browser) -> None:
    pages = sorted(p for p in (dirty_round.round_dir / "insurers").glob("*.html") if p.stem != "national")
    assert pages
    hidden = {}
    for page in pages:
        browser.open(page)
        assert browser.console_errors() == [], page.name
        assert only_the_page_itself(browser, page) == [], page.name
        hidden[page] = len(browser.driver.find_elements("css selector", "td.suppressed"))
        assert "alleen landelijk" in browser.driver.page_source, "says where the table by sector and zorgvraag is"
        for chart in browser.driver.find_elements("css selector", "svg.chart"):
            ticks = [t.text for t in chart.find_elements("css selector", "text.tick") if t.text[:1].isdigit()]
            numbers = [t for t in ticks if "-" not in t]  # not the round labels of a trend chart
            assert all(a != b for a, b in pairwise(numbers)), (page.name, "an axis repeats a tick", numbers)
    browser.screenshot(f"insurer-uzovi-{pages[0].stem}")
    most = max(hidden, key=hidden.__getitem__)
    browser.open(most)
    browser.screenshot("insurer-uzovi-most-suppressed")


def test_a_heavily_suppressed_report_says_so_instead_of_drawing_empty_charts(browser: Browser, tmp_path: Path):
    table = pl.DataFrame(
        {"agb_code": ["01000001", "01000002"], **{c: [None, None] for c in COUNT_COLUMNS}},
        schema={"agb_code": pl.Utf8, **dict.fromkeys(COUNT_COLUMNS, pl.Int64)},
    )
    totals = pl.DataFrame([["totaal", 12, 11, None, 0, None, None]], schema=table.schema, orient="row")
    context = ReportContext("UZOVI 9999", "Test.", "2026-11", "2026-11-01", 10, {"ggz": {"aanmelding": 4}})
    page = tmp_path / "suppressed.html"
    page.write_bytes(insurer_report_html(context, table, totals, None))
    browser.open(page)
    browser.screenshot("insurer-heavily-suppressed")
    assert browser.console_errors() == []
    assert chart_sizes(browser) == [], "no chart is drawn without a published value"
    assert browser.driver.page_source.count("Geen grafiek") == 2


def test_trend_chart_and_suppressed_cells_render(browser: Browser, tmp_path: Path) -> None:
    table = pl.DataFrame(
        {
            "agb_code": ["01000001", "01000002", "01000003"],
            "wachtenden": [120, None, 300],
            "unieke_personen": [110, None, 280],
            "dubbel_wachtenden": [None, None, 40],
            "interne_dubbelingen": [0, 0, 0],
            "boven_norm": [50, None, 90],
            "boven_norm_geschoond": [45, None, 80],
        },
        schema={"agb_code": pl.Utf8, **dict.fromkeys(COUNT_COLUMNS, pl.Int64)},
    )
    totals = pl.DataFrame([["totaal", 425, 395, 46, 0, 143, 128]], schema=table.schema, orient="row")
    history = history_frame(
        [
            {"ronde": "2026-09", **dict(zip(COUNT_COLUMNS, (500, 460, 80, 2, 200, 170), strict=True))},
            {"ronde": "2026-10", **dict(zip(COUNT_COLUMNS, (470, 440, 60, 0, 170, 150), strict=True))},
            {"ronde": "2026-11", **totals.drop("agb_code").row(0, named=True)},
        ]
    )
    context = ReportContext("Testrapport", "Test.", "2026-11", "2026-11-01", 10, {"ggz": {"aanmelding": 4}})
    page = tmp_path / "trend.html"
    page.write_bytes(insurer_report_html(context, table, totals, history))
    browser.open(page)
    browser.screenshot("insurer-with-trend")
    assert browser.console_errors() == []
    assert only_the_page_itself(browser, page) == []
    assert len(chart_sizes(browser)) == 5, "bars, scatter and one trend chart per series on its own axis"
    assert len(browser.driver.find_elements("css selector", "svg.chart polyline")) == 3
    row = browser.driver.find_elements("css selector", "#providers tbody tr")[1]
    assert [cell.text for cell in row.find_elements("css selector", "td")][1:4] == [SUPPRESSED_MARK] * 3
    assert "1 aanbieder(s) met een onderdrukt aantal" not in browser.driver.page_source
    assert "2 aanbieder(s) met een onderdrukt aantal" in browser.driver.page_source


def test_operator_summary_and_provider_cover_note_open_offline(dirty_round: RoundRun, browser: Browser) -> None:
    summary = dirty_round.round_dir / "run_summary.html"
    browser.open(summary)
    browser.screenshot("operator-run-summary")
    assert browser.console_errors() == []
    assert only_the_page_itself(browser, summary) == []
    find = browser.driver.find_elements
    levels = sum(len(labels) for labels in LEVEL_LABELS.values())
    assert len(find("css selector", "#koppelgewichten rect")) == levels == len(find("css selector", "#m-en-u tbody tr"))
    assert [bar.rect["width"] > 0 for bar in find("css selector", "#koppelgewichten rect")].count(True) >= levels - 2
    assert len(find("css selector", "#koppelkansen rect")) == 20
    assert len(find("css selector", "#koppelkansen line")) == 2
    decisions = {row.find_elements("css selector", "td")[0].text: row.find_elements("css selector", "td")[1].text
                 for row in find("css selector", "#koppelbeslissingen tbody tr")}  # fmt: skip
    assert int(decisions["paren met hetzelfde BSN-pseudoniem waaruit m is geleerd"]) > 0

    agb = dirty_round.generated.providers[0]
    note = dirty_round.workspace / "decrypted-toelichting.html"
    note.write_bytes(dirty_round.delivered(agb)["toelichting.html"])
    browser.open(note)
    browser.screenshot("provider-cover-note")
    assert browser.console_errors() == []
    assert only_the_page_itself(browser, note) == []
    assert "Wat wordt er van u verwacht?" in browser.driver.page_source
