"""Which variant every other is compared with: the one rule, for every layer.

A model's baseline is its ``float32`` variant (the plain conversion, float32 weights and math): the drop vs float,
the latency relative to float timed in the same rounds, the order a sweep benches in (the baseline first) and the
findings against it all ask :func:`is_baseline`. Optimize registers the recipe under :data:`BASELINE_RECIPE`, and the
judge's statistics against it live in :mod:`liteship.judge.baseline`.
"""

from __future__ import annotations

BASELINE_RECIPE = "float32"


def is_baseline(recipe: str | None) -> bool:
    """Whether a variant of ``recipe`` is its model's baseline."""
    return recipe == BASELINE_RECIPE
