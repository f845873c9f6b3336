"""Every view of the dashboard in headless Chromium: tabs, filters, the address, exports, drill-down, and two
clinician tasks done with clicks only. Each check compares what the page shows with what the package
computes for the same selection."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import openpyxl
import pandas as pd
import plotly
import pytest
from playwright.sync_api import expect

import trialviz
from tests.browser.conftest import kernel_caught_up, open_dashboard, open_tab, screenshot
from trialviz.app.plotly_code import PLOTLY_CODE_PATH
from trialviz.app.state import endpoint_choices
from trialviz.filters import restrict_events

pytestmark = pytest.mark.browser

PLOTLY_CODE_MARKER = "lodash modularize exports="
"""A text of plotly's widget code (a licence notice in it)."""
TABS = ("Overview", "Baseline", "Efficacy", "Safety", "Patient")

READ_TABLE = """(selector) => {
  const table = document.querySelector(selector + ' table');
  if (!table) return null;
  const rows = []; let group = '';
  for (const tr of table.querySelectorAll('tbody tr')) {
    if (tr.classList.contains('gt_group_heading_row')) { group = tr.textContent.trim(); continue; }
    const cells = Array.from(tr.querySelectorAll('th, td')).map(c => c.textContent.trim());
    rows.push({group, stub: cells[0], cells: cells.slice(1)});
  }
  return rows;
}"""





def read_table(page, selector: str) -> list[dict]:
    return page.evaluate(READ_TABLE, selector)


def no_errors(page) -> None:
    expect(page.locator(".tv-status-error")).to_have_count(0)
    assert page.js_errors == []


@pytest.mark.parametrize("which", ["bundled", "pilot"])
def test_every_tab_opens_without_error(which, request, page):
    server = request.getfixturevalue("server" if which == "bundled" else "pilot_server")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    messages: list[str | bytes] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda message: messages.append(message)))
    open_dashboard(page, server.url)
    for tab in TABS:
        open_tab(page, tab)
        page.wait_for_timeout(800)  # let plotly finish drawing before the screenshot
        screenshot(page, f"{which}-{tab.lower()}")
    no_errors(page)
    assert page.locator(".js-plotly-plot .main-svg").count() >= len(TABS) - 1
    # plotly's widget code (5 MB) reached the page once, from the server's one address, not with each figure
    code = f"{server.url}{PLOTLY_CODE_PATH}?v={plotly.__version__}"
    assert [url for url in requests if PLOTLY_CODE_PATH in url] == [code]
    # and not a second time (4.8 MB) with plotly's JupyterLab extension, which renders no widget
    assert [url for url in requests if "/labextensions/" in url]
    assert not [url for url in requests if "jupyterlab-plotly" in url]
    texts = [m if isinstance(m, str) else m.decode(errors="replace") for m in messages]
    assert texts and not [text for text in texts if PLOTLY_CODE_MARKER in text]


def test_filters_change_count_and_tables_to_the_package_values(server, page, bundled):
    open_dashboard(page, server.url)
    open_tab(page, "Safety")
    page.get_by_role("checkbox", name="Men", exact=True).uncheck()
    women = trialviz.filter_study(bundled, sex=["F"])
    expect(page.locator(".tv-count-total")).to_have_text(f"{women.n_subjects} of 20 patients shown")
    overview = trialviz.ae_overview(women).set_index(["category", "cohort"])
    expected_total = overview.loc[("any", "Total")]
    cell = f"{int(expected_total['subjects'])} ({expected_total['percent']:.1f}%) [{int(expected_total['events'])}]"
    expect(page.locator(".tv-ae-overview")).to_contain_text(f"Total (N = {women.n_subjects})")
    expect(page.locator(".tv-ae-overview")).to_contain_text(cell)

    # age: move the lower handle with the keyboard, then read the range the slider shows
    handle = page.locator(".widget-slider").filter(has_text="Age").locator(".noUi-handle-lower")
    handle.focus()
    for _ in range(10):
        handle.press("ArrowRight")
    readout = page.locator(".widget-slider").filter(has_text="Age").locator(".widget-readout")
    page.wait_for_timeout(1500)
    low, high = (int(x) for x in re.findall(r"\d+", readout.inner_text()))
    assert low > 29
    expected = trialviz.filter_study(bundled, sex=["F"], age=(low, high))
    expect(page.locator(".tv-count-total")).to_have_text(f"{expected.n_subjects} of 20 patients shown")

    # any other ADSL column
    page.get_by_label("Also filter on").select_option("ILDFL")
    page.locator(".widget-select-multiple select").select_option("Y")
    expected = trialviz.filter_study(bundled, sex=["F"], age=(low, high), where={"ILDFL": ["Y"]})
    expect(page.locator(".tv-count-total")).to_have_text(f"{expected.n_subjects} of 20 patients shown")
    shown = expected.subjects["TRT01P"].value_counts()
    for cohort in bundled.cohort_values():
        expect(page.locator(".tv-count")).to_contain_text(f"{cohort}: {int(shown.get(cohort, 0))} of 10")
    no_errors(page)


def test_efficacy_population_control_on_the_pilot(pilot_server, page, pilot):
    open_dashboard(page, pilot_server.url)
    open_tab(page, "Efficacy")
    label = next(label for label, code in endpoint_choices(pilot) if code == "ACTOT")
    page.get_by_label("Endpoint", exact=True).select_option(label=label)
    summary = trialviz.endpoint_summary(pilot, "ACTOT", measures=["value"])
    baseline_n = int(summary.query("cohort == 'Placebo' and visit == 'Baseline'")["n"].item())
    page.wait_for_function("(label) => document.querySelector('.tv-endpoint-summary').textContent.includes(label)",
                           arg=next(e.label for e in pilot.endpoints if e.paramcd == "ACTOT"))
    rows = read_table(page, ".tv-endpoint-summary")
    placebo = next(r for r in rows if r["group"].startswith("Placebo · value") and r["stub"] == "Baseline")
    assert int(placebo["cells"][0]) == baseline_n
    page.get_by_label("Efficacy population").select_option(label="ITTFL = Y")
    itt = trialviz.endpoint_summary(pilot, "ACTOT", measures=["value"], population_flag="ITTFL")
    itt_n = int(itt.query("cohort == 'Placebo' and visit == 'Baseline'")["n"].item())
    assert itt_n != baseline_n
    expect(page.locator(".tv-filters")).to_contain_text('Efficacy views: ITTFL = "Y"')
    page.wait_for_function("() => { const t = document.querySelector('.tv-endpoint-summary table');"
                           " return t && t.textContent.includes('ITTFL'); }")
    rows = read_table(page, ".tv-endpoint-summary")
    placebo = next(r for r in rows if r["group"].startswith("Placebo · value") and r["stub"] == "Baseline")
    assert int(placebo["cells"][0]) == itt_n
    no_errors(page)


def test_the_address_restores_the_view(server, page, bundled):
    query = "tab=efficacy&endpoint=FVCPP&measure=change&sex=F&cohorts=" + quote("MSC 3×10⁶/kg")
    open_dashboard(page, f"{server.url}?{query}")
    expected = trialviz.filter_study(bundled, sex=["F"], cohorts=["MSC 3×10⁶/kg"])
    expect(page.locator(".tv-count-total")).to_have_text(f"{expected.n_subjects} of 20 patients shown")
    expect(page.get_by_role("tab", name="Efficacy")).to_have_attribute("aria-selected", "true")
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.layout && "
                           "p.layout.title && p.layout.title.text.startsWith('Forced vital capacity (FVC): change'))")
    expect(page.get_by_role("checkbox", name="Men", exact=True)).not_to_be_checked()
    # and a change is written back into the address
    page.get_by_role("button", name="Value", exact=True).click()
    page.wait_for_function("() => !window.location.search.includes('measure=change')")
    assert "endpoint=FVCPP" in page.url and "tab=efficacy" in page.url
    no_errors(page)


def test_every_export_holds_the_numbers_on_screen(server, page, bundled):
    open_dashboard(page, server.url)
    open_tab(page, "Safety")
    shown = trialviz.ae_overview(bundled)
    files = {}
    for button in ("Table CSV", "Table XLSX", "Figure PNG", "Figure SVG", "Figure HTML", "Report (HTML)"):
        with page.expect_download(timeout=90_000) as info:
            page.get_by_role("button", name=button).click()
        download = info.value
        files[button] = (download.suggested_filename, download.path().read_bytes())
    name, data = files["Table CSV"]
    # the tab's export: a header block, then every table as shown and its raw numbers (the overview first)
    raw = next(block for block in data.decode("utf-8-sig").split("\r\n\r\n") if "— raw numbers" in block)
    table = pd.read_csv(io.StringIO(raw.split("\r\n", 1)[1]))
    assert name == "msc-ssc-safety-all-patients.csv" and table["events"].tolist() == shown["events"].tolist()
    assert table["subjects"].tolist() == shown["subjects"].tolist()
    book = openpyxl.load_workbook(io.BytesIO(files["Table XLSX"][1]))
    assert book.sheetnames[0] == "About" and len(book.sheetnames) == 4  # about, then overview, SOC → PT, grade
    values = list(book.worksheets[1].iter_rows(values_only=True))
    raw_header = len(shown["category"].unique()) + 4  # title, header, the rows as shown, two blank rows
    assert list(values[raw_header][:3]) == list(shown.columns[:3]) and len(values) == raw_header + len(shown) + 1
    assert files["Figure PNG"][1][:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in files["Figure SVG"][1][:500] and "Adverse events by study day" in files["Figure SVG"][1].decode()
    assert b"Plotly.newPlot" in files["Figure HTML"][1]
    report = files["Report (HTML)"][1].decode()
    assert "Adverse events: overview by cohort" in report and bundled.provenance.files[0].sha256 in report
    assert "SIMULATED" in report and "import trialviz" in report
    no_errors(page)


def test_drill_down_from_a_bar_and_a_table_row_opens_the_right_patient(server, page, bundled):
    open_dashboard(page, server.url)
    open_tab(page, "Efficacy")
    is_waterfall = "p => p.layout && p.layout.meta && p.layout.meta.values"  # the waterfall's own metadata
    page.wait_for_function(f"() => [...document.querySelectorAll('.js-plotly-plot')].some(p => ({is_waterfall})(p)"
                           " && p.querySelector('.barlayer .point path'))")
    kernel_caught_up(page)  # the figure's width, reported once drawn, is applied: the bars no longer move
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    target = page.evaluate("""(isWaterfall) => {
      const plot = [...document.querySelectorAll('.js-plotly-plot')].find(eval(isWaterfall));
      plot.scrollIntoView();
      const bar = plot.querySelector('.barlayer .trace .point path');
      const box = bar.getBoundingClientRect();
      return {x: box.x + box.width / 2, y: box.y + box.height / 2, id: plot.data[0].customdata[0]};
    }""", is_waterfall)
    page.mouse.click(target["x"], target["y"])
    expect(page.locator(".tv-drill-patients")).to_have_text(target["id"])
    page.get_by_role("button", name="Open in Patient tab").click()
    expect(page.get_by_role("tab", name="Patient")).to_have_attribute("aria-selected", "true")
    page.wait_for_function("(id) => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.layout && "
                           "p.layout.title && p.layout.title.text.startsWith('Patient ' + id))", arg=target["id"])
    assert f"patient={target['id']}" in page.url

    open_tab(page, "Safety")
    row = page.locator(".tv-ae-soc-pt tbody tr").filter(has_text="Pneumonia").first
    row.locator("th, td").first.click()  # the row's label: every cohort's patients
    events = bundled.adverse_events.merge(bundled.subjects[["USUBJID", "TRT01A"]], on="USUBJID")
    pneumonia = events[events["AEDECOD"] == "Pneumonia"]
    expect(page.locator(".tv-drill-patients")).to_have_text(", ".join(sorted(pneumonia["USUBJID"].unique())))
    drill = page.locator(".tv-view-ae-soc-pt .tv-drill-box")
    expect(drill).to_be_visible()  # opened under the table clicked
    first = bundled.cohort_values()[0]
    row.locator("th, td").nth(1).click()  # the first cohort's cell: that cohort's patients only
    in_first = sorted(pneumonia.loc[pneumonia["TRT01A"] == first, "USUBJID"].unique())
    expect(page.locator(".tv-drill-patients")).to_have_text(", ".join(in_first))
    open_tab(page, "Baseline")
    expect(page.locator(".tv-drill-box")).to_have_count(0)  # closed when the tab changed
    no_errors(page)


def _summary_mean(rows: list[dict], cohort: str, measure: str, visit: str) -> str:
    row = next(r for r in rows if r["group"] == f"{cohort} · {measure}" and r["stub"] == visit)
    return row["cells"][1].split(" ")[0]  # "Mean (SD)" column: the mean


@pytest.mark.parametrize("which", ["bundled", "pilot"])
def test_clinician_task_skin_change_in_the_high_dose_cohort(which, request, page):
    """Clicks only: how did the skin score (pilot: the ADAS-Cog total) change in the high-dose cohort at
    month 6 (pilot: week 24)?"""
    study = request.getfixturevalue(which)
    server = request.getfixturevalue("server" if which == "bundled" else "pilot_server")
    param, visit = ("MRSS", "Month 6") if which == "bundled" else ("ACTOT", "Week 24")
    high = study.cohort_values()[-1]
    open_dashboard(page, server.url)
    for cohort in study.cohort_values()[:-1]:
        page.get_by_role("checkbox", name=cohort, exact=True).uncheck()
    open_tab(page, "Efficacy")
    label = next(label for label, code in endpoint_choices(study) if code == param)
    page.get_by_label("Endpoint", exact=True).select_option(label=label)
    page.get_by_role("button", name="Change from baseline").click()
    page.wait_for_function("(name) => { const t = document.querySelector('.tv-endpoint-summary');"
                           " return t && t.textContent.includes(name); }", arg=study.endpoint(param).label)
    view = trialviz.filter_study(study, cohorts=[high])
    expected = trialviz.endpoint_summary(view, param, measures=["change"])
    mean = expected.query("cohort == @high and visit == @visit")["mean"].item()
    decimals = study.endpoint(param).decimals + 1
    shown = _summary_mean(read_table(page, ".tv-endpoint-summary"), study.cohort_label(high), "change", visit)
    assert shown == f"{mean:.{decimals}f}"
    screenshot(page, f"task-{which}-change-high-dose")
    no_errors(page)


@pytest.mark.parametrize("which", ["bundled", "pilot"])
def test_clinician_task_serious_adverse_events_in_the_first_year(which, request, page):
    """Clicks only: which patients had a serious adverse event in the first year?"""
    study = request.getfixturevalue(which)
    server = request.getfixturevalue("server" if which == "bundled" else "pilot_server")
    open_dashboard(page, server.url)
    open_tab(page, "Safety")
    page.get_by_label("Events with onset").select_option(label="First 12 months (days 1–365)")
    page.wait_for_function("() => location.search.includes('onset=1-365')")
    row = page.locator(".tv-ae-overview tbody tr").filter(has_text="Serious adverse event").first
    row.locator("th, td").first.click()  # the row's label: every cohort's patients
    first_year = restrict_events(study, onset=(1, 365))
    events, _ = trialviz.tables.safety.safety_events(first_year)
    expected = sorted(events.loc[events["AESER"].astype(str) == "Y", "USUBJID"].astype(str).unique())
    expect(page.locator(".tv-drill-patients")).to_have_text(", ".join(expected))
    screenshot(page, f"task-{which}-serious-first-year")
    no_errors(page)
