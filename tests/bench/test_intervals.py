"""Accuracy comes with its uncertainty: Wilson intervals checked against published values."""

import pytest

from liteship.bench.accuracy import wilson


@pytest.mark.parametrize("successes, n, low, high", [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3 (Wilson score).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_matches_the_published_intervals(successes, n, low, high):
    got = wilson(successes, n)
    assert got == pytest.approx((low, high), abs=6e-5)


def test_one_image_of_digits_test_split_is_wider_than_a_budget_of_one_point():
    low, high = wilson(263, 269)  # 0.9777: the demo's small_cnn
    assert high - low > 0.03  # three points wide: a 1 pt budget cannot be decided on 269 images
