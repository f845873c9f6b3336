"""Endpoint measurements over visits: the analysis records and their summary statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.io.text import as_str, text_eq
from trialviz.study import Study
from trialviz.tables.common import TOTAL, population, with_conventions
from trialviz.visits import cell_dtypes, combine, duplicated_cells, has_visit, is_unscheduled, text_of

Measure = Literal["value", "change", "percent change"]
MEASURE_COLUMNS: dict[str, str] = {"value": "AVAL", "change": "CHG", "percent change": "PCHG"}
MEASURE_LABELS: dict[str, str] = {"value": "Value", "change": "Change from baseline",
                                  "percent change": "Percent change from baseline"}
STATISTICS = ("n", "mean", "sd", "ci_low", "ci_high", "median", "q1", "q3", "min", "max")


def analysis_records(study: Study, param: str, *, population_flag: str | None = None,
                     timepoint: str | None = None) -> pd.DataFrame:
    """The records of one endpoint that efficacy analyses use: one per subject and cell.

    A *cell* is a visit (``AVISIT``), a timepoint (``ATPT``, where the parameter has them) and a ``dtype``.
    Records count when their subject is in the efficacy population (``EFFFL`` by default, grouped by
    planned treatment), they carry the analysis flag (``ANL01FL == "Y"``, where the study has it) or are
    the baseline (``ABLFL == "Y"``, also without the analysis flag), and they are at a scheduled or derived
    visit (:meth:`~trialviz.study.Study.visit_kinds`): records without a visit and at unscheduled visits
    are left out (``attrs["visit_note"]`` says how many).

    Where the flag leaves one record per subject in a cell, it is the cell's value whatever its ``DTYPE``
    (``dtype`` is ``""``; the CDISC pilot's LOCF records at Week 24). Where a subject still has several,
    the derived ones (``DTYPE`` AVERAGE, LOV…) are values of their own, ``dtype`` their ``DTYPE``, never
    pooled with the observed ones (:func:`trialviz.visits.cell_dtypes`).

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        The endpoint's ``PARAMCD``.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    timepoint
        One ``ATPT`` text (:meth:`~trialviz.study.Study.timepoints`); every timepoint by default.

    Returns
    -------
    pandas.DataFrame
        The records, with ``cohort``, ``AVISIT`` (text), ``ATPT`` (text, ``""`` where none), ``ATPTN``,
        ``dtype`` (``""`` for the cell's value, else the ``DTYPE`` of a derived value of its own) and
        ``visit_kind`` (``"scheduled"`` or ``"derived"``).

    Raises
    ------
    AnalysisError
        An unknown endpoint or timepoint, or a subject with two records left in one cell (validation
        reports those when the study loads).
    """
    study.endpoint(param)
    chosen = check_timepoint(study, param, timepoint)
    # each table and figure of an endpoint's view selects the same records: once per (filtered) study;
    # a shallow copy, so that a caller adding a column leaves them as they are
    records = study.derived(("analysis records", param, population_flag),
                            lambda: _analysis_records(study, param, population_flag))
    if chosen is not None:
        kept = records[(records["ATPT"] == chosen).to_numpy()]
        kept.attrs = dict(records.attrs)
        return kept
    return records.copy(deep=False)


def check_timepoint(study: Study, param: str, timepoint: str | None) -> str | None:
    """``timepoint`` checked against the parameter's (``None`` stays ``None``: every timepoint); ``""``
    selects the records without one. Raises :class:`AnalysisError` listing the valid ones."""
    if timepoint is None:
        return None
    valid = study.timepoints(param)
    if timepoint == "" and not valid:
        return ""
    if timepoint not in valid:
        raise AnalysisError(f"Unknown timepoint {timepoint!r} for {param}; its timepoints (ATPT): "
                            f"{', '.join(valid) if valid else 'none (the parameter has no ATPT)'}.")
    return timepoint


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
        chosen = text_eq(rows[flag], "Y")
        if "ABLFL" in rows.columns:
            chosen |= text_eq(rows["ABLFL"], "Y")
        rows = rows[chosen.to_numpy()]
    with_visit = has_visit(rows)
    if len(rows) and not with_visit.any():
        raise AnalysisError(f"{param} has no analysis visit on its records (AVISIT/AVISITN missing), so by-visit "
                            "analyses (summary by visit, change from baseline, tests, ANCOVA, responders, "
                            "trajectories) cannot be computed for it. The study's other analyses are not affected.")
    unscheduled = with_visit & is_unscheduled(rows)
    rows = rows[with_visit & ~unscheduled]
    cohorts = pop.subjects.set_index("USUBJID")["cohort"]
    rows = rows[rows["USUBJID"].isin(cohorts.index)]
    kinds = study.visit_kinds(param).set_index("visit")["kind"]
    visit = text_of(rows["AVISIT"])
    timepoint = text_of(rows["ATPT"]) if "ATPT" in rows.columns else np.full(len(rows), "", dtype=object)
    dtype = cell_dtypes(rows)
    twice = duplicated_cells(rows, dtype)  # on the dataset's categoricals: their codes, not the texts
    rows = rows.assign(cohort=as_str(rows["USUBJID"].map(cohorts)), AVISIT=visit, ATPT=timepoint,
                       ATPTN=pd.to_numeric(rows["ATPTN"], errors="coerce") if "ATPTN" in rows.columns else np.nan,
                       dtype=dtype, visit_kind=pd.Series(visit, dtype=object).map(kinds).to_numpy())
    if twice.any():
        shown = rows[twice].head(6)
        where = "; ".join(f"{s} / {param} / {v}" + (f" / {t}" if t else "") + (f" / {d}" if d else "")
                          for s, v, t, d in zip(shown["USUBJID"].astype(str), shown["AVISIT"], shown["ATPT"],
                                                shown["dtype"], strict=True))
        raise AnalysisError(f"{param}: {int(twice.sum())} records leave a subject with more than one value in a "
                            f"cell (USUBJID / PARAMCD / AVISIT / ATPT / DTYPE): {where}. Flag one record per cell "
                            f"with {flag}, or mark derived records with DTYPE.")
    rows.attrs["population_note"] = pop.note
    baseline = " or baseline (ABLFL = \"Y\")" if "ABLFL" in rows.columns else ""
    rows.attrs["record_note"] = (f"Analysis records ({flag} = \"Y\"{baseline}) at a scheduled or derived visit, "
                                 "one per patient, visit and timepoint." if flagged else
                                 f"All records at a scheduled or derived visit (the data has no {flag}).")
    rows.attrs["visit_note"] = _visit_note(int((~with_visit).sum()), int(unscheduled.sum()),
                                           sorted(set(rows.loc[rows["visit_kind"] == "derived", "AVISIT"])))
    return rows


def _visit_note(no_visit: int, unscheduled: int, derived: list[str]) -> str:
    """What :func:`analysis_records` left out of the visits, and the derived visits it kept."""
    parts = []
    if no_visit:
        parts.append(f"{no_visit:,} record(s) without a visit (blank or \".\" AVISIT)")
    if unscheduled:
        parts.append(f"{unscheduled:,} record(s) at unscheduled visits")
    note = f"Left out: {' and '.join(parts)}." if parts else ""
    if derived:
        note += (" " if note else "") + (f"Derived visits ({', '.join(derived)}) are shown after the scheduled "
                                          "visits, not on the visit axis.")
    return note


def records_notes(records: pd.DataFrame) -> list[str]:
    """The conventions of :func:`analysis_records` (population, record selection, visits left out), for a
    table's notes."""
    return [records.attrs.get("population_note", ""), records.attrs.get("record_note", ""),
            records.attrs.get("visit_note", "")]


def cell_order(records: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The cells of some analysis records in table order: scheduled visits by ``AVISITN``, then derived
    visits; timepoints by ``ATPTN``; the cell's value (``dtype`` ``""``) before derived values.

    Returns
    -------
    tuple of pandas.DataFrame and numpy.ndarray
        The cells, one row each: ``visit``, ``timepoint``, ``dtype``, ``visitn``, ``timepointn``, ``kind``,
        ``baseline`` (every record ``ABLFL = "Y"``), indexed by the cell's code; and each record's code.
    """
    codes = combine([pd.factorize(records[c])[0] for c in ("AVISIT", "ATPT", "dtype")], len(records))
    baseline = (text_of(records["ABLFL"]) == "Y") if "ABLFL" in records.columns else np.zeros(len(records), bool)
    parts = pd.DataFrame({"cell": codes, "visit": records["AVISIT"].to_numpy(), "timepoint": records["ATPT"].to_numpy(),
                          "dtype": records["dtype"].to_numpy(),
                          "visitn": pd.to_numeric(records["AVISITN"], errors="coerce").to_numpy(dtype=float),
                          "timepointn": pd.to_numeric(records["ATPTN"], errors="coerce").to_numpy(dtype=float),
                          "kind": records["visit_kind"].to_numpy(), "baseline": baseline})
    cells = parts.groupby("cell", observed=False).agg(visit=("visit", "first"), timepoint=("timepoint", "first"),
                                      dtype=("dtype", "first"), visitn=("visitn", "min"),
                                      timepointn=("timepointn", "min"), kind=("kind", "first"),
                                      baseline=("baseline", "all"))
    cells = cells.assign(_rank=(cells["kind"] == "derived").astype(int), _derived=cells["dtype"] != "")
    cells = cells.sort_values(["_rank", "visitn", "visit", "timepointn", "timepoint", "_derived", "dtype"],
                              kind="stable")
    return cells.drop(columns=["_rank", "_derived"]), codes


def describe(values: pd.Series, confidence: float = 0.95) -> dict[str, float]:
    """n, mean, SD (ddof = 1), t-based CI of the mean, median, quartiles (linear), min and max."""
    from scipy import stats

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
                     confidence: float = 0.95, timepoint: str | None = None) -> pd.DataFrame:
    """Summary statistics of one endpoint by cohort, visit and timepoint: one value per patient.

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
    timepoint
        One ``ATPT`` text; every timepoint by default (rows keyed by timepoint). An unknown one raises
        :class:`AnalysisError` listing the valid ones.

    Returns
    -------
    pandas.DataFrame
        One row per measure, cohort and cell (:func:`analysis_records`: scheduled visits in ``AVISITN``
        order, then derived visits such as "End of Treatment"; timepoints in ``ATPTN`` order; derived
        values of a visit after its value): ``param``, ``measure``, ``cohort``, ``visit``, ``timepoint``
        (``""`` where the parameter has none), ``dtype`` (``""``, or the ``DTYPE`` of derived values of
        their own), ``visitn``, then ``n`` (patients), ``mean``, ``sd`` (ddof = 1), ``ci_low``,
        ``ci_high``, ``median``, ``q1``, ``q3`` (linear interpolation), ``min``, ``max``. A cell where a
        cohort has no value still has its row, with ``n = 0``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.endpoint_summary(trialviz.load_study(), "MRSS")
    >>> list(table.columns[:7])
    ['param', 'measure', 'cohort', 'visit', 'timepoint', 'dtype', 'visitn']
    """
    unknown = [m for m in measures if m not in MEASURE_COLUMNS]
    if unknown:
        raise AnalysisError(f"Unknown measure(s) {unknown}; use 'value', 'change' or 'percent change'.")
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    return summarise_records(study, param, records, measures=measures, total=total, confidence=confidence)


SUMMARY_KEYS = ["param", "measure", "cohort", "visit", "timepoint", "dtype", "visitn"]


def summarise_records(study: Study, param: str, records: pd.DataFrame, *,
                      measures: Sequence[Measure] = ("value", "change"), total: bool = True,
                      confidence: float = 0.95) -> pd.DataFrame:
    """:func:`endpoint_summary` of records already selected by :func:`analysis_records` (for a caller that
    needs the records too, so that they are selected once). The statistics are those of :func:`describe`,
    computed for all cohorts and cells at once."""
    cells, cell_code = cell_order(records)
    cohorts = study.cohort_values() + ([TOTAL] if total else [])
    # cohort and cell as integer codes, once: grouping on them is several times faster than on the texts
    cohort_code, cohort_names = pd.factorize(records["cohort"])
    n_cells = len(cells)
    by_cohort = pd.MultiIndex.from_product([cohort_names, range(n_cells)], names=["cohort", "cell"])
    by_cell = pd.MultiIndex.from_product([[TOTAL], range(n_cells)], names=["cohort", "cell"])
    baseline_cells = set(cells.index[cells["baseline"]])
    tables = []
    for measure in measures:
        values = pd.Series(pd.to_numeric(records[MEASURE_COLUMNS[measure]], errors="coerce").to_numpy(dtype=float))
        present = values.notna().to_numpy() & (cohort_code >= 0) & (cell_code >= 0)  # as groupby drops missing keys
        values = values[present]
        described = _describe_groups(values, cohort_code[present] * max(n_cells, 1) + cell_code[present],
                                     by_cohort, confidence)
        if total:
            described = pd.concat([described, _describe_groups(values, cell_code[present], by_cell, confidence)])
        grid = pd.MultiIndex.from_product([cohorts, list(cells.index)], names=["cohort", "cell"])
        table = described.reindex(grid).reset_index()
        table["n"] = table["n"].fillna(0)
        if measure != "value":  # no change at baseline: the visit is left out where a cohort has no value
            table = table[~((table["n"] == 0) & table["cell"].isin(baseline_cells))]
        of_cell = cells.loc[table["cell"].to_numpy()]
        tables.append(table.assign(param=param, measure=measure, visit=of_cell["visit"].to_numpy(),
                                   timepoint=of_cell["timepoint"].to_numpy(), dtype=of_cell["dtype"].to_numpy(),
                                   visitn=of_cell["visitn"].to_numpy(dtype=float)))
    columns = [*SUMMARY_KEYS, *STATISTICS]
    table = (pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns))
    table["n"] = table["n"].astype(int)
    return with_conventions(
        table, *records_notes(records),
        f"{confidence:.0%} CI: t-distribution; SD with n − 1; quartiles by linear interpolation. n: patients "
        "(one value per patient, visit and timepoint; timepoints never pooled).",
    )


def _describe_groups(values: pd.Series, groups: np.ndarray, names: pd.Index, confidence: float) -> pd.DataFrame:
    """:func:`describe` of ``values`` (none missing) in every group: ``groups`` holds each value's position in
    ``names``, the groups' names. One row per group with a value, indexed by its name."""
    from scipy import stats

    grouped = values.groupby(groups, sort=False, observed=False)
    table = grouped.agg(n="count", mean="mean", sd="std", median="median", min="min", max="max")
    quartiles = grouped.quantile([0.25, 0.75]).unstack().reindex(columns=[0.25, 0.75])
    table["q1"], table["q3"] = quartiles[0.25], quartiles[0.75]
    several = table["n"] > 1
    table.loc[~several, "sd"] = np.nan
    half = stats.t.ppf(0.5 + confidence / 2, table["n"].where(several) - 1) * table["sd"] / np.sqrt(table["n"])
    table["ci_low"], table["ci_high"] = table["mean"] - half, table["mean"] + half
    table.index = names[table.index.to_numpy()]
    return table[list(STATISTICS)]
