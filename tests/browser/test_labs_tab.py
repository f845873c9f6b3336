"""The Labs tab in headless Chromium on the bundled study and on the CDISC pilot: its tables show what the package
computes, a click on a Hy's law quadrant lists its patients and opens one in the Patient tab, and the Efficacy
tab no longer lists lab parameters. Screenshots go to test-output/screenshots (labs-*.png) for a reviewer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import trialviz
from tests.browser.conftest import SCREENSHOTS, open_dashboard, open_tab, screenshot
from tests.browser.test_dashboard_views import read_table
from trialviz.app.state import default_lab, lab_choices
from trialviz.tables.labs import hys_law_patients, ranged_params

pytestmark = pytest.mark.browser


def _cell(row) -> str:
    """A cell as the report writes it: n/N (%)."""
    return f"{int(row.subjects)}/{int(row.denominator)} ({row.percent:.1f}%)"


@pytest.mark.parametrize("which", ["bundled", "pilot"])
def test_labs_tab_shows_the_package_tables_and_drills_into_a_quadrant(which, request, page):
    server = request.getfixturevalue("server" if which == "bundled" else "pilot_server")
    study = request.getfixturevalue(which)
    open_dashboard(page, server.url)
    open_tab(page, "Labs")
    assert "tab=labs" in page.url
    page.wait_for_timeout(1500)  # plotly draws
    screenshot(page, f"labs-{which}")
    for view in ("hys-law-figure", "hys-law", "lab-shift", "lab-outliers"):  # the page scrolls inside: each view
        page.locator(f".tv-view-{view}").first.screenshot(path=str(SCREENSHOTS / f"labs-{which}-{view}.png"))

    # Hy's law quadrants: every cell as the package counts it
    hys = trialviz.hys_law(study)
    rows = {r["stub"]: r["cells"] for r in read_table(page, ".tv-hys-law")}
    cohorts = list(dict.fromkeys(hys["cohort"]))
    for row in hys.itertuples():
        assert rows[row.quadrant][cohorts.index(row.cohort)] == _cell(row), (row.quadrant, row.cohort)

    # the default parameter's shift table: every cell
    param = default_lab(study)
    shift = trialviz.lab_shift(study, param=param)
    shown = {(r["group"], r["stub"]): r["cells"] for r in read_table(page, ".tv-lab-shift")}
    expected_cells: dict[tuple[str, str], list[str]] = {}
    for row in shift.itertuples():
        expected_cells.setdefault((row.heading, row.label), []).append(_cell(row))
    assert shown == expected_cells

    # a click on the label of the quadrant with most patients outside Normal lists them; one opens
    quadrant = next(q for q in ("Potential Hy's law", "Temple's corollary", "Hyperbilirubinaemia")
                    if hys.query("quadrant == @q and cohort == 'Total'")["subjects"].item() > 0)
    expected = hys_law_patients(study, quadrant=quadrant)
    page.locator(".tv-hys-law tbody tr").filter(has_text=quadrant).first.locator("th, td").first.click()
    expect(page.locator(".tv-drill-patients")).to_have_text(", ".join(expected))
    page.get_by_role("button", name="Open in Patient tab").click()
    expect(page.get_by_role("tab", name="Patient")).to_have_attribute("aria-selected", "true")
    labs = page.locator(".tv-view-patient-labs")
    expect(labs.locator(".js-plotly-plot").first).to_be_attached()
    labs.first.scroll_into_view_if_needed()
    page.wait_for_function("(id) => { const p = document.querySelector('.tv-view-patient-labs .js-plotly-plot');"
                           " return p && p.layout && p.layout.title && "
                           "p.layout.title.text.startsWith('Patient ' + id + ': lab values'); }", arg=expected[0])
    page.wait_for_timeout(1500)
    screenshot(page, f"labs-{which}-patient")
    page.locator(".tv-view-patient-labs").first.screenshot(path=str(SCREENSHOTS / f"labs-{which}-patient-labs.png"))

    # another parameter from the choice: the shift table follows
    other = ranged_params(study)[1]  # the pilot's vital signs come first in the choice and have no range
    label = next(label for label, code in lab_choices(study) if code == other)
    open_tab(page, "Labs")
    page.get_by_label("Parameter", exact=True).select_option(label=label)
    heading = study.endpoint(other).name
    page.wait_for_function("(name) => { const t = document.querySelector('.tv-lab-shift table');"
                           " return t && t.textContent.includes(name); }", arg=heading)
    expect(page.locator(".tv-status-error")).to_have_count(0)


def test_efficacy_tab_no_longer_lists_lab_parameters(pilot_server, page, pilot):
    open_dashboard(page, pilot_server.url)
    open_tab(page, "Efficacy")
    options = page.get_by_label("Endpoint", exact=True).locator("option").all_inner_texts()
    assert any("ADAS" in o or "Adas" in o for o in options)
    assert not any(o.startswith(("ADLBC", "ADVS")) for o in options)
