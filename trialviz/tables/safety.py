"""Adverse-event tables: patients with events (n, % of the cohort's safety population) and event counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialviz.study import Study
from trialviz.tables.common import TOTAL, Population, cohort_columns, population, with_conventions


def safety_events(study: Study, *, flag: str | None = None, treatment_emergent: bool = True
                  ) -> tuple[pd.DataFrame, Population]:
    """Adverse events of the safety population, each with its subject's ``cohort``.

    Events count when their subject is in the safety population and, where the study has a
    treatment-emergent flag and ``treatment_emergent`` is true, when that flag is ``"Y"``.
    """
    pop = population(study, "safety", flag)
    events = study.adverse_events
    emergent = study.conventions.treatment_emergent_flag
    if treatment_emergent and emergent in events.columns:
        events = events[events[emergent].astype("string").eq("Y").fillna(False).to_numpy()]
    cohorts = pop.subjects.set_index("USUBJID")["cohort"]
    events = events[events["USUBJID"].isin(cohorts.index)]
    events = events.assign(cohort=events["USUBJID"].map(cohorts).astype(str))
    return events, pop


def grade_of(events: pd.DataFrame) -> pd.Series | None:
    """CTCAE grade per event from ``AETOXGR`` or ``ATOXGR``; ``None`` when the study has no grades."""
    for column in ("AETOXGR", "ATOXGR"):
        if column in events.columns and events[column].notna().any():
            return pd.to_numeric(events[column], errors="coerce")
    return None


def is_related(study: Study, events: pd.DataFrame) -> pd.Series:
    """True where the investigator judged the event related (``AEREL`` in the study's related terms)."""
    for column in ("AEREL", "AREL"):
        if column in events.columns:
            text = events[column].astype("string").str.strip().str.upper()
            return text.isin(study.conventions.related_values).fillna(False)
    return pd.Series(False, index=events.index)


def _yes(events: pd.DataFrame, column: str) -> pd.Series:
    if column not in events.columns:
        return pd.Series(False, index=events.index)
    return events[column].astype("string").str.strip().str.upper().eq("Y").fillna(False)


def event_kinds(study: Study, events: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """Kinds of event the study's data can tell apart, as (key, label, which events).

    ``severe`` is serious or grade ≥ 3, the reading of "serious adverse events (grade 3 or higher)" that
    some protocols use as one category.
    """
    kinds: list[tuple[str, str, pd.Series]] = [("any", "Any adverse event", pd.Series(True, index=events.index))]
    serious = _yes(events, "AESER")
    grades = grade_of(events)
    high_grade = grades.ge(3).fillna(False) if grades is not None else pd.Series(False, index=events.index)
    if "AESER" in events.columns:
        kinds.append(("serious", "Serious adverse event", serious))
    if grades is not None:
        kinds.append(("grade3", "Grade ≥ 3 adverse event", high_grade))
    if "AESER" in events.columns and grades is not None:
        kinds.append(("severe", "Serious or grade ≥ 3 adverse event", serious | high_grade))
    if "AEREL" in events.columns or "AREL" in events.columns:
        kinds.append(("related", "Treatment-related adverse event", is_related(study, events)))
    return kinds


def study_day(events: pd.DataFrame) -> pd.Series:
    """Onset study day (``ASTDY``) as numbers; missing where the study has none."""
    if "ASTDY" not in events.columns:
        return pd.Series(np.nan, index=events.index)
    return pd.to_numeric(events["ASTDY"], errors="coerce")


def overview_categories(study: Study, events: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """The rows of the adverse-event overview as (key, label, which events) for this study's data."""
    rows = event_kinds(study, events)
    window = study.conventions.primary_window
    if window is not None and "ASTDY" in events.columns:
        in_window = study_day(events).between(window[0], window[1]).fillna(False)
        label = study.conventions.primary_window_label or f"study days {window[0]}–{window[1]}"
        rows.append(("window", f"Adverse event in the primary-endpoint window: {label}", in_window))
        severe = dict((k, s) for k, _, s in rows).get("severe")
        if severe is not None:
            rows.append(("window_severe", "Serious or grade ≥ 3 adverse event in that window", in_window & severe))
    grades = grade_of(events)
    deaths = _yes(events, "AESDTH")
    if grades is not None:
        deaths |= grades.eq(5).fillna(False)
    if "AEOUT" in events.columns:
        deaths |= events["AEOUT"].astype("string").str.upper().eq("FATAL").fillna(False)
    if "AESDTH" in events.columns or "AEOUT" in events.columns or grades is not None:
        rows.append(("death", "Adverse event leading to death", deaths))
    if "AEACN" in events.columns:
        withdrawn = events["AEACN"].astype("string").str.upper().eq("DRUG WITHDRAWN").fillna(False)
        rows.append(("discontinuation", "Adverse event leading to treatment discontinuation", withdrawn))
    return rows


def onset_periods(study: Study, events: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """Onset periods relative to treatment, as (key, label, which events). Periods may overlap:
    the treatment day lies inside the primary-endpoint window."""
    day = study_day(events)
    window = study.conventions.primary_window
    periods = [("before", "Before treatment (day < 1)", day.lt(1).fillna(False)),
               ("treatment_day", "Treatment day (day 1)", day.eq(1).fillna(False))]
    if window is not None:
        first, last = window
        label = study.conventions.primary_window_label or f"days {first}–{last}"
        periods.append(("window", f"Primary-endpoint window: {label}", day.between(first, last).fillna(False)))
        periods.append(("after", f"After the window (day ≥ {last + 1})", day.gt(last).fillna(False)))
    else:
        periods.append(("after", "After the treatment day (day ≥ 2)", day.gt(1).fillna(False)))
    periods.append(("unknown", "Onset day unknown", day.isna()))
    return periods


def count_subjects_and_events(events: pd.DataFrame, selected: pd.Series, sizes: pd.Series,
                              cohorts: list[str]) -> pd.DataFrame:
    """Patients with ≥ 1 selected event and the number of selected events, per cohort and in total."""
    chosen = events[selected.to_numpy()]
    subjects = chosen.groupby("cohort")["USUBJID"].nunique().reindex(cohorts, fill_value=0)
    counts = chosen.groupby("cohort").size().reindex(cohorts, fill_value=0)
    if TOTAL in sizes.index:
        subjects[TOTAL] = chosen["USUBJID"].nunique()
        counts[TOTAL] = len(chosen)
    out = pd.DataFrame({"cohort": sizes.index, "subjects": subjects.reindex(sizes.index).to_numpy(),
                        "denominator": sizes.to_numpy(), "events": counts.reindex(sizes.index).to_numpy()})
    out["percent"] = np.where(out["denominator"] > 0, 100 * out["subjects"] / out["denominator"].clip(lower=1),
                              np.nan)
    return out


def ae_overview(study: Study, *, population_flag: str | None = None, treatment_emergent: bool = True,
                total: bool = True) -> pd.DataFrame:
    """Adverse-event overview by cohort: patients with at least one event of each kind, and events.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    population_flag
        ADSL flag of the safety population; defaults to the study's (``SAFFL``).
    treatment_emergent
        Count only treatment-emergent events (``TRTEMFL == "Y"``) where the flag exists.
    total
        Add a ``Total`` cohort over all cohorts.

    Returns
    -------
    pandas.DataFrame
        One row per category and cohort: ``category`` (key), ``label``, ``cohort``, ``subjects``,
        ``denominator`` (safety population of the cohort), ``percent`` (0–100), ``events``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.ae_overview(trialviz.load_study())
    >>> int(table.query("category == 'serious' and cohort == 'Total'")["subjects"].iloc[0])
    14
    """
    events, pop = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
    cohorts = cohort_columns(study, total=False)
    sizes = pop.sizes(cohorts, total=total)
    parts = []
    for key, label, selected in overview_categories(study, events):
        counts = count_subjects_and_events(events, selected, sizes, cohorts)
        parts.append(counts.assign(category=key, label=label))
    table = pd.concat(parts, ignore_index=True)[
        ["category", "label", "cohort", "subjects", "denominator", "percent", "events"]]
    emergent = study.conventions.treatment_emergent_flag
    te_note = (f"Treatment-emergent events only ({emergent} = \"Y\")."
               if treatment_emergent and emergent in study.adverse_events.columns else "All recorded events.")
    return with_conventions(table, pop.note, te_note, "Percentages of the cohort's safety population; a patient "
                            "with several events counts once per row.")



def ae_period(study: Study, *, population_flag: str | None = None, treatment_emergent: bool = True,
              total: bool = True) -> pd.DataFrame:
    """Adverse events by onset period relative to treatment (study day ``ASTDY``; day 1 = treatment).

    Periods: before treatment, the treatment day, the primary-endpoint window where the study defines
    one (``[conventions] primary_window``; days 1–11 for MSC-SSc), after it, and unknown onset. The
    treatment day lies inside the window, so those rows overlap; periods without events are kept.

    Returns
    -------
    pandas.DataFrame
        One row per period, kind of event and cohort: ``period`` (key), ``period_label``, ``category``,
        ``label``, ``cohort``, ``subjects``, ``denominator``, ``percent``, ``events``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.ae_period(trialviz.load_study())
    >>> row = table.query("period == 'after' and category == 'severe' and cohort == 'Total'").iloc[0]
    >>> int(row.events), int(row.subjects), float(row.percent)
    (36, 14, 70.0)
    """
    events, pop = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
    cohorts = cohort_columns(study, total=False)
    sizes = pop.sizes(cohorts, total=total)
    parts = []
    for period, period_label, in_period in onset_periods(study, events):
        for key, label, selected in event_kinds(study, events):
            counts = count_subjects_and_events(events, in_period & selected, sizes, cohorts)
            parts.append(counts.assign(period=period, period_label=period_label, category=key, label=label))
    table = pd.concat(parts, ignore_index=True)[
        ["period", "period_label", "category", "label", "cohort", "subjects", "denominator", "percent", "events"]]
    return with_conventions(table, pop.note, "Onset period from the study day of onset (ASTDY); the treatment "
                            "day is study day 1.")
