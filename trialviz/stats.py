"""Statistics primitives of the report tables: exact binomial confidence limits, Fisher's exact test of many
2 × 2 tables at once, and the Wilcoxon signed-rank test with an exact null distribution for small samples.

Each is checked against scipy or statsmodels (``tests/test_fisher.py``, ``tests/test_signed_rank.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# scipy.stats (0.5 s to import) is imported by the functions that use it, so that a dashboard kernel shows its
# first tab without it.


def exact_ci(successes: Sequence[int] | np.ndarray, trials: Sequence[int] | np.ndarray,
             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Clopper–Pearson (exact binomial) confidence limits of proportions, in percent (0–100); missing
    where there are no trials.

    The limits are quantiles of beta distributions, as ``statsmodels``' ``proportion_confint(method="beta")``
    computes them (``tests/test_tables_stats.py`` compares the two), taken from ``scipy.special`` directly:
    the dashboard's first tab needs them, and scipy.stats takes 0.5 s to import.

    Examples
    --------
    >>> low, high = exact_ci([3], [10])
    >>> round(float(low[0]), 1), round(float(high[0]), 1)
    (6.7, 65.2)
    """
    from scipy.special import betainccinv, betaincinv

    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        tail = (1 - confidence) / 2
        kk, nn = k[ok], n[ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            lo = np.where(kk > 0, betaincinv(kk, nn - kk + 1, tail), 0.0)
            hi = np.where(kk < nn, betainccinv(kk + 1, nn - kk, tail), 1.0)
        low[ok], high[ok] = 100 * lo, 100 * hi
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
    from scipy.stats import hypergeom

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
            rest_args = (args[0][rest], args[1][rest], args[2][rest])
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
    from scipy.stats import hypergeom

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
    from scipy import stats

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


def mann_whitney_null_counts(m: int, n: int) -> np.ndarray:
    """How many of the ``C(m + n, m)`` equally likely orderings of two samples without ties give each value
    ``u = 0 … m·n`` of the Mann–Whitney U statistic: the coefficients of the Gaussian binomial coefficient
    ``[m + n choose m]_q``, built as ``∏ᵢ (1 − q^(n+i)) / (1 − q^i)``, each step an exact polynomial.

    Counts are floats (``C(100, 50)`` is 10²⁹); their ratios, the probabilities, are what is used.

    Examples
    --------
    >>> mann_whitney_null_counts(2, 2).tolist()  # the 6 orderings of two against two
    [1.0, 1.0, 2.0, 1.0, 1.0]
    """
    counts = np.zeros(m * n + 1)
    counts[0] = 1.0
    for i in range(1, m + 1):
        step = n + i
        if step <= m * n:  # multiplication by (1 − q^step), from the counts before it
            counts[step:] = counts[step:] - counts[:-step]
        # division by (1 − q^i): a running sum along each residue class modulo i
        padded = np.concatenate([counts, np.zeros((-len(counts)) % i)])
        counts = padded.reshape(-1, i).cumsum(axis=0).ravel()[:m * n + 1]
    return counts


EXACT_SHIFT_CI_UP_TO = 50
"""Samples of up to this many values each get the exact distribution of U for the shift's CI; larger
ones its normal approximation."""


def hodges_lehmann_shift(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
                         confidence: float = 0.95) -> tuple[float, float, float]:
    """The Hodges–Lehmann estimate of the shift of ``x`` against ``y`` (the median of the ``m·n`` differences
    ``xᵢ − yⱼ``), with its distribution-free confidence interval (Moses): the ``c``-th smallest and largest
    differences, ``c − 1`` the largest value of the Mann–Whitney U with ``P(U ≤ c − 1) ≤ (1 − confidence)/2``.

    The estimate and interval that go with the Mann–Whitney test, which neither scipy nor statsmodels offer.
    ``P(U ≤ u)`` is exact for samples of up to :data:`EXACT_SHIFT_CI_UP_TO` values (ties make it approximate),
    else the normal approximation. The interval is missing where no pair of differences reaches the
    confidence (two against two cannot give 95%).

    Returns
    -------
    tuple of float
        ``(estimate, ci_low, ci_high)``; all missing when a sample is empty.

    Examples
    --------
    >>> hodges_lehmann_shift([4, 6, 9], [1, 2])[0]  # differences 2, 3, 4, 5, 7, 8
    4.5
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return np.nan, np.nan, np.nan
    differences = np.sort(np.subtract.outer(a, b).ravel())
    estimate = float(np.median(differences))
    tail = (1 - confidence) / 2
    if max(m, n) <= EXACT_SHIFT_CI_UP_TO:
        cumulative = np.cumsum(mann_whitney_null_counts(m, n))
        cumulative /= cumulative[-1]
        c = int(np.searchsorted(cumulative, tail, side="right"))  # the u with P(U ≤ u) ≤ tail: 0 … c − 1
    else:
        from scipy import stats

        spread = np.sqrt(m * n * (m + n + 1) / 12)
        c = int(np.floor(m * n / 2 - stats.norm.ppf(1 - tail) * spread))
    if c < 1:
        return estimate, np.nan, np.nan
    return estimate, float(differences[c - 1]), float(differences[m * n - c])
