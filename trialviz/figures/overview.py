"""The trial at a glance: when each patient was treated and how long they were followed."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from trialviz.errors import AnalysisError
from trialviz.figures.style import apply_layout, cohort_colours, text
from trialviz.study import Study
from trialviz.tables.subjects import followup


def enrolment_figure(study: Study) -> go.Figure:
    """Enrolment and follow-up: one line per patient from treatment start to last contact, in order of
    treatment, coloured by cohort (planned treatment), on the calendar.

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
    colours = cohort_colours(study.cohort_values())
    fig = go.Figure()
    for cohort in study.cohort_values():
        rows = times[times[cohort_variable] == cohort]
        x: list[object] = []
        y: list[object] = []
        ids: list[object] = []
        for index, row in rows.iterrows():
            end = row["last_contact"] if pd.notna(row["last_contact"]) else row["start"]
            x += [row["start"], end, None]
            y += [index + 1, index + 1, None]
            ids += [row["USUBJID"], row["USUBJID"], None]
        fig.add_trace(go.Scatter(x=x, y=y, customdata=ids, mode="lines", name=f"{text(cohort)} · follow-up",
                                 legendgroup=cohort, line=dict(color=colours[cohort], width=3), opacity=0.45,
                                 hovertemplate="<b>%{customdata}</b> %{x|%d %b %Y}<extra></extra>"))
        fig.add_trace(go.Scatter(x=rows["start"], y=rows.index + 1, customdata=rows["USUBJID"], mode="markers",
                                 name=f"{text(cohort)} · treated", legendgroup=cohort,
                                 marker=dict(color=colours[cohort], size=8, line=dict(color="white", width=1)),
                                 hovertemplate="<b>%{customdata}</b><br>treated %{x|%d %b %Y}<extra></extra>"))
    first, last = times["start"].min(), times["start"].max()
    period = f"Treated from {first:%d %B %Y} to {last:%d %B %Y}." if len(times) else "No treated patient."
    apply_layout(fig, study, "Enrolment and follow-up",
                                  [f"{period} Dot: treatment; line: follow-up to last contact.",
                                   f"{len(times)} patients, in order of treatment."], height=max(360, 120 + 9 * len(times))
                                  if len(times) < 60 else 640)
    fig.update_layout(xaxis=dict(title=None, type="date"),
                      yaxis=dict(title="Patients in order of treatment", autorange="reversed", showgrid=False,
                                 zeroline=False),
                      meta={"patients": int(len(times))})
    return fig
