"""One patient: follow-up timeline with visits and adverse events, and endpoint trajectories against the cohort."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trialviz.errors import AnalysisError
from trialviz.figures.safety import UNKNOWN_COLOUR, _severity_labels
from trialviz.figures.style import apply_layout, cohort_colours, drawn_cohorts, rgba, text
from trialviz.filters import SubjectFilter
from trialviz.study import Study
from trialviz.tables.endpoints import endpoint_summary
from trialviz.tables.safety import study_day
from trialviz.tables.subjects import followup


def _subject_row(study: Study, usubjid: str) -> pd.Series:
    rows = study.subjects[study.subjects["USUBJID"] == usubjid]
    if rows.empty:
        raise AnalysisError(f"No patient {usubjid!r} in the study (or the filters leave them out).")
    return rows.iloc[0]


def patient_timeline_figure(study: Study, usubjid: str) -> go.Figure:
    """A patient's follow-up on the study-day axis: treatment (day 1), visits, adverse events as bars from
    onset to end coloured by grade (or severity), last contact; the primary-endpoint window shaded.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import patient_timeline_figure
    >>> fig = patient_timeline_figure(trialviz.load_study(), "MSC-SSC-001")
    >>> fig.layout.meta["patient"]
    'MSC-SSC-001'
    """
    subject = _subject_row(study, usubjid)
    events = study.adverse_events[study.adverse_events["USUBJID"] == usubjid]
    events = events.assign(day=study_day(events))
    if "AENDY" in events.columns:
        events = events.assign(end=pd.to_numeric(events["AENDY"], errors="coerce").fillna(events["day"]))
    else:
        events = events.assign(end=events["day"])
    labels, colours, legend_title = _severity_labels(events)
    visits = study.measurements[study.measurements["USUBJID"] == usubjid]
    visit_days = (visits.dropna(subset=["ADY"]).groupby("AVISIT", observed=True)["ADY"].min().sort_values()
                  if "ADY" in visits.columns and len(visits) else pd.Series(dtype=float))
    fig = go.Figure()
    window = study.conventions.primary_window
    if window is not None:
        fig.add_vrect(x0=window[0] - 0.5, x1=window[1] + 0.5, fillcolor="rgba(0,114,178,0.12)", line_width=0,
                      layer="below")
    try:
        days = followup(study).set_index("USUBJID").at[usubjid, "days"]
    except (AnalysisError, KeyError):
        days = np.nan
    if pd.notna(days):
        fig.add_trace(go.Scatter(x=[1, days + 1], y=["Follow-up", "Follow-up"], mode="lines+markers",
                                 name="Follow-up", line=dict(color="#9ca3af", width=6),
                                 marker=dict(size=12, symbol=["triangle-right", "line-ns"], color="#374151"),
                                 hovertemplate="day %{x}<extra>follow-up</extra>"))
    if len(visit_days):
        fig.add_trace(go.Scatter(x=visit_days.to_numpy(), y=["Visits"] * len(visit_days), mode="markers+text",
                                 text=[text(v) for v in visit_days.index],
                                 textposition=["top center" if i % 2 == 0 else "bottom center"
                                               for i in range(len(visit_days))],
                                 name="Visits", marker=dict(size=11, color="#0072B2", symbol="line-ns-open",
                                                            line=dict(width=3)),
                                 hovertemplate="%{text}: day %{x}<extra></extra>"))
    for (_, event), level in zip(events.iterrows(), labels, strict=True):
        term = text(event.get("AEDECOD", "event"))
        serious = str(event.get("AESER", "")) == "Y"
        start, end = event["day"], max(event["end"], event["day"])
        fig.add_trace(go.Scatter(
            x=[start, end + 0.5], y=[term, term], mode="lines+markers", showlegend=False,
            line=dict(color=colours.get(level, UNKNOWN_COLOUR), width=12),
            marker=dict(symbol="diamond" if serious else "circle", size=12, color=colours.get(level, UNKNOWN_COLOUR),
                        line=dict(color="#111827", width=1)),
            hovertemplate=f"<b>{term}</b><br>{text(level)}{' · serious' if serious else ''}<br>"
                          f"days {start:g}–{end:g}<extra></extra>"))
    # the legend shows the marks as drawn: a bar per grade, a circle or a diamond (serious) at onset
    for level, colour in colours.items():
        if (labels == level).any():
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=text(level),
                                     line=dict(color=colour, width=12)))
    if len(events):
        serious_flags = events["AESER"].astype("string").eq("Y").fillna(False) if "AESER" in events.columns else \
            pd.Series(False, index=events.index)
        for serious, name in ((False, "Not serious"), (True, "Serious")):
            if (serious_flags == serious).any():
                fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, marker=dict(
                    symbol="diamond" if serious else "circle", size=12, color="#9ca3af",
                    line=dict(color="#111827", width=1))))
    cohort = subject.get(study.conventions.efficacy_cohort, "")
    extra = ", ".join(part for part in (_sex_words(subject.get("SEX")), _age_words(subject.get("AGE"))) if part)
    note = f"{study.cohort_label(str(cohort))}{'; ' + extra if extra else ''}. Day 1 = treatment; diamond: serious"
    note += "; shaded: primary-endpoint window." if window is not None else "."
    rows = 2 + events["AEDECOD"].nunique() if "AEDECOD" in events.columns else 2 + min(len(events), 1)
    apply_layout(fig, study, f"Patient {usubjid}: follow-up, visits and adverse events", [note],
                 plot_height=ROW_HEIGHT * rows + 40)
    # every row is labelled, however many terms: a row of fixed height each, and the labels' width as margin
    fig.update_layout(xaxis=dict(title="Study day"),
                      yaxis=dict(title=None, autorange="reversed", type="category", automargin=True,
                                 tickmode="linear", dtick=1),
                      legend=dict(title=dict(text=legend_title)), meta={"patient": usubjid, "events": len(events),
                                                                        "rows": rows})
    return fig


ROW_HEIGHT = 30
"""Pixels a row (follow-up, visits, an adverse-event term) of a patient's timeline takes."""


def _sex_words(value: object) -> str:
    if value is None or pd.isna(value):
        return ""
    return {"F": "woman", "M": "man"}.get(str(value), str(value))


def _age_words(value: object) -> str:
    """An age as clinicians write it: ``55 years`` (whole years as integers)."""
    age = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(age):
        return ""
    return f"{int(age)} years" if float(age).is_integer() else f"{age:.1f} years"


def patient_endpoints_figure(study: Study, usubjid: str, *, params: list[str] | None = None,
                             cohort_study: Study | None = None) -> go.Figure:
    """A patient's value of each endpoint over visits (black) against their cohort's mean and 95% CI (band).

    Parameters
    ----------
    study
        The study holding the patient.
    usubjid
        The patient.
    params
        Endpoints to show (default: every endpoint the patient has values for, at most 6).
    cohort_study
        The study whose cohort means are the reference (default: ``study``), e.g. the filtered study.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import patient_endpoints_figure
    >>> fig = patient_endpoints_figure(trialviz.load_study(), "MSC-SSC-001")
    >>> len(fig.layout.meta["params"])
    6
    """
    subject = _subject_row(study, usubjid)
    cohort = str(subject.get(study.conventions.efficacy_cohort, ""))
    reference = cohort_study or study
    records = study.measurements[study.measurements["USUBJID"] == usubjid]
    available = [e.paramcd for e in study.endpoints if e.paramcd in set(records["PARAMCD"].astype(str))]
    params = [p for p in (params or available) if p in available][:6]
    if not params:
        raise AnalysisError(f"Patient {usubjid} has no endpoint measurements.")
    columns = 3 if len(params) > 4 else min(2, len(params))
    grid_rows = math.ceil(len(params) / columns)
    fig = make_subplots(rows=grid_rows, cols=columns, subplot_titles=[text(study.endpoint(p).label) for p in params],
                        vertical_spacing=0.16, horizontal_spacing=0.07)
    colour = cohort_colours(drawn_cohorts(study)).get(cohort, "#444444")
    cohort_only = SubjectFilter(cohorts=(cohort,)).apply(reference)
    for i, param in enumerate(params):
        row, col = i // columns + 1, i % columns + 1
        summary = endpoint_summary(cohort_only, param, measures=["value"], total=False)
        summary = summary[summary["cohort"] == cohort]
        visits = summary["visit"].tolist()
        ticks = [text(v) for v in visits]  # category labels are drawn by plotly, which reads HTML in them
        own = records[records["PARAMCD"].astype(str) == param].groupby("AVISIT", observed=True)["AVAL"].first()
        fig.add_trace(go.Scatter(x=ticks + ticks[::-1], y=list(summary["ci_high"]) + list(summary["ci_low"])[::-1],
                                 fill="toself", fillcolor=rgba(colour, 0.18), line=dict(width=0), hoverinfo="skip",
                                 mode="lines",
                                 showlegend=i == 0, name=f"{text(study.cohort_label(cohort))}: 95% CI"),
                      row=row, col=col)
        fig.add_trace(go.Scatter(x=ticks, y=summary["mean"], mode="lines", line=dict(color=colour, width=2),
                                 showlegend=i == 0, name=f"{text(study.cohort_label(cohort))}: mean"),
                      row=row, col=col)
        fig.add_trace(go.Scatter(x=ticks, y=[own.get(v) for v in visits], mode="lines+markers",
                                 line=dict(color="#111827", width=3), marker=dict(size=8), showlegend=i == 0,
                                 name=f"{text(usubjid)}", connectgaps=False,
                                 hovertemplate="%{x}: %{y}<extra>" + text(usubjid) + "</extra>"),
                      row=row, col=col)
    apply_layout(fig, study, f"Patient {usubjid}: endpoints against the cohort",
                                  [f"Black: the patient (gap: missed visit). Band: {study.cohort_label(cohort)} "
                                   "mean and 95% CI."], height=max(420, 120 + 290 * grid_rows))
    fig.update_xaxes(tickangle=-30, showgrid=False)
    fig.update_annotations(font_size=13)
    fig.update_layout(meta={"patient": usubjid, "params": params})
    return fig
