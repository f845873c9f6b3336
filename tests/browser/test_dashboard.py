"""The Voilà dashboard in headless Chromium: what a clinician sees equals what the package computes."""

from __future__ import annotations

import math
import time

import pytest
from playwright.sync_api import expect

import trialviz
from tests.browser.conftest import assert_clean, new_session, open_dashboard, open_tab, screenshot

pytestmark = pytest.mark.browser

TRAJECTORY = ("[...document.querySelectorAll('.js-plotly-plot')]"
              ".find(p => p.layout && p.layout.meta && p.layout.meta.visits)")
FIGURE_TRACES = """() => {
  const plot = """ + TRAJECTORY + """;
  if (!plot || !plot.data) return null;
  return {title: plot.layout.title.text,
          traces: plot.data.map(t => ({name: t.name, y: Array.from(t.y || [], v => v === null ? NaN : v)}))};
}"""




def figure(page, title_starts: str, patients: int | None = None) -> dict:
    """The live figure once its title starts with ``title_starts`` and it shows ``patients`` patients."""
    page.wait_for_function(
        "([start, patients]) => { const p = " + TRAJECTORY + ";"
        " return p && p.layout && p.layout.title && p.layout.title.text.startsWith(start)"
        " && (patients === null || (p.layout.meta && p.layout.meta.patients === patients))"
        " && p.data.some(t => t.name.endsWith('mean (95% CI)') && (t.y || []).length > 0); }",
        arg=[title_starts, patients])
    return page.evaluate(FIGURE_TRACES)


def mean_trace(data: dict, cohort: str) -> list[float]:
    return next(t["y"] for t in data["traces"] if t["name"] == f"{cohort} · mean (95% CI)")


def assert_means_equal(shown: list[float], expected) -> None:
    expected = list(expected)
    assert len(shown) == len(expected)
    for a, b in zip(shown, expected, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9), (shown, expected)


def test_dashboard_filters_and_endpoint_match_the_package(server, page, bundled):
    open_dashboard(page, server.url)
    expect(page.locator(".tv-banner")).to_contain_text("SIMULATED patient-level data")
    expect(page.locator(".tv-count-total")).to_have_text("20 of 20 patients shown")
    screenshot(page, "bundled-overview")

    open_tab(page, "Efficacy")
    data = figure(page, "Skin score (mRSS)", patients=20)
    # the figure fills its tab (the page reports its width; plotly's own default would be 700 px)
    page.wait_for_function("() => { const p = " + TRAJECTORY + "; return p._fullLayout.width > 900; }")
    table = trialviz.endpoint_summary(bundled, "MRSS", measures=["value"], total=False)
    for cohort in bundled.cohort_values():
        assert_means_equal(mean_trace(data, cohort), table[table["cohort"] == cohort]["mean"])

    page.get_by_role("checkbox", name="MSC 1×10⁶/kg").uncheck()
    expect(page.locator(".tv-count-total")).to_have_text("10 of 20 patients shown")
    high = trialviz.filter_study(bundled, cohorts=["MSC 3×10⁶/kg"])
    expected = trialviz.endpoint_summary(high, "MRSS", measures=["value"], total=False)
    data = figure(page, "Skin score (mRSS)", patients=10)
    assert_means_equal(mean_trace(data, "MSC 3×10⁶/kg"), expected[expected["cohort"] == "MSC 3×10⁶/kg"]["mean"])

    page.get_by_label("Endpoint", exact=True).select_option("Forced vital capacity (FVC) (% predicted)")
    page.get_by_role("button", name="Change from baseline").click()
    data = figure(page, "Forced vital capacity (FVC): change from baseline", patients=10)
    fvc = trialviz.endpoint_summary(high, "FVCPP", measures=["change"], total=False)
    assert_means_equal(mean_trace(data, "MSC 3×10⁶/kg"), fvc[fvc["cohort"] == "MSC 3×10⁶/kg"]["mean"])
    expect(page.locator(".tv-status-error")).to_have_count(0)
    screenshot(page, "bundled-efficacy")

    open_tab(page, "Safety")
    overview = trialviz.ae_overview(high)
    serious = overview[(overview["category"] == "serious") & (overview["cohort"] == "Total")].iloc[0]
    cell = f"{int(serious['subjects'])} ({serious['percent']:.1f}%) [{int(serious['events'])}]"
    expect(page.locator("#tv-adverse-events-overview-by-cohort")).to_contain_text(cell)
    screenshot(page, "bundled-safety")
    assert page.js_errors == []


def test_dashboard_serves_no_source_and_no_files(server, page):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(server.url, timeout=60) as response:
        html = response.read().decode()
    assert "from_environment" not in html, "notebook sources must be stripped"
    for path in ("voila/files/dashboard.ipynb", "voila/files/../data/msc_ssc/adsl.csv", "files/dashboard.ipynb"):
        try:
            with urllib.request.urlopen(server.url + path, timeout=30) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            code = exc.code
        assert code in (403, 404), f"{path} answered {code}"


def test_cdisc_pilot_opens_in_the_dashboard(pilot_server, page, pilot):
    open_dashboard(page, pilot_server.url)
    expect(page.locator(".tv-count-total")).to_have_text("254 of 254 patients shown")
    open_tab(page, "Safety")
    expect(page.locator("#tv-adverse-events-overview-by-cohort")).to_contain_text("Placebo (N = 86)")
    expect(page.locator("#tv-adverse-events-overview-by-cohort")).to_contain_text("65 (75.6%) [281]")
    open_tab(page, "Efficacy")
    first = pilot.endpoint(pilot.default_endpoint())  # ADAS-Cog(11), the pilot's efficacy total
    assert first.paramcd == "ACTOT"
    data = figure(page, first.name)
    table = trialviz.endpoint_summary(pilot, first.paramcd, measures=["value"], total=False)
    assert_means_equal(mean_trace(data, "Placebo"), table[table["cohort"] == "Placebo"]["mean"])
    screenshot(page, "pilot-efficacy")
    assert page.js_errors == []


PLOTLY_CODE_DELAY_S = 4
"""Longer than the 2 s anywidget gives a widget's code to load."""


def test_figures_draw_and_update_when_plotly_code_is_slow_to_arrive(server, browser, bundled):
    """On a first visit over a slow network, plotly's widget code (5 MB) arrives late: every figure must still
    be drawn, and follow the filters. anywidget drops every update sent to a widget whose code took more than
    2 s; the trajectory stayed blank (a walk on a busy CI machine timed out on it). The page asks for that code
    once, as it starts: before the kernel's websocket opens, so before any figure's widget exists."""
    context, page = new_session(browser)
    try:
        def arrive_late(route):
            time.sleep(PLOTLY_CODE_DELAY_S)
            route.continue_()

        events: list[str] = []
        page.on("request", lambda request: events.append("plotly code")
                if "/trialviz/static/plotly-widget.js" in request.url else None)
        page.on("websocket", lambda socket: events.append("kernel websocket")
                if "/api/kernels/" in socket.url else None)
        page.route("**/trialviz/static/plotly-widget.js?*", arrive_late)
        open_dashboard(page, server.url + "?tab=efficacy")
        data = figure(page, "Skin score (mRSS)", patients=20)
        table = trialviz.endpoint_summary(bundled, "MRSS", measures=["value"], total=False)
        for cohort in bundled.cohort_values():
            assert_means_equal(mean_trace(data, cohort), table[table["cohort"] == cohort]["mean"])

        page.get_by_role("checkbox", name="MSC 1×10⁶/kg").uncheck()
        high = trialviz.filter_study(bundled, cohorts=["MSC 3×10⁶/kg"])
        expected = trialviz.endpoint_summary(high, "MRSS", measures=["value"], total=False)
        data = figure(page, "Skin score (mRSS)", patients=10)
        assert_means_equal(mean_trace(data, "MSC 3×10⁶/kg"), expected[expected["cohort"] == "MSC 3×10⁶/kg"]["mean"])
        assert events.count("plotly code") == 1 and events.index("plotly code") < events.index("kernel websocket"), \
            events
        assert_clean(page)
    finally:
        context.close()
