"""The trial at a glance: when each patient was treated and how long they were followed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from trialviz.errors import AnalysisError
from trialviz.figures.style import apply_layout, cohort_colours, drawn_cohorts, legend_entry, text
from trialviz.study import Study
from trialviz.tables.subjects import followup


def enrolment_figure(study: Study, *, max_patients: int = 400, seed: int = 0) -> go.Figure:
    """Enrolment and follow-up: one line per patient from treatment start to last contact, in order of
    treatment, coloured by cohort (planned treatment), on the calendar.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    max_patients
        Above this many treated patients, lines and dots are drawn for a seeded random sample of them, each
        at its place in the order of treatment of all patients, and the subtitle says so (the dates of
        first and last treatment and the count still use everyone).
    seed
        Seed of that sample.

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces per cohort, ``"<cohort> · follow-up"`` and ``"<cohort> · treated"``; ``customdata``
        holds each point's ``USUBJID``; ``layout.meta["patients"]`` is the number of treated patients
        and, when they are sampled, ``layout.meta["drawn"]`` the number drawn.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import enrolment_figure
    >>> enrolment_figure(trialviz.load_study()).layout.meta["patients"]
    20
    """
    cohort_variable = study.conventions.efficacy_cohort
    try:
        times = followup(study)
    except AnalysisError:
        times = pd.DataFrame({"USUBJID": study.subjects["USUBJID"],
                              "start": pd.to_datetime(study.subjects.get("TRTSDT")), "last_contact": pd.NaT})
    times = times.merge(study.subjects[["USUBJID", cohort_variable]], on="USUBJID")
    times = times.dropna(subset=["start"]).sort_values(["start", "USUBJID"]).reset_index(drop=True)
    shown = times
    sampled_note = ""
    if len(times) > max_patients:
        chosen = np.sort(np.random.default_rng(seed).choice(len(times), size=max_patients, replace=False))
        shown = times.iloc[chosen]  # keeps its index: each patient's place in the order of all patients
        sampled_note = f" Lines: a random {max_patients:,} of {len(times):,} patients, each at its place in that order."
    colours = cohort_colours(drawn_cohorts(study))
    fig = go.Figure()
    for cohort in drawn_cohorts(study):
        rows = shown[shown[cohort_variable] == cohort]
        # one line per patient, start to last contact (start again when unknown), None between patients
        starts = rows["start"].astype(object).to_numpy()
        ends = rows["last_contact"].where(rows["last_contact"].notna(), rows["start"]).astype(object).to_numpy()
        place = (rows.index + 1).to_numpy()
        ids = rows["USUBJID"].to_numpy(dtype=object)
        x = _interleave(starts, ends)
        y = _interleave(place, place)
        fig.add_trace(go.Scatter(x=x, y=y, customdata=_interleave(ids, ids), mode="lines",
                                 name=f"{text(cohort)} · follow-up", **legend_entry(len(rows) > 0),
                                 legendgroup=cohort, line=dict(color=colours[cohort], width=3), opacity=0.45,
                                 hovertemplate="<b>%{customdata}</b> %{x|%d %b %Y}<extra></extra>"))
        fig.add_trace(go.Scatter(x=rows["start"], y=rows.index + 1, customdata=rows["USUBJID"], mode="markers",
                                 name=f"{text(cohort)} · treated", legendgroup=cohort, **legend_entry(len(rows) > 0),
                                 marker=dict(color=colours[cohort], size=8, line=dict(color="white", width=1)),
                                 hovertemplate="<b>%{customdata}</b><br>treated %{x|%d %b %Y}<extra></extra>"))
    first, last = times["start"].min(), times["start"].max()
    period = f"Treated from {first:%d %B %Y} to {last:%d %B %Y}." if len(times) else "No treated patient."
    apply_layout(fig, study, "Enrolment and follow-up",
                                  [f"{period} Dot: treatment; line: follow-up to last contact.",
                                   f"{len(times):,} patients, in order of treatment.{sampled_note}"],
                 height=max(360, 120 + 9 * len(times)) if len(times) < 60 else 640)
    fig.update_layout(xaxis=dict(title=None, type="date"),
                      yaxis=dict(title="Patient (order of treatment)", autorange="reversed", showgrid=False,
                                 zeroline=False),
                      meta={"patients": int(len(times)), **({"drawn": int(len(shown))} if sampled_note else {})})
    return fig


def _interleave(first: np.ndarray, second: np.ndarray) -> list[object]:
    """``first[0], second[0], None, first[1], second[1], None, …``: one two-point line per item."""
    out = np.full(3 * len(first), None, dtype=object)
    out[0::3] = first
    out[1::3] = second
    return out.tolist()
