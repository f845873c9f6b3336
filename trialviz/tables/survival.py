"""Time to event (ADTTE): Kaplan–Meier estimates, numbers at risk, medians and log-rank tests (lifelines).

Each parameter (``PARAMCD``: OS, PFS, duration of response…) is analysed on its own. Subjects are those of
the safety population grouped by actual treatment (the CDISC pilot's Kaplan–Meier figure of time to first
dermatologic event uses ``SAFFL`` and ``TRT01A``), unless the study file declares the parameter an efficacy
one (``analysis = "efficacy"`` in its ``[[endpoints]]`` entry): then the efficacy population (``EFFFL``; the
intention-to-treat population ``ITTFL`` where ADSL has no efficacy flag) by planned treatment. An event is
``CNSR == 0``; every table's notes say which population was used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.study import Study
from trialviz.tables.common import (
    TOTAL,
    Population,
    cohort_columns,
    population,
    require_cohort,
    with_conventions,
)

KM_NOTE = ("Kaplan–Meier estimates (lifelines); confidence intervals by the exponential Greenwood "
           "(log(−log)) method. At risk at t: subjects whose time is ≥ t; events and censored: cumulative "
           "up to t.")


def time_to_event_params(study: Study) -> list[str]:
    """The time-to-event parameters (``PARAMCD`` of ADTTE), in file order (:meth:`Study.tte_params`)."""
    return study.tte_params()


def time_to_event_population(study: Study, param: str, population_flag: str | None = None) -> Population:
    """The population a time-to-event parameter is analysed in.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        ADTTE ``PARAMCD``.
    population_flag
        An ADSL flag that replaces the default one (the grouping stays that of the analysis).

    Returns
    -------
    Population
        Safety population by actual treatment; for a parameter the study file declares an efficacy one,
        the efficacy population (``EFFFL``, else ``ITTFL``, else every randomised subject) by planned
        treatment.
    """
    declared = study.tte_endpoint(param)
    if declared is None or declared.analysis != "efficacy":
        return population(study, "safety", population_flag)
    if population_flag is None and study.conventions.efficacy_population not in study.subjects.columns \
            and "ITTFL" in study.subjects.columns:
        return population(study, "itt")
    return population(study, "efficacy", population_flag)


def time_to_event_records(study: Study, param: str | None = None, *, population_flag: str | None = None
                          ) -> tuple[pd.DataFrame, str, str]:
    """One parameter's ADTTE records of its population (:func:`time_to_event_population`): ``USUBJID``,
    ``cohort``, ``time`` (``AVAL``) and ``event`` (``CNSR == 0``), with the parameter and the population note.

    ``param`` defaults to the study's first time-to-event parameter; an unknown one raises
    :class:`AnalysisError` naming the valid ones.
    """
    params = time_to_event_params(study)
    if not params:
        raise AnalysisError("The study has no time-to-event data (no ADTTE dataset).")
    param = params[0] if param is None else param
    if param not in params:
        raise AnalysisError(f"Unknown time-to-event parameter {param!r}; this study's are: "
                            f"{', '.join(params)}.")
    pop = time_to_event_population(study, param, population_flag)
    tte = study.time_to_event
    rows = tte[tte["PARAMCD"].astype(str).eq(param).to_numpy()]
    rows = rows.merge(pop.subjects[["USUBJID", "cohort"]], on="USUBJID", how="inner")
    data = pd.DataFrame({"USUBJID": rows["USUBJID"].to_numpy(), "cohort": rows["cohort"].to_numpy(),
                         "time": pd.to_numeric(rows["AVAL"], errors="coerce").to_numpy(dtype=float),
                         "event": pd.to_numeric(rows["CNSR"], errors="coerce").eq(0).to_numpy()})
    return data.dropna(subset=["time"]), param, pop.note


def default_times(max_time: float, intervals: int = 8) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 × 10ᵏ) up to the longest time, about ``intervals`` of them."""
    if not max_time > 0:
        return [0.0]
    raw = max_time / intervals
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [float(t) for t in np.arange(0, max_time + step * 1e-9, step)]


def _groups(data: pd.DataFrame, study: Study, total: bool) -> dict[str, pd.DataFrame]:
    groups = {c: data[data["cohort"] == c] for c in cohort_columns(study, total=False)}
    if total:
        groups[TOTAL] = data
    return groups


def _fit(group: pd.DataFrame, confidence: float) -> Any:  # lifelines has no type hints
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(alpha=1 - confidence).fit(group["time"], event_observed=group["event"])


def _steps(frame: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Rows of a right-continuous step function (indexed by time) at each of ``times`` (before the first
    step: the first row)."""
    index = frame.index.to_numpy(dtype=float)
    positions = np.clip(np.searchsorted(index, times, side="right") - 1, 0, None)
    return frame.to_numpy(dtype=float)[positions]


def kaplan_meier(study: Study, param: str | None = None, *, times: Sequence[float] | None = None,
                 population_flag: str | None = None, total: bool = False,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier survival (event-free probability) and numbers at risk at chosen times, by cohort.

    Parameters
    ----------
    study
        A (possibly filtered) study with an ADTTE dataset.
    param
        ADTTE ``PARAMCD``; the study's first time-to-event parameter by default.
    times
        Times (in the unit of ``AVAL``, usually days) to report; by default 0 and round steps up to the
        longest time (:func:`default_times`).
    population_flag
        ADSL flag of the population; defaults to the study's safety flag (``SAFFL``), or its efficacy flag
        for a parameter the study file declares an efficacy one (:func:`time_to_event_population`).
    total
        Add a ``Total`` cohort over all cohorts.
    confidence
        Level of the pointwise confidence intervals.

    Returns
    -------
    pandas.DataFrame
        One row per cohort and time: ``cohort``, ``param``, ``time``, ``at_risk``, ``events`` and
        ``censored`` (cumulative), ``survival``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import trialviz
    >>> km = trialviz.kaplan_meier(trialviz.load_study(), times=[0])
    >>> km[["cohort", "at_risk", "survival"]].values.tolist()
    [['MSC 1×10⁶/kg', 10, 1.0], ['MSC 3×10⁶/kg', 10, 1.0]]
    """
    data, param, note = time_to_event_records(study, param, population_flag=population_flag)
    at = np.asarray(default_times(float(data["time"].max()) if len(data) else 0.0) if times is None else list(times),
                    dtype=float)
    frames = []
    for cohort, group in _groups(data, study, total).items():
        # counts by binary search on the sorted times, not one pass over the patients per time
        observed = group["time"].to_numpy(dtype=float)
        event = group["event"].to_numpy(dtype=bool)
        all_times, event_times, censored_times = (np.sort(observed), np.sort(observed[event]),
                                                  np.sort(observed[~event]))
        if len(group):
            fit = _fit(group, confidence)
            survival = _steps(fit.survival_function_, at)[:, 0]
            low, high = _steps(fit.confidence_interval_, at).T
        else:
            survival = low = high = np.full(len(at), np.nan)
        frames.append(pd.DataFrame({
            "cohort": cohort, "param": param, "time": at,
            "at_risk": len(all_times) - np.searchsorted(all_times, at, side="left"),
            "events": np.searchsorted(event_times, at, side="right"),
            "censored": np.searchsorted(censored_times, at, side="right"),
            "survival": survival, "ci_low": low, "ci_high": high}))
    columns = ["cohort", "param", "time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high"]
    table = (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns))[columns]
    return with_conventions(table, note, f"Time to event: {param} (ADTTE; event: CNSR = 0).",
                            KM_NOTE.replace("confidence intervals", f"{confidence:.0%} confidence intervals"))


def km_medians(study: Study, param: str | None = None, *, population_flag: str | None = None,
               total: bool = False, confidence: float = 0.95) -> pd.DataFrame:
    """Median time to event by cohort with its confidence interval (missing where not reached).

    The interval is where the pointwise confidence band of the curve crosses 0.5 (Brookmeyer–Crowley
    style, as lifelines and R's ``survfit`` report it).

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``param``, ``n``, ``events``, ``median``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import trialviz
    >>> list(trialviz.km_medians(trialviz.load_study()).columns)
    ['cohort', 'param', 'n', 'events', 'median', 'ci_low', 'ci_high']
    """
    from lifelines.utils import median_survival_times

    data, param, note = time_to_event_records(study, param, population_flag=population_flag)
    rows = []
    for cohort, group in _groups(data, study, total).items():
        median = low = high = np.nan
        if len(group):
            fit = _fit(group, confidence)
            median = float(fit.median_survival_time_)
            low, high = median_survival_times(fit.confidence_interval_).iloc[0].to_numpy(dtype=float)
        rows.append({"cohort": cohort, "param": param, "n": len(group), "events": int(group["event"].sum()),
                     "median": median, "ci_low": low, "ci_high": high})
    table = pd.DataFrame(rows).replace([np.inf, -np.inf], np.nan)
    return with_conventions(table, note, f"Median time to event ({param}) with its {confidence:.0%} CI; "
                            "missing where the curve or its confidence band does not reach 0.5 (not reached).")


def logrank(study: Study, param: str | None = None, *, reference: str | None = None,
            population_flag: str | None = None) -> pd.DataFrame:
    """Log-rank tests of time to event: all cohorts together, and each cohort against the reference.

    Returns
    -------
    pandas.DataFrame
        ``param``, ``cohort`` (``Total`` for the test of all cohorts), ``reference``, ``test``,
        ``statistic`` (chi-square), ``df``, ``p_value``.

    Examples
    --------
    >>> import trialviz
    >>> trialviz.logrank(trialviz.load_study())["test"].iloc[0]
    'Log-rank test (chi-square, 1 df)'
    """
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    reference = require_cohort(study, reference)
    data, param, note = time_to_event_records(study, param, population_flag=population_flag)
    present = [c for c in study.cohort_values() if (data["cohort"] == c).any()]
    if len(present) < 2:
        raise AnalysisError(f"A log-rank test of {param} needs at least two cohorts with data; found: "
                            f"{', '.join(present) or 'none'}.")
    overall = multivariate_logrank_test(data["time"], data["cohort"], data["event"])
    df = len(present) - 1
    rows = [{"param": param, "cohort": TOTAL, "reference": "", "test": f"Log-rank test (chi-square, {df} df)",
             "statistic": float(overall.test_statistic), "df": df, "p_value": float(overall.p_value)}]
    ref = data[data["cohort"] == reference]
    for cohort in present:
        if cohort == reference or ref.empty or len(present) == 2:
            continue
        other = data[data["cohort"] == cohort]
        result = logrank_test(other["time"], ref["time"], other["event"], ref["event"])
        rows.append({"param": param, "cohort": cohort, "reference": reference,
                     "test": f"Log-rank test (chi-square, 1 df) vs {reference}",
                     "statistic": float(result.test_statistic), "df": 1, "p_value": float(result.p_value)})
    return with_conventions(pd.DataFrame(rows), note, "Log-rank tests (lifelines), two-sided, unadjusted.")
