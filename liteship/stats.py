"""Intervals and tests on per-image right/wrong: the one home of the statistics every stage shares.

``wilson`` bounds one accuracy; ``paired`` bounds the difference of two
classifiers scored on the same images (Newcombe's score interval for paired
proportions, his method 10: sound when no image differs, unlike a bootstrap,
which collapses to [0, 0] there) and tests it with McNemar's exact test on the
images exactly one of them gets right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def _wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion: sound at 0 and 1 and for small n, unlike the normal one."""
    low, high = _wilson(successes, n, z)
    return round(low, 6), round(high, 6)


def mcnemar(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Paired:
    """``a``'s accuracy minus ``b``'s on the same images, with its 95 % interval."""

    value: float
    low: float
    high: float
    images: int
    only_a_right: int
    only_b_right: int
    p_value: float


def _phi(both: int, only_a: int, only_b: int, neither: int) -> float:
    """Newcombe's continuity-corrected correlation of the two proportions (1998, method 10): when AD - BC is
    positive it is reduced by n/2, and phi is 0 where that leaves nothing; a negative AD - BC is used as it is.
    Without the correction, a sample where no image differs at 50 % accuracy has phi = 1 and an interval of
    exactly [0, 0]."""
    n = both + only_a + only_b + neither
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    if not margins:
        return 0.0
    cross = both * neither - only_a * only_b
    if cross > n / 2:
        cross -= n / 2
    elif cross >= 0:
        cross = 0
    return cross / math.sqrt(margins)


def paired(a_correct: np.ndarray, b_correct: np.ndarray) -> Paired:
    """mean(a) - mean(b) over the same images (0/1 arrays of equal length), with Newcombe's 95 % score interval
    for paired proportions (Statistics in Medicine 1998, 17:2635, method 10, with its continuity-corrected phi),
    from the counts alone."""
    a = np.asarray(a_correct, dtype=np.int64)
    b = np.asarray(b_correct, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("paired() takes two 0/1 arrays of the same, non-zero length")
    n = len(a)
    both, only_a = int(np.sum(a & b)), int(np.sum(a & (1 - b)))
    only_b, neither = int(np.sum((1 - a) & b)), int(np.sum((1 - a) & (1 - b)))
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    (l1, u1), (l2, u2) = _wilson(both + only_a, n), _wilson(both + only_b, n)
    phi = _phi(both, only_a, only_b, neither)
    below = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    above = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    diff = p1 - p2
    low, high = max(-1.0, diff - math.sqrt(max(below, 0.0))), min(1.0, diff + math.sqrt(max(above, 0.0)))
    return Paired(round(diff, 6), round(low, 6), round(high, 6), n, only_a, only_b, round(mcnemar(only_a, only_b), 6))
