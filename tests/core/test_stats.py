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


def test_no_image_differs_is_not_certainty():
    """Ten images, both right on all: the difference is 0 in this sample, and 10 images cannot rule out a few
    points either way (a bootstrap said [0, 0] here)."""
    p = paired(np.ones(10, int), np.ones(10, int))
    assert p.value == 0 and p.low < -0.2 and p.high > 0.2
    big = paired(np.r_[np.ones(970, int), np.zeros(30, int)], np.r_[np.ones(970, int), np.zeros(30, int)])
    assert -0.01 < big.low < 0 < big.high < 0.01  # many agreeing images: a narrow interval, still not a point


@pytest.mark.parametrize("n, p_a, p_b, discordant", [(10, 0.95, 0.95, 0.04), (30, 0.9, 0.85, 0.08),
                                                    (200, 0.97, 0.96, 0.02), (1000, 0.9, 0.9, 0.03)])
def test_paired_interval_covers_the_true_difference_95_percent_of_the_time(n, p_a, p_b, discordant):
    """A known scenario: draw paired right/wrong with set accuracies and discordance; the interval must hold the
    true difference in about 95 % of 2000 draws (at least 93 %; a bootstrap covers far less at small n)."""
    rng = np.random.default_rng(1)
    only_a = (discordant + (p_a - p_b)) / 2
    only_b = discordant - only_a
    both = p_b - only_b
    probs = [both, only_a, only_b, 1 - both - only_a - only_b]
    hits = 0
    for _ in range(2000):
        cell = rng.choice(4, size=n, p=probs)
        a, b = np.isin(cell, (0, 1)).astype(int), np.isin(cell, (0, 2)).astype(int)
        iv = paired(a, b)
        hits += iv.low - 1e-9 <= p_a - p_b <= iv.high + 1e-9
    assert hits / 2000 >= 0.93
