"""Adverse events over time: every event of every patient on the study-day axis, the primary window shaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from trialviz.figures.style import apply_layout, drawn_cohorts, text
from trialviz.study import Study
from trialviz.tables.safety import grade_of, is_related, safety_events, study_day
from trialviz.tables.subjects import followup

# Sequential by severity, colour-blind safe (light to dark), then black for grade 5.
GRADE_COLOURS = {1: "#fdd49e", 2: "#fc8d59", 3: "#d7301f", 4: "#7f0000", 5: "#000000"}
SEVERITY_COLOURS = {"MILD": "#fdd49e", "MODERATE": "#fc8d59", "SEVERE": "#b30000"}
UNKNOWN_COLOUR = "#9ca3af"
ROW_HEIGHT = 22
"""Pixels a patient's row of the adverse-event timeline takes: a tall one scrolls in the dashboard."""


def _severity_labels(events: pd.DataFrame) -> tuple[pd.Series, dict[str, str], str]:
    """Each event's grade (or severity where the study has no grades) as text, its colours and a legend title."""
    grades = grade_of(events)
    if grades is not None:
        # one label per distinct grade, not one Python call per event
        labels = grades.map({g: f"Grade {int(g)}" for g in pd.unique(grades.dropna())}).fillna("Grade unknown")
        return labels, {f"Grade {g}": c for g, c in GRADE_COLOURS.items()}, "CTCAE grade"
    for column in ("AESEV", "ASEV"):
        if column in events.columns:
            labels = events[column].astype("string").str.strip().str.upper().fillna("UNKNOWN")
            return labels.str.capitalize(), {k.capitalize(): v for k, v in SEVERITY_COLOURS.items()}, "Severity"
    return pd.Series("Not recorded", index=events.index), {}, "Severity"


def ae_timeline_figure(study: Study, *, population_flag: str | None = None, treatment_emergent: bool = True,
                       max_patients: int = 150) -> go.Figure:
    """Each patient's adverse events by study day of onset, with their follow-up and the primary window.

    One row per patient with at least one event (cohort by cohort); a grey line is the patient's
    follow-up from treatment (day 1) to last contact; each event is a marker coloured by CTCAE grade (or
    by severity in studies without grades), a diamond when serious; the primary-endpoint window is shaded.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    population_flag, treatment_emergent
        As for :func:`trialviz.ae_overview`.
    max_patients
        Above this many patients with events, the first ones (by cohort and identifier) are shown and the
        subtitle says so.

    Returns
    -------
    plotly.graph_objects.Figure
        Event traces have ``customdata`` = [USUBJID, term, grade or severity, day, serious, related].

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.figures import ae_timeline_figure
    >>> fig = ae_timeline_figure(trialviz.load_study())
    >>> fig.layout.meta["events"]
    39
    """
    events, pop = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
    events = events.assign(day=study_day(events))
    labels, colours, legend_title = _severity_labels(events)
    events = events.assign(level=labels, related=is_related(study, events))
    order = {c: i for i, c in enumerate(drawn_cohorts(study))}
    patients = (events.drop_duplicates("USUBJID")[["USUBJID", "cohort"]]
                .assign(rank=lambda f: f["cohort"].map(order)).sort_values(["rank", "USUBJID"]))
    patients_all = patients
    without = len(pop.subjects) - len(patients)
    note = f" {without:,} patient(s) without an event not drawn." if without > 0 else ""
    if len(patients) > max_patients:
        note = (f" The first {max_patients:,} of {len(patients):,} patients with events (by cohort and identifier); "
                f"{len(patients) - max_patients:,} with events and {without:,} without not drawn.")
        patients = patients.head(max_patients)
        events = events[events["USUBJID"].isin(patients["USUBJID"])]
    rows = {subject: i for i, subject in enumerate(patients["USUBJID"])}
    labels_y = [f"{text(s)} · {text(study.cohort_label(c))}" for s, c in zip(patients["USUBJID"], patients["cohort"],
                                                                              strict=True)]

    fig = go.Figure()
    window = study.conventions.primary_window
    if window is not None:
        fig.add_vrect(x0=window[0] - 0.5, x1=window[1] + 0.5, fillcolor="rgba(0,114,178,0.12)", line_width=0,
                      layer="below", annotation_text=text(study.conventions.primary_window_label or "primary window"),
                      annotation_position="top left", annotation_font_size=12)
    _add_followup(fig, study, rows)
    serious = events["AESER"].astype("string").eq("Y").fillna(False) if "AESER" in events.columns else \
        pd.Series(False, index=events.index)
    for level in [*colours, *sorted(set(events["level"]) - set(colours))]:
        chosen = events[events["level"] == level]
        if chosen.empty:
            continue
        fig.add_trace(go.Scatter(
            x=chosen["day"], y=chosen["USUBJID"].map(rows), mode="markers", name=text(level),
            marker=dict(color=colours.get(level, UNKNOWN_COLOUR), size=11,
                        symbol=np.where(serious[chosen.index], "diamond", "circle"),
                        line=dict(color="#111827", width=1)),
            customdata=np.column_stack([chosen["USUBJID"].astype(str), chosen["AEDECOD"].astype(str).map(text),
                                        chosen["level"], chosen["day"], np.where(serious[chosen.index], "yes", "no"),
                                        np.where(chosen["related"], "related", "not related")]),
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}, day %{customdata[3]}"
                          "<br>serious: %{customdata[4]} · %{customdata[5]}<extra></extra>",
        ))
    apply_layout(fig, study, "Adverse events by study day of onset",
        ["Each row a patient with events; grey: follow-up from treatment (day 1) to last contact; diamond: "
         "serious.", pop.note, note.strip()], plot_height=ROW_HEIGHT * len(rows) + 40)
    fig.update_layout(
        xaxis=dict(title="Study day of onset (day 1 = treatment)", zeroline=False),
        yaxis=dict(automargin=True, tickmode="array", tickvals=list(range(len(rows))), ticktext=labels_y,
                   range=[len(rows) - 0.5, -0.7],  # first patient on top; autorange pads tall figures
                   title=None, showgrid=False),
        legend=dict(title=dict(text=legend_title)),
        meta={"events": int(len(events)), "patients": list(rows), "not_drawn": int(without + len(patients_all) -
                                                                                  len(patients))},
    )
    return fig


def _add_followup(fig: go.Figure, study: Study, rows: dict[str, int]) -> None:
    try:
        times = followup(study).set_index("USUBJID")["days"]
    except Exception:  # follow-up is context only; a study without dates still shows events
        return
    x: list[float | None] = []
    y: list[float | None] = []
    for subject, row in rows.items():
        days = times.get(subject)
        if days is None or pd.isna(days):
            continue
        x += [1, float(days) + 1, None]
        y += [row, row, None]
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="Follow-up", line=dict(color="#d1d5db", width=6),
                             hoverinfo="skip"))
