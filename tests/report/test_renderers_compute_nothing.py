"""What the report shows is computed in judge and bench, worked out here by hand on hand-built records: each model's
Pareto front, the record the per-class section shows, the counts in millions, and explain's shares and ratio."""

from dataclasses import replace
from types import SimpleNamespace

from liteship.bench import Explained, Instructions
from liteship.bench.explain import OpGroup
from liteship.judge import on_front, shown_record
from liteship.report.explain import render
from liteship.report.tables import rows
from tests.judge.test_findings import rec


def _v(recipe, model, size, right, **kw):
    return rec(recipe, "1" * right + "0" * (200 - right), model=model, size=size, **kw)


def test_each_models_front_by_hand():
    records = [
        _v("float32", "small", 400, 150),  # most accurate of small: on its front
        _v("int8", "small", 100, 140),  # smallest of small: on it
        _v("float16", "small", 200, 140),  # as accurate as int8 and bigger: dominated
        _v("prune_int8", "small", 100, 120),  # as small as int8 and worse: dominated
        _v("dynamic_int8", "small", 100, 140),  # int8's equal, better in nothing: both stay on the front
        _v("float32", "big", 900, 190),  # big is better and bigger than all of small: its own front, hides none
        _v("int8", "big", 300, 100),  # smaller than big float32, worse: on big's front though small beats it
    ]
    assert on_front(records) == {"small-float32", "small-int8", "small-dynamic_int8", "big-float32", "big-int8"}
    front = {row.variant: row.front for row in rows(records)}
    assert front == {r.variant: r.variant in on_front(records) for r in records}


def test_rows_carry_the_counts_unrounded_in_millions():
    counted = replace(_v("int8", "m", 100, 150), instructions=Instructions(per_invoke=1_234_567))
    arm = replace(_v("int8", "m", 100, 150, backend="arm64-a15"), kind="count",
                  instructions=Instructions(per_invoke=7_654_321, isa="aarch64"))
    (row,) = rows([counted, arm])
    assert row.instructions_m == 1.234567 and row.arm("arm64-a15") == 7.654321  # not rounded to 1.235 / 7.654


def test_the_per_class_section_shows_the_choice_else_the_most_accurate():
    classes = {"a": 1.0, "b": 0.5}
    lo = replace(_v("int8", "m", 100, 140), per_class_top1=classes)
    hi = replace(_v("float32", "m", 400, 150), per_class_top1=classes)
    hi_2 = replace(hi, threads=2)
    assert shown_record([lo, hi], None) is hi  # no decision: the most accurate
    chosen = SimpleNamespace(chosen=SimpleNamespace(variant=lo.variant), budgets=SimpleNamespace(backend="xnnpack",
                                                                                                 threads=1))
    assert shown_record([hi, lo], chosen) is lo  # the decision's choice, however accurate the others
    none_pass = SimpleNamespace(chosen=None, budgets=SimpleNamespace(backend="xnnpack", threads=2))
    assert shown_record([lo, hi, hi_2], none_pass) is hi_2  # nothing chosen: most accurate, on the budgets' threads
    assert shown_record([replace(lo, per_class_top1=None)], None) is None


def test_explain_shares_and_ratio_by_hand():
    groups = (OpGroup("CONV_2D", "int8", "int8", "int8", 2, 300), OpGroup("FULLY_CONNECTED", "int8", "int8", "int8",
                                                                        1, 100))
    a = Explained("a", "m", "int8", 2048, groups, Instructions(per_invoke=4_000_000, by_op={"gemm": 3_000_000,
                                                                                         "other": 1_000_000}), 3.0, "xnnpack")
    b = replace(a, variant="b", recipe="float32", p50_ms=2.0)
    assert a.mac_share(300) == 0.75 and a.instruction_share(1_000_000) == 0.25 and a.latency_ratio(b) == 1.5
    assert replace(a, instructions=None).instruction_share(1) is None and a.latency_ratio(replace(b, p50_ms=None)) is None
    text = render(a, b)
    assert "75.0 %" in text and "25.0 %" in text and "75.0 %" in text.split("kernel family")[-1]  # gemm's share
    assert "p50 3.000 ms vs 2.000 ms (1.50×)" in text
