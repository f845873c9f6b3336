"""Efficacy at one visit: each patient's change from baseline as a waterfall."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from trialviz.errors import AnalysisError
from trialviz.figures.style import apply_layout, cohort_colours, text
from trialviz.study import Study
from trialviz.tables.endpoints import MEASURE_COLUMNS, MEASURE_LABELS, Measure, analysis_records


def waterfall_figure(study: Study, param: str, visit: str, *, measure: Measure = "change",
                     population_flag: str | None = None) -> go.Figure:
    """Each patient's change from baseline at one visit, one bar per patient, best response on the right.

    Bars are sorted from the least to the most improved (by the endpoint's better direction; largest
    increase to largest decrease when it has none) and coloured by cohort; dashed lines mark ± the MCID.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per cohort; ``customdata`` holds each bar's ``USUBJID``.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import waterfall_figure
    >>> fig = waterfall_figure(trialviz.load_study(), "MRSS", "Month 6")
    >>> fig.layout.meta["patients"]
    20
    """
    if measure == "value":
        raise AnalysisError("A waterfall shows change from baseline: use measure 'change' or 'percent change'.")
    endpoint = study.endpoint(param)
    column = MEASURE_COLUMNS[measure]
    records = analysis_records(study, param, population_flag=population_flag)
    if visit not in set(records["AVISIT"]):
        known = ", ".join(study.visits(param)) or "none"
        raise AnalysisError(f"No {endpoint.name} values at visit {visit!r}; visits: {known}.")
    at_visit = records[(records["AVISIT"] == visit)].dropna(subset=[column])
    improvement_sign = -1 if endpoint.better == "lower" else 1
    at_visit = at_visit.assign(order=at_visit[column] * improvement_sign).sort_values(["order", "USUBJID"])
    position = {s: i for i, s in enumerate(at_visit["USUBJID"])}
    colours = cohort_colours(study.cohort_values())
    unit = "%" if measure == "percent change" else endpoint.unit
    fig = go.Figure()
    for cohort in study.cohort_values():
        rows = at_visit[at_visit["cohort"] == cohort]
        fig.add_trace(go.Bar(
            x=rows["USUBJID"].map(position), y=rows[column], name=text(cohort), marker_color=colours[cohort],
            customdata=rows["USUBJID"].astype(str),
            hovertemplate=f"<b>%{{customdata}}</b><br>{text(cohort)}<br>%{{y:.{endpoint.decimals}f}} "
                          f"{text(unit)}<extra></extra>",
        ))
    if endpoint.mcid and measure == "change":
        for y in (-endpoint.mcid, endpoint.mcid):
            fig.add_hline(y=y, line=dict(color="#6b7280", dash="dash", width=1))
        fig.add_annotation(xref="paper", x=0, y=endpoint.mcid, yanchor="bottom", xanchor="left", showarrow=False,
                           text=f"± MCID {endpoint.mcid:g} {text(endpoint.unit)}", font=dict(size=12, color="#4b5563"))
    direction = {"lower": "a fall is an improvement", "higher": "a rise is an improvement"}.get(endpoint.better or "",
                                                                                              "no direction declared")
    apply_layout(fig, study, f"{endpoint.name}: {MEASURE_LABELS[measure].lower()} at {visit}, each patient",
        [f"One bar per patient, most improved on the right ({direction}). "
         f"{len(at_visit)} patients with a value at {visit}.", records.attrs.get("population_note", "")],
        height=460)
    fig.update_layout(
        bargap=0.15,
        margin=dict(b=150),
        legend=dict(y=-0.42),
        xaxis=dict(tickmode="array", tickvals=list(range(len(position))),
                   ticktext=[text(s) for s in position], tickangle=-60, title=None, showgrid=False),
        yaxis=dict(title=text(f"{MEASURE_LABELS[measure]} ({unit})" if unit else MEASURE_LABELS[measure]),
                   zeroline=True, zerolinecolor="#6b7280"),
        meta={"param": param, "visit": visit, "measure": measure, "patients": int(len(at_visit)),
              "values": [float(v) for v in np.asarray(at_visit[column], dtype=float)]},
    )
    return fig
