"""The composite response of systemic sclerosis trials: each patient's ACR CRISS probability by cohort and visit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from trialviz.figures.style import apply_layout, cohort_colours, drawn_cohorts, legend_entry, text
from trialviz.study import Study
from trialviz.tables.criss import IMPROVED_AT, criss, criss_visits


def criss_figure(study: Study, *, visits: tuple[str, ...] | None = None,
                 population_flag: str | None = None) -> go.Figure:
    """Each patient's ACR CRISS probability of improvement as a point, by visit and cohort, with the 0.60 line.

    Patients not improved by step 1 (a renal crisis, an FVC decline, new LV failure or PAH) are at 0 and drawn
    as crosses; patients without a result are not drawn, and the subtitle counts them.

    Parameters
    ----------
    study
        A (possibly filtered) study whose study file has a ``[composites.criss]`` table.
    visits
        The visits (``AVISIT``); the study's CRISS visits by default (:func:`~trialviz.tables.criss.criss_visits`).
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).

    Returns
    -------
    plotly.graph_objects.Figure
        One marker trace per cohort (and one per cohort for step-1 patients); the x axis has two levels,
        visit then cohort; ``customdata`` holds each point's ``USUBJID``. ``layout.meta`` has ``visits``,
        ``patients`` (points drawn) and ``no_result``.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures.composite import criss_figure
    >>> criss_figure(trialviz.load_study()).layout.meta["visits"]
    ['Month 12', 'Month 24']
    """
    chosen = list(visits) if visits is not None else criss_visits(study)
    by_visit = [criss(study, visit=v, population_flag=population_flag) for v in chosen]
    table = pd.concat(by_visit, ignore_index=True) if by_visit else \
        pd.DataFrame(columns=["USUBJID", "cohort", "visit", "probability", "step1", "improved"])
    notes = by_visit[0].attrs.get("notes", []) if by_visit else []
    drawn = table[table["probability"].notna().to_numpy()]
    colours = cohort_colours(drawn_cohorts(study))
    # a reproducible horizontal spread, so that patients with the same probability stay apart
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(drawn))
    cohorts = drawn_cohorts(study)
    slot = {(v, c): i for i, (v, c) in enumerate((v, c) for v in chosen for c in cohorts)}
    x = np.array([slot[(v, c)] for v, c in zip(drawn["visit"], drawn["cohort"], strict=True)], dtype=float) + jitter
    drawn = drawn.assign(x=x)
    fig = go.Figure()
    for cohort in cohorts:
        for worsened in (False, True):
            rows = drawn[(drawn["cohort"] == cohort).to_numpy() & ((drawn["step1"] != "") == worsened).to_numpy()]
            detail = "<br>Step 1: %{customdata[1]}" if worsened else ""
            fig.add_trace(go.Scatter(
                x=rows["x"], y=rows["probability"], mode="markers",
                name=text(study.cohort_label(cohort)) + (" — not improved by step 1" if worsened else ""),
                marker={"color": colours[cohort], "size": 10, "symbol": "x" if worsened else "circle",
                            "line": {"width": 1, "color": "#ffffff"}},
                **legend_entry(len(rows) > 0),
                # the identifier as it is (a click lists the patient); the texts drawn in the hover, escaped
                customdata=np.column_stack([rows["USUBJID"].astype(str), rows["step1"].map(text),
                                            rows["visit"].map(text)]) if len(rows) else None,
                hovertemplate=f"<b>%{{customdata[0]}}</b><br>{text(study.cohort_label(cohort))}, %{{customdata[2]}}<br>"
                              f"Probability of improvement %{{y:.3f}}{detail}<extra></extra>"))
    fig.add_hline(y=IMPROVED_AT, line={"color": "#6b7280", "dash": "dash", "width": 1})
    fig.add_annotation(xref="paper", x=1, y=IMPROVED_AT, yanchor="bottom", xanchor="right", showarrow=False,
                       text=f"improved: ≥ {IMPROVED_AT:.2f}", font={"size": 12, "color": "#4b5563"})
    no_result = int(table["probability"].isna().sum())
    apply_layout(fig, study, "ACR CRISS: each patient's probability of improvement",
                 [f"One point per patient; crosses at 0: not improved by step 1. {len(drawn):,} points"
                  + (f"; {no_result:,} without a result (a core item missing)." if no_result else "."),
                  *[n for n in notes if "population" in n]],
                 height=480)
    fig.update_layout(
        showlegend=True,
        xaxis={"tickmode": "array", "tickvals": list(slot.values()),
               "ticktext": [f"{text(study.cohort_label(c))}<br>{text(v)}" for v, c in slot], "title": None,
               "showgrid": False, "range": [-0.6, max(len(slot) - 0.4, 0.6)], "zeroline": False},
        yaxis={"title": "Probability of improvement", "range": [-0.05, 1.05]},
        meta={"visits": chosen, "patients": len(drawn), "no_result": no_result},
    )
    return fig
