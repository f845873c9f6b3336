"""The vectorised Fisher exact test of the report tables gives scipy's numbers, table for table."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from trialviz.stats import fisher_p, fisher_p_values


def scipy_p(a: int, n1: int, c: int, n2: int) -> float:
    """The reference: ``scipy.stats.fisher_exact``, blank where the report leaves it blank."""
    if a + c == 0 or n1 == 0 or n2 == 0:
        return float("nan")
    return float(stats.fisher_exact([[a, n1 - a], [c, n2 - c]], alternative="two-sided").pvalue)


def random_tables(seed: int, count: int, max_n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n1 = rng.integers(0, max_n + 1, count)
    n2 = rng.integers(0, max_n + 1, count)
    # rare events (as most preferred terms are), common ones, and anything in between
    rate1 = np.where(rng.random(count) < 0.5, rng.random(count) * 0.05, rng.random(count))
    rate2 = np.where(rng.random(count) < 0.5, rng.random(count) * 0.05, rng.random(count))
    return np.column_stack([rng.binomial(n1, rate1), n1, rng.binomial(n2, rate2), n2])


EDGE_CASES = [
    (0, 10, 0, 10),      # no patient with the event: blank
    (0, 0, 3, 10),       # an empty cohort: blank
    (3, 10, 0, 0),       # an empty reference: blank
    (0, 0, 0, 0),
    (10, 10, 10, 10),    # every patient with the event: p = 1
    (5, 5, 7, 7),
    (1, 1, 0, 1),        # smallest tables
    (0, 1, 1, 1),
    (1, 1, 1, 1),
    (1, 2, 1, 2),        # the observed table is the mode
    (5, 10, 5, 10),
    (10, 10, 0, 10),     # most extreme tables
    (0, 10, 10, 10),
    (0, 5000, 5000, 5000),
    (1, 5000, 0, 5000),  # one event among thousands
    (0, 5000, 1, 5000),
    (2500, 5000, 2500, 5000),
    (1, 3, 40, 100),     # unequal cohorts, both sides of the mode
    (3, 3, 0, 100),
    (0, 3, 100, 100),
    (12, 4990, 30, 5010),
    (7, 20, 3, 2000),
]


@pytest.mark.parametrize("table", EDGE_CASES)
def test_edge_cases_match_scipy(table):
    expected = scipy_p(*table)
    got = fisher_p(*table)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("seed", "count", "max_n"), [(1, 3000, 12), (2, 3000, 60), (3, 1500, 600),
                                                      (4, 400, 6000)])
def test_many_tables_match_scipy(seed, count, max_n):
    tables = random_tables(seed, count, max_n)
    got = fisher_p_values(*tables.T)
    expected = np.array([scipy_p(*map(int, t)) for t in tables])
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-9, atol=1e-300)
    assert ((got[finite] >= 0) & (got[finite] <= 1)).all()


def test_one_call_for_many_tables_is_the_same_as_one_by_one():
    tables = np.array(EDGE_CASES + [tuple(t) for t in random_tables(5, 200, 80)])
    together = fisher_p_values(*tables.T)
    alone = np.array([fisher_p(*map(int, t)) for t in tables])
    np.testing.assert_array_equal(together, alone)
    assert fisher_p_values([], [], [], []).shape == (0,)
