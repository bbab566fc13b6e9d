"""The float baseline: which record a variant's "change vs float" is measured against, and how sure it is.

The float32 variant of the same float model, on the same backend and thread
count, scored on the same images. The drop is a paired comparison on those
images (Newcombe's score interval for paired proportions and McNemar's exact
test on the images where exactly one of the two is right). Gate, pick, the plugin and the
reports all take the drop from here, so they cannot disagree about it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liteship.bench import BenchRecord
from liteship.baseline import is_baseline
from liteship.number_formats import pt_interval
from liteship.stats import paired


def float_record(records: list[BenchRecord], model: str | None, backend: str, threads: int | None) -> BenchRecord | None:
    """The float32 record of ``model`` on ``backend`` with ``threads``, if it was measured with accuracy."""
    return next((r for r in records if r.model == model and is_baseline(r.recipe) and r.backend == backend
                 and r.threads == threads and r.status == "ok" and r.top1 is not None), None)


def drop_vs_float(record: BenchRecord | None, records: list[BenchRecord]) -> float | None:
    """float32's top-1 minus ``record``'s (positive: the variant is worse), on the record's backend and threads."""
    if record is None or record.top1 is None:
        return None
    base = float_record(records, record.model, record.backend, record.threads)
    return None if base is None else round(base.top1 - record.top1, 6)


@dataclass(frozen=True)
class Drop:
    """float32's top-1 minus the variant's, with its 95 % interval."""

    value: float
    low: float
    high: float
    images: int
    paired: bool  # the same images, compared one by one
    only_float_right: int | None = None  # discordant pairs (paired only)
    only_variant_right: int | None = None
    p_value: float | None = None  # McNemar's exact test: is the difference real?

    def decides(self, limit: float) -> bool:
        """Whether the interval lies wholly on one side of ``limit``: the test split can decide the budget."""
        return not (self.low <= limit <= self.high)

    def describe(self) -> str:
        how = f"paired, {self.images} images" if self.paired else f"unpaired, {self.images} images"
        p = f"; McNemar p={self.p_value:.3g}" if self.p_value is not None else ""
        # the change's interval (negative: the variant is worse), as every output writes the change
        return f"95 % interval {pt_interval(-self.high, -self.low)} pt ({how}{p})"


def same_images(a: BenchRecord, b: BenchRecord) -> bool:
    """Both records scored the same images in the same order: the same data, the same member list (so the same
    split and seed), per-image results of the same length. The one rule for pairing two records image by image."""
    da, db = a.data or {}, b.data or {}
    return bool(a.correct and b.correct and len(a.correct) == len(b.correct)
                and da.get("content_hash") == db.get("content_hash")
                and da.get("members") is not None and da.get("members") == db.get("members"))


def paired_drop(variant: BenchRecord, base: BenchRecord) -> Drop | None:
    """The drop of ``variant`` vs ``base`` on the same images; unpaired (Newcombe) when they cannot be paired."""
    if variant.top1 is None or base.top1 is None:
        return None
    if not same_images(variant, base):
        return _unpaired(variant, base)
    f = np.frombuffer(base.correct.encode(), np.uint8) - ord("0")
    v = np.frombuffer(variant.correct.encode(), np.uint8) - ord("0")
    p = paired(f, v)
    return Drop(p.value, p.low, p.high, p.images, True, p.only_a_right, p.only_b_right, p.p_value)


def _unpaired(variant: BenchRecord, base: BenchRecord) -> Drop | None:
    """Newcombe's interval for a difference of two independent proportions, from their Wilson intervals."""
    if not (variant.top1_ci and base.top1_ci):
        return None
    p1, (l1, u1) = base.top1, base.top1_ci
    p2, (l2, u2) = variant.top1, variant.top1_ci
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Drop(round(diff, 6), round(low, 6), round(high, 6), min(variant.images or 0, base.images or 0), False)


def drop_with_interval(record: BenchRecord | None, records: list[BenchRecord]) -> Drop | None:
    if record is None:
        return None
    base = float_record(records, record.model, record.backend, record.threads)
    return None if base is None else paired_drop(record, base)
