"""The shared statistics, checked against SciPy's implementations and published values."""

import numpy as np
import pytest

from liteship.stats import mcnemar, paired, wilson

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (81, 263), (1, 3), (970, 1000), (37, 40)])
def test_wilson_matches_scipy(k, n):
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=2e-6)


def test_wilson_matches_a_published_value():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263, Wilson score interval 0.2553 to 0.3662
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize("b, c", [(0, 0), (0, 5), (3, 11), (10, 10), (1, 30)])
def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs(b, c):
    expected = 1.0 if b + c == 0 else scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue
    assert mcnemar(b, c) == pytest.approx(expected, abs=1e-9)


def test_paired_counts_and_difference_by_hand():
    a = np.array([1, 1, 0, 1, 0, 1, 1, 1])
    b = np.array([1, 0, 0, 1, 1, 0, 1, 1])
    p = paired(a, b)
    assert (p.only_a_right, p.only_b_right, p.images) == (2, 1, 8)
    assert p.value == pytest.approx((6 - 5) / 8)
    assert p.low <= p.value <= p.high


def test_paired_refuses_arrays_that_do_not_pair():
    with pytest.raises(ValueError):
        paired(np.array([1, 0]), np.array([1, 0, 1]))
