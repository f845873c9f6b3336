"""Adverse-event tables: patients with events (n, % of the cohort's safety population) and event counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.io.text import as_str, is_yes, map_distinct, upper_text
from trialviz.stats import exact_ci
from trialviz.study import Study
from trialviz.tables.common import (
    TOTAL,
    Population,
    cohort_columns,
    fisher_against,
    patients_of,
    population,
    require_cohort,
    stack_rows,
    with_conventions,
)

SEVERITY_ORDER = ("MILD", "MODERATE", "SEVERE", "LIFE THREATENING", "FATAL")
"""Severity (``AESEV``) from mildest to worst; a study without CTCAE grades is tabulated on this scale."""


def safety_events(study: Study, *, flag: str | None = None, treatment_emergent: bool = True
                  ) -> tuple[pd.DataFrame, Population]:
    """Adverse events of the safety population, each with its subject's ``cohort``.

    Events count when their subject is in the safety population and, where the study has a
    treatment-emergent flag and ``treatment_emergent`` is true, when that flag is ``"Y"``.
    """
    # every adverse-event table of a view counts the same events: selected once per (filtered) study;
    # a shallow copy, so that a caller adding a column leaves them as they are
    events, pop = study.derived(("safety events", flag, treatment_emergent),
                                lambda: _safety_events(study, flag, treatment_emergent))
    return events.copy(deep=False), pop


def _safety_events(study: Study, flag: str | None, treatment_emergent: bool) -> tuple[pd.DataFrame, Population]:
    pop = population(study, "safety", flag)
    whole = study.subset_of
    if whole is not None:  # a filtered view: the whole study's events (selected once for it) of its subjects
        events, _ = safety_events(whole, flag=flag, treatment_emergent=treatment_emergent)
        return study.own_rows(events), pop
    events = study.adverse_events
    emergent = study.conventions.treatment_emergent_flag
    if treatment_emergent and emergent in events.columns:
        events = events[events[emergent].astype("string").eq("Y").fillna(False).to_numpy()]
    cohorts = pop.subjects.set_index("USUBJID")["cohort"]
    events = events[events["USUBJID"].isin(cohorts.index)]
    events = events.assign(cohort=as_str(events["USUBJID"].map(cohorts)))
    return events, pop


def grade_of(events: pd.DataFrame) -> pd.Series | None:
    """CTCAE grade per event from ``AETOXGR`` or ``ATOXGR``; ``None`` when the study has no grades."""
    for column in ("AETOXGR", "ATOXGR"):
        if column in events.columns and events[column].notna().any():
            return pd.to_numeric(events[column], errors="coerce")
    return None


def severity_of(events: pd.DataFrame) -> pd.Series | None:
    """Severity per event (``AESEV`` or ``ASEV``, upper case); ``None`` when the study records none.

    Severity (mild, moderate, severe) is not a CTCAE grade, and tables never turn one into the other.
    """
    for column in ("AESEV", "ASEV"):
        if column in events.columns and events[column].notna().any():
            return upper_text(events[column])
    return None


def is_related(study: Study, events: pd.DataFrame) -> pd.Series:
    """True where the investigator judged the event related (``AEREL`` in the study's related terms)."""
    related = study.conventions.related_values
    for column in ("AEREL", "AREL"):
        if column in events.columns:
            return pd.Series(map_distinct(events[column], lambda s: _upper(s).isin(related).fillna(False), False),
                             index=events.index, dtype=bool)
    return pd.Series(False, index=events.index)


def _yes(events: pd.DataFrame, column: str) -> pd.Series:
    if column not in events.columns:
        return pd.Series(False, index=events.index)
    return is_yes(events[column])


def _text_equals(column: pd.Series, upper_case: str) -> pd.Series:
    """True where the text in upper case is ``upper_case`` (worked out once per distinct value)."""
    return pd.Series(map_distinct(column, lambda s: s.astype("string").str.upper().eq(upper_case).fillna(False),
                                  False), index=column.index, dtype=bool)


def _upper(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.upper()


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
    severity = severity_of(events) if grades is None else None
    if severity is not None:
        kinds.append(("severe_intensity", "Severe adverse event (severity SEVERE; no CTCAE grades)",
                      severity.isin(SEVERITY_ORDER[2:]).fillna(False)))
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
        deaths |= _text_equals(events["AEOUT"], "FATAL")
    if "AESDTH" in events.columns or "AEOUT" in events.columns or grades is not None:
        rows.append(("death", "Adverse event leading to death", deaths))
    if "AEACN" in events.columns and study.adverse_events["AEACN"].notna().any():
        withdrawn = _text_equals(events["AEACN"], "DRUG WITHDRAWN")
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


class EventCounts:
    """Patients with ≥ 1 selected event and the number of selected events, per cohort and in total, for
    any number of selections of one frame of events (``USUBJID`` and ``cohort`` coded once, so that each
    selection costs a few array operations, not a grouping of text)."""

    def __init__(self, events: pd.DataFrame, sizes: pd.Series, cohorts: list[str]) -> None:
        self.sizes = sizes
        self.cohorts = cohorts
        self._position = {c: i for i, c in enumerate(cohorts)}
        self._cohort = pd.Index(cohorts).get_indexer(np.asarray(events["cohort"], dtype=object))  # -1: unlisted
        self._subject, patients = pd.factorize(events["USUBJID"])
        self._patients = len(patients)

    def count(self, selected: pd.Series | np.ndarray) -> pd.DataFrame:
        """``cohort`` (those of ``sizes``), ``subjects``, ``denominator``, ``events``, ``percent`` (0–100)."""
        return self.rows([({}, selected)])

    def rows(self, selections: Iterable[tuple[dict[str, str], pd.Series | np.ndarray]]) -> pd.DataFrame:
        """:meth:`count` of each selection, one after another in one frame, with the selection's own columns
        (``{column: value}``, the same columns for each) in front."""
        keys: list[dict[str, str]] = []
        subjects: list[list[int]] = []
        events: list[list[int]] = []
        for key, selected in selections:
            keys.append(key)
            patients, counted = self._counts(selected)
            subjects.append(patients)
            events.append(counted)
        per = len(self.sizes)
        columns = keys[0] if keys else {}
        out = pd.DataFrame({column: np.repeat([key[column] for key in keys], per) for column in columns})
        out["cohort"] = np.tile(self.sizes.index.to_numpy(dtype=object), len(keys))
        out["subjects"] = np.array(subjects, dtype=np.int64).reshape(-1)
        out["denominator"] = np.tile(self.sizes.to_numpy(), len(keys))
        out["events"] = np.array(events, dtype=np.int64).reshape(-1)
        out["percent"] = np.where(out["denominator"] > 0, 100 * out["subjects"] / out["denominator"].clip(lower=1),
                                  np.nan)
        return out

    def _counts(self, selected: pd.Series | np.ndarray) -> tuple[list[int], list[int]]:
        """Patients and events of one selection, in the order of ``sizes``."""
        chosen = np.asarray(selected, dtype=bool)
        cohort, subject = self._cohort[chosen], self._subject[chosen]
        listed = len(self.cohorts)
        events = np.bincount(cohort[cohort >= 0], minlength=listed)
        seen = np.zeros((self._patients, listed + 1), dtype=bool)  # a patient counts once in each cohort
        seen[subject, cohort + 1] = True
        subjects = seen[:, 1:].sum(axis=0)
        totals = (int(seen.any(axis=1).sum()), int(chosen.sum()))

        def of(counts: np.ndarray, total: int) -> list[int]:
            return [total if c == TOTAL else int(counts[self._position[c]]) if c in self._position else 0
                    for c in self.sizes.index]

        return of(subjects, totals[0]), of(events, totals[1])


def count_subjects_and_events(events: pd.DataFrame, selected: pd.Series, sizes: pd.Series,
                              cohorts: list[str]) -> pd.DataFrame:
    """Patients with ≥ 1 selected event and the number of selected events, per cohort and in total."""
    return EventCounts(events, sizes, cohorts).count(selected)


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
    counter = EventCounts(events, sizes, cohorts)
    table = counter.rows(({"category": key, "label": label}, selected)
                         for key, label, selected in overview_categories(study, events))[
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
    counter = EventCounts(events, sizes, cohorts)
    kinds = event_kinds(study, events)
    table = counter.rows(({"period": period, "period_label": period_label, "category": key, "label": label},
                          in_period & selected)
                         for period, period_label, in_period in onset_periods(study, events)
                         for key, label, selected in kinds)[
        ["period", "period_label", "category", "label", "cohort", "subjects", "denominator", "percent", "events"]]
    return with_conventions(table, pop.note, "Onset period from the study day of onset (ASTDY); the treatment "
                            "day is study day 1.")


def _event_kind(study: Study, events: pd.DataFrame, category: str) -> tuple[str, pd.Series]:
    kinds = {key: (label, selected) for key, label, selected in event_kinds(study, events)}
    if category not in kinds:
        raise AnalysisError(f"Unknown kind of adverse event {category!r}; this study's are: "
                            f"{', '.join(kinds)}.")
    return kinds[category]


def _coded(events: pd.DataFrame, columns: tuple[str, ...], missing: str) -> pd.Series:
    column = next((c for c in columns if c in events.columns), None)
    if column is None:
        return pd.Series(missing, index=events.index, dtype="string")
    coded = map_distinct(events[column], lambda s: s.astype("string").str.strip().replace("", pd.NA).fillna(missing),
                         missing)
    return pd.Series(coded, index=events.index, dtype="string")


def _level_counts(events: pd.DataFrame, keys: list[str], sizes: pd.Series,
                  cohorts: list[str]) -> pd.DataFrame:
    """Patients and events per combination of ``keys`` and cohort (plus ``Total``), on the full grid: the
    combinations in order of first appearance, each with every cohort of ``sizes``."""
    if events.empty:
        return pd.DataFrame(columns=[*keys, "cohort", "subjects", "events"])
    # integer codes, then counting: grouping the texts (and counting distinct patients) costs ten times more
    combo = events.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    first = pd.Series(combo).drop_duplicates().index.to_numpy()  # ngroup numbers by first appearance
    columns = list(sizes.index)
    cohort = pd.Index(columns).get_indexer(np.asarray(events["cohort"], dtype=object))
    subject, patients = pd.factorize(events["USUBJID"])
    width, combos = len(columns), len(first)
    listed = cohort >= 0
    cell = combo * width + cohort
    event_counts = np.bincount(cell[listed], minlength=combos * width)
    patient_cells = pd.unique(cell[listed].astype(np.int64) * len(patients) + subject[listed]) // len(patients)
    patient_counts = np.bincount(patient_cells, minlength=combos * width)
    if TOTAL in columns:  # every event, also of a cohort not shown
        total_at = combo * width + columns.index(TOTAL)
        event_counts += np.bincount(total_at, minlength=combos * width)
        total_patients = pd.unique(total_at.astype(np.int64) * len(patients) + subject) // len(patients)
        patient_counts += np.bincount(total_patients, minlength=combos * width)
    grid = {key: np.repeat(events[key].to_numpy(dtype=object)[first], width) for key in keys}
    return pd.DataFrame({**grid, "cohort": np.tile(np.asarray(columns, dtype=object), combos),
                         "subjects": patient_counts.astype(np.int64), "events": event_counts.astype(np.int64)})


def _with_denominators(table: pd.DataFrame, sizes: pd.Series) -> pd.DataFrame:
    table = table.assign(denominator=table["cohort"].map(sizes).astype(int))
    table["percent"] = np.where(table["denominator"] > 0,
                                100 * table["subjects"] / table["denominator"].clip(lower=1), np.nan)
    return table


def ae_soc_pt(study: Study, *, category: str = "any", reference: str | None = None,
              population_flag: str | None = None, treatment_emergent: bool = True, total: bool = True,
              sort: Literal["frequency", "alphabetical"] = "frequency", min_percent: float = 0.0,
              compare: bool = True) -> pd.DataFrame:
    """Adverse events by system organ class and preferred term: patients n (%) of the cohort's safety
    population, event counts, and (with ``compare``) Fisher's exact test of each cohort against a reference
    cohort.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    category
        Which events: ``"any"`` (default) or another kind the study's data tells apart
        (``"serious"``, ``"grade3"``, ``"severe"``, ``"related"``, ``"severe_intensity"``; see
        :func:`event_kinds`). ``category="serious"`` gives the serious-events table.
    reference
        Cohort the others are compared with; the study's first cohort (the control arm) by default.
    population_flag
        ADSL flag of the safety population; defaults to the study's (``SAFFL``).
    treatment_emergent
        Count only treatment-emergent events (``TRTEMFL == "Y"``) where the flag exists.
    total
        Add a ``Total`` cohort over all cohorts.
    sort
        ``"frequency"``: classes and terms by decreasing number of patients (over all cohorts), ties
        alphabetically; ``"alphabetical"``: by name.
    min_percent
        Show only the preferred terms reported in at least this percentage of the patients of one cohort
        or more (clinical study reports often use 5); every class keeps its row, which counts all its
        terms. The notes say how many terms are shown. ``0``: every term.
    compare
        Test each cohort against ``reference`` (Fisher's exact test, unadjusted); ``False``: counts only, no
        ``p_value`` and ``test`` columns (the dashboard compares only when asked to).

    Returns
    -------
    pandas.DataFrame
        One row per line of the report table and cohort: ``soc`` (``AEBODSYS``), ``pt`` (``AEDECOD``),
        ``label``, ``cohort``, ``subjects``, ``denominator``, ``percent`` (0–100), ``events``,
        ``p_value``, ``test``. A class row has an empty ``pt``; the first row (patients with any such
        event) has both empty. The p-value is missing for the reference, for ``Total`` and where neither
        group has a patient with the event.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.ae_soc_pt(trialviz.load_study())
    >>> table.query("soc == '' and cohort == 'Total'")[["subjects", "events"]].values.tolist()
    [[14, 39]]
    """
    reference = require_cohort(study, reference)
    events, pop = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
    label, selected = _event_kind(study, events, category)
    cohorts = cohort_columns(study, total=False)
    sizes = pop.sizes(cohorts, total=total)
    chosen = events[selected.to_numpy()].assign(soc=_coded(events, ("AEBODSYS", "AESOC"), "Uncoded"),
                                                pt=_coded(events, ("AEDECOD",), "Uncoded"))
    overall = count_subjects_and_events(events, selected, sizes, cohorts).assign(soc="", pt="", label=label)
    socs = _level_counts(chosen, ["soc"], sizes, cohorts).assign(pt="")
    pts = _level_counts(chosen, ["soc", "pt"], sizes, cohorts)
    terms_note = ""
    if min_percent > 0 and not pts.empty:
        percent = _with_denominators(pts, sizes)
        in_cohorts = percent[percent["cohort"] != TOTAL]
        highest = in_cohorts.groupby(["soc", "pt"], observed=True)["percent"].max()
        kept = highest[highest >= min_percent].index
        terms_note = (f"Preferred terms reported in ≥ {min_percent:g}% of the patients of at least one cohort: "
                      f"{len(kept)} of {len(highest)} terms; a class row counts all its terms.")
        pts = pts[pd.MultiIndex.from_frame(pts[["soc", "pt"]]).isin(kept)]
    rank = _frequency_rank(socs, pts, sort)
    lines = stack_rows([socs, pts])
    lines = lines.assign(label=np.where(lines["pt"] == "", lines["soc"], "  " + lines["pt"].astype(str)))
    lines = _with_denominators(lines, sizes)
    lines["_order"] = [rank[(s, p)] for s, p in zip(lines["soc"], lines["pt"], strict=True)]
    lines["_cohort"] = lines["cohort"].map({c: i for i, c in enumerate(sizes.index)})
    lines = lines.sort_values(["_order", "_cohort"], kind="stable").drop(columns=["_order", "_cohort"])
    table = stack_rows([overall, lines])[
        ["soc", "pt", "label", "cohort", "subjects", "denominator", "percent", "events"]]
    counted = "Patients counted once per class and per term; events counted each time; a class row counts " \
              "every term of the class."
    if compare:
        table = fisher_against(table, reference, ["soc", "pt"])
        counted += (f" p: Fisher's exact test (two-sided) of patients with the event against {reference}, "
                    "unadjusted for the number of tests shown; blank where neither group has a patient with it.")
    return with_conventions(table, pop.note, _emergent_note(study, treatment_emergent), counted,
                            "Sorted by decreasing frequency over all cohorts." if sort == "frequency" else
                            "Sorted alphabetically.", terms_note)


def _frequency_rank(socs: pd.DataFrame, pts: pd.DataFrame, sort: str) -> dict[tuple[str, str], int]:
    """Position of each (class, "") and (class, term) line in the report order."""
    def ordered(frame: pd.DataFrame, keys: list[str]) -> list[tuple[str, ...]]:
        if frame.empty:
            return []
        usable = frame[frame["cohort"] != TOTAL] if sort == "frequency" else frame
        sums = usable.groupby(keys, observed=False)["subjects"].sum().reset_index()
        by = (["_neg", *keys] if sort == "frequency" else keys)
        sums["_neg"] = -sums["subjects"]
        ranked = sums.sort_values(by, kind="stable")[keys]
        return [tuple(r) for r in ranked.itertuples(index=False, name=None)]

    rank: dict[tuple[str, str], int] = {}
    terms = ordered(pts, ["soc", "pt"])
    for soc, in ordered(socs, ["soc"]):
        rank[(soc, "")] = len(rank)
        for term_soc, term in terms:
            if term_soc == soc:
                rank[(soc, term)] = len(rank)
    return rank


def _emergent_note(study: Study, treatment_emergent: bool) -> str:
    emergent = study.conventions.treatment_emergent_flag
    if treatment_emergent and emergent in study.adverse_events.columns:
        return f"Treatment-emergent events only ({emergent} = \"Y\")."
    return "All recorded events."


def ae_grade(study: Study, *, population_flag: str | None = None, treatment_emergent: bool = True,
             total: bool = True, per_soc: bool = False) -> pd.DataFrame:
    """Patients by the worst CTCAE grade of their adverse events (worst severity where the study has no
    grades), with the events of each grade.

    The scale is the CTCAE grade (``AETOXGR``/``ATOXGR``) when the study records one, else the severity
    (``AESEV``: mild, moderate, severe); severity is never converted into a grade. Each patient counts
    once, in the row of their worst grade; ``Missing`` holds patients whose events all lack a grade.

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
    per_soc
        Tabulate the worst grade within each system organ class (``soc`` column) instead of overall.

    Returns
    -------
    pandas.DataFrame
        One row per (class,) grade and cohort: [``soc``,] ``grade`` (``any``, ``1``–``5`` or the severity,
        ``missing``), ``scale`` (``CTCAE grade`` or ``severity``), ``label``, ``cohort``, ``subjects``
        (patients whose worst event has this grade; ``any``: with any event), ``denominator``,
        ``percent``, ``events`` (events of this grade).

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.ae_grade(trialviz.load_study())
    >>> table.query("cohort == 'Total'")[["grade", "subjects"]].values.tolist()[:3]
    [['any', 14], ['1', 0], ['2', 0]]
    """
    events, pop = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
    cohorts = cohort_columns(study, total=False)
    sizes = pop.sizes(cohorts, total=total)
    levels, rank, scale = _grade_scale(events)
    keys = ["soc"] if per_soc else []
    events = events.assign(_rank=rank, soc=_coded(events, ("AEBODSYS", "AESOC"), "Uncoded"))
    worst = events.groupby(["USUBJID", *keys], observed=True)["_rank"].max().rename("_worst").reset_index()
    worst["cohort"] = worst["USUBJID"].map(events.drop_duplicates("USUBJID").set_index("USUBJID")["cohort"])
    by_level = {"any": (worst, events)}
    for position, level in enumerate(levels):
        by_level[level] = (worst[worst["_worst"] == position], events[events["_rank"] == position])
    by_level["missing"] = (worst[worst["_worst"].isna()], events[events["_rank"].isna()])
    parts = []
    group_values = sorted(events["soc"].unique()) if per_soc else [None]
    for group in group_values:
        for level, (patients, counted) in by_level.items():
            if level == "missing" and patients.empty and counted.empty:
                continue
            if group is not None:
                patients, counted = patients[patients["soc"] == group], counted[counted["soc"] == group]
            subjects = (patients.groupby("cohort", observed=False)["USUBJID"].nunique()
                        .reindex(sizes.index, fill_value=0))
            n_events = counted.groupby("cohort", observed=False).size().reindex(sizes.index, fill_value=0)
            if TOTAL in sizes.index:
                subjects[TOTAL], n_events[TOTAL] = patients["USUBJID"].nunique(), len(counted)
            label = {"any": "Any adverse event", "missing": "Grade missing"}.get(
                level, f"Grade {level}" if scale == "CTCAE grade" else level.capitalize())
            part = pd.DataFrame({"grade": level, "scale": scale, "label": label, "cohort": sizes.index,
                                 "subjects": subjects.to_numpy(), "events": n_events.to_numpy()})
            parts.append(part.assign(soc=group) if per_soc else part)
    table = _with_denominators(pd.concat(parts, ignore_index=True), sizes)
    table = table[[*keys, "grade", "scale", "label", "cohort", "subjects", "denominator", "percent",
                   "events"]]
    scale_note = ("Worst CTCAE grade per patient (AETOXGR)." if scale == "CTCAE grade" else
                  "The study records no CTCAE grades: worst severity (AESEV) per patient; severity is not "
                  "a grade.")
    return with_conventions(table, pop.note, _emergent_note(study, treatment_emergent), scale_note)


def _grade_scale(events: pd.DataFrame) -> tuple[list[str], pd.Series, str]:
    """Levels of the scale (mildest first), each event's position on it, and the scale's name."""
    grades = grade_of(events)
    if grades is None and events.empty and {"AETOXGR", "ATOXGR"} & set(events.columns):
        grades = pd.Series(np.nan, index=events.index)  # no events (a filter that leaves none): the grade scale
    if grades is not None:
        levels = [str(g) for g in range(1, 6)]
        return levels, (grades - 1).where(grades.between(1, 5)), "CTCAE grade"
    severity = severity_of(events)
    if severity is None and events.empty and {"AESEV", "ASEV"} & set(events.columns):
        severity = pd.Series(pd.NA, index=events.index, dtype="string")
    if severity is None:
        raise AnalysisError("The adverse events have neither CTCAE grades (AETOXGR/ATOXGR) nor a severity "
                            "(AESEV).")
    present = [s for s in severity.dropna().unique() if s not in SEVERITY_ORDER]
    levels = [*SEVERITY_ORDER[:3], *[s for s in SEVERITY_ORDER[3:] if (severity == s).any()], *sorted(present)]
    position = {level: i for i, level in enumerate(levels)}
    return levels, severity.map(position).astype(float), "severity"


def primary_endpoint_table(study: Study, *, population_flag: str | None = None,
                           treatment_emergent: bool = True, confidence: float = 0.95) -> pd.DataFrame:
    """The primary-endpoint table of a study whose primary endpoint is adverse events in a window after
    treatment (MSC-SSc: serious adverse events, grade ≥ 3, during the infusion and the first 10 days,
    study days 1–11), with the same events after the window for context.

    Rows: each kind of event (see :func:`event_kinds`) in the window, then after it, by cohort and in
    total, with exact (Clopper–Pearson) confidence intervals of the percentage of patients. The row of
    the primary endpoint (serious or grade ≥ 3 in the window; serious, or grade ≥ 3, when the study has
    only one of them) has ``primary`` set.

    Raises
    ------
    AnalysisError
        The study defines no primary-endpoint window (``[conventions] primary_window``).

    Returns
    -------
    pandas.DataFrame
        ``primary``, ``period``, ``period_label``, ``category``, ``label``, ``cohort``, ``subjects``,
        ``denominator``, ``percent``, ``events``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.primary_endpoint_table(trialviz.load_study())
    >>> row = table.query("primary and cohort == 'Total'").iloc[0]
    >>> int(row.subjects), int(row.denominator), round(float(row.ci_high), 1)
    (0, 20, 16.8)
    """
    if study.conventions.primary_window is None:
        raise AnalysisError("The study defines no primary-endpoint window ([conventions] primary_window in "
                            "its study file), so it has no adverse-event primary endpoint to tabulate.")
    table = ae_period(study, population_flag=population_flag, treatment_emergent=treatment_emergent)
    table = table[table["period"].isin(["window", "after"])].reset_index(drop=True)
    categories = set(table["category"])
    primary = next(c for c in ("severe", "serious", "grade3", "any") if c in categories)
    table.insert(0, "primary", (table["period"] == "window") & (table["category"] == primary))
    table["ci_low"], table["ci_high"] = exact_ci(table["subjects"], table["denominator"], confidence)
    table = table.sort_values("primary", ascending=False, kind="stable").reset_index(drop=True)
    first, last = study.conventions.primary_window
    window = study.conventions.primary_window_label or f"study days {first}–{last}"
    notes = [*table.attrs.get("notes", []),
             f"Primary endpoint: {table.loc[0, 'label'].lower()} in the window ({window}).",
             f"{confidence:.0%} CI of the percentage of patients: exact (Clopper–Pearson)."]
    return with_conventions(table, *notes)


# --- drill-down: the patients behind a cell of each table above, selected as the table counts them ------------
def _keyed(selections: list[tuple[str, str, pd.Series]], key: str, what: str) -> pd.Series:
    found = {k: selected for k, _, selected in selections}
    if key not in found:
        raise AnalysisError(f"Unknown {what} {key!r}; this study's are: {', '.join(found)}.")
    return found[key]


def _class_and_term(study: Study, events: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    return [("class", "System organ class", _coded(events, ("AEBODSYS", "AESOC"), "Uncoded")),
            ("term", "Preferred term", _coded(events, ("AEDECOD",), "Uncoded"))]


DrillSelection = Literal["overview rows", "onset periods", "kinds of event", "class and term"]
_SELECTIONS: dict[str, Callable[[Study, pd.DataFrame], list[tuple[str, str, pd.Series]]]] = {
    "overview rows": overview_categories, "onset periods": onset_periods, "kinds of event": event_kinds,
    "class and term": _class_and_term}


def _drill_rows(study: Study, what: DrillSelection, population_flag: str | None, treatment_emergent: bool
                ) -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series]]]:
    """The events a drill-down selects from and ``what`` of them, derived once per study object: the cells
    of a table are drilled into one after another."""
    def derive() -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series]]]:
        events, _ = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
        return events, _SELECTIONS[what](study, events)

    return study.derived(("drill-down", what, population_flag, treatment_emergent), derive)


def ae_overview_patients(study: Study, *, category: str, cohort: str | None = None,
                         population_flag: str | None = None, treatment_emergent: bool = True) -> list[str]:
    """The patients counted in one cell of :func:`ae_overview`: row ``category``, column ``cohort``."""
    events, rows = _drill_rows(study, "overview rows", population_flag, treatment_emergent)
    return patients_of(events, _keyed(rows, category, "overview row"), cohort)


def ae_period_patients(study: Study, *, period: str, category: str, cohort: str | None = None,
                       population_flag: str | None = None, treatment_emergent: bool = True) -> list[str]:
    """The patients counted in one cell of :func:`ae_period` (and of :func:`primary_endpoint_table`)."""
    events, periods = _drill_rows(study, "onset periods", population_flag, treatment_emergent)
    _, kinds = _drill_rows(study, "kinds of event", population_flag, treatment_emergent)
    in_period = _keyed(periods, period, "onset period")
    return patients_of(events, in_period & _keyed(kinds, category, "kind of event"), cohort)


def ae_soc_pt_patients(study: Study, *, soc: str, pt: str, cohort: str | None = None, category: str = "any",
                       population_flag: str | None = None, treatment_emergent: bool = True) -> list[str]:
    """The patients counted in one cell of :func:`ae_soc_pt`: a class (``pt = ""``), a term of a class, or
    the first row (both empty)."""
    events, kinds = _drill_rows(study, "kinds of event", population_flag, treatment_emergent)
    _, coded = _drill_rows(study, "class and term", population_flag, treatment_emergent)
    selected = _keyed(kinds, category, "kind of event").to_numpy(dtype=bool, copy=True)
    if soc:
        selected &= (_keyed(coded, "class", "coding") == soc).to_numpy(dtype=bool)
    if pt:
        selected &= (_keyed(coded, "term", "coding") == pt).to_numpy(dtype=bool)
    return patients_of(events, selected, cohort)


def ae_grade_patients(study: Study, *, grade: str, cohort: str | None = None, population_flag: str | None = None,
                      treatment_emergent: bool = True) -> list[str]:
    """The patients counted in one cell of :func:`ae_grade`: those whose worst event has ``grade`` (a level
    of the table's scale, ``"missing"`` for patients whose events all lack one, ``"any"`` for everyone with
    an event), on the scale and in the order the table uses."""
    events, _ = safety_events(study, flag=population_flag, treatment_emergent=treatment_emergent)
    levels, rank, _ = _grade_scale(events)
    worst = rank.groupby(events["USUBJID"].astype(str).to_numpy(), observed=False).max()
    if grade == "any":
        chosen = worst.index
    elif grade == "missing":
        chosen = worst[worst.isna()].index
    elif grade in levels:
        chosen = worst[worst == levels.index(grade)].index
    else:
        raise AnalysisError(f"Unknown grade {grade!r}; this table's are: any, {', '.join(levels)}, missing.")
    return patients_of(events, events["USUBJID"].astype(str).isin(chosen), cohort)


LISTING_COLUMNS = ("AEDECOD", "AEBODSYS", "ASTDY", "AENDY", "AETOXGR", "AESEV", "AESER", "AEREL")


def patient_events(study: Study, usubjid: str) -> pd.DataFrame:
    """One patient's adverse events, by onset day: the ``AEDECOD``, ``AEBODSYS``, ``ASTDY``, ``AENDY``,
    ``AETOXGR``, ``AESEV``, ``AESER`` and ``AEREL`` the study records (every event, treatment-emergent or not).

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.tables.safety import patient_events
    >>> list(patient_events(trialviz.load_study(), "MSC-SSC-001").columns)[:2]
    ['AEDECOD', 'AEBODSYS']
    """
    events = study.adverse_events
    events = events[events["USUBJID"].astype(str) == usubjid] if len(events) else events
    columns = [c for c in LISTING_COLUMNS if c in events.columns]
    listing = events[columns].sort_values("ASTDY" if "ASTDY" in columns else columns[0], kind="stable") \
        if columns else pd.DataFrame()
    return with_conventions(listing.reset_index(drop=True), f"Adverse events of {usubjid}: every recorded event.")
