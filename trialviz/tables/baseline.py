"""Baseline characteristics ("Table 1") of the intention-to-treat population by planned treatment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.filters import baseline_values
from trialviz.study import Study
from trialviz.tables.common import TOTAL, cohort_columns, population, with_conventions
from trialviz.tables.endpoints import describe

DEFAULT_VARIABLES = ("AGE", "AGEGR1", "SEX", "RACE", "ETHNIC", "HEIGHTBL", "WEIGHTBL", "BMIBL", "BMIBLGR1",
                     "DURDIS", "DURDSGR1", "EDUCLVL", "MMSETOT")
"""ADSL variables a demographics table shows when the study has them."""
LABELS: dict[str, str] = {
    "AGE": "Age (years)", "AGEGR1": "Age group", "SEX": "Sex", "RACE": "Race", "ETHNIC": "Ethnicity",
    "HEIGHTBL": "Height at baseline (cm)", "WEIGHTBL": "Weight at baseline (kg)",
    "BMIBL": "BMI at baseline (kg/m²)",
    "BMIBLGR1": "BMI group", "DURDIS": "Disease duration", "DURDSGR1": "Disease duration group",
    "EDUCLVL": "Education (years)", "MMSETOT": "MMSE total (points, 0–30)", "SITEGR1": "Pooled site",
}
CONTINUOUS_STATISTICS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")
MISSING = "Missing"


def default_baseline_variables(study: Study) -> list[str]:
    """The standard demographic ADSL variables the study has, then the baseline value of each endpoint
    the study file describes with a direction of improvement (its efficacy endpoints)."""
    adsl = study.subjects.columns
    return [v for v in DEFAULT_VARIABLES if v in adsl] + [e.paramcd for e in study.endpoints if e.better]


def _values(study: Study, subjects: pd.DataFrame, variable: str) -> tuple[pd.Series, str, list[str] | None]:
    """The variable per subject of ``subjects`` (aligned), its label, and its category order (``None``
    for a continuous variable)."""
    if variable in subjects.columns:
        column = subjects[variable]
        label = LABELS.get(variable, variable)
        if variable in ("DURDIS", "DURDSGR1"):
            label += f" ({study.conventions.disease_duration_unit})"
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            return pd.to_numeric(column, errors="coerce"), label, None
        text = column.astype("string").str.strip().replace("", pd.NA)
        return text, label, _category_order(subjects, variable, text)
    known = {e.paramcd for e in study.endpoints}
    if variable in known:
        base = baseline_values(study, variable)
        endpoint = study.endpoint(variable)
        values = pd.to_numeric(subjects["USUBJID"].map(base), errors="coerce")
        return values.set_axis(subjects.index), f"{endpoint.label} at baseline", None
    raise AnalysisError(f"Unknown baseline variable {variable!r}: neither an ADSL column nor an endpoint. "
                        f"ADSL columns: {', '.join(map(str, subjects.columns))}; endpoints: "
                        f"{', '.join(sorted(known)) or 'none'}.")


def _category_order(subjects: pd.DataFrame, variable: str, text: pd.Series) -> list[str]:
    numeric = f"{variable}N"
    present = text.dropna()
    if numeric in subjects.columns:
        ranks = pd.to_numeric(subjects.loc[present.index, numeric], errors="coerce")
        order = ranks.groupby(present.to_numpy(), observed=False).min().sort_values(kind="stable", na_position="last")
        return [str(v) for v in order.index]
    return sorted(str(v) for v in present.unique())


def baseline_table(study: Study, variables: Sequence[str] | None = None, *,
                   population_flag: str | None = "ITTFL", total: bool = True) -> pd.DataFrame:
    """Baseline characteristics by planned treatment and overall.

    Continuous variables: n, mean, SD (n − 1), median, quartiles (linear interpolation), min and max.
    Categorical variables: count and percent of the cohort's population, one row per category in the
    order of the numeric companion column (``AGEGR1N``) where ADSL has one, else alphabetical, then
    ``Missing`` where values are missing.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    variables
        ADSL columns or endpoint ``PARAMCD``\\ s (their baseline value, ``ABLFL = "Y"``). Defaults to
        :func:`default_baseline_variables`.
    population_flag
        ADSL flag of the population: the intention-to-treat flag ``ITTFL`` by default (all enrolled
        subjects where ADSL has none); ``""`` for all subjects.
    total
        Add a ``Total`` cohort over all cohorts.

    Returns
    -------
    pandas.DataFrame
        Long and tidy: ``variable``, ``label``, ``category`` (empty for continuous variables), ``cohort``,
        ``statistic`` (``n, mean, sd, median, q1, q3, min, max`` or ``count, percent``), ``value``.
        ``table.attrs["denominators"]`` maps each cohort to its population size (the N of its column).

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.baseline_table(trialviz.load_study(), ["SEX", "AGE"])
    >>> women = table.query("variable == 'SEX' and category == 'F' and statistic == 'count'")
    >>> women.set_index("cohort")["value"].to_dict()
    {'MSC 1×10⁶/kg': 7.0, 'MSC 3×10⁶/kg': 6.0, 'Total': 13.0}
    """
    pop = population(study, "itt", population_flag)
    subjects = pop.subjects
    cohorts = cohort_columns(study, total=total)
    sizes = pop.sizes(cohort_columns(study, total=False), total=total)
    groups = {c: subjects.index if c == TOTAL else subjects.index[subjects["cohort"].eq(c).to_numpy()]
              for c in cohorts}
    rows: list[dict[str, object]] = []
    for variable in variables if variables is not None else default_baseline_variables(study):
        values, label, categories = _values(study, subjects, variable)
        for cohort, index in groups.items():
            cell = values.loc[index]
            if categories is None:
                described = describe(cell)
                rows += [{"variable": variable, "label": label, "category": "", "cohort": cohort,
                          "statistic": s, "value": float(described[s])} for s in CONTINUOUS_STATISTICS]
                continue
            counts = cell.value_counts().reindex(categories, fill_value=0)
            missing = int(cell.isna().sum())
            if values.isna().any():
                counts[MISSING] = missing
            n = len(cell)
            for category, count in counts.items():
                percent = 100 * count / n if n else np.nan
                rows += [{"variable": variable, "label": label, "category": str(category), "cohort": cohort,
                          "statistic": "count", "value": float(count)},
                         {"variable": variable, "label": label, "category": str(category), "cohort": cohort,
                          "statistic": "percent", "value": percent}]
    table = pd.DataFrame(rows, columns=["variable", "label", "category", "cohort", "statistic", "value"])
    table.attrs["denominators"] = {str(k): int(v) for k, v in sizes.items()}
    return with_conventions(table, pop.note, "Continuous: n, mean (SD, n − 1), median (Q1–Q3, linear "
                            "interpolation), min–max. Categorical: n (% of the cohort's population).")
