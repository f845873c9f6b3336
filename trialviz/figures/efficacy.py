"""Efficacy at one visit: each patient's change from baseline as a waterfall."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from trialviz.errors import AnalysisError
from trialviz.figures.style import LEGEND_MARGIN, apply_layout, cohort_colours, drawn_cohorts, legend_entry, text
from trialviz.study import Study
from trialviz.tables.endpoints import MEASURE_COLUMNS, MEASURE_LABELS, Measure, analysis_records, check_timepoint


def figure_timepoint(study: Study, param: str, timepoint: str | None) -> str | None:
    """The timepoint a figure shows: ``timepoint`` checked, or the parameter's first by ``ATPTN`` (a figure
    never pools timepoints); ``None`` for a parameter without timepoints."""
    if timepoint is not None:
        return check_timepoint(study, param, timepoint) or None
    timepoints = study.timepoints(param)
    return timepoints[0] if timepoints else None


LABELLED_BARS_UP_TO = 60
"""Up to this many bars, each is labelled with its patient under the axis; above, the labels would overlap:
the bars keep their order and the hover names the patient."""


def waterfall_figure(study: Study, param: str, visit: str, *, measure: Measure = "change",
                     population_flag: str | None = None, max_patients: int = 400, seed: int = 0,
                     timepoint: str | None = None) -> go.Figure:
    """Each patient's change from baseline at one visit, one bar per patient, best response on the right.

    Bars are sorted from the least to the most improved (by the endpoint's better direction; largest
    increase to largest decrease when it has none) and coloured by cohort; dashed lines mark ± the MCID.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param, visit
        The endpoint's ``PARAMCD`` and the visit (``AVISIT``).
    measure
        ``"change"`` or ``"percent change"`` from baseline.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    max_patients
        Above this many patients with a value, bars are drawn for a seeded random sample of them, still
        sorted (a sorted random sample has the shape of the whole waterfall), without a label per bar,
        and the subtitle says so.
    seed
        Seed of that sample.
    timepoint
        One ``ATPT`` text; the parameter's first timepoint (by ``ATPTN``) by default, named in the title.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per cohort; ``customdata`` holds each bar's ``USUBJID``. ``layout.meta`` has
        ``patients`` (with a value at the visit), ``values`` (of the bars drawn, in order) and, when they
        are sampled, ``drawn``.

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
    timepoint = figure_timepoint(study, param, timepoint)
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    records = records[(records["dtype"] == "").to_numpy()]  # each patient's value, not derived ones beside it
    if visit not in set(records["AVISIT"]):
        known = ", ".join(dict.fromkeys(records["AVISIT"])) or "none"
        raise AnalysisError(f"No {endpoint.name} values at visit {visit!r}; visits: {known}.")
    at_visit = records[(records["AVISIT"] == visit)].dropna(subset=[column])
    improvement_sign = -1 if endpoint.better == "lower" else 1
    at_visit = at_visit.assign(order=at_visit[column] * improvement_sign).sort_values(["order", "USUBJID"])
    patients = len(at_visit)
    sampled = patients > max_patients
    if sampled:
        chosen = np.sort(np.random.default_rng(seed).choice(patients, size=max_patients, replace=False))
        at_visit = at_visit.iloc[chosen]
    position = {s: i for i, s in enumerate(at_visit["USUBJID"])}
    colours = cohort_colours(drawn_cohorts(study))
    unit = "%" if measure == "percent change" else endpoint.unit
    fig = go.Figure()
    for cohort in drawn_cohorts(study):
        rows = at_visit[at_visit["cohort"] == cohort]
        fig.add_trace(go.Bar(
            x=rows["USUBJID"].map(position), y=rows[column], name=text(cohort), marker_color=colours[cohort],
            **legend_entry(len(rows) > 0),
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
    at = f"{visit}, {timepoint.lower()}" if timepoint else visit
    apply_layout(fig, study, f"{endpoint.name}: {MEASURE_LABELS[measure].lower()} at {at}, each patient",
        [f"One bar per patient, most improved on the right ({direction}). "
         f"{patients:,} patients with a value at {visit}."
         + (f" Bars: a random {max_patients:,} of them, in the same order." if sampled else ""),
         records.attrs.get("population_note", "")],
        height=560)  # the patients' labels under the bars take 30 px more than a legend row
    fig.update_layout(
        bargap=0.15,
        showlegend=True,  # plotly hides a legend of one cohort; the colour still needs its key
        margin=dict(b=150 if not sampled and len(position) <= LABELLED_BARS_UP_TO else LEGEND_MARGIN),
        xaxis=dict(showticklabels=False, title=f"A random {max_patients:,} of {patients:,} patients, least to "
                   "most improved", showgrid=False) if sampled else
        dict(showticklabels=False, ticks="", title=f"{len(position):,} patients, least to most improved (hover a "
             "bar for the patient)", showgrid=False) if len(position) > LABELLED_BARS_UP_TO else
        dict(tickmode="array", tickvals=list(range(len(position))),
             ticktext=[text(s) for s in position], tickangle=-60, title=None, showgrid=False),
        yaxis=dict(title=text(f"{MEASURE_LABELS[measure]} ({unit})" if unit else MEASURE_LABELS[measure]),
                   zeroline=True, zerolinecolor="#6b7280"),
        meta={"param": param, "visit": visit, "timepoint": timepoint or "", "measure": measure,
              "patients": int(patients),
              "values": [float(v) for v in np.asarray(at_visit[column], dtype=float)],
              **({"drawn": int(len(at_visit))} if sampled else {})},
    )
    return fig


def responder_figure(study: Study, param: str, *, threshold: float | None = None, relative: bool = False,
                     population_flag: str | None = None, timepoint: str | None = None) -> go.Figure:
    """Percentage of responders at each scheduled visit by cohort, with exact (Clopper–Pearson) 95% CIs.

    ``timepoint``: one ``ATPT`` text, the parameter's first (by ``ATPTN``) by default.

    A responder improves by at least ``threshold`` (the endpoint's MCID by default) in its better
    direction; see :func:`trialviz.responders`, which computes every number drawn here.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import responder_figure
    >>> fig = responder_figure(trialviz.load_study(), "MRSS")
    >>> fig.data[0].name
    'MSC 1×10⁶/kg'
    """
    from trialviz.tables.responders import responders

    timepoint = figure_timepoint(study, param, timepoint)
    table = responders(study, param, threshold=threshold, relative=relative, population_flag=population_flag,
                       total=False, timepoint=timepoint)
    endpoint = study.endpoint(param)
    colours = cohort_colours(drawn_cohorts(study))
    scheduled = set(study.visits(param))
    visits = [v for v in table.drop_duplicates("visit").sort_values("visitn", kind="stable")["visit"]
              if v in scheduled]
    position = {v: i for i, v in enumerate(visits)}
    offsets = {c: (i - (len(colours) - 1) / 2) * 0.08 for i, c in enumerate(colours)}
    fig = go.Figure()
    for cohort in drawn_cohorts(study):
        rows = table[table["cohort"] == cohort].set_index("visit").reindex(visits)
        percent = rows["percent"].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(
            x=[position[v] + offsets[cohort] for v in visits], y=percent, mode="lines+markers", name=text(cohort),
            **legend_entry(bool(np.isfinite(percent).any())),
            line=dict(color=colours[cohort], width=3), marker=dict(size=9, color=colours[cohort]),
            error_y=dict(type="data", symmetric=False, array=rows["ci_high"].to_numpy(dtype=float) - percent,
                         arrayminus=percent - rows["ci_low"].to_numpy(dtype=float), color=colours[cohort], width=5),
            customdata=np.column_stack([rows["subjects"].fillna(0), rows["denominator"].fillna(0),
                                        rows["ci_low"], rows["ci_high"]]),
            hovertemplate=f"<b>{text(cohort)}</b><br>%{{customdata[0]}} of %{{customdata[1]}} responders "
                          "(%{y:.0f}%)<br>95% CI %{customdata[2]:.0f}% to %{customdata[3]:.0f}%<extra></extra>"))
    definition = str(table["threshold"].iloc[0]) if len(table) else ""
    at = f" ({timepoint.lower()})" if timepoint else ""
    apply_layout(fig, study, f"{endpoint.name}: responders by visit{at}",
                 [f"Responder: {definition}. Exact (Clopper–Pearson) 95% CI; denominator: patients with a value "
                  "at the visit.", table.attrs.get("notes", [""])[0]], height=460)
    fig.update_layout(xaxis=dict(tickmode="array", tickvals=list(range(len(visits))),
                                 ticktext=[text(v) for v in visits], title=None, showgrid=False),
                      yaxis=dict(title="Responders (% of patients)", range=[-3, 103]),
                      meta={"param": param, "threshold": definition})
    return fig


def category_figure(study: Study, param: str, *, timepoint: str | None = None,
                    population_flag: str | None = None) -> go.Figure:
    """Percent of patients per result category (``AVALC``) at each scheduled visit, one stacked bar per
    visit and cohort; :func:`trialviz.category_summary` computes every number drawn.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        A parameter with character results (``AVALC``).
    timepoint
        One ``ATPT`` text; the parameter's first (by ``ATPTN``) by default, named in the title.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per category, stacked; the x axis has two levels, visit then cohort; ``customdata``
        holds subjects and denominator.
    """
    from trialviz.tables.categories import category_summary

    endpoint = study.endpoint(param)
    timepoint = figure_timepoint(study, param, timepoint)
    table = category_summary(study, param, timepoint=timepoint, population_flag=population_flag, total=False)
    scheduled = study.visits(param)
    table = table[table["visit"].isin(scheduled)]
    fig = go.Figure()
    for category, rows in table.groupby("category", sort=True, observed=False):
        fig.add_trace(go.Bar(
            x=[[text(v) for v in rows["visit"]], [text(study.cohort_label(c)) for c in rows["cohort"]]],
            y=rows["percent"], name=text(category),
            customdata=np.column_stack([rows["subjects"], rows["denominator"]]),
            hovertemplate=f"<b>{text(category)}</b><br>%{{customdata[0]}} of %{{customdata[1]}} patients "
                          "(%{y:.0f}%)<extra></extra>"))
    at = f" ({timepoint.lower()})" if timepoint else ""
    apply_layout(fig, study, f"{endpoint.name}: result categories by visit{at}",
                 ["Percent of the patients of each cohort with a result at the visit.",
                  table.attrs.get("notes", [""])[0]], height=460)
    fig.update_layout(barmode="stack", yaxis=dict(title="Patients (%)", range=[0, 100]),
                      meta={"param": param, "timepoint": timepoint or ""})
    return fig
