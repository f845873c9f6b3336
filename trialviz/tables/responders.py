"""Responders: patients whose endpoint improved by at least a threshold, with exact confidence intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.stats import exact_ci
from trialviz.study import Direction, Study
from trialviz.tables.common import TOTAL, cohort_columns, fisher_against, require_cohort, with_conventions
from trialviz.tables.efficacy import visit_records
from trialviz.tables.endpoints import analysis_records, records_notes


def responder_rule(study: Study, param: str, *, threshold: float | None = None, relative: bool = False,
                   better: Direction | None = None) -> tuple[float, Direction, str]:
    """The threshold, the better direction and a description of the response, checked.

    Defaults: the endpoint's MCID (absolute) and its better direction from the study file.
    """
    endpoint = study.endpoint(param)
    direction = better or endpoint.better
    if direction not in ("lower", "higher"):
        raise AnalysisError(f"{param} has no direction of improvement in the study file; pass "
                            "better='lower' or better='higher' (--better on the command line).")
    if threshold is None:
        if relative:
            raise AnalysisError("A relative (percent) responder threshold must be given, e.g. threshold=20.")
        if endpoint.mcid is None:
            raise AnalysisError(f"{param} has no MCID in the study file; pass a threshold (--threshold).")
        threshold = endpoint.mcid
    if not threshold > 0:
        raise AnalysisError(f"The responder threshold must be a positive number, not {threshold!r}.")
    unit = "%" if relative else (f" {endpoint.unit}" if endpoint.unit else "")
    measure = "PCHG" if relative else "CHG"
    sign = "≤ −" if direction == "lower" else "≥ "
    rule = f"improvement ≥ {threshold:g}{unit} ({measure} {sign}{threshold:g})"
    return float(threshold), direction, rule


def responders(study: Study, param: str, *, threshold: float | None = None, relative: bool = False,
               better: Direction | None = None, visit: str | None = None, reference: str | None = None,
               population_flag: str | None = None, total: bool = True,
               confidence: float = 0.95, timepoint: str | None = None) -> pd.DataFrame:
    """Responders at each visit: patients whose change from baseline reaches a threshold in the endpoint's
    better direction, with exact (Clopper–Pearson) confidence intervals and Fisher's exact test against a
    reference cohort.

    A patient responds at a visit when the change (``CHG``; the percent change ``PCHG`` when
    ``relative``) is at least ``threshold`` in the better direction: ``CHG ≤ −threshold`` where lower is
    better, ``CHG ≥ threshold`` where higher is better. The denominator is the patients of the cohort
    with a change at that visit (efficacy conventions: planned treatment, ``EFFFL``, ``ANL01FL``).

    The composite responses of systemic sclerosis trials are :func:`trialviz.criss` (ACR CRISS) and
    :func:`trialviz.revised_criss`.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        The endpoint's ``PARAMCD``.
    threshold
        Size of the improvement, in the endpoint's unit (or percent when ``relative``); the endpoint's
        MCID by default.
    relative
        Use the percent change from baseline.
    better
        ``"lower"`` or ``"higher"``; the endpoint's direction of improvement by default.
    visit
        One analysis visit (``AVISIT`` text); every post-baseline visit by default.
    reference
        Cohort the others are compared with (Fisher's exact test); the study's first cohort by default.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    total
        Add a ``Total`` cohort over all cohorts.
    confidence
        Level of the Clopper–Pearson intervals.
    timepoint
        One ``ATPT`` text; every timepoint by default (rows keyed by timepoint, never pooled).

    Returns
    -------
    pandas.DataFrame
        One row per visit, timepoint and cohort: ``param``, ``visit``, ``timepoint`` (``""`` where the
        parameter has none), ``visitn``, ``threshold`` (the rule in words),
        ``cohort``, ``subjects`` (responders), ``denominator``, ``percent``, ``ci_low``, ``ci_high``
        (0–100), ``p_value``, ``test``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.responders(trialviz.load_study(), "MRSS", visit="Month 6")
    >>> table["threshold"].iloc[0]
    'improvement ≥ 5 points (CHG ≤ −5)'
    """
    threshold, direction, rule = responder_rule(study, param, threshold=threshold, relative=relative,
                                                better=better)
    reference = require_cohort(study, reference)
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    change = _relative_change(records) if relative else pd.to_numeric(records["CHG"], errors="coerce")
    records = records.assign(_change=change)[change.notna().to_numpy()]
    change = records["_change"]
    responded = change.le(-threshold) if direction == "lower" else change.ge(threshold)
    records = records.assign(_responder=responded.to_numpy())
    cohorts = cohort_columns(study, total=total)
    rows = []
    for (visit_name, timepoint_name), at_visit in visit_records(records, "_change", visit, param).items():
        visitn = float(at_visit["AVISITN"].min())
        # responders and patients of every cohort in one groupby, not a comparison per cohort
        counts = at_visit.groupby("cohort", sort=False, observed=False)["_responder"].agg(["sum", "size"])
        counts.loc[TOTAL] = [at_visit["_responder"].sum(), len(at_visit)]
        for cohort in cohorts:
            subjects, denominator = counts.loc[cohort] if cohort in counts.index else (0, 0)
            rows.append({"param": param, "visit": visit_name, "timepoint": timepoint_name, "visitn": visitn,
                         "threshold": rule,
                         "cohort": cohort, "subjects": int(subjects), "denominator": int(denominator)})
    table = pd.DataFrame(rows, columns=["param", "visit", "timepoint", "visitn", "threshold", "cohort", "subjects",
                                        "denominator"])
    table["percent"] = np.where(table["denominator"] > 0,
                                100 * table["subjects"] / table["denominator"].clip(lower=1), np.nan)
    table["ci_low"], table["ci_high"] = exact_ci(table["subjects"], table["denominator"], confidence)
    table = fisher_against(table, reference, ["visit", "timepoint"])
    return with_conventions(
        table, *records_notes(records),
        f"Responder: {rule}; denominator: patients with a value at the visit.",
        f"{confidence:.0%} CI: exact (Clopper–Pearson). p: Fisher's exact test (two-sided) against "
        f"{reference}.")


def _relative_change(records: pd.DataFrame) -> pd.Series:
    """``PCHG``, or 100 × ``CHG`` / ``BASE`` where the dataset has no percent change."""
    pchg = pd.to_numeric(records["PCHG"], errors="coerce")
    chg = pd.to_numeric(records["CHG"], errors="coerce")
    base = pd.to_numeric(records["BASE"], errors="coerce")
    derived = (100 * chg / base.where(base != 0)).astype(float)
    return pchg.fillna(derived)
