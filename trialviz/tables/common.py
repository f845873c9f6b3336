"""Analysis populations and the conventions note every table carries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.io.screening import is_not_randomised_value
from trialviz.io.text import as_str
from trialviz.stats import fisher_p_values
from trialviz.study import Cohort, Study

TOTAL = "Total"
Analysis = Literal["safety", "efficacy", "itt"]


@dataclass(frozen=True)
class Population:
    """The subjects an analysis counts, with the cohort each belongs to.

    ``subjects`` has one row per subject of the population and a ``cohort`` column (the value of the
    cohort variable); ``note`` says in words which population and grouping were used.
    """

    subjects: pd.DataFrame
    cohort_variable: str
    flag: str | None
    note: str

    def sizes(self, cohorts: list[str], total: bool = True) -> pd.Series:
        """Subjects per cohort (in ``cohorts`` order), plus ``Total`` when asked."""
        counts = self.subjects["cohort"].value_counts().reindex(cohorts, fill_value=0)
        if total:
            counts[TOTAL] = len(self.subjects)
        return counts


def population(study: Study, analysis: Analysis, flag: str | None = None) -> Population:
    """Subjects of the safety or efficacy population, grouped by the matching cohort variable.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    analysis
        ``"safety"``: actual treatment (``TRT01A``) and the safety flag (``SAFFL``);
        ``"efficacy"``: planned treatment (``TRT01P``) and the efficacy flag (``EFFFL``);
        ``"itt"``: planned treatment and the intention-to-treat flag (``ITTFL``; all enrolled subjects
        where ADSL has no such flag), by default.
    flag
        Another ADSL flag to use as the population (e.g. ``"ITTFL"``); ``""`` for all subjects.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.tables.common import population
    >>> population(trialviz.load_study(), "safety").note
    'Safety population (SAFFL = "Y"), by actual treatment (TRT01A).'
    """
    # every table of a view asks for its population: selected once per (filtered) study
    return study.derived(("population", analysis, flag), lambda: _population(study, analysis, flag))


def _population(study: Study, analysis: Analysis, flag: str | None) -> Population:
    conventions = study.conventions
    if analysis == "safety":
        cohort_variable, default_flag = conventions.safety_cohort, conventions.safety_population
        name = "safety"
    elif analysis == "itt":
        cohort_variable, default_flag, name = conventions.efficacy_cohort, "ITTFL", "intention-to-treat"
    else:
        cohort_variable, default_flag = conventions.efficacy_cohort, conventions.efficacy_population
        name = "efficacy"
    flag = default_flag if flag is None else flag
    adsl = study.subjects
    if cohort_variable not in adsl.columns:
        raise AnalysisError(f"ADSL has no {cohort_variable} column to group the {name} analysis by cohort.")
    if flag and flag in adsl.columns:
        kept = adsl[adsl[flag].astype("string").eq("Y").fillna(False).to_numpy()]
        flag_note = f"{flag} = \"Y\""
    else:
        kept = adsl
        flag_note = "all subjects" + (f" (ADSL has no {flag})" if flag else "")
        flag = None
    # "Not Treated" (or "Screen Failure") in the cohort variable is no cohort: never in a column or the total
    kept = kept[kept[cohort_variable].notna().to_numpy() & ~is_not_randomised_value(kept[cohort_variable])]
    subjects = kept.assign(cohort=kept[cohort_variable].astype(str))
    grouping = _grouping(study, analysis)
    note = f"{name.capitalize()} population ({flag_note}), by {grouping} ({cohort_variable})."
    return Population(subjects=subjects, cohort_variable=cohort_variable, flag=flag, note=note)


def with_conventions(table: pd.DataFrame, *notes: str) -> pd.DataFrame:
    """Attach the conventions a table used (shown under it by the renderers)."""
    table.attrs["notes"] = [n for n in notes if n]
    return table


def stack_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``frames`` one under the other (a new index). Empty frames are left out first, so that they never decide
    a column's type (pandas deprecates letting them); with every frame empty, the first one's columns."""
    with_rows = [frame for frame in frames if len(frame)]
    if not with_rows:
        return frames[0].iloc[0:0].reset_index(drop=True)
    return pd.concat(with_rows, ignore_index=True)


def conventions_of(table: pd.DataFrame) -> list[str]:
    return list(table.attrs.get("notes", []))


def cohort_columns(study: Study, total: bool = True) -> list[str]:
    """Cohort values in study order, then ``Total``."""
    return study.cohort_values() + ([TOTAL] if total else [])


def _grouping(study: Study, analysis: Analysis) -> str:
    conventions = study.conventions
    if conventions.safety_cohort == conventions.efficacy_cohort and conventions.safety_cohort not in (
            "TRT01A", "TRT01P"):
        return "subgroup"
    return "actual treatment" if analysis == "safety" else "planned treatment"


def grouped_by(study: Study, column: str) -> Study:
    """The same study with its cohorts replaced by the values of another ADSL column.

    Every table then compares those groups instead of the treatment arms (safety and efficacy alike),
    e.g. ``ae_overview(grouped_by(study, "SEX"))``. Groups are ordered by the numeric companion column
    (``AGEGR1N`` for ``AGEGR1``) where ADSL has one, otherwise alphabetically; subjects with no value
    are left out of every table.

    Raises
    ------
    AnalysisError
        ADSL has no such column.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.tables.common import grouped_by
    >>> grouped_by(trialviz.load_study(), "SEX").cohort_values()
    ['F', 'M']
    """
    adsl = study.subjects
    if column not in adsl.columns:
        raise AnalysisError(f"Unknown column {column!r} to group by; ADSL has: "
                            f"{', '.join(map(str, adsl.columns))}.")
    values = adsl[[column]].assign(_value=adsl[column].astype("string")).dropna(subset=["_value"])
    numeric = f"{column}N"
    if numeric in adsl.columns:
        values = values.assign(_rank=pd.to_numeric(adsl.loc[values.index, numeric], errors="coerce"))
        order = values.groupby("_value", observed=False)["_rank"].min().sort_values(kind="stable", na_position="last")
        levels = [str(v) for v in order.index]
    else:
        levels = sorted(str(v) for v in values["_value"].unique())
    conventions = replace(study.conventions, safety_cohort=column, efficacy_cohort=column)
    cohorts = tuple(Cohort(value=v, label=v) for v in levels)
    meta = replace(study.meta, cohorts=cohorts, conventions=conventions, narrowed_from=None)
    return replace(study, meta=meta)


def require_cohort(study: Study, cohort: str | None, what: str = "reference cohort") -> str:
    """``cohort`` checked against the study's cohorts; ``None`` gives the first cohort (the control arm
    where the study lists it first). Raises :class:`AnalysisError` naming the valid values."""
    cohorts = study.cohort_values()
    if not cohorts:
        raise AnalysisError("The study has no cohorts to compare.")
    if cohort is None:
        return cohorts[0]
    if cohort not in cohorts:
        raise AnalysisError(f"Unknown {what} {cohort!r}; the cohorts are: {', '.join(cohorts)}.")
    return cohort


def fisher_against(table: pd.DataFrame, reference: str, keys: list[str]) -> pd.DataFrame:
    """Add ``p_value`` and ``test`` to a counting table: Fisher's exact test of each cohort against the
    reference cohort within every combination of ``keys`` (not for the reference itself or ``Total``)."""
    refs = {tuple(getattr(r, k) for k in keys): (int(r.subjects), int(r.denominator))
            for r in table[table["cohort"] == reference].itertuples(index=False)}
    tested, counts = [], []
    for i, row in enumerate(table.itertuples(index=False)):
        ref_counts = refs.get(tuple(getattr(row, k) for k in keys))
        if row.cohort not in (reference, TOTAL) and ref_counts is not None:
            tested.append(i)
            counts.append((int(row.subjects), int(row.denominator), *ref_counts))
    p_values = np.full(len(table), np.nan)
    if tested:
        p_values[tested] = fisher_p_values(*np.asarray(counts, dtype=np.int64).T)
    tests = ["" if np.isnan(p) else f"Fisher's exact test (two-sided) vs {reference}" for p in p_values]
    return table.assign(p_value=p_values, test=tests)


def patients_of(rows: pd.DataFrame, selected: pd.Series | np.ndarray, cohort: str | None) -> list[str]:
    """``USUBJID`` of the ``selected`` rows (with a ``cohort`` column) of ``cohort`` (``None`` or ``Total``:
    every cohort), sorted, each once: the patients behind a count of distinct subjects (a drill-down)."""
    chosen = np.asarray(selected, dtype=bool)
    if cohort is not None and cohort != TOTAL:
        chosen = chosen & (as_str(rows["cohort"]) == cohort)
    return sorted(set(map(str, rows["USUBJID"].to_numpy()[chosen])))
