"""Intervals and tests on per-image right/wrong: the one home of the statistics every stage shares.

``wilson`` bounds one accuracy; ``paired`` bounds the difference of two
classifiers scored on the same images (a paired bootstrap) and tests it with
McNemar's exact test on the images exactly one of them gets right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
BOOTSTRAP = 2000


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion: sound at 0 and 1 and for small n, unlike the normal one."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6))


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


def paired(a_correct: np.ndarray, b_correct: np.ndarray, seed: int = 0) -> Paired:
    """Paired bootstrap interval of mean(a) - mean(b) over images (0/1 arrays of equal length)."""
    a = np.asarray(a_correct, dtype=np.int64)
    b = np.asarray(b_correct, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("paired() takes two 0/1 arrays of the same, non-zero length")
    d = a - b
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, len(d), size=(BOOTSTRAP, len(d)))].mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    only_a, only_b = int(np.sum(d == 1)), int(np.sum(d == -1))
    return Paired(round(float(d.mean()), 6), round(float(low), 6), round(float(high), 6), len(d), only_a, only_b,
                  round(mcnemar(only_a, only_b), 6))
