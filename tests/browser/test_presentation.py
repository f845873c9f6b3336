"""The pilot's Safety tab as a clinician meets it in Chromium (issue 18): a page of a few screens, not 18,000 px,
with the long table by class and term folded under its title and opening on a click, and the adverse-event
timeline scrolling in its own box."""

from __future__ import annotations

from tests.browser.conftest import open_dashboard, open_tab, screenshot


def _page_height(page) -> float:
    box = page.locator(".tv-app").bounding_box()
    return box["y"] + box["height"]


def test_the_pilots_safety_tab_is_a_few_screens_with_the_long_table_folded(page, pilot_server):
    from playwright.sync_api import expect

    open_dashboard(page, pilot_server.url + "?tab=safety")
    open_tab(page, "Safety")
    soc_pt = page.locator(".tv-ae-soc-pt details.tv-section")
    expect(soc_pt).to_have_count(1)
    expect(soc_pt.locator("summary")).to_contain_text("rows: click to show")
    expect(soc_pt.locator("tbody tr").first).to_be_hidden()
    expect(page.locator(".tv-view-ae-timeline .js-plotly-plot")).to_be_visible()
    folded = _page_height(page)
    assert folded < 4000, folded  # the SOC → PT table and the timeline of 225 patients made it ~18,000 px
    timeline = page.locator(".tv-view-ae-timeline").bounding_box()
    assert timeline["height"] <= 830  # scrolls in its box
    screenshot(page, "pilot-safety-folded")
    soc_pt.locator("summary").click()
    expect(soc_pt.locator("tbody tr").first).to_be_visible()
    assert _page_height(page) > folded + 3000  # the 261 rows, shown on request
