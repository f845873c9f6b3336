"""Endpoint over time: every patient's line with the cohort mean and its 95% CI, n under each visit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from trialviz.figures.drill import PatientsAt, keep_patients
from trialviz.figures.efficacy import figure_timepoint
from trialviz.figures.style import apply_layout, cohort_colours, drawn_cohorts, legend_entry, rgba, text
from trialviz.io.text import as_str
from trialviz.study import Study
from trialviz.tables.endpoints import (
    MEASURE_COLUMNS,
    MEASURE_LABELS,
    Measure,
    analysis_records,
    summarise_records,
)

DODGE = 0.08
"""Horizontal offset between cohorts' means at one visit, so their CIs do not hide each other."""


def trajectory_figure(study: Study, param: str, *, measure: Measure = "value", show_patients: bool = True,
                      show_mcid: bool = True, population_flag: str | None = None,
                      max_patients: int = 400, seed: int = 0, timepoint: str | None = None) -> go.Figure:
    """Each patient's trajectory plus the cohort mean with its t-based 95% CI over visits.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        The endpoint's ``PARAMCD``.
    measure
        ``"value"``, ``"change"`` (from baseline) or ``"percent change"``.
    show_patients
        Draw every patient's line (thin; a gap marks a missed visit).
    show_mcid
        For change from baseline, shade ± the endpoint's MCID around zero.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    max_patients
        Above this many patients, individual lines are drawn for a seeded random sample of them (the
        means always use everyone) and the subtitle says so.
    seed
        Seed of that sample.
    timepoint
        One ``ATPT`` text; the parameter's first timepoint (by ``ATPTN``) by default (a figure never pools
        timepoints), named in the title. Only scheduled visits are on the axis (not "End of Treatment" or
        other derived visits, nor derived values beside a visit's).

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces per cohort: ``"<cohort> · patients"`` (``customdata`` holds each point's ``USUBJID``)
        and ``"<cohort> · mean (95% CI)"`` (``customdata``: n and CI; the patients behind each mean are
        kept with the Python object, not sent to the browser: :func:`trialviz.figures.drill.patients_behind`).
        The x axis is the visit's position in ``AVISITN`` order; its tick labels give the
        visit and the number of patients with a value in each cohort.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import trajectory_figure
    >>> fig = trajectory_figure(trialviz.load_study(), "MRSS", measure="change")
    >>> [t.name for t in fig.data][:2]
    ['MSC 1×10⁶/kg · patients', 'MSC 1×10⁶/kg · mean (95% CI)']
    """
    endpoint = study.endpoint(param)
    column = MEASURE_COLUMNS[measure]
    timepoint = figure_timepoint(study, param, timepoint)
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    records = records[((records["dtype"] == "") & (records["visit_kind"] == "scheduled")).to_numpy()]
    # endpoint_summary's numbers, from the same records
    summary = summarise_records(study, param, records, measures=[measure], total=False)
    visits = summary.drop_duplicates("visit").sort_values("visitn", kind="stable")["visit"].tolist()
    position = {visit: i for i, visit in enumerate(visits)}
    cohorts = drawn_cohorts(study)
    colours = cohort_colours(cohorts)
    fig = go.Figure()

    sampled_note = ""
    subjects = records["USUBJID"].unique()
    present = set(records["cohort"])
    with_value = records.dropna(subset=[column])
    if show_patients and len(subjects) > max_patients:
        keep = set(np.random.default_rng(seed).choice(subjects, size=max_patients, replace=False))
        values_shown = with_value[with_value["USUBJID"].isin(keep)]
        sampled_note = f" Lines: a random {max_patients:,} of {len(subjects):,} patients; means use all."
    else:
        values_shown = with_value

    offsets = {c: (i - (len(cohorts) - 1) / 2) * DODGE for i, c in enumerate(cohorts)}
    unit = "%" if measure == "percent change" else endpoint.unit
    for cohort in cohorts:
        colour = colours[cohort]
        if show_patients:
            x, y, ids = _patient_lines(values_shown[values_shown["cohort"] == cohort], column, visits, position)
            fig.add_trace(go.Scatter(
                # a sample of lines is drawn without markers: thousands of SVG markers take the browser
                # about a second to draw on every update
                x=x, y=y, customdata=ids, mode="lines" if sampled_note else "lines+markers",
                name=f"{text(cohort)} · patients",
                legendgroup=cohort, showlegend=False, line=dict(color=rgba(colour, 0.35), width=1.2),
                marker=dict(color=rgba(colour, 0.55), size=5), connectgaps=False,
                hovertemplate=f"<b>%{{customdata}}</b><br>{text(cohort)}<br>%{{y:.{endpoint.decimals}f}} "
                f"{text(unit)}<extra></extra>",
            ))
        rows = summary[summary["cohort"] == cohort].set_index("visit").reindex(visits)
        means = rows["mean"].to_numpy(dtype=float)
        numbers = [rows["n"].fillna(0).to_numpy(), rows["ci_low"], rows["ci_high"]]
        fig.add_trace(go.Scatter(
            x=[position[v] + offsets[cohort] for v in visits], y=means, mode="lines+markers",
            name=f"{text(cohort)} · mean (95% CI)", legendgroup=cohort, **legend_entry(cohort in present),
            line=dict(color=colour, width=3.5), marker=dict(color=colour, size=9),
            error_y=dict(type="data", symmetric=False, array=rows["ci_high"].to_numpy(dtype=float) - means,
                         arrayminus=means - rows["ci_low"].to_numpy(dtype=float), color=colour, thickness=2,
                         width=5),
            customdata=np.column_stack(numbers),
            hovertemplate=f"<b>{text(cohort)}</b><br>mean %{{y:.{endpoint.decimals + 1}f}} {text(unit)}<br>"
            f"95% CI %{{customdata[1]:.{endpoint.decimals + 1}f}} to %{{customdata[2]:.{endpoint.decimals + 1}f}}"
            "<br>n = %{customdata[0]}<extra></extra>",
        ))
        keep_patients(fig, len(fig.data) - 1, _patients_behind_means(with_value, cohort, visits))

    counts = summary.pivot_table(index="visit", columns="cohort", values="n", aggfunc="first")
    ticktext = [_tick_label(visit, counts, cohorts, colours) for visit in visits]
    measure_label = MEASURE_LABELS[measure]
    title = f"{endpoint.name}: {measure_label.lower()}" if measure != "value" else endpoint.name
    population_note = records.attrs.get("population_note", "")
    at = f" ({timepoint.lower()})" if timepoint else ""
    apply_layout(fig, study, f"{title}{at}, by cohort",
        ["Thin lines: each patient (a gap is a missed visit). Thick: cohort mean with 95% CI; "
         "n per cohort under each visit.", population_note + sampled_note],
    )
    _add_reference(fig, study, param, measure, show_mcid)
    yaxis_title = endpoint.label if measure == "value" else f"{measure_label} ({unit})" if unit else measure_label
    fig.update_layout(
        xaxis=dict(tickmode="array", tickvals=list(range(len(visits))), ticktext=ticktext,
                   range=[-0.4, max(len(visits) - 0.6, 0.4)], title=None, showgrid=False),
        yaxis=dict(title=text(yaxis_title), zeroline=measure != "value"),
        meta={"param": param, "measure": measure, "visits": visits, "timepoint": timepoint or "",
              "patients": int(len(subjects)), "filter": study.filter_description or "all patients"},
    )
    return fig


def _patients_behind_means(with_value: pd.DataFrame, cohort: str, visits: list[str]) -> PatientsAt:
    """From a mean's point index (a visit) to the patients of ``cohort`` with a value there, sorted;
    computed on a click, not for every figure."""
    def patients_at(index: int) -> list[str]:
        chosen = with_value[(with_value["cohort"] == cohort) & (with_value["AVISIT"] == visits[index])]
        return sorted({str(s) for s in chosen["USUBJID"]})
    return patients_at


def _patient_lines(values: pd.DataFrame, column: str, visits: list[str],
                   position: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All patients of a cohort as one line trace, from their records with a value of ``column``: each
    patient spans first to last visit with a value; a missing visit in between is NaN (a visible gap) and
    NaN also separates patients.

    Returns x (the visit's position), y and the ``USUBJID`` of each point (``None`` between patients), as
    arrays: plotly checks a numeric array at once, a list of numbers and ``None`` item by item.
    Patients are in ``USUBJID`` order; visits that no patient of the cohort has are left out (a line crosses
    them), and a patient's first value at a visit is the one drawn.
    """
    columns = values["AVISIT"].map(position).to_numpy(dtype=float)
    shown, columns = values[~np.isnan(columns)], columns[~np.isnan(columns)].astype(int)
    if shown.empty:
        return np.empty(0), np.empty(0), np.empty(0, dtype=object)
    rows, patients = pd.factorize(as_str(shown["USUBJID"]), sort=True)
    matrix = np.full((len(patients), len(visits)), np.nan)
    # reversed, so that where a patient has two values at a visit the first one is the one left
    matrix[rows[::-1], columns[::-1]] = shown[column].to_numpy(dtype=float)[::-1]
    used = ~np.isnan(matrix).all(axis=0)
    matrix, positions = matrix[:, used], np.flatnonzero(used).astype(float)
    present = ~np.isnan(matrix)
    steps = np.arange(matrix.shape[1])
    first = present.argmax(axis=1)
    last = matrix.shape[1] - 1 - present[:, ::-1].argmax(axis=1)
    # each patient's span of visits, then one more cell: the NaN that separates patients
    drawn = np.column_stack([(steps >= first[:, None]) & (steps <= last[:, None]), np.ones(len(matrix), bool)])
    x = np.full(drawn.shape, np.nan)
    x[:, :-1] = positions
    y = np.full(drawn.shape, np.nan)
    y[:, :-1] = matrix
    ids = np.full(drawn.shape, None, dtype=object)
    ids[:, :-1] = np.asarray(patients, dtype=object)[:, None]
    return x[drawn], y[drawn], ids[drawn]


def _tick_label(visit: str, counts: pd.DataFrame, cohorts: list[str], colours: dict[str, str]) -> str:
    numbers = []
    for cohort in cohorts:
        n = counts.at[visit, cohort] if visit in counts.index and cohort in counts.columns else 0
        n = 0 if pd.isna(n) else int(n)
        numbers.append(f"<span style='color:{colours[cohort]}'>{n}</span>")
    return f"{text(visit)}<br>n = {' · '.join(numbers)}"


def _add_reference(fig: go.Figure, study: Study, param: str, measure: Measure, show_mcid: bool) -> None:
    endpoint = study.endpoint(param)
    if measure == "value":
        return
    fig.add_hline(y=0, line=dict(color="#6b7280", width=1))
    if show_mcid and measure == "change" and endpoint.mcid:
        better = {"lower": "improvement is below", "higher": "improvement is above"}.get(endpoint.better or "", "")
        fig.add_hrect(y0=-endpoint.mcid, y1=endpoint.mcid, fillcolor="rgba(107,114,128,0.12)", line_width=0,
                      layer="below")
        fig.add_annotation(xref="paper", x=0.995, y=endpoint.mcid, yanchor="bottom", xanchor="right",
                           showarrow=False, font=dict(size=12, color="#4b5563"),
                           text=f"± MCID {endpoint.mcid:g} {text(endpoint.unit)}"
                           + (f" ({better} the band)" if better else ""))
