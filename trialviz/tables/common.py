"""Analysis populations and the conventions note every table carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.study import Study

TOTAL = "Total"
Analysis = Literal["safety", "efficacy"]


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
        ``"efficacy"``: planned treatment (``TRT01P``) and the efficacy flag (``EFFFL``), by default.
    flag
        Another ADSL flag to use as the population (e.g. ``"ITTFL"``); ``""`` for all subjects.
    """
    conventions = study.conventions
    if analysis == "safety":
        cohort_variable, default_flag, name = conventions.safety_cohort, conventions.safety_population, "safety"
    else:
        cohort_variable, default_flag, name = conventions.efficacy_cohort, conventions.efficacy_population, "efficacy"
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
    kept = kept[kept[cohort_variable].notna()]
    subjects = kept.assign(cohort=kept[cohort_variable].astype(str))
    grouping = "actual treatment" if analysis == "safety" else "planned treatment"
    note = f"{name.capitalize()} population ({flag_note}), by {grouping} ({cohort_variable})."
    return Population(subjects=subjects, cohort_variable=cohort_variable, flag=flag, note=note)


def with_conventions(table: pd.DataFrame, *notes: str) -> pd.DataFrame:
    """Attach the conventions a table used (shown under it by the renderers)."""
    table.attrs["notes"] = [n for n in notes if n]
    return table


def conventions_of(table: pd.DataFrame) -> list[str]:
    return list(table.attrs.get("notes", []))


def cohort_columns(study: Study, total: bool = True) -> list[str]:
    """Cohort values in study order, then ``Total``."""
    return study.cohort_values() + ([TOTAL] if total else [])
