"""The drop vs float is paired on the same images; McNemar's exact test by hand count."""

from dataclasses import replace

from liteship.bench.record import BenchRecord
from liteship.judge.baseline import paired_drop


def _rec(correct: str, content="abc", members="test split, seed 0", **kw) -> BenchRecord:
    top1 = correct.count("1") / len(correct)
    base = dict(variant="v", model="m", recipe="int8", arch=None, alpha=None, size=None, backend="xnnpack", threads=1,
                runtime="", kind="run", status="ok", size_bytes=1, gzip_bytes=1, params=None, sparsity=None,
                top1=top1, images=len(correct), correct=correct, data={"content_hash": content, "members": members},
                top1_ci=(max(0.0, top1 - 0.05), min(1.0, top1 + 0.05)))
    return BenchRecord(**{**base, **kw})


def test_paired_drop_and_mcnemar_by_hand():
    # 100 images: both right on 80, only float right on 9, only the variant right on 1, both wrong on 10.
    f = "1" * 80 + "1" * 9 + "0" * 1 + "0" * 10
    v = "1" * 80 + "0" * 9 + "1" * 1 + "0" * 10
    drop = paired_drop(_rec(v), _rec(f, recipe="float32"))
    assert drop.paired and drop.value == 0.08 and drop.images == 100
    assert (drop.only_float_right, drop.only_variant_right) == (9, 1)
    assert drop.p_value == round(2 * (1 + 10) / 2 ** 10, 6)  # 2 * P(X <= 1), X ~ Binomial(10, 1/2)
    assert drop.low < 0.08 < drop.high and drop.low > 0  # nine against one: a real drop
    assert not drop.decides(0.05) and drop.decides(0.2)


def test_equal_models_are_undecidable_against_a_tight_budget_and_unpaired_without_the_same_images():
    same = "1" * 90 + "0" * 10
    drop = paired_drop(_rec(same), _rec(same, recipe="float32"))
    assert drop.value == 0 and drop.p_value == 1.0
    # 100 equal answers cannot show a difference under 1 pt is absent (a bootstrap said [0, 0] and decided it)
    assert drop.low < 0 < drop.high and not drop.decides(0.01)
    other = paired_drop(_rec(same, content="xyz"), _rec(same, recipe="float32"))
    assert not other.paired and other.low < 0 < other.high  # different images: Newcombe's unpaired interval
    assert paired_drop(replace(_rec(same), correct=None), _rec(same, recipe="float32")).paired is False
    reseeded = paired_drop(_rec(same, members="test split, seed 1"), _rec(same, recipe="float32"))
    assert not reseeded.paired  # the same data split another way: other images, never paired
