"""A report says one thing once: findings of one kind are one finding, ranked; a slowdown of a few % is not one;
where x86 and the phone's instruction set disagree, one finding says so, with the order the decision used."""

from liteship.judge.budgets import Budgets
from liteship.judge.findings import findings, slower_than_plain
from tests.judge.test_arm_judging import arm
from tests.judge.test_findings import FLOAT, rec

BUDGETS = Budgets(max_accuracy_drop=0.02)


def _slow_run(models=("a", "b", "c")):
    """Four float-compute recipes per model, each slower than its float32 (0.30 ms) by its own factor."""
    out = []
    for model in models:
        out.append(rec("float32", FLOAT, p50=0.30, ci=(0.29, 0.31), model=model))
        for recipe, p50 in (("float16", 0.45), ("dynamic", 0.60), ("prune", 0.36), ("cluster", 0.90)):
            out.append(rec(recipe, FLOAT, p50=p50, ci=(p50 * 0.99, p50 * 1.01), model=model))
    return out


def test_twelve_slowdowns_are_one_finding_listing_them_largest_first():
    records = _slow_run()
    slow = [f for f in findings(records, BUDGETS) if f.kind == "slower"]
    assert len(slow) == 1  # was 12: one warning per variant
    (f,) = slow
    assert f.message.startswith("12 variant(s) slower than a plain variant")
    ratios = [float(part.split("(")[-1].split("×")[0]) for part in f.message.split("; ") if "×)" in part]
    assert ratios == sorted(ratios, reverse=True) and ratios[0] == 3.0 and len(ratios) == 12  # by hand: 0.90/0.30
    assert f.explain == "liteship explain RUN a-cluster --vs a-float32"  # the largest first


def test_a_slowdown_of_one_and_a_half_percent_is_not_called_one():
    # prune_int8 1.5 % slower than int8, outside both (narrow) intervals: a shared machine's drift, not a finding
    records = [rec("float32", FLOAT, p50=0.30, ci=(0.299, 0.301)), rec("int8", FLOAT, p50=0.200, ci=(0.1995, 0.2005)),
               rec("prune_int8", FLOAT, p50=0.203, ci=(0.2025, 0.2035))]
    assert slower_than_plain(records) == []
    records[-1] = rec("prune_int8", FLOAT, p50=0.22, ci=(0.219, 0.221))  # 10 %: a finding
    assert len(slower_than_plain(records)) == 1


def test_where_the_phone_orders_a_pair_the_other_way_one_finding_says_so_with_the_order_the_decision_used():
    f32, i8, q = (rec("float32", FLOAT, p50=0.30, ci=(0.29, 0.31)), rec("int8", FLOAT, p50=0.2, ci=(0.19, 0.21)),
                  rec("qat_int8", FLOAT, p50=0.50, ci=(0.49, 0.51)))
    f16 = rec("float16", FLOAT, p50=0.40, ci=(0.39, 0.41))
    # x86: qat_int8 2.5x int8, float16 1.33x float32; aarch64: qat_int8 0.5x int8 (cheaper), float16 1.2x float32
    records = [f32, i8, q, f16, arm(f32, 5_000_000), arm(i8, 2_000_000), arm(q, 1_000_000), arm(f16, 6_000_000)]
    found = findings(records, BUDGETS)
    (slow,) = [f for f in found if f.kind == "slower"]
    assert slow.message.index("qat_int8 is slower") < slow.message.index("float16 is slower")  # largest first
    assert "instruction" not in slow.message  # the orders are the one order finding's
    (order,) = [f for f in found if f.kind == "order"]
    assert order.message.startswith("The decision used no cost order: it ranked by accuracy")
    # by hand: qat_int8 0.50 / 0.30 = 1.67x float32 on x86, 1.0 / 5.0 = 0.20x on arm64-a15; against int8 2.50x, 0.50x
    assert "mnv2 qat_int8 against float32: 1.67× by x86 ms (xnnpack, 1 thread(s)), but 0.20× by counts " \
        "(arm64-a15, aarch64 instructions)" in order.message
    assert "mnv2 qat_int8 against int8: 2.50× by x86 ms (xnnpack, 1 thread(s)), but 0.50× by counts" in order.message
    assert "float16" not in order.message  # 1.33x and 1.2x: the same order
    timed = findings(records, Budgets(max_latency_ms=1.0))
    assert "The decision used x86 ms (xnnpack, 1 thread(s)): it judged max_latency_ms (p50) by it." in \
        next(f for f in timed if f.kind == "order").message
