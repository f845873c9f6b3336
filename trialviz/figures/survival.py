"""Time to event: Kaplan–Meier curves by cohort with censoring marks and numbers at risk."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trialviz.figures.style import apply_layout, cohort_colours, drawn_cohorts, legend_entry, rgba, text
from trialviz.study import Study


def km_figure(study: Study, param: str | None = None, *, population_flag: str | None = None) -> go.Figure:
    """Kaplan–Meier estimate of the event-free probability by cohort, with its 95% CI band, censoring marks
    and the number at risk under the plot; every number comes from :func:`trialviz.kaplan_meier`.

    Parameters
    ----------
    study
        A (possibly filtered) study with an ADTTE dataset.
    param
        ADTTE ``PARAMCD`` (:meth:`~trialviz.study.Study.tte_params`); the first by default.
    population_flag
        ADSL flag of the population instead of the parameter's own (safety, or efficacy where the study
        file declares it).

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import km_figure
    >>> km_figure(trialviz.load_study()).layout.meta["param"]
    'TTSAE'
    """
    from trialviz.tables.survival import default_times, kaplan_meier, km_medians, time_to_event_records

    data, param, _ = time_to_event_records(study, param, population_flag=population_flag)
    # evaluate the step function at every observed time, so the curve has every step and every censoring,
    # and, in the same call (one fit per cohort), at the round times of the numbers at risk
    times = [0.0, *sorted(float(t) for t in data["time"].dropna().unique())]
    grid_times = default_times(float(data["time"].max()) if len(data) else 0.0)
    both = kaplan_meier(study, param, times=sorted(set(times) | set(grid_times)), population_flag=population_flag)
    curve = both[both["time"].isin(times)]
    grid = both[both["time"].isin(grid_times)]
    param = str(curve["param"].iloc[0]) if len(curve) else (param or "")
    label = study.tte_param_label(param)
    colours = cohort_colours(drawn_cohorts(study))
    cohorts = drawn_cohorts(study)
    # the numbers at risk: a row per cohort, in a band of fixed height under the curves (a row needs ~24 px)
    risk_height = 34 + 24 * len(cohorts)
    height = 480 + risk_height
    fig = make_subplots(rows=2, cols=1, row_heights=[1 - risk_height / (height - 260), risk_height / (height - 260)],
                        shared_xaxes=True, vertical_spacing=0.1)
    last_seen = data.groupby("cohort", observed=True)["time"].max()
    with_patients = []  # a cohort the filters emptied keeps its traces (in-place updates), without numbers
    for cohort in cohorts:
        rows = curve[curve["cohort"] == cohort].sort_values("time")  # none for a cohort the filters removed
        # the curve ends at the cohort's last follow-up (event or censoring), not at the study's
        rows = rows[rows["time"] <= last_seen.get(cohort, 0.0)] if cohort in last_seen.index else rows.iloc[:1]
        colour = colours[cohort]
        if rows["survival"].notna().any():
            with_patients.append(cohort)
        # the band: a light fill with dotted edges, so that overlapping bands stay told apart
        fig.add_trace(go.Scatter(x=list(rows["time"]) + list(rows["time"])[::-1],
                                 y=list(rows["ci_high"]) + list(rows["ci_low"])[::-1], fill="toself", mode="lines",
                                 line=dict(width=1, shape="hv", color=rgba(colour, 0.55), dash="dot"),
                                 fillcolor=rgba(colour, 0.08), hoverinfo="skip", showlegend=False,
                                 legendgroup=cohort, name=f"95% CI, {text(cohort)}"), row=1, col=1)
        fig.add_trace(go.Scatter(x=rows["time"], y=rows["survival"], mode="lines", line=dict(color=colour, width=3,
                                 shape="hv"), name=text(cohort), legendgroup=cohort,
                                 **legend_entry(cohort in with_patients),
                                 hovertemplate="day %{x}: %{y:.2f}<extra>" + text(cohort) + "</extra>"), row=1, col=1)
        censored = rows[rows["censored"].diff().fillna(rows["censored"]) > 0]
        fig.add_trace(go.Scatter(x=censored["time"], y=censored["survival"], mode="markers", showlegend=False,
                                 legendgroup=cohort, marker=dict(symbol="line-ns-open", size=10, color=colour),
                                 hovertemplate="censored, day %{x}<extra></extra>"), row=1, col=1)
        at_risk = grid[grid["cohort"] == cohort] if cohort in with_patients else grid.iloc[:0]
        fig.add_trace(go.Scatter(x=at_risk["time"], y=[text(study.cohort_label(cohort))] * len(at_risk), mode="text",
                                 text=at_risk["at_risk"].astype(int).astype(str), textfont=dict(color=colour),
                                 textposition="middle center", showlegend=False, hoverinfo="skip",
                                 cliponaxis=False, name=f"At risk, {text(cohort)}"), row=2, col=1)
    medians = km_medians(study, param, population_flag=population_flag)
    median_text = "; ".join(
        f"{study.cohort_label(r.cohort)} {'not reached' if np.isnan(r.median) else f'{r.median:.0f}'}"
        for r in medians.itertuples() if r.cohort in with_patients) or "no patient in the view"
    population_note = medians.attrs.get("notes", [""])[0]
    apply_layout(fig, study, f"{label}: Kaplan–Meier estimate by cohort",
                 [f"Band: 95% CI; tick: censored. Median: {median_text}.", "Number at risk below.",
                  population_note], height=height)
    fig.update_yaxes(title_text="Event-free probability", range=[0, 1.03], row=1, col=1)
    # the cohorts' rows in study order, top down, each fully inside its band; their names beside them
    labels = [text(study.cohort_label(c)) for c in cohorts]
    fig.update_yaxes(title_text=None, showgrid=False, type="category", categoryorder="array",
                     categoryarray=labels[::-1], range=[-0.6, len(labels) - 0.4], automargin=True,
                     fixedrange=True, row=2, col=1)
    # the numbers at risk stand under the ticks: both axes tick at the times they are given for
    ticks = dict(tickmode="array", tickvals=grid_times, ticktext=[f"{t:g}" for t in grid_times],
                 range=[-0.02 * max(grid_times[-1], 1.0), max(grid_times[-1], 1.0) * 1.02])
    fig.update_xaxes(**ticks, row=1, col=1)
    fig.update_xaxes(**ticks, title_text="Days from treatment", showgrid=False, row=2, col=1)
    fig.update_yaxes(automargin=True, row=1, col=1)
    fig.update_layout(meta={"param": param})
    return fig
