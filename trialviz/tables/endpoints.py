"""Endpoint measurements over visits: the analysis records and their summary statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from trialviz.errors import AnalysisError
from trialviz.io.text import as_str, text_eq
from trialviz.study import Study
from trialviz.tables.common import TOTAL, population, with_conventions

Measure = Literal["value", "change", "percent change"]
MEASURE_COLUMNS: dict[str, str] = {"value": "AVAL", "change": "CHG", "percent change": "PCHG"}
MEASURE_LABELS: dict[str, str] = {"value": "Value", "change": "Change from baseline",
                                  "percent change": "Percent change from baseline"}
STATISTICS = ("n", "mean", "sd", "ci_low", "ci_high", "median", "q1", "q3", "min", "max")


def analysis_records(study: Study, param: str, *, population_flag: str | None = None) -> pd.DataFrame:
    """The records of one endpoint that efficacy analyses use, each with its subject's ``cohort``.

    Records count when their subject is in the efficacy population (``EFFFL`` by default, grouped by
    planned treatment), they carry the analysis flag (``ANL01FL == "Y"``) where the study has it, and
    they have a visit. Raises :class:`~trialviz.errors.AnalysisError` for an unknown endpoint.
    """
    study.endpoint(param)
    # each table and figure of an endpoint's view selects the same records: once per (filtered) study;
    # a shallow copy, so that a caller adding a column leaves them as they are
    records = study.derived(("analysis records", param, population_flag),
                            lambda: _analysis_records(study, param, population_flag))
    return records.copy(deep=False)


def _analysis_records(study: Study, param: str, population_flag: str | None) -> pd.DataFrame:
    whole = study.subset_of
    if whole is not None:
        # a filtered study's records are the whole study's (derived once for it) of the kept subjects:
        # its population is the whole one's of those subjects, and records are selected row by row
        return study.own_rows(analysis_records(whole, param, population_flag=population_flag))
    pop = population(study, "efficacy", population_flag)
    data = study.measurements
    rows = data[text_eq(data["PARAMCD"], param).to_numpy()]
    flag = study.conventions.analysis_flag
    flagged = flag in rows.columns and rows[flag].notna().any()
    if flagged:
        rows = rows[text_eq(rows[flag], "Y").to_numpy()]
    with_visit = rows["AVISIT"].notna() & rows["AVISITN"].notna()
    if len(rows) and not with_visit.any():
        raise AnalysisError(f"{param} has no analysis visit on its records (AVISIT/AVISITN missing), so by-visit "
                            "analyses (summary by visit, change from baseline, tests, ANCOVA, responders, "
                            "trajectories) cannot be computed for it. The study's other analyses are not affected.")
    rows = rows[with_visit]
    cohorts = pop.subjects.set_index("USUBJID")["cohort"]
    rows = rows[rows["USUBJID"].isin(cohorts.index)]
    rows = rows.assign(cohort=as_str(rows["USUBJID"].map(cohorts)), AVISIT=as_str(rows["AVISIT"]))
    rows.attrs["population_note"] = pop.note
    rows.attrs["record_note"] = (f"Analysis records ({flag} = \"Y\") with a visit." if flagged else
                                 f"All records with a visit (the data has no {flag}).")
    return rows


def records_notes(records: pd.DataFrame) -> list[str]:
    """The conventions of :func:`analysis_records` (population, record selection), for a table's notes."""
    return [records.attrs.get("population_note", ""), records.attrs.get("record_note", "")]


def describe(values: pd.Series, confidence: float = 0.95) -> dict[str, float]:
    """n, mean, SD (ddof = 1), t-based CI of the mean, median, quartiles (linear), min and max."""
    values = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    n = len(values)
    if n == 0:
        return {"n": 0, **{s: np.nan for s in STATISTICS[1:]}}
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else np.nan
    if n > 1:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)
        ci_low, ci_high = mean - half, mean + half
    else:
        ci_low = ci_high = np.nan
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return {"n": n, "mean": mean, "sd": sd, "ci_low": ci_low, "ci_high": ci_high, "median": float(median),
            "q1": float(q1), "q3": float(q3), "min": float(values.min()), "max": float(values.max())}


def endpoint_summary(study: Study, param: str, *, measures: Sequence[Measure] = ("value", "change"),
                     population_flag: str | None = None, total: bool = True,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Summary statistics of one endpoint by cohort and visit.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        The endpoint's ``PARAMCD``.
    measures
        Any of ``"value"`` (``AVAL``), ``"change"`` (``CHG``) and ``"percent change"`` (``PCHG``).
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    total
        Add a ``Total`` cohort over all cohorts.
    confidence
        Level of the t-based confidence interval of the mean.

    Returns
    -------
    pandas.DataFrame
        One row per measure, cohort and visit (visits in ``AVISITN`` order): ``param``, ``measure``,
        ``cohort``, ``visit``, ``visitn``, then ``n``, ``mean``, ``sd`` (ddof = 1), ``ci_low``, ``ci_high``,
        ``median``, ``q1``, ``q3`` (linear interpolation), ``min``, ``max``. A visit where a cohort has no
        value still has its row, with ``n = 0``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.endpoint_summary(trialviz.load_study(), "MRSS")
    >>> list(table.columns[:5])
    ['param', 'measure', 'cohort', 'visit', 'visitn']
    """
    unknown = [m for m in measures if m not in MEASURE_COLUMNS]
    if unknown:
        raise AnalysisError(f"Unknown measure(s) {unknown}; use 'value', 'change' or 'percent change'.")
    records = analysis_records(study, param, population_flag=population_flag)
    return summarise_records(study, param, records, measures=measures, total=total, confidence=confidence)


def summarise_records(study: Study, param: str, records: pd.DataFrame, *,
                      measures: Sequence[Measure] = ("value", "change"), total: bool = True,
                      confidence: float = 0.95) -> pd.DataFrame:
    """:func:`endpoint_summary` of records already selected by :func:`analysis_records` (for a caller that
    needs the records too, so that they are selected once). The statistics are those of :func:`describe`,
    computed for all cohorts and visits at once."""
    visits = (records.groupby("AVISIT")["AVISITN"].min().sort_values(kind="stable")
              if len(records) else pd.Series(dtype=float))
    cohorts = study.cohort_values() + ([TOTAL] if total else [])
    baseline_visits = _baseline_visits(records) if set(measures) - {"value"} else set()
    # cohort and visit as integer codes, once: grouping on them is several times faster than on the texts
    cohort_code, cohort_names = pd.factorize(records["cohort"])
    visit_code, visit_names = pd.factorize(records["AVISIT"])
    by_cohort = pd.MultiIndex.from_product([cohort_names, visit_names], names=["cohort", "visit"])
    by_visit = pd.MultiIndex.from_product([[TOTAL], visit_names], names=["cohort", "visit"])
    tables = []
    for measure in measures:
        values = pd.Series(pd.to_numeric(records[MEASURE_COLUMNS[measure]], errors="coerce").to_numpy(dtype=float))
        present = values.notna().to_numpy() & (cohort_code >= 0) & (visit_code >= 0)  # as groupby drops missing keys
        values = values[present]
        described = _describe_groups(values, cohort_code[present] * len(visit_names) + visit_code[present],
                                     by_cohort, confidence)
        if total:
            described = pd.concat([described, _describe_groups(values, visit_code[present], by_visit, confidence)])
        grid = pd.MultiIndex.from_product([cohorts, list(visits.index)], names=["cohort", "visit"])
        table = described.reindex(grid).reset_index()
        table["n"] = table["n"].fillna(0)
        if measure != "value":  # no change at baseline: the visit is left out where a cohort has no value
            table = table[~((table["n"] == 0) & table["visit"].isin(baseline_visits))]
        tables.append(table.assign(param=param, measure=measure, visitn=table["visit"].map(visits).astype(float)))
    columns = ["param", "measure", "cohort", "visit", "visitn", *STATISTICS]
    table = (pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns))
    table["n"] = table["n"].astype(int)
    flag = study.conventions.analysis_flag
    return with_conventions(
        table, records.attrs.get("population_note", ""),
        f"Analysis records ({flag} = \"Y\") with a visit." if flag in records.columns else "",
        f"{confidence:.0%} CI: t-distribution; SD with n − 1; quartiles by linear interpolation.",
    )


def _describe_groups(values: pd.Series, groups: np.ndarray, names: pd.Index, confidence: float) -> pd.DataFrame:
    """:func:`describe` of ``values`` (none missing) in every group: ``groups`` holds each value's position in
    ``names``, the groups' names. One row per group with a value, indexed by its name."""
    grouped = values.groupby(groups, sort=False)
    table = grouped.agg(n="count", mean="mean", sd="std", median="median", min="min", max="max")
    quartiles = grouped.quantile([0.25, 0.75]).unstack().reindex(columns=[0.25, 0.75])
    table["q1"], table["q3"] = quartiles[0.25], quartiles[0.75]
    several = table["n"] > 1
    table.loc[~several, "sd"] = np.nan
    half = stats.t.ppf(0.5 + confidence / 2, table["n"].where(several) - 1) * table["sd"] / np.sqrt(table["n"])
    table["ci_low"], table["ci_high"] = table["mean"] - half, table["mean"] + half
    table.index = names[table.index.to_numpy()]
    return table[list(STATISTICS)]


def _baseline_visits(records: pd.DataFrame) -> set[str]:
    """The visits all of whose records are flagged baseline (``ABLFL == "Y"``)."""
    flags = records["ABLFL"].eq("Y")
    if flags.dtype != bool:  # pandas' nullable text gives missing for a missing flag
        flags = flags.fillna(False).astype(bool)
    return set(flags.groupby(records["AVISIT"], observed=True).all().loc[lambda every: every].index)
