"""The Explorer in the kernel: controls change the filtered study, the count and the figure in place."""

from __future__ import annotations

import numpy as np

import trialviz
from trialviz.app import Explorer
from trialviz.app.explorer import TAB_TITLES


def _open(app: Explorer, title: str) -> None:
    app.tabs.selected_index = TAB_TITLES.index(title)


def test_cohort_filter_updates_count_and_figure(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    figure = app.trajectory
    app.cohort_boxes["MSC 1×10⁶/kg"].value = False
    assert app.count_text() == "10 of 20 patients shown"
    assert app.trajectory is figure, "the figure is updated in place, not replaced"
    expected = trialviz.endpoint_summary(trialviz.filter_study(bundled, cohorts=["MSC 3×10⁶/kg"]), "MRSS",
                                         measures=["value"], total=False)
    trace = next(t for t in figure.data if t.name == "MSC 3×10⁶/kg · mean (95% CI)")
    assert np.allclose(trace.y, expected[expected["cohort"] == "MSC 3×10⁶/kg"]["mean"])
    assert "MSC 3×10⁶/kg: 10 of 10" in app.count.value and "MSC 1×10⁶/kg: 0 of 10" in app.count.value


def test_endpoint_and_measure_change_the_figure(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    app.endpoint_dropdown.value = "HAQDI"
    app.measure_toggle.value = "change"
    assert app.trajectory.layout.title.text.startswith("Disability (HAQ-DI): change from baseline")
    assert "summary by cohort and visit" in app.endpoint_table.value and "HAQ-DI" in app.endpoint_table.value


def test_filters_reach_the_safety_table(bundled):
    app = Explorer(bundled)
    _open(app, "Safety")
    app.sex_boxes["M"].value = False
    women = trialviz.filter_study(bundled, sex=["F"])
    table = trialviz.ae_overview(women)
    total_any = table[(table["category"] == "any") & (table["cohort"] == "Total")].iloc[0]
    assert f"Total (N = {int(total_any['denominator'])})" in app.ae_table.value
    assert f"{int(total_any['subjects'])} ({total_any['percent']:.1f}%) [{int(total_any['events'])}]" in \
        app.ae_table.value


def test_tabs_are_built_lazily(bundled):
    app = Explorer(bundled)
    assert app._built == {0}
    assert app.tabs.children[1].children == ()
    _open(app, "Safety")
    assert app._built == {0, 2}


def test_a_failing_update_is_shown_and_clears_the_figure(bundled, monkeypatch):
    app = Explorer(bundled)
    _open(app, "Efficacy")

    def broken(*args, **kwargs):
        raise trialviz.AnalysisError("the endpoint has no analysis records")

    monkeypatch.setattr("trialviz.app.explorer.trajectory_figure", broken)
    app.endpoint_dropdown.value = "FVCPP"
    assert "could not be updated" in app.status.value and "no analysis records" in app.status.value
    assert len(app.trajectory.data) == 0
    monkeypatch.undo()
    app.endpoint_dropdown.value = "MRSS"
    assert app.status.value == "" and len(app.trajectory.data) > 0


def test_filter_that_leaves_nobody_keeps_the_app_usable(bundled):
    app = Explorer(bundled)
    _open(app, "Efficacy")
    for box in app.cohort_boxes.values():
        box.value = False
    assert app.count_text() == "0 of 20 patients shown"
    assert "No patient matches" in app.trajectory.layout.title.text
    assert app.status.value == ""
    app.cohort_boxes["MSC 1×10⁶/kg"].value = True
    assert app.count_text() == "10 of 20 patients shown"


def test_works_on_the_cdisc_pilot(pilot):
    app = Explorer(pilot)
    for title in TAB_TITLES:
        _open(app, title)
    assert app.status.value == ""
    assert "254 of 254" in app.count.value
    assert "Placebo (N = 86)" in app.ae_table.value


def test_header_names_the_data_and_the_simulation(bundled):
    app = Explorer(bundled)
    assert "SIMULATED" in app.header.value and "adsl.csv" in app.header.value
    assert bundled.provenance.content_hash in app.header.value
