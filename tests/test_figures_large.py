"""Figures of a study larger than their drawing limits: individual lines and bars are sampled (and the
figure says so), the JSON stays small, sampled marks are real patients, drill-down still lists the right
patients. The limits are lowered (``max_patients``) so that a small synthetic study crosses them."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.callbacks import InputDeviceState, Points

import trialviz
from benchmarks.synthetic import Scale, generate, write
from trialviz.figures import enrolment_figure, km_figure, trajectory_figure, waterfall_figure
from trialviz.figures.drill import patients_behind

LIMIT = 50


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """A synthetic study of 240 subjects: above LIMIT, small enough to generate in a second."""
    scale = Scale(subjects=240, cohorts=2, endpoints=2, visits=4, adverse_events=1200)
    folder = tmp_path_factory.mktemp("large") / "parquet"
    write(generate(scale), folder, "parquet", scale)
    return trialviz.load_study(folder)


def _ids(trace) -> set[str]:
    return {str(i) for i in trace.customdata if i is not None}


def test_enrolment_samples_patients_at_their_place_and_says_so(large):
    full = enrolment_figure(large)
    sampled = enrolment_figure(large, max_patients=LIMIT)
    treated = full.layout.meta["patients"]
    assert treated > LIMIT and sampled.layout.meta == {"patients": treated, "drawn": LIMIT}
    assert f"a random {LIMIT} of {treated} patients" in sampled.layout.title.text
    assert "random" not in full.layout.title.text
    place = {}  # each patient's row in the figure of everyone
    for trace in full.data:
        if trace.name.endswith("treated"):
            place.update(zip(trace.customdata, trace.y, strict=True))
    drawn = {}
    for trace in sampled.data:
        if trace.name.endswith("treated"):
            drawn.update(zip(trace.customdata, trace.y, strict=True))
    assert len(drawn) == LIMIT and all(place[p] == y for p, y in drawn.items())  # real patients, same rows
    lines = set().union(*(_ids(t) for t in sampled.data if t.name.endswith("follow-up")))
    assert lines == set(drawn)
    assert len(sampled.to_json()) < len(full.to_json()) / 2


def test_waterfall_samples_bars_in_order_and_says_so(large):
    param, visit = "SKIN", large.visits("SKIN")[-1]
    full = waterfall_figure(large, param, visit)
    sampled = waterfall_figure(large, param, visit, max_patients=LIMIT)
    patients = full.layout.meta["patients"]
    assert patients > LIMIT and sampled.layout.meta["patients"] == patients
    assert sampled.layout.meta["drawn"] == LIMIT and "drawn" not in full.layout.meta
    assert f"a random {LIMIT} of them" in sampled.layout.title.text
    # real patients with their own values, least to most improved (lower is better for SKIN)
    value = {}
    for trace in full.data:
        value.update(zip(trace.customdata, trace.y, strict=True))
    bars = sorted((x, p, y) for t in sampled.data for x, p, y in zip(t.x, t.customdata, t.y, strict=True))
    assert [x for x, _, _ in bars] == list(range(LIMIT))
    assert all(value[p] == y for _, p, y in bars)
    assert [y for _, _, y in bars] == sorted((y for _, _, y in bars), reverse=True)
    assert sampled.layout.meta["values"] == [y for _, _, y in bars]
    assert len(sampled.to_json()) < len(full.to_json()) / 2


def test_trajectory_keeps_the_patients_behind_means_in_the_kernel(large):
    from trialviz.app.figure_widgets import replace_figure

    full = trajectory_figure(large, "SKIN")
    sampled = trajectory_figure(large, "SKIN", max_patients=LIMIT)
    assert f"a random {LIMIT} of" in sampled.layout.title.text
    lines = set().union(*(_ids(t) for t in sampled.data if t.name.endswith("patients")))
    records = trialviz.analysis_records(large, "SKIN")
    assert len(lines) == LIMIT and lines <= set(records["USUBJID"])
    means = [t for t in sampled.data if t.name.endswith("mean (95% CI)")]
    for trace in means + [t for t in full.data if t.name.endswith("mean (95% CI)")]:  # no patient list sent
        assert np.asarray(trace.customdata).shape[1] == 3
    assert ";" not in json.dumps(json.loads(sampled.to_json())["data"]) + json.dumps(json.loads(full.to_json())["data"])
    assert len(sampled.to_json()) < len(full.to_json()) / 2
    # a click on a mean lists the patients with a value at that visit, from the kernel
    clicks = []
    widget = go.FigureWidget(go.Figure())
    replace_figure(widget, sampled, on_click=lambda what, ids: clicks.append((what, ids)))
    index = next(i for i, t in enumerate(widget.data) if t.name.endswith("mean (95% CI)"))
    trace = widget.data[index]
    cohort = large.cohort_values()[0]
    visit = 2
    trace._dispatch_on_click(Points(point_inds=[visit], xs=[visit], ys=[0], trace_name=trace.name,
                                    trace_index=index), InputDeviceState())
    visit_name = sampled.layout.meta["visits"][visit]
    chosen = records[(records["cohort"] == cohort) & (records["AVISIT"] == visit_name) & records["AVAL"].notna()]
    assert clicks == [(trace.name, sorted(chosen["USUBJID"].astype(str)))] and len(chosen) > LIMIT // 2
    # the figure with every line has the same patients behind its means
    index_full = next(i for i, t in enumerate(full.data) if t.name == trace.name)
    assert patients_behind(full)[index_full](visit) == clicks[0][1]
    assert set(patients_behind(full)) == {i for i, t in enumerate(full.data) if t.name.endswith("(95% CI)")}


def test_a_click_without_a_patient_column_lists_nobody():
    from trialviz.app.figure_widgets import _point_click

    clicks = []
    handler = _point_click(lambda what, ids: clicks.append(ids))
    trace = go.Scatter(customdata=[[1, 2, 3]], name="mean")
    handler(trace, Points(point_inds=[0], xs=[0], ys=[0], trace_name="mean", trace_index=0), None)
    assert clicks == []
    handler = _point_click(lambda what, ids: clicks.append(ids), lambda index: ["B", "A", "B"][index:])
    handler(trace, Points(point_inds=[0], xs=[0], ys=[0], trace_name="mean", trace_index=0), None)
    assert clicks == [["B", "A"]]


def test_numbers_at_risk_at_and_between_event_times(large):
    data, param, _ = trialviz.tables.survival.time_to_event_records(large)
    times = sorted({0.0, *data["time"].tolist(), *(data["time"] + 0.5).tolist()})[:200]
    table = trialviz.kaplan_meier(large, times=times, total=True)
    for row in table.itertuples():
        group = data if row.cohort == "Total" else data[data["cohort"] == row.cohort]
        assert row.at_risk == (group["time"] >= row.time).sum()
        assert row.events == ((group["time"] <= row.time) & group["event"]).sum()
        assert row.censored == ((group["time"] <= row.time) & ~group["event"]).sum()
    fig = km_figure(large)
    assert fig.layout.meta["param"] == param
