"""A model-based test of the dashboard in headless Chromium: seeded random walks of clicks.

Each walk clicks its way through cohorts (down to none and back), sex, age, the efficacy population, the
tabs, the endpoint and its timepoint, the measure, the waterfall's visit, the onset period, the preferred
terms and the time-to-event parameter. After each
step, the state is read from the page's address, and every table the visible tab shows must equal, cell
for cell, the package's own table computed for that state (rendered by the same code and read from the page
by the same script); every figure must have data, or say why it has none. A failing walk prints its seed
and its steps, so that it can be replayed.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PageTimeout

import trialviz
from tests.browser.conftest import kernel_caught_up, open_dashboard, revision, screenshot
from trialviz.app.panels import NO_PATIENTS, PANELS, Shown, tab_views
from trialviz.app.sidebar import SEX_LABELS
from trialviz.app.state import (
    CRISS_ENDPOINT,
    TABS,
    TERM_CHOICES,
    ViewState,
    endpoint_choices,
    normalise,
    onset_choices,
    population_choices,
    timepoint_choices,
    tte_choices,
)
from trialviz.errors import AnalysisError
from trialviz.report.render import as_html
from trialviz.study import Study

pytestmark = pytest.mark.browser

STEPS = 40
TAB_TITLES = {"overview": "Overview", "baseline": "Baseline", "efficacy": "Efficacy", "safety": "Safety",
              "labs": "Labs", "patient": "Patient"}

READ_TABLE = """(root) => {
  const table = root.querySelector('table');
  if (!table) return null;
  const head = Array.from(table.querySelectorAll('thead th')).map(c => c.textContent.trim());
  const rows = []; let group = '';
  for (const tr of table.querySelectorAll('tbody tr')) {
    if (tr.classList.contains('gt_group_heading_row')) { group = tr.textContent.trim(); continue; }
    rows.push([group, ...Array.from(tr.querySelectorAll('th, td')).map(c => c.textContent.trim())]);
  }
  return {head, rows};
}"""

READ_HTML_TABLE = """(content) => {
  const root = document.createElement('div');
  root.innerHTML = content;
  return (""" + READ_TABLE + """)(root);
}"""

READ_FIGURE = """(root) => {
  const plot = root.querySelector('.js-plotly-plot');
  if (!plot || !plot.data) return null;
  const points = plot.data.reduce((n, t) => n + Math.max((t.x || []).length, (t.y || []).length,
                                                         (t.values || []).length), 0);
  const title = plot.layout && plot.layout.title ? (plot.layout.title.text || '') : '';
  return {points, title};
}"""


def settled(page: Page, before: int, timeout_ms: float = 120_000) -> None:
    """Wait until the kernel has finished the update the last action caused, and any it set off."""
    page.wait_for_function(f"() => Number(document.body.dataset.tvRevision || 0) > {before}", timeout=timeout_ms)
    kernel_caught_up(page, timeout_ms)


def current_state(page: Page, study: Study) -> ViewState:
    query = urlparse(page.url).query
    state, ignored = ViewState.from_query(query)
    assert ignored == [], f"the page wrote an address it cannot read back: {query}"
    return normalise(study, state)[0]


@dataclass
class Walk:
    """One seeded walk on one study, with the steps taken so far (printed when it fails)."""

    study: Study
    page: Page
    seed: int
    steps: list[str]
    expected: dict[tuple[str, str, str], tuple[str, object]] = field(default_factory=dict)
    """The package's table (as read from its HTML) or reason per view and state (tab aside): a walk comes back
    to states it saw (a cohort unchecked, then checked again), and these do not change."""
    views: dict[str, Study] = field(default_factory=dict)
    """The filtered study per subject filter (by its ``repr``)."""

    # --- actions: each changes one thing, as a user's click does --------------------------------------------
    def actions(self, state: ViewState) -> list[tuple[str, object]]:
        study = self.study
        found: list[tuple[str, object]] = [("tab", tab) for tab in TABS if tab != state.tab]
        found += [("cohort", cohort.display) for cohort in study.cohorts]
        if "SEX" in study.subjects:
            found += [("sex", SEX_LABELS.get(s, s)) for s in sorted(study.subjects["SEX"].dropna().unique())]
        found += [("age", key) for key in ("ArrowRight", "ArrowLeft")]
        populations = [label for label, flag in population_choices(study) if flag != state.population]
        found += [("population", label) for label in populations]
        if state.tab == "efficacy" and state.endpoint != CRISS_ENDPOINT:
            # the composite endpoint (CRISS) has its own browser and explorer tests; walks use measured endpoints
            choices = [c for c in endpoint_choices(study) if c[1] != CRISS_ENDPOINT]
            with_timepoints = [c for c in choices if study.timepoints(c[1])][:2]
            found += [("endpoint", label) for label, code in dict.fromkeys(choices[:5] + with_timepoints)
                      if code != state.endpoint]
            found += [("timepoint", label) for label, timepoint in timepoint_choices(study, state.endpoint)
                      if timepoint != state.timepoint]
            found.append(("measure", "Change from baseline" if state.measure == "value" else "Value"))
            visits = [v for v in study.visits(state.endpoint) if v not in ("Baseline", state.visit)] \
                if state.endpoint else []
            found += [("visit", v) for v in visits[:4]]
        if state.tab == "safety":
            found += [("onset", label) for label, period in onset_choices(study) if period != state.onset]
            found += [("terms", label) for label, value in TERM_CHOICES if value != state.terms]
            found += [("tte", label) for label, param in tte_choices(study) if param != state.tte]
        return found

    def act(self, kind: str, value: object) -> None:
        page = self.page
        before = revision(page)
        if kind == "tab":
            page.get_by_role("tab", name=TAB_TITLES[str(value)]).click()
        elif kind in ("cohort", "sex"):
            page.locator(".tv-filters").get_by_role("checkbox", name=str(value), exact=True).click()
        elif kind == "age":
            handle = page.locator(".tv-filters .widget-slider .noUi-handle").first
            handle.focus()
            was = handle.get_attribute("aria-valuenow")
            page.keyboard.press(str(value))
            if handle.get_attribute("aria-valuenow") == was:  # a key at the end of the slider's range
                self.steps[-1] += " (at the end of its range: no change)"
                return
        elif kind == "measure":
            page.locator(".widget-toggle-buttons button", has_text=str(value)).click()
        else:
            labels = {"population": "Efficacy population", "endpoint": "Endpoint", "visit": "Waterfall at",
                      "onset": "Events with onset", "terms": "Preferred terms", "timepoint": "Timepoint",
                      "tte": "Time to event"}
            dropdown = page.locator(".widget-dropdown", has=page.locator("label", has_text=labels[kind]))
            dropdown.locator("select").select_option(label=str(value))
        settled(page, before)

    # --- the check: the page against the package ----------------------------------------------------------
    def check(self) -> None:
        page, study = self.page, self.study
        assert page.console_errors == [] and page.js_errors == [], (page.console_errors, page.js_errors)
        state = current_state(page, study)
        subject_filter = repr(state.filter)  # (its ``where`` is a dict)
        if subject_filter not in self.views:
            self.views[subject_filter] = state.filter.apply(study)
        shown = tab_views(study, state, self.views[subject_filter])
        kept = self.views[subject_filter].n_subjects
        assert page.locator(".tv-count-total").inner_text() == f"{kept:,} of {study.n_subjects:,} patients shown"
        panel = next(panel for panel in PANELS if panel.key == state.tab)
        for name, _ in panel.slots:
            if name not in shown.views:
                expect(page.locator(f".tv-view-{name}")).to_be_hidden()
        for name, item in shown.views.items():
            slot = page.locator(f".tv-view-{name}").first
            expect(slot).to_be_visible()
            kind = trialviz.views.VIEWS[name].kind
            key = (name, repr(item), repr(replace(state, tab="")))
            if key not in self.expected:
                self.expected[key] = self.package_view(item, shown.view, kind)
            reason, expected = self.expected[key]
            if kind == "table":
                if reason:
                    assert slot.locator(".tv-unavailable").inner_text() == reason, name
                    continue
                on_page = slot.evaluate(READ_TABLE)
                assert on_page == expected, f"{name}: the page's table differs from the package's"
            else:
                drawn = page.wait_for_function(f"""() => {{
                    const root = document.querySelector('.tv-view-{name}');
                    const figure = root && ({READ_FIGURE})(root);
                    return figure && (figure.points > 0 || figure.title) ? figure : null;
                }}""").json_value()
                if reason:
                    assert drawn["title"] == reason and drawn["points"] == 0, (name, drawn)
                else:
                    assert drawn["points"] > 0, f"{name} drew no data: {drawn}"

    def package_view(self, item: Shown, view: Study, kind: str) -> tuple[str, object]:
        """Why ``item`` cannot be shown (``""``: it can) and, for a table it can show, the package's table as the
        page's script reads it (else ``None``)."""
        reason, result = item.reason, None
        on = self.study if item.whole_study else view
        if item.call is not None and not reason:
            if on.n_subjects == 0:
                reason = NO_PATIENTS
            else:
                try:
                    result = item.call.compute(on)
                except AnalysisError as exc:
                    reason = str(exc)
        if kind != "table" or reason or item.call is None:
            return reason, None
        return reason, self.page.evaluate(READ_HTML_TABLE, as_html(item.call.render(result, on)))


def walk(page: Page, url: str, study: Study, seed: int, name: str, start: str = "") -> None:
    rng = random.Random(seed)
    open_dashboard(page, url + start)
    page.wait_for_function("() => document.body.dataset.tvRevision !== undefined")
    steps: list[str] = []
    timings: list[tuple[str, float, float]] = []
    run = Walk(study, page, seed, steps)
    try:
        run.check()
        for _ in range(STEPS):
            state = current_state(page, study)
            options = run.actions(state)
            # cohorts down to none and back again are walked on purpose: they once left stale views
            # and so are timepoints, which few endpoints have
            cohort_moves = [a for a in options if a[0] == "cohort"]
            timepoint_moves = [a for a in options if a[0] == "timepoint"]
            draw = rng.random()
            kind, value = rng.choice(timepoint_moves if timepoint_moves and draw < 0.3 else
                                     cohort_moves if cohort_moves and draw < 0.5 else options)
            steps.append(f"{kind}: {value}")
            started = time.perf_counter()
            run.act(kind, value)
            acted = time.perf_counter()
            run.check()
            timings.append((steps[-1], acted - started, time.perf_counter() - acted))
    except (AssertionError, PageTimeout) as exc:
        screenshot(page, f"walk-{name}-{seed}")
        raise AssertionError(f"walk on {name} with seed {seed} failed after {len(steps)} step(s):\n  "
                             + "\n  ".join(steps) + f"\n{exc}") from None
    finally:
        if os.environ.get("TRIALVIZ_WALK_TIMINGS"):  # seconds to act and settle, then to check, per step
            for step, act, check in timings:
                print(f"{act:6.2f} s {check:6.2f} s  {step}")


@pytest.mark.parametrize("seed", [1, 2])
def test_random_walk_on_the_bundled_study(seed, server, page, bundled):
    walk(page, server.url, bundled, seed, "bundled")


@pytest.mark.parametrize(("seed", "start"), [(3, ""), (4, "?tab=efficacy&endpoint=SYSBP")])
def test_random_walk_on_the_pilot(seed, start, pilot_server, page, pilot):
    """The second walk starts on a vital sign measured at three timepoints (lying, standing 1 and 3 min)."""
    walk(page, pilot_server.url, pilot, seed, "pilot", start)
