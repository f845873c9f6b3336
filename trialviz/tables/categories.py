"""Character results (``AVALC``): n (%) of patients per category by visit and cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialviz.study import Study
from trialviz.tables.common import TOTAL, with_conventions
from trialviz.tables.endpoints import analysis_records, cell_order, records_notes
from trialviz.visits import text_of

CATEGORY_COLUMNS = ["cohort", "param", "visit", "timepoint", "category", "subjects", "denominator", "percent"]


def category_summary(study: Study, param: str, *, timepoint: str | None = None,
                     population_flag: str | None = None, total: bool = True) -> pd.DataFrame:
    """Patients per result category (``AVALC``) of one parameter by visit, timepoint and cohort.

    For parameters whose results are text (:attr:`~trialviz.study.Endpoint.kind` ``"character"``: response
    categories, urine colour…), from the same analysis records as every endpoint table
    (:func:`~trialviz.tables.analysis_records`: one record per patient, visit and timepoint; unscheduled
    visits left out, derived visits after the scheduled ones).

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        The parameter's ``PARAMCD``.
    timepoint
        One ``ATPT`` text; every timepoint by default (rows keyed by timepoint).
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    total
        Add a ``Total`` cohort over all cohorts.

    Returns
    -------
    pandas.DataFrame
        One row per cohort, visit, timepoint and category (categories in alphabetical order; every
        category at every visit, ``subjects`` 0 where none): ``cohort``, ``param``, ``visit``, ``timepoint``
        (``""`` where none), ``category``, ``subjects``, ``denominator`` (patients of the cohort with a
        value at that visit and timepoint), ``percent`` (of the denominator; NaN when it is 0).

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.category_summary(trialviz.load_study(), "MRSS")
    >>> list(table.columns)
    ['cohort', 'param', 'visit', 'timepoint', 'category', 'subjects', 'denominator', 'percent']
    """
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    records = records[(records["dtype"] == "").to_numpy()]
    category = (text_of(records["AVALC"]) if "AVALC" in records.columns
                else np.full(len(records), "", dtype=object))
    given = category != ""
    records, category = records[given], category[given]
    cells, codes = cell_order(records)
    categories = sorted(set(category))
    cohorts = study.cohort_values() + ([TOTAL] if total else [])
    parts = pd.DataFrame({"cohort": records["cohort"].to_numpy(), "cell": codes, "category": category})
    if total:
        parts = pd.concat([parts, parts.assign(cohort=TOTAL)], ignore_index=True)
    counts = parts.groupby(["cohort", "cell", "category"], observed=False).size()
    denominators = parts.groupby(["cohort", "cell"], observed=False).size()
    grid = pd.MultiIndex.from_product([cohorts, list(cells.index), categories], names=["cohort", "cell", "category"])
    table = counts.reindex(grid, fill_value=0).rename("subjects").reset_index()
    table["denominator"] = denominators.reindex(pd.MultiIndex.from_arrays(
        [table["cohort"], table["cell"]])).fillna(0).astype(int).to_numpy()
    of_cell = cells.loc[table["cell"].to_numpy()]
    table = table.assign(param=param, visit=of_cell["visit"].to_numpy(), timepoint=of_cell["timepoint"].to_numpy())
    table["subjects"] = table["subjects"].astype(int)
    table["percent"] = np.where(table["denominator"] > 0,
                                100 * table["subjects"] / table["denominator"].clip(lower=1), np.nan)
    return with_conventions(table[CATEGORY_COLUMNS].reset_index(drop=True), *records_notes(records),
                            "n (%) of patients per category (AVALC); denominator: patients of the cohort with a "
                            "value at the visit and timepoint.")
