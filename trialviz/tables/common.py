"""Analysis populations and the conventions note every table carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import hypergeom
from statsmodels.stats.proportion import proportion_confint

from trialviz.errors import AnalysisError
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
    kept = kept[kept[cohort_variable].notna()]
    subjects = kept.assign(cohort=kept[cohort_variable].astype(str))
    grouping = _grouping(study, analysis)
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
        order = values.groupby("_value")["_rank"].min().sort_values(kind="stable", na_position="last")
        levels = [str(v) for v in order.index]
    else:
        levels = sorted(str(v) for v in values["_value"].unique())
    conventions = replace(study.conventions, safety_cohort=column, efficacy_cohort=column)
    cohorts = tuple(Cohort(value=v, label=v) for v in levels)
    meta = replace(study.meta, cohorts=cohorts, conventions=conventions)
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


def exact_ci(successes: Sequence[int] | np.ndarray, trials: Sequence[int] | np.ndarray,
             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Clopper–Pearson (exact binomial) confidence limits of proportions, in percent (0–100); missing
    where there are no trials."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        lo, hi = proportion_confint(k[ok], n[ok], alpha=1 - confidence, method="beta")
        low[ok], high[ok] = 100 * np.asarray(lo), 100 * np.asarray(hi)
    return low, high


def fisher_p(subjects: int, denominator: int, ref_subjects: int, ref_denominator: int) -> float:
    """Two-sided Fisher's exact p of a 2 × 2 table (patients with/without, cohort against reference);
    missing when neither group has a patient with the event, as report tables leave it blank."""
    return float(fisher_p_values([subjects], [denominator], [ref_subjects], [ref_denominator])[0])


def fisher_p_values(subjects: Sequence[int] | np.ndarray, denominators: Sequence[int] | np.ndarray,
                    ref_subjects: Sequence[int] | np.ndarray, ref_denominators: Sequence[int] | np.ndarray
                    ) -> np.ndarray:
    """:func:`fisher_p` of many tables at once.

    ``scipy.stats.fisher_exact`` tests one table per call, and the safety tab of a large study tests
    thousands (every preferred term, every cohort against the reference): it was the largest single cost
    of a filter change there. This is its algorithm (two-sided: the probability of the tables no more
    likely than the observed one, found by a binary search on the other side of the mode), with scipy's
    hypergeometric distribution evaluated for all tables in one call each; ``tests/test_fisher.py``
    compares it with ``fisher_exact`` on many tables, edge cases included.
    """
    a = np.asarray(subjects, dtype=np.int64)
    n1 = np.asarray(denominators, dtype=np.int64)
    c = np.asarray(ref_subjects, dtype=np.int64)
    n2 = np.asarray(ref_denominators, dtype=np.int64)
    p = np.full(a.shape, np.nan)
    valid = (a + c > 0) & (n1 > 0) & (n2 > 0)
    p[valid & (n1 - a + n2 - c == 0)] = 1.0  # every patient had the event: no information (as scipy)
    todo = np.flatnonzero(valid & (n1 - a + n2 - c > 0))
    if not len(todo):
        return p
    a, n1, total, n = a[todo], n1[todo], (n1 + n2)[todo], (a + c)[todo]
    mode = ((n + 1) * (n1 + 1) / (total + 2)).astype(np.int64)
    pexact = hypergeom.pmf(a, total, n1, n)
    pmode = hypergeom.pmf(mode, total, n1, n)
    epsilon = 1e-14
    gamma = 1 + epsilon
    result = np.full(len(todo), 1.0)  # the observed table is the most likely one: p = 1
    unequal = ~(np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= epsilon)
    for lower in (True, False):
        side = np.flatnonzero(unequal & ((a < mode) if lower else ~(a < mode)))
        if not len(side):
            continue
        args = (total[side], n1[side], n[side])
        near = hypergeom.cdf(a[side], *args) if lower else hypergeom.sf(a[side] - 1, *args)
        end = hypergeom.pmf(n[side] if lower else np.zeros(len(side), dtype=np.int64), *args)
        tail_only = end > pexact[side] * gamma
        value = near.copy()
        rest = np.flatnonzero(~tail_only)
        if len(rest):
            sign = -1.0 if lower else 1.0
            low = mode[side][rest] if lower else np.zeros(len(rest), dtype=np.int64)
            high = n[side][rest] if lower else mode[side][rest]
            rest_args = tuple(x[rest] for x in args)
            guess = _search(sign, sign * pexact[side][rest] * gamma, low, high, rest_args)
            far = hypergeom.sf(guess, *rest_args) if lower else hypergeom.cdf(guess, *rest_args)
            value[rest] = near[rest] + far
        result[side] = value
    p[todo] = np.minimum(result, 1.0)
    return p


def _search(sign: float, target: np.ndarray, low: np.ndarray, high: np.ndarray,
            args: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """scipy's binary search of ``fisher_exact`` (the largest i in [low, high] with
    sign · pmf(i) ≤ target), for many tables at once, step for step."""
    low, high = low.copy(), high.copy()
    found = np.zeros(len(low), dtype=bool)
    answer = np.zeros(len(low), dtype=np.int64)
    active = np.flatnonzero(low < high)
    while len(active):
        mid = low[active] + (high[active] - low[active]) // 2
        value = sign * hypergeom.pmf(mid, *(x[active] for x in args))
        below, above = value < target[active], value > target[active]
        low[active[below]] = mid[below] + 1
        high[active[above]] = mid[above] - 1
        hit = ~below & ~above
        answer[active[hit]], found[active[hit]] = mid[hit], True
        active = active[~hit]
        active = active[low[active] < high[active]]
    rest = np.flatnonzero(~found)
    if len(rest):
        ok = sign * hypergeom.pmf(low[rest], *(x[rest] for x in args)) <= target[rest]
        answer[rest] = np.where(ok, low[rest], low[rest] - 1)
    return answer


PERMUTATION_LIMIT = 13
"""Up to this many changes with ties or zeros, ``scipy.stats.wilcoxon`` computes an exact permutation test."""


def signed_rank_test(changes: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of ``changes`` against 0 (zero changes dropped), as
    ``scipy.stats.wilcoxon(changes, zero_method="wilcox")`` computes it: ``(statistic, p_value)``.

    With ties or zeros among at most 13 changes — the usual case for clinical scores such as mRSS — scipy
    enumerates all 2ⁿ sign changes in a permutation test (about 0.1 s per call; the efficacy tab makes one
    per cohort and visit, most of its time on a filter change). The null distribution of the sum of the
    positive ranks is the same as that enumeration but built by convolution, one signed rank at a time, on
    doubled (so integral) mid-ranks; the p-value is scipy's two-sided one, twice the smaller tail.
    ``tests/test_signed_rank.py`` compares it with scipy. Other inputs go to scipy unchanged.
    """
    d = np.asarray(changes, dtype=float)
    nonzero = d[d != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    tied = len(np.unique(ranks)) < len(ranks)
    if len(d) > PERMUTATION_LIMIT or not len(nonzero) or not (tied or len(nonzero) < len(d)) or np.isnan(d).any():
        result = stats.wilcoxon(d, zero_method="wilcox")
        return float(result.statistic), float(result.pvalue)
    doubled = np.rint(2 * ranks).astype(np.int64)
    ways = np.zeros(int(doubled.sum()) + 1)  # ways[s]: sign patterns whose doubled positive-rank sum is s
    ways[0] = 1.0
    for rank in doubled:
        ways[rank:] = ways[rank:] + ways[:-rank].copy()
    total = 2.0 ** len(doubled)
    observed = int(doubled[nonzero > 0].sum())
    p_greater = ways[observed:].sum() / total
    p_less = ways[:observed + 1].sum() / total
    r_plus = float(ranks[nonzero > 0].sum())
    r_minus = float(ranks[nonzero < 0].sum())
    return min(r_plus, r_minus), float(min(1.0, 2 * min(p_greater, p_less)))


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
