"""Figures show exactly the numbers the tables compute."""

from __future__ import annotations

import numpy as np
import pytest

import trialviz
from trialviz.figures import enrolment_figure, km_figure, responder_figure, trajectory_figure, waterfall_figure


def test_trajectory_means_and_cis_equal_the_summary_table(bundled):
    fig = trajectory_figure(bundled, "MRSS", measure="change")
    table = trialviz.endpoint_summary(bundled, "MRSS", measures=["change"], total=False)
    for cohort in bundled.cohort_values():
        trace = next(t for t in fig.data if t.name == f"{cohort} · mean (95% CI)")
        rows = table[table["cohort"] == cohort]
        assert np.allclose(trace.y, rows["mean"], equal_nan=True)
        assert np.allclose(np.asarray(trace.y) + np.asarray(trace.error_y.array), rows["ci_high"], equal_nan=True)
    assert fig.layout.meta["visits"] == ["Month 1", "Month 3", "Month 6", "Month 9", "Month 12", "Month 18",
                                         "Month 24"]


def test_every_patient_value_is_drawn_once(bundled):
    fig = trajectory_figure(bundled, "FVCPP")
    records = trialviz.analysis_records(bundled, "FVCPP")
    drawn = sum(int(np.isfinite(np.asarray(t.y, dtype=float)).sum()) for t in fig.data if t.name.endswith("patients"))
    assert drawn == records["AVAL"].notna().sum()
    ids = {i for t in fig.data if t.name.endswith("patients") for i in t.customdata if i is not None}
    assert ids == set(records["USUBJID"])


@pytest.mark.parametrize("study_name, param", [("bundled", "MRSS"), ("bundled", "HAQDI"), ("pilot", "ACTOT")])
def test_each_patient_line_holds_that_patients_values_at_their_visits(request, study_name, param):
    study = request.getfixturevalue(study_name)
    fig = trajectory_figure(study, param, measure="change")
    visits = fig.layout.meta["visits"]
    records = trialviz.analysis_records(study, param).dropna(subset=["CHG"])
    expected = {(str(r.USUBJID), visits.index(str(r.AVISIT)), r.CHG) for r in records.itertuples()}
    drawn = set()
    for trace in (t for t in fig.data if t.name.endswith("patients")):
        x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
        ids = list(trace.customdata)
        assert all(ids[i] is None for i in np.flatnonzero(np.isnan(x)))  # patients are apart
        for i in np.flatnonzero(np.isfinite(y)):
            drawn.add((ids[i], int(x[i]), y[i]))
        # a patient's line goes through visits in order
        for start, stop in zip(np.r_[0, np.flatnonzero(np.isnan(x)) + 1][:-1], np.flatnonzero(np.isnan(x)),
                               strict=True):
            assert len({ids[i] for i in range(start, stop)}) == 1 and np.all(np.diff(x[start:stop]) > 0)
    assert drawn == expected


def test_tick_labels_give_n_per_cohort_and_missed_visits_are_gaps(bundled):
    fig = trajectory_figure(bundled, "MRSS")
    table = trialviz.endpoint_summary(bundled, "MRSS", measures=["value"], total=False)
    month1 = table[table["visit"] == "Month 1"].set_index("cohort")["n"]
    label = fig.layout.xaxis.ticktext[1]
    assert label.startswith("Month 1") and all(f">{n}<" in label for n in month1)
    assert month1.sum() < 20  # some patients missed month 1, and their lines have a gap there
    patients = [t for t in fig.data if t.name.endswith("patients")]
    gaps = [i for t in patients for i in range(1, len(t.y)) if np.isnan(t.y[i]) and not np.isnan(t.x[i])]
    assert gaps, "a missed visit inside a patient's follow-up is drawn as a gap"


def test_mcid_band_only_for_change(bundled):
    change = trajectory_figure(bundled, "MRSS", measure="change")
    assert [(s.y0, s.y1) for s in change.layout.shapes if s.type == "rect"] == [(-5, 5)]
    assert not [s for s in trajectory_figure(bundled, "MRSS").layout.shapes if s.type == "rect"]
    assert not [s for s in trajectory_figure(bundled, "DLCOPP", measure="change").layout.shapes if s.type == "rect"]


def test_simulated_mark_and_escaped_text(bundled):
    fig = trajectory_figure(bundled, "MRSS")
    assert any("SIMULATED" in a.text for a in fig.layout.annotations)


def test_large_studies_sample_lines_but_not_means(pilot):
    fig = trajectory_figure(pilot, "ACTOT", max_patients=50)
    ids = {i for t in fig.data if t.name.endswith("patients") for i in t.customdata if i is not None}
    assert len(ids) == 50
    assert "random 50 of" in fig.layout.title.text


def test_legends_sit_in_the_figure_foot_whatever_its_height(bundled, pilot):
    """A legend placed in fractions of the plot drifts: far below a tall timeline, onto the ticks of a
    short figure. Every figure anchors it to the foot of the figure, inside a margin kept for it."""
    from trialviz import figures
    from trialviz.figures.style import LEGEND_MARGIN

    made = [figures.trajectory_figure(pilot, "ACITM01"), figures.ae_timeline_figure(pilot),
            figures.ae_timeline_figure(bundled), figures.waterfall_figure(bundled, "MRSS", "Month 12"),
            figures.responder_figure(bundled, "MRSS"), figures.patient_timeline_figure(bundled, "MSC-SSC-001"),
            figures.enrolment_figure(bundled)]
    for fig in made:
        legend = fig.layout.legend
        assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom"), fig.layout.title.text
        assert fig.layout.margin.b >= LEGEND_MARGIN
    timeline = made[1]
    rows = len(timeline.layout.meta["patients"])
    assert rows == 150 and timeline.layout.yaxis.range == (rows - 0.5, -0.7)  # no padding above the first row
    assert [t.name for t in made[0].data if t.showlegend is not False] == [
        f"{c} · mean (95% CI)" for c in ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")]


def test_figures_draw_only_trace_types_their_template_styles_as_plotly_white_does(bundled):
    import plotly.io as pio

    from trialviz.figures import (
        ae_timeline_figure,
        enrolment_figure,
        km_figure,
        patient_endpoints_figure,
        patient_timeline_figure,
        responder_figure,
        waterfall_figure,
    )
    from trialviz.figures.style import TEMPLATE_LAYOUT

    patient = str(bundled.subjects["USUBJID"].iloc[0])
    figures = [trajectory_figure(bundled, "MRSS", measure="change"), waterfall_figure(bundled, "MRSS", "Month 12"),
               responder_figure(bundled, "MRSS"), ae_timeline_figure(bundled), km_figure(bundled),
               enrolment_figure(bundled), patient_timeline_figure(bundled, patient),
               patient_endpoints_figure(bundled, patient)]
    white = pio.templates["plotly_white"]
    for fig in figures:
        template = fig.layout.template
        assert {trace.type for trace in fig.data} <= {name for name, styles in template.data.to_plotly_json().items()
                                                      if styles}
        for name in TEMPLATE_LAYOUT:
            assert template.layout[name] == white.layout[name], name
        assert {trace.type for trace in fig.data} <= {"scatter", "bar"}


def test_a_cohort_the_filters_leave_empty_has_no_legend_entry(bundled):
    from trialviz.filters import SubjectFilter

    first, second = bundled.cohort_values()
    view = SubjectFilter(cohorts=(second,)).apply(bundled)
    fig = trajectory_figure(view, "MRSS")
    in_legend = [t.name for t in fig.data if t.showlegend is not False]
    assert in_legend == [f"{second} · mean (95% CI)"]
    assert [t.name for t in fig.data] == [t.name for t in trajectory_figure(bundled, "MRSS").data]  # same traces
    assert [t.name for t in trajectory_figure(bundled, "MRSS").data if t.showlegend is not False] == [
        f"{first} · mean (95% CI)", f"{second} · mean (95% CI)"]


@pytest.mark.parametrize("make", [
    lambda s: waterfall_figure(s, "MRSS", "Month 12"), lambda s: responder_figure(s, "MRSS"),
    lambda s: enrolment_figure(s), lambda s: km_figure(s)], ids=["waterfall", "responders", "enrolment", "km"])
def test_no_figure_lists_a_cohort_the_filters_leave_empty(bundled, make):
    from trialviz.filters import SubjectFilter

    first, second = bundled.cohort_values()
    whole = [t.name for t in make(bundled).data if t.showlegend is not False]
    assert any(first in name for name in whole) and any(second in name for name in whole)
    shown = [t.name for t in make(SubjectFilter(cohorts=(second,)).apply(bundled)).data if t.showlegend is not False]
    assert shown and all(second in name for name in shown), shown


def test_kaplan_meier_gives_no_numbers_for_a_cohort_the_filters_leave_empty(bundled):
    from trialviz.filters import SubjectFilter

    first, second = bundled.cohort_values()
    whole = km_figure(bundled)
    view = km_figure(SubjectFilter(cohorts=(second,)).apply(bundled))
    assert f"{bundled.cohort_label(first)} " in whole.layout.title.text
    assert f"{bundled.cohort_label(first)} " not in view.layout.title.text  # no "not reached" for nobody
    at_risk = {t.y[0] if len(t.y) else None: list(t.text) for t in view.data if t.mode == "text"}
    assert at_risk.get(bundled.cohort_label(second)) and None in at_risk  # the emptied cohort's row is empty
    assert len(view.data) == len(whole.data)  # same traces: the dashboard updates the figure in place


def test_a_one_cohort_waterfall_keeps_its_legend(bundled):
    from trialviz.filters import SubjectFilter

    fig = waterfall_figure(SubjectFilter(cohorts=(bundled.cohort_values()[1],)).apply(bundled), "MRSS", "Month 12")
    assert fig.layout.showlegend is True  # plotly would hide a legend of one entry
