"""A filter change updates a dashboard figure in place: one message, drawn once, with exactly the new figure."""

from __future__ import annotations

import json

import plotly.graph_objects as go
from plotly.callbacks import InputDeviceState, Points
import pytest

import trialviz
from trialviz.app.panels import replace_figure
from trialviz.figures import trajectory_figure, waterfall_figure
from trialviz.filters import SubjectFilter


def without_empty(value: object) -> object:
    """JSON with empty objects left out (plotly drops an empty ``title: {}`` when it is set)."""
    if isinstance(value, dict):
        kept = {key: without_empty(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item != {}}
    if isinstance(value, list):
        return [without_empty(item) for item in value]
    return value


def shown(widget: go.FigureWidget) -> object:
    return without_empty(json.loads(go.Figure(widget).to_json()))


def messages(widget: go.FigureWidget) -> list[str]:
    """Names of the messages the widget sends to the browser from now on."""
    sent: list[str] = []
    names = [name for name in widget.trait_names() if name.startswith("_py2js_")]
    widget.observe(lambda change: sent.append(change["name"]) if change["new"] else None, names=names)
    return sent


@pytest.fixture(scope="module")
def study() -> trialviz.Study:
    return trialviz.load_study()


def test_a_filter_change_sends_one_update_with_exactly_the_new_figure(study):
    widget = go.FigureWidget(go.Figure(layout=dict(height=420, template="plotly_white")))
    replace_figure(widget, trajectory_figure(study, "MRSS"))
    sent = messages(widget)
    view = SubjectFilter(cohorts=(study.cohort_values()[1],)).apply(study)
    figure = trajectory_figure(view, "MRSS", measure="change")  # also adds a reference line and band
    replace_figure(widget, figure)
    assert sent == ["_py2js_update"]
    assert shown(widget) == without_empty(json.loads(figure.to_json()))


def test_properties_the_new_figure_lacks_are_removed(study):
    widget = go.FigureWidget(go.Figure(layout=dict(height=420, template="plotly_white")))
    first = trajectory_figure(study, "MRSS", measure="change")
    replace_figure(widget, first)
    assert widget.layout.shapes  # the zero line and the MCID band
    second = trajectory_figure(study, "MRSS", measure="value")
    assert not second.layout.shapes
    replace_figure(widget, second)
    assert not widget.layout.shapes
    assert shown(widget) == without_empty(json.loads(second.to_json()))


def test_a_figure_of_other_traces_replaces_them(study):
    widget = go.FigureWidget(go.Figure(layout=dict(height=420, template="plotly_white")))
    replace_figure(widget, trajectory_figure(study, "MRSS"))
    sent = messages(widget)
    figure = waterfall_figure(study, "MRSS", "Month 12")
    replace_figure(widget, figure)
    assert "_py2js_deleteTraces" in sent and "_py2js_addTraces" in sent
    assert shown(widget) == without_empty(json.loads(figure.to_json()))


def test_clicks_still_reach_the_drill_down_after_an_update(study):
    clicked: list[tuple[str, list[str]]] = []
    widget = go.FigureWidget(go.Figure(layout=dict(height=420, template="plotly_white")))
    def on_click(what: str, ids: list[str]) -> None:
        clicked.append((what, ids))

    replace_figure(widget, trajectory_figure(study, "MRSS"), on_click=on_click)
    view = SubjectFilter(cohorts=(study.cohort_values()[0],)).apply(study)
    replace_figure(widget, trajectory_figure(view, "MRSS"), on_click=on_click)
    patients = widget.data[0]
    first_point = next(i for i, value in enumerate(patients.customdata) if value is not None)
    patients._dispatch_on_click(Points(point_inds=[first_point], xs=[0], ys=[0], trace_name=patients.name,
                                       trace_index=0), InputDeviceState())
    assert clicked == [(patients.name, [patients.customdata[first_point]])]
    assert patients.customdata[first_point] in set(view.subjects["USUBJID"])


def test_the_dashboard_resends_whole_figures_when_its_page_opens_then_updates_in_place(study):
    """Plotly does not send a widget's traces to a page that opens after they were added (a preheated
    kernel builds the dashboard before any page): the first draw for the page must send whole figures."""
    from trialviz.app import Explorer

    app = Explorer(study)
    enrolment = app.panel("overview").enrolment
    assert len(enrolment.data) > 0  # drawn in the kernel, before any page
    sent = messages(enrolment)
    app.bridge.ready = True  # the page has drawn the dashboard
    assert "_py2js_addTraces" in sent and "_py2js_update" not in sent
    sent.clear()
    app.set_cohorts([study.cohort_values()[0]])
    assert sent == ["_py2js_update"]
