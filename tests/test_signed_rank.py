"""The signed-rank test of the efficacy tables gives ``scipy.stats.wilcoxon``'s numbers, sample for sample.

With ties or zeros among at most 13 changes, scipy runs a permutation test over all 2ⁿ sign patterns, about
65 ms a sample. Many samples are therefore checked against that enumeration written out here directly
(:func:`enumerated`, well under 1 ms), which is itself checked against scipy on samples of every kind.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from trialviz.stats import PERMUTATION_LIMIT, signed_rank_test


def scipy_result(changes: np.ndarray) -> tuple[float, float]:
    result = stats.wilcoxon(changes, zero_method="wilcox")
    return float(result.statistic), float(result.pvalue)


def enumerated(changes: np.ndarray) -> tuple[float, float]:
    """The exact two-sided test by brute force: the sum of the positive ranks under every one of the 2ⁿ sign
    patterns of the non-zero changes, equally likely under the null; p is twice the smaller tail, at most 1."""
    nonzero = changes[changes != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    positive = (np.arange(2 ** len(ranks))[:, None] >> np.arange(len(ranks))) & 1
    sums = positive @ ranks
    observed = float(ranks[nonzero > 0].sum())
    tolerance = 1e-9 * max(1.0, observed)
    p = 2 * min(np.mean(sums >= observed - tolerance), np.mean(sums <= observed + tolerance))
    return min(observed, float(ranks[nonzero < 0].sum())), float(min(1.0, p))


def oracle(changes: np.ndarray) -> tuple[float, float]:
    """scipy's result, by :func:`enumerated` where scipy enumerates too (at most 13 changes)."""
    return enumerated(changes) if len(changes) <= PERMUTATION_LIMIT else scipy_result(changes)


def assert_same(changes: np.ndarray, expected: tuple[float, float] | None = None) -> None:
    ours, theirs = signed_rank_test(changes), expected or scipy_result(changes)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12), changes
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9, abs=1e-15), changes


def random_samples(seed: int, count: int) -> list[np.ndarray]:
    """Integer scores with many ties and zeros (as mRSS changes), half-points, and continuous values."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        n = int(rng.integers(1, PERMUTATION_LIMIT + 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            x = rng.integers(-12, 13, n).astype(float)
        elif kind == 1:
            x = rng.integers(-6, 7, n) / 2 + rng.integers(-2, 3)
        else:
            x = np.round(rng.normal(-2, 5, n), 1)
        if np.count_nonzero(x):  # the efficacy table tests only when some change is not zero
            samples.append(x)
    return samples


def test_the_enumeration_is_scipys_test():
    """The oracle of the tests below gives scipy's statistic and p on small samples with and without ties."""
    samples = [x for x in random_samples(11, 60) if len(x) <= PERMUTATION_LIMIT]
    tied = [x for x in samples if len(np.unique(np.abs(x))) < len(x)]
    assert len(tied) > 15 and len(samples) - len(tied) > 5
    for changes in samples:
        statistic, p = enumerated(changes)
        theirs = scipy_result(changes)
        assert statistic == pytest.approx(theirs[0], rel=1e-12), changes
        assert p == pytest.approx(theirs[1], rel=1e-9, abs=1e-15), changes


def test_matches_scipy_on_many_tied_and_untied_samples():
    samples = random_samples(7, 300)
    tied = [x for x in samples if len(x) <= PERMUTATION_LIMIT and len(np.unique(np.abs(x))) < len(x)]
    assert len(tied) > 100  # the permutation case scipy is slow on is well covered
    for changes in samples:
        assert_same(changes, oracle(changes))


@pytest.mark.parametrize("changes", [
    [1.0],                                   # one change
    [-3.0],
    [0.0, 2.0],                              # a zero and one change
    [2.0, 2.0, 2.0],                         # all tied
    [-1.0, 1.0, -1.0, 1.0],                  # tied, opposite signs: p = 1
    [0.0, 0.0, 0.0, 5.0],                    # mostly zeros
    list(range(1, 14)),                      # 13 distinct changes: scipy's exact distribution
    [1.0] * 13,                              # 13 tied changes: the largest permutation case
    [1.0] * 14,                              # 14: scipy's normal approximation
    [-4.5, 2.25, 2.25, -1.0, 0.0, 7.0, -4.5],
])
def test_matches_scipy_on_edge_cases(changes):
    changes = np.asarray(changes, dtype=float)
    assert_same(changes)
    assert_same(changes, oracle(changes))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-8, 8), min_size=1, max_size=PERMUTATION_LIMIT))
def test_matches_scipy_on_any_small_integer_sample(values):
    changes = np.asarray(values, dtype=float)
    if np.count_nonzero(changes):
        assert_same(changes, enumerated(changes))
