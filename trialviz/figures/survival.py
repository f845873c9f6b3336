"""Time to event: Kaplan–Meier curves by cohort with censoring marks and numbers at risk."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trialviz.figures.style import apply_layout, cohort_colours, legend_entry, rgba, text
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
    colours = cohort_colours(study.cohort_values())
    fig = make_subplots(rows=2, cols=1, row_heights=[0.74, 0.26], shared_xaxes=True, vertical_spacing=0.08)
    with_patients = []  # a cohort the filters emptied keeps its traces (in-place updates), without numbers
    for cohort in study.cohort_values():
        rows = curve[curve["cohort"] == cohort].sort_values("time")
        if rows.empty:
            continue
        colour = colours[cohort]
        if rows["survival"].notna().any():
            with_patients.append(cohort)
        fig.add_trace(go.Scatter(x=list(rows["time"]) + list(rows["time"])[::-1],
                                 y=list(rows["ci_high"]) + list(rows["ci_low"])[::-1], fill="toself", mode="lines",
                                 line=dict(width=0, shape="hv"), fillcolor=rgba(colour, 0.12), hoverinfo="skip",
                                 showlegend=False, legendgroup=cohort), row=1, col=1)
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
                                 showlegend=False, hoverinfo="skip"), row=2, col=1)
    medians = km_medians(study, param, population_flag=population_flag)
    median_text = "; ".join(
        f"{study.cohort_label(r.cohort)} {'not reached' if np.isnan(r.median) else f'{r.median:.0f}'}"
        for r in medians.itertuples() if r.cohort in with_patients) or "no patient in the view"
    population_note = medians.attrs.get("notes", [""])[0]
    apply_layout(fig, study, f"{label}: Kaplan–Meier estimate by cohort",
                 [f"Band: 95% CI; tick: censored. Median: {median_text}.", "Number at risk below.",
                  population_note], height=560)
    fig.update_yaxes(title_text="Probability without the event", range=[0, 1.03], row=1, col=1)
    fig.update_yaxes(title_text=None, showgrid=False, row=2, col=1)
    fig.update_xaxes(title_text="Days from treatment", row=2, col=1)
    fig.update_layout(meta={"param": param})
    return fig
