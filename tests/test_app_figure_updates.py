"""A filter change updates a dashboard figure in place: one message, drawn once, with exactly the new figure."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import numpy as np
import plotly
import plotly.graph_objects as go
import plotly.io
import pytest
from plotly.callbacks import InputDeviceState, Points

import trialviz
import trialviz.figures
from trialviz.app.figure_widgets import (
    new_figure_widget,
    replace_figure,
    shared_code_figure_widget,
)
from trialviz.app.plotly_code import PLOTLY_CODE_PATH, PLOTLY_CODE_VARIABLE
from trialviz.figures import trajectory_figure, waterfall_figure
from trialviz.filters import SubjectFilter


def without_empty(value: object) -> object:
    """JSON with empty objects left out (plotly drops an empty ``title: {}`` when it is set) and numpy
    arrays, which plotly's JSON encodes as base64 (``bdata``), as lists (a dashboard widget holds lists)."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])  # plotly writes "7, 3"
        return json.loads(plotly.io.json.to_json_plotly(array.tolist()))  # NaN: null, as in a list
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


def holds_arrays(value: object) -> bool:
    if isinstance(value, dict):
        return any(holds_arrays(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(holds_arrays(item) for item in value)
    return isinstance(value, np.ndarray)


def test_widgets_hold_lists_so_the_browsers_report_after_a_draw_is_accepted(study):
    """plotly.js reports the defaults it filled in after every draw; a numpy array the kernel sent comes back
    as an object keyed by position, on which plotly's kernel side fails (plotly/plotly.py#4160)."""
    figure = trajectory_figure(study, "MRSS")
    assert any(holds_arrays(trace.to_plotly_json()) for trace in figure.data)  # error bars: numpy arrays
    widget = go.FigureWidget(go.Figure(layout=dict(height=420, template="plotly_white")))
    replace_figure(widget, waterfall_figure(study, "MRSS", "Month 12"))
    replace_figure(widget, figure)  # traces replaced
    view = SubjectFilter(cohorts=(study.cohort_values()[0],)).apply(study)
    replace_figure(widget, trajectory_figure(view, "MRSS"))  # in place
    assert not holds_arrays(widget.to_plotly_json())
    # what plotly.js reported for a trace whose error bars came as a list (Chromium, this dashboard): the
    # defaults it filled in; for a typed array, it adds the array as an object keyed by position
    means = next(index for index, trace in enumerate(widget.data) if trace.error_y.array is not None)
    array = list(widget.data[means].error_y.array)
    report = {"uid": widget.data[means].uid, "visible": True, "connectgaps": False,
              "error_y": {"visible": True, "traceref": 0, "tracerefminus": 0}, "error_x": {"visible": False},
              "line": {"dash": "solid", "shape": "linear", "simplify": True}}
    widget._js2py_traceDeltas = {"trace_deltas": [report], "trace_edit_id": widget._last_trace_edit_id}
    assert widget._js2py_traceDeltas is None  # handled to the end
    assert widget._data_defaults[means]["error_y"]["traceref"] == 0  # the trace kept its uid: report taken
    assert list(widget.data[means].error_y.array) == array


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


def test_a_page_attaching_after_updates_draws_the_current_figure_then_updates_in_place(study):
    """A page draws the figure of the widget's state, then applies the updates sent after it: a page that
    attaches after updates (a preheated kernel builds the dashboard before any page) must find the current
    figure there, or it draws an old one and fails on the next update ("indices must be valid indices")."""
    from trialviz.app import Explorer

    app = Explorer(study)
    enrolment = app.panel("overview").slot("enrolment").figure
    app.set_cohorts([study.cohort_values()[0]])
    assert without_empty(enrolment._widget_data) == without_empty(enrolment._data)
    assert len(enrolment._widget_data) == len(enrolment.data) > 0
    sent = messages(enrolment)
    app.set_cohorts(study.cohort_values())
    assert sent[0] == "_py2js_update"  # in place
    assert without_empty(enrolment._widget_data) == without_empty(enrolment._data)


def test_dates_reach_the_widget_as_iso_text_not_nanoseconds(study):
    """plotly.js reads ISO text as dates; the integers numpy's ``tolist`` gives for dates it draws nowhere."""
    from trialviz.app.figure_widgets import plain

    dates = np.array(["2014-03-24T10:00", "NaT"], dtype="datetime64[ns]")
    assert plain(dates) == ["2014-03-24T10:00:00", None]
    widget = go.FigureWidget(go.Figure())
    replace_figure(widget, trialviz.figures.enrolment_figure(study))
    treated = [x for trace in widget.data if trace.name.endswith("treated") for x in trace.x]
    xs = [x for trace in widget.data for x in (trace.x or ()) if x is not None]
    assert treated and all(isinstance(x, str) and x.startswith("20") for x in treated)
    assert all(isinstance(x, str) for x in xs)


def test_missing_values_reach_the_widget_as_null_and_an_unchanged_figure_sends_nothing():
    """NaN is not JSON, and two lists holding NaN never compare equal: a widget gets ``None`` instead."""
    def figure() -> go.Figure:
        return go.Figure(go.Scatter(x=np.arange(3.0), y=np.array([1.0, np.nan, 2.0]),
                                    error_y=dict(array=np.array([0.5, np.nan, 0.5]))))

    widget = go.FigureWidget(go.Figure(layout=dict(height=420, template="plotly_white")))
    replace_figure(widget, figure())
    assert list(widget.data[0].y) == [1.0, None, 2.0] and list(widget.data[0].error_y.array) == [0.5, None, 0.5]
    json.dumps(widget.to_plotly_json(), allow_nan=False)  # the kernel's message encoder allows no NaN
    sent = messages(widget)
    replace_figure(widget, figure())
    assert sent == []


def test_missing_values_of_a_table_of_numbers_reach_the_widget_as_null():
    """customdata is often two-dimensional (n and CI per point): its missing values are null too."""
    from trialviz.app.figure_widgets import plain

    assert plain(np.array([[1.0, np.nan], [2.0, 3.0]])) == [[1.0, None], [2.0, 3.0]]


def test_a_server_serving_plotlys_code_gets_figures_that_import_it_instead_of_carrying_it(monkeypatch):
    figure = go.Figure(go.Bar(x=["a"], y=[1]))
    monkeypatch.delenv(PLOTLY_CODE_VARIABLE, raising=False)
    carrying = new_figure_widget(figure)
    assert len(carrying._esm) > 1_000_000  # plotly's own widget code, in every figure's state

    address = f"{PLOTLY_CODE_PATH}?v={plotly.__version__}"
    monkeypatch.setenv(PLOTLY_CODE_VARIABLE, address)
    importing = new_figure_widget(figure)
    assert isinstance(importing, go.FigureWidget) and type(importing) is not go.FigureWidget
    assert len(importing._esm) < 1_000 and json.dumps(address) in importing._esm
    assert "export default" in importing._esm and "import(" in importing._esm
    assert importing.data[0].y == (1,)
    assert isinstance(importing, shared_code_figure_widget(address))  # one class, made once
    assert isinstance(new_figure_widget(figure), type(importing).__mro__[1])


@pytest.mark.parametrize("served", [True, False])
def test_a_dashboard_kernel_skips_only_jsonschemas_iri_checker(served):
    """In a kernel of trialviz's server, plotly's widget imports nbformat and jsonschema without rfc3987_syntax
    (1.1 s of grammar building per kernel start); anywhere else, nothing is changed."""
    script = ("import sys, trialviz.app, plotly.graph_objects as go, jsonschema\n"
              "go.FigureWidget()\n"
              "print('nbformat' in sys.modules, sys.modules.get('rfc3987_syntax') is not None,"
              " 'iri' in jsonschema.Draft7Validator.FORMAT_CHECKER.checkers)")
    env = {**os.environ, PLOTLY_CODE_VARIABLE: "x" if served else ""}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", str(not served), str(not served)]


def test_a_dashboard_kernel_shows_its_first_tab_without_scipy_stats():
    """scipy.stats (0.5 s of every kernel start) is imported when a view tests something, not before: the
    Overview tab's confidence intervals come from scipy.special."""
    script = ("import sys\nfrom trialviz.app import Explorer\nexplorer = Explorer.from_environment()\n"
              "print('scipy.stats' in sys.modules, 'statsmodels' in sys.modules)\n"
              "explorer.apply_state(explorer.state.with_changes(tab='efficacy'))\nprint('scipy.stats' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "TRIALVIZ_STUDY"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "True"]


def test_a_served_dashboard_imports_scipy_stats_once_it_is_shown():
    """In a kernel's event loop, scipy.stats is imported a moment after the first tab, before a click needs it
    (a preheated kernel does it while it waits for a browser)."""
    script = ("import asyncio, sys\nimport trialviz.app.explorer as explorer\nexplorer.WARM_UP_AFTER_S = 0.3\n"
              "async def main():\n    explorer.Explorer.from_environment()\n"
              "    print('scipy.stats' in sys.modules)\n    await asyncio.sleep(2)\n"
              "    print('scipy.stats' in sys.modules)\nasyncio.run(main())")
    env = {k: v for k, v in os.environ.items() if k != "TRIALVIZ_STUDY"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]
