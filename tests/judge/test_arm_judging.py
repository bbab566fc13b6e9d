"""ARM counts judged like any other number, on hand-built records whose right answers are known by hand."""

from dataclasses import replace

import pytest

from liteship.judge.budgets import Budgets, backend_problem, judge
from liteship.judge.compare import Thresholds, compare
from liteship.judge.decision import decide
from liteship.judge.findings import arm_disagrees, orders_disagree
from liteship.judge.gate import VariantVerdict
from tests.judge.test_findings import FLOAT, rec

A15 = {"qemu_cpu": "max,sve=off,sme=off", "midr": "0x610f0230", "features": ["asimd", "i8mm"], "phones": "A15"}
TOOL = {"qemu": "qemu-aarch64 version 7.2.22", "plugin_sha256": "ab" * 32}


def arm(r, per_invoke, backend="arm64-a15", agreement=1.0, emulation=A15, tool=TOOL):
    return replace(r, backend=backend, kind="count", latency_ms=None, reference_agreement=agreement,
                   instructions={"per_invoke": per_invoke, "isa": "aarch64", "threads": 1, "tool": tool},
                   emulation=emulation, reference_max_diff=0.01)


def x86(r, per_invoke, p50):
    return replace(r, instructions={"per_invoke": per_invoke, "isa": "x86_64", "threads": 1, "tool": {"v": 1}},
                   latency_ms=replace(r.latency_ms, p50=p50, min=p50 * 0.9, ci_low=p50 * 0.99, ci_high=p50 * 1.01))


def _run():
    f32, i8 = rec("float32", FLOAT), rec("int8", FLOAT)
    # x86: int8 1.45x float32's instructions and 1.30x its time; the phone's ISA: int8 0.58x float32's.
    return [x86(f32, 4_000_000, 1.0), x86(i8, 5_800_000, 1.3), arm(f32, 5_000_000), arm(i8, 2_900_000)]


def test_max_instructions_on_an_arm_backend_judges_that_backends_count_exactly():
    records = _run()
    budgets = Budgets(backend="arm64-a15", max_instructions_m=2.9, require_contract=False)
    i8 = [r for r in records if r.recipe == "int8"]
    (v,) = judge(budgets, "mnv2-int8", i8, records)
    assert v.passed and v.measured == 2.9 and "arm64-a15, aarch64" in v.check  # 2,900,000 = 2.9 M: the limit
    (v,) = judge(replace(budgets, max_instructions_m=2.899999), "mnv2-int8", i8, records)
    assert not v.passed
    (v,) = judge(replace(budgets, backend="xnnpack"), "mnv2-int8", i8, records)
    assert v.measured == 5.8 and not v.passed  # on x86 the same variant is over


def test_a_count_of_zero_is_not_a_pass():
    records = [replace(r, instructions=replace(r.instructions, per_invoke=0)) if r.kind == "count" else r
               for r in _run()]
    (v,) = judge(Budgets(backend="arm64-a15", max_instructions_m=100, require_contract=False), "mnv2-int8",
                 [r for r in records if r.recipe == "int8"], records)
    assert not v.passed and "not measured" in v.message


def test_a_latency_budget_on_an_arm_backend_is_refused_up_front():
    why = backend_problem(Budgets(backend="arm64-a15", max_latency_ms=1.0), _run())
    assert why and "times nothing" in why


def test_prefer_instructions_ranks_by_the_budget_backends_count():
    records = _run()
    for backend, expected in (("arm64-a15", "mnv2-int8"), ("xnnpack", "mnv2-float32")):
        budgets = Budgets(backend=backend, require_contract=False, max_accuracy_drop=0.5)
        verdicts = [VariantVerdict(v, None, "mnv2", tuple(judge(budgets, v, [r for r in records if r.variant == v],
                                                                records)))
                    for v in ("mnv2-float32", "mnv2-int8")]
        chosen = decide(records, budgets, "instructions", verdicts).chosen
        assert chosen.variant == expected, backend


def test_the_report_warns_where_x86_and_the_arm_isa_disagree():
    (f,) = orders_disagree(_run(), Budgets())
    assert f.kind == "order" and f.variants == ("mnv2-int8", "mnv2-float32")
    # by hand: x86 p50 1.3 / 1.0 (intervals apart); aarch64 2.9 M / 5.0 M = 0.58; x86's count (1.45x) agrees with x86
    assert "int8 against float32: 1.30× by x86 ms (xnnpack, 1 thread(s)), but 0.58× by counts (arm64-a15, aarch64 " \
        "instructions)." in f.message and "1 pair(s)" in f.message
    same_order = [r if r.kind != "count" or r.recipe != "int8" else arm(r, 6_000_000) for r in _run()]
    assert orders_disagree(same_order, Budgets()) == []  # 1.2x on ARM too: nothing to warn about


def test_an_arm_disagreement_with_x86_is_a_finding():
    records = _run()
    assert arm_disagrees(records) == []
    (f,) = arm_disagrees([arm(rec("int8", FLOAT), 2_900_000, agreement=0.95)])
    assert "0.9500" in f.message and "arm64-a15" in f.message


@pytest.mark.parametrize("change,verdict", [
    ({}, "ok"),
    ({"emulation": {**A15, "qemu_cpu": "cortex-a76"}}, "not judged: another emulated CPU"),
    ({"tool": {**TOOL, "plugin_sha256": "cd" * 32}}, "not judged: counted with other tools"),
])
def test_compare_judges_arm_counts_exactly_only_for_the_same_emulation_and_tools(change, verdict):
    base = [arm(rec("int8", FLOAT), 2_900_000)]
    new = [arm(rec("int8", FLOAT), 2_929_000, emulation=change.get("emulation", A15), tool=change.get("tool", TOOL))]
    changes, _, _ = compare(base, new, Thresholds(max_instructions_increase=0.01))
    (c,) = [c for c in changes if c.metric == "instructions"]
    assert c.verdict == verdict
    if verdict == "ok":
        assert c.change == pytest.approx(0.01)  # 29,000 / 2,900,000: exactly at the 1 % limit


def test_one_record_speaks_for_a_variant_whatever_the_file_order():
    from liteship.judge.budgets import budget_record
    from liteship.report.tables import rows

    records = []
    for recipe, p50_x, p50_f in (("float32", 1.0, 9.0), ("int8", 0.5, 7.0)):
        r = rec(recipe, FLOAT, p50=p50_x)
        records += [replace(r, backend="fp16", latency_ms=replace(r.latency_ms, p50=p50_f, min=p50_f * 0.9)), r]
    budgets = Budgets()
    for order in (records, records[::-1]):
        shown = {row.variant: (row.p50_ms, row.backend) for row in rows(order)}
        judged = {v: budget_record(budgets, [r for r in order if r.variant == v]).latency_ms.p50
                  for v in ("mnv2-float32", "mnv2-int8")}
        assert shown == {v: (p50, "xnnpack@1") for v, p50 in judged.items()} == \
            {"mnv2-float32": (1.0, "xnnpack@1"), "mnv2-int8": (0.5, "xnnpack@1")}
