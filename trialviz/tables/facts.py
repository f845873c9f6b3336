"""Published facts beside the same quantities computed from the patient-level data.

A fact in the study file names a check (``check = "late_serious_events"``); each check is a function of
the study that uses the package's own table functions, so the numbers a dashboard shows and the numbers
compared with the publication come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.filters import baseline_values
from trialviz.study import PublishedFact, Study
from trialviz.tables.common import TOTAL, population
from trialviz.tables.safety import ae_period, grade_of, is_related, safety_events, study_day
from trialviz.tables.subjects import followup_summary

Check = Callable[[Study], Any]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def _period_total(study: Study, period: str, category: str, column: str) -> float:
    table = study.derived(("ae period",), lambda: ae_period(study))  # seven facts read one table
    row = table[(table["period"] == period) & (table["category"] == category) & (table["cohort"] == TOTAL)]
    if row.empty:
        raise AnalysisError(f"The study has no {category!r} events in period {period!r} to check.")
    return row[column].iloc[0].item()


@check("subjects_enrolled")
def _subjects_enrolled(study: Study) -> int:
    return study.n_subjects


@check("subjects_by_sex")
def _subjects_by_sex(study: Study) -> dict[str, int]:
    return {str(k): int(v) for k, v in study.subjects["SEX"].value_counts().sort_index().items()}


@check("subjects_by_cohort")
def _subjects_by_cohort(study: Study) -> dict[str, int]:
    sizes = population(study, "efficacy", flag="").sizes(study.cohort_values(), total=False)
    return {str(k): int(v) for k, v in sizes.items()}


@check("low_dose_infused_first")
def _low_dose_first(study: Study) -> bool:
    adsl = study.subjects.sort_values("TRTSDT", kind="stable")
    first_cohort = study.cohort_values()[0]
    n_first = int((adsl[study.conventions.safety_cohort] == first_cohort).sum())
    return bool((adsl[study.conventions.safety_cohort].iloc[:n_first] == first_cohort).all())


@check("treatment_date_range")
def _treatment_dates(study: Study) -> list[str]:
    dates = pd.to_datetime(study.subjects["TRTSDT"])
    return [dates.min().strftime("%Y-%m-%d"), dates.max().strftime("%Y-%m-%d")]


@check("age_range")
def _age_range(study: Study) -> list[float]:
    age = pd.to_numeric(study.subjects["AGE"])
    return [float(age.min()), float(age.max())]


@check("baseline_mrss_range")
def _baseline_mrss(study: Study) -> list[float]:
    base = baseline_values(study, "MRSS")
    return [float(base.min()), float(base.max())]


@check("safety_population")
def _safety_population(study: Study) -> int:
    return len(population(study, "safety").subjects)


@check("primary_window_severe_events")
def _window_severe(study: Study) -> int:
    return int(_period_total(study, "window", "severe", "events"))


@check("primary_window_related_events")
def _window_related_events(study: Study) -> int:
    return int(_period_total(study, "window", "related", "events"))


@check("primary_window_related_subjects")
def _window_related_subjects(study: Study) -> int:
    return int(_period_total(study, "window", "related", "subjects"))


@check("primary_window_related_terms")
def _window_related_terms(study: Study) -> list[list[str]]:
    events, _ = safety_events(study)
    first, last = study.conventions.primary_window or (1, 1)
    chosen = events[study_day(events).between(first, last) & is_related(study, events)]
    grades = grade_of(chosen)
    labels = chosen["AEDECOD"].astype(str) + (", grade " + grades.astype("Int64").astype(str)
                                               if grades is not None else "")
    per_subject = labels.groupby(chosen["USUBJID"].to_numpy(), observed=False).agg(lambda s: sorted(s))
    return sorted(per_subject.tolist(), key=lambda terms: (len(terms), terms))


@check("late_serious_events")
def _late_serious_events(study: Study) -> int:
    return int(_period_total(study, "after", "severe", "events"))


@check("late_serious_subjects")
def _late_serious_subjects(study: Study) -> int:
    return int(_period_total(study, "after", "severe", "subjects"))


@check("late_serious_percent")
def _late_serious_percent(study: Study) -> float:
    return float(_period_total(study, "after", "severe", "percent"))


@check("late_related_events")
def _late_related_events(study: Study) -> int:
    return int(_period_total(study, "after", "related", "events"))


def _followup_total(study: Study) -> pd.Series:
    table = followup_summary(study)
    return table[table["cohort"] == TOTAL].iloc[0]


@check("followup_median_months")
def _followup_median(study: Study) -> float:
    return float(_followup_total(study)["median"])


@check("followup_iqr_months")
def _followup_iqr(study: Study) -> list[float]:
    row = _followup_total(study)
    return [float(row["q1"]), float(row["q3"])]


def compute_fact(study: Study, fact: PublishedFact) -> Any:
    """The value of a fact's check computed from the data (``None`` for text-only facts)."""
    if not fact.check:
        return None
    if fact.check not in CHECKS:
        raise AnalysisError(f"Fact {fact.key!r} names an unknown check {fact.check!r}; known checks: "
                            f"{', '.join(sorted(CHECKS))}.")
    try:
        return CHECKS[fact.check](study)
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise AnalysisError(f"Fact {fact.key!r} cannot be computed from these data ({type(exc).__name__}: {exc}); "
                            "a filtered study may lack the patients or records it needs.") from exc


def fact_matches(fact: PublishedFact, computed: Any) -> bool | None:
    """Whether the computed value reproduces the published one (``None`` for text-only facts).

    Numbers are compared after rounding to the fact's ``decimals``; ``comparison = "within"`` means
    the computed [min, max] lies inside the published [low, high].
    """
    if not fact.check:
        return None
    if fact.comparison == "within":
        low, high = fact.value
        return bool(low <= computed[0] and computed[1] <= high)
    return _normalise(computed, fact.decimals) == _normalise(fact.value, fact.decimals)


def _normalise(value: Any, decimals: int | None) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return round(float(value), decimals if decimals is not None else 6)
    if isinstance(value, dict):
        return {str(k): _normalise(v, decimals) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_normalise(v, decimals) for v in value]
        return sorted(items, key=repr) if items and isinstance(items[0], list) else items
    return value


def published_facts(study: Study) -> pd.DataFrame:
    """Every published fact of the study with the value computed from the data and whether they agree.

    Returns
    -------
    pandas.DataFrame
        ``key``, ``label``, ``published``, ``computed`` (``None`` for text-only facts), ``matches``
        (``True``/``False``, ``None`` for text-only facts), ``comparison`` (``"equal"``: the computed value
        should reproduce the published one; ``"within"``: a published limit, such as an eligibility range,
        that the observed range should be consistent with), ``source``, ``quote``.

    Examples
    --------
    >>> import trialviz
    >>> facts = trialviz.published_facts(trialviz.load_study())
    >>> bool(facts["matches"].dropna().all())
    True
    """
    rows = []
    for fact in study.meta.facts:
        computed = compute_fact(study, fact)
        rows.append({"key": fact.key, "label": fact.label, "published": fact.value, "computed": computed,
                     "matches": fact_matches(fact, computed), "comparison": fact.comparison, "source": fact.source,
                     "quote": fact.quote})
    return pd.DataFrame(rows, columns=["key", "label", "published", "computed", "matches", "comparison", "source",
                                       "quote"])
