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


def _from_counts(both: int, only_a: int, only_b: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image right/wrong of two classifiers from the four cells of the paired 2x2 table."""
    a = np.r_[np.ones(both + only_a, int), np.zeros(only_b + neither, int)]
    b = np.r_[np.ones(both, int), np.zeros(only_a, int), np.ones(only_b, int), np.zeros(neither, int)]
    return a, b


@pytest.mark.parametrize("cells, published", [
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), chapter 8, Cavo et al. (2012):
    # the Newcombe square-and-add interval, -0.0621 (95 % CI -0.1186 to -0.0046); the same value is the
    # contingencytables R package's test (tests/testthat/test-ch8.R).
    ((59, 6, 16, 80), (-0.0621, -0.1186, -0.0046)),
    # Newcombe (1998), Statistics in Medicine 17:2635, table II, example (a): 36, 12, 2, 0; method 10: 0.0569 to 0.3404
    ((36, 12, 2, 0), (0.2, 0.0569, 0.3404)),
])
def test_paired_interval_matches_published_values(cells, published):
    p = paired(*_from_counts(*cells))
    assert (round(p.value, 4), round(p.low, 4), round(p.high, 4)) == published


def _newcombe_reference(n11: int, n12: int, n21: int, n22: int) -> tuple[float, float]:
    """Newcombe's method 10 written out from the paper's formulas, independently of liteship: rows are the first
    classifier (right, wrong), columns the second."""
    z, n = 1.959963984540054, n11 + n12 + n21 + n22

    def wilson_ci(k):
        p = k / n
        root = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return (p + z * z / (2 * n) - root) / (1 + z * z / n), (p + z * z / (2 * n) + root) / (1 + z * z / n)

    r1, c1 = n11 + n12, n11 + n21
    (l1, u1), (l2, u2) = wilson_ci(r1), wilson_ci(c1)
    p1, p2 = r1 / n, c1 / n
    psi = 0.0
    if r1 and n - r1 and c1 and n - c1:
        cross = n11 * n22 - n12 * n21
        psi = (cross - n / 2 if cross > n / 2 else 0 if cross >= 0 else cross) / np.sqrt(r1 * (n - r1) * c1 * (n - c1))
    low = p1 - p2 - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * psi * (p1 - l1) * (u2 - p2))
    high = p1 - p2 + np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * psi * (p2 - l2) * (u1 - p1))
    return low, high


@pytest.mark.parametrize("cells", [(5, 0, 0, 5), (95, 0, 0, 5), (90, 0, 0, 10), (900, 0, 0, 100), (3, 4, 1, 2),
                                   (250, 3, 1, 15), (1, 1, 7, 12), (0, 3, 5, 2), (40, 0, 0, 0), (10, 2, 2, 10)])
def test_paired_interval_matches_the_papers_formula_written_out(cells):
    p = paired(*_from_counts(*cells))
    low, high = _newcombe_reference(*cells)
    assert (p.low, p.high) == pytest.approx((max(-1, low), min(1, high)), abs=2e-6)


def test_no_change_at_50_percent_is_not_a_point():
    """10 images, 5 right, nothing changed: the uncorrected phi is 1 and gave exactly [0, 0], which 'met' any
    budget; the reference gives +-16.66 pt. 95 right of 100 with nothing changed: +-3.85 pt (was +-3.33)."""
    half = paired(*_from_counts(5, 0, 0, 5))
    assert (half.low, half.high) == pytest.approx((-0.1666, 0.1666), abs=1e-4)
    most = paired(*_from_counts(95, 0, 0, 5))
    assert (most.low, most.high) == pytest.approx((-0.0385, 0.0385), abs=1e-4)
