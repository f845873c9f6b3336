"""Lab safety figures: the Hy's law plot, a parameter's values over study days against the normal range
(outlier explorer), and a patient's lab values against their normal range."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trialviz.errors import AnalysisError
from trialviz.figures.drill import keep_patients
from trialviz.figures.style import apply_layout, cohort_colours, rgba, text
from trialviz.study import Study
from trialviz.tables.labs import (
    BILIRUBIN_LIMIT,
    QUADRANTS,
    TRANSAMINASE_LIMIT,
    hys_law_points,
    lab_records,
    liver_params,
)

OUTSIDE_COLOUR = "#b91c1c"
BAND_COLOUR = "#16a34a"


def hys_law_figure(study: Study) -> go.Figure:
    """Peak ALT or AST against peak total bilirubin after baseline, both × ULN, one point per patient (log axes),
    with the 3 × ULN and 2 × ULN reference lines that bound the Hy's law quadrants.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures.labs import hys_law_figure
    >>> fig = hys_law_figure(trialviz.load_study())
    >>> fig.layout.meta["quadrants"][-1]
    "Potential Hy's law"
    """
    points = hys_law_points(study)
    placed = points[points["quadrant"].notna().to_numpy()]
    colours = cohort_colours(study.cohort_values())
    fig = go.Figure()
    for cohort in study.cohort_values():
        rows = placed[(placed["cohort"] == cohort).to_numpy()]
        hover = [f"{text(u)}<br>ALT {_x(a)} × ULN, AST {_x(s)} × ULN<br>bilirubin {_x(b)} × ULN<br>{text(q)}"
                 for u, a, s, b, q in zip(rows["USUBJID"], rows["alt"], rows["ast"], rows["bilirubin"],
                                          rows["quadrant"], strict=True)]
        fig.add_trace(go.Scatter(x=rows["transaminase"], y=rows["bilirubin"], mode="markers",
                                 name=f"{text(study.cohort_label(cohort))} (n = {len(rows)})",
                                 customdata=rows["USUBJID"], text=hover, hovertemplate="%{text}<extra></extra>",
                                 marker=dict(color=colours.get(cohort, "#444444"), size=9, opacity=0.8,
                                             line=dict(width=1, color="white"))))
        ids = list(map(str, rows["USUBJID"]))

        def patients_at(i: int, ids: list[str] = ids) -> list[str]:
            return [ids[i]]

        keep_patients(fig, len(fig.data) - 1, patients_at)
    low = min(0.1, float(np.nanmin(placed[["transaminase", "bilirubin"]].to_numpy()))) if len(placed) else 0.1
    high = max(20.0, float(np.nanmax(placed[["transaminase", "bilirubin"]].to_numpy()))) if len(placed) else 20.0
    # shapes take data values on a log axis (annotations and ranges take their logarithm)
    fig.add_vline(x=TRANSAMINASE_LIMIT, line=dict(color="#6b7280", dash="dash"))
    fig.add_hline(y=BILIRUBIN_LIMIT, line=dict(color="#6b7280", dash="dash"))
    for name, x, y, xanchor in ((QUADRANTS[0], low, low, "left"), (QUADRANTS[1], low, high, "left"),
                                (QUADRANTS[2], high, low, "right"), (QUADRANTS[3], high, high, "right")):
        fig.add_annotation(x=math.log10(x), y=math.log10(y), text=f"<i>{text(name)}</i>", showarrow=False,
                           xanchor=xanchor, yanchor="bottom" if y == low else "top", font=dict(color="#6b7280"))
    liver = liver_params(study)
    transaminase = " or ".join(liver[r] for r in ("ALT", "AST") if r in liver)
    fig.update_xaxes(type="log", title=f"Peak {transaminase} (× ULN)", range=[math.log10(low), math.log10(high)])
    fig.update_yaxes(type="log", title=f"Peak {liver['BILI']} (× ULN)", range=[math.log10(low), math.log10(high)])
    unplaced = len(points) - len(placed)
    apply_layout(fig, study, "Liver signals: Hy's law",
                 ["Peak post-baseline values, × upper limit of normal; dashed: 3 × ULN (transaminase) and 2 × ULN "
                  "(bilirubin). Click a point to open the patient.",
                  f"{unplaced} patients without post-baseline transaminase or bilirubin are not shown."
                  if unplaced else ""])
    fig.update_layout(meta={"quadrants": list(QUADRANTS)})
    return fig


def _outside(records: pd.DataFrame) -> pd.Series:
    """Values beyond their record's normal range (below ``low`` or above ``high``); where a record has no range,
    its indicator (LOW or HIGH). The CDISC pilot's ANRIND does not follow its A1LO/A1HI (no sodium is "L"),
    so a figure that draws the range marks what lies beyond it."""
    beyond = records["value"].lt(records["low"]) | records["value"].gt(records["high"])
    unranged = records["low"].isna() & records["high"].isna()
    return (beyond | (unranged & records["indicator"].isin(["LOW", "HIGH"]))).fillna(False)


def _x(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def _usual(values: pd.Series) -> float | None:
    """The most frequent limit (normal ranges may differ by sex or laboratory): the band a figure draws."""
    values = values.dropna()
    return float(values.mode().iloc[0]) if len(values) else None


def lab_outlier_figure(study: Study, param: str, *, timepoint: str | None = None, max_patients: int = 400,
                       seed: int = 0) -> go.Figure:
    """A lab parameter's values over study days, one line per patient, the normal range as a band and the
    patients with a value outside their normal range drawn in red (the others in grey).

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        A lab, vital-sign or ECG ``PARAMCD``.
    timepoint
        One ``ATPT`` of the parameter; every timepoint by default.
    max_patients
        Above this many patients, lines are drawn for a seeded random sample of those within the range; every
        patient outside it is drawn.
    seed
        Seed of that sample.
    """
    records = lab_records(study, param=param, timepoint=timepoint)
    records = records[records["value"].notna().to_numpy() & ~records["derived"].to_numpy()]
    records = records.sort_values(["USUBJID", "day"], kind="stable")
    outside = _outside(records)
    outside_patients = set(records.loc[outside.to_numpy(), "USUBJID"])
    patients = list(dict.fromkeys(records["USUBJID"]))
    within = [p for p in patients if p not in outside_patients]
    sampled_note = ""
    if len(patients) > max_patients and len(within) > max(0, max_patients - len(outside_patients)):
        keep = max(0, max_patients - len(outside_patients))
        rng = np.random.default_rng(seed)
        within = sorted(rng.choice(within, size=keep, replace=False)) if keep else []
        sampled_note = (f"Grey lines: a random {keep:,} of the {len(patients) - len(outside_patients):,} patients "
                        "within range; every patient outside it is drawn.")
    endpoint = study.endpoint(param)
    fig = go.Figure()
    low, high = _usual(records["low"]), _usual(records["high"])
    if low is not None or high is not None:
        bottom = low if low is not None else float(records["value"].min())
        top = high if high is not None else float(records["value"].max())
        fig.add_hrect(y0=bottom, y1=top, fillcolor=rgba(BAND_COLOUR, 0.12), line_width=0, layer="below")
    for group, colour, width, name in ((within, "#9ca3af", 1, "Within the normal range"),
                                       (sorted(outside_patients), OUTSIDE_COLOUR, 1.5, "Outside the normal range")):
        rows = records[records["USUBJID"].isin(set(group)).to_numpy()]
        x, y, ids = _lines(rows)
        fig.add_trace(go.Scatter(x=x, y=y, customdata=ids, mode="lines+markers", name=f"{name} ({len(group)})",
                                 line=dict(color=colour, width=width), marker=dict(size=4),
                                 hovertemplate="%{customdata}<br>day %{x}: %{y}<extra></extra>"))
    band = f"band: the normal range {low if low is not None else '–'}–{high if high is not None else '–'}" + (
        " (the most frequent limits)" if records["high"].nunique() > 1 or records["low"].nunique() > 1 else "")
    fig.update_xaxes(title="Study day")
    fig.update_yaxes(title=text(endpoint.label))
    apply_layout(fig, study, f"{endpoint.name}: values over time" + (f", {timepoint.lower()}" if timepoint else ""),
                 [f"One line per patient; red: at least one value outside the patient's normal range; {band}.",
                  sampled_note])
    fig.update_layout(meta={"param": param, "outside": sorted(outside_patients)})
    return fig


def _lines(rows: pd.DataFrame) -> tuple[list[object], list[object], list[object]]:
    """One polyline per patient (rows sorted by patient), separated by gaps (``None``)."""
    ids = rows["USUBJID"].to_numpy(dtype=object)
    if not len(ids):
        return [], [], []
    ends = np.flatnonzero(ids[1:] != ids[:-1]) + 1  # where the next patient starts
    cut = np.append(ends, len(ids))

    def gapped(values: np.ndarray) -> list[object]:
        # numpy's stubs do not admit None as the inserted value, which an object array takes
        return np.insert(values.astype(object), cut, cast(Any, None)).tolist()

    return gapped(rows["day"].to_numpy()), gapped(rows["value"].to_numpy()), gapped(ids)


def patient_labs_figure(study: Study, usubjid: str, *, params: list[str] | None = None) -> go.Figure:
    """A patient's lab values over study days against their normal range (band), for the parameters with a
    value outside it (at most 6), or ``params``.

    Raises
    ------
    AnalysisError
        The patient has no lab value outside the normal range (and no ``params`` were named).
    """
    records = lab_records(study)
    own = records[(records["USUBJID"] == usubjid).to_numpy() & records["value"].notna().to_numpy()
                  & ~records["derived"].to_numpy()]
    ranged = (own["low"].notna() | own["high"].notna()).to_numpy()
    out_of_range = list(dict.fromkeys(own.loc[_outside(own).to_numpy() & ranged, "param"]))
    chosen = [p for p in (params or out_of_range) if p in set(own["param"])][:6]
    if not chosen:
        raise AnalysisError(f"Patient {usubjid} has no lab value outside the normal range.")
    columns = min(3, len(chosen))
    grid_rows = math.ceil(len(chosen) / columns)
    fig = make_subplots(rows=grid_rows, cols=columns, vertical_spacing=0.18, horizontal_spacing=0.08,
                        subplot_titles=[text(study.endpoint(p).label) for p in chosen])
    for i, param in enumerate(chosen):
        row, col = i // columns + 1, i % columns + 1
        values = own[(own["param"] == param).to_numpy()].sort_values("day")
        low, high = _usual(values["low"]), _usual(values["high"])
        if low is not None and high is not None:
            fig.add_trace(go.Scatter(x=[values["day"].min(), values["day"].max(), values["day"].max(),
                                        values["day"].min()], y=[low, low, high, high], fill="toself",
                                     fillcolor=rgba(BAND_COLOUR, 0.15), line=dict(width=0), hoverinfo="skip",
                                     mode="lines", name="Normal range", showlegend=i == 0), row=row, col=col)
        colour = np.where(_outside(values), OUTSIDE_COLOUR, "#111827").tolist()
        fig.add_trace(go.Scatter(x=values["day"], y=values["value"], mode="lines+markers", name=text(usubjid),
                                 showlegend=i == 0, line=dict(color="#111827", width=2),
                                 marker=dict(size=9, color=colour),
                                 text=[text(v) for v in values["visit"]],
                                 hovertemplate="%{text}, day %{x}: %{y}<extra></extra>"), row=row, col=col)
    apply_layout(fig, study, f"Patient {usubjid}: lab values against the normal range",
                 ["Parameters with a value outside the patient's normal range (red points; the band)."],
                 height=max(380, 120 + 280 * grid_rows))
    fig.update_xaxes(title_text="Study day", showgrid=False)
    fig.update_annotations(font_size=13)
    fig.update_layout(meta={"patient": usubjid, "params": chosen})
    return fig
