"""Verdicts that must not depend on the order of the records, and one sign for the change vs float everywhere.
Each scenario is built by hand, so its right answer is known without liteship."""

from dataclasses import replace

import pytest

from liteship.judge.budgets import Budgets, judge, load_budgets, runtime_failures
from tests.judge.test_findings import FLOAT, rec

OPS = {"CONV_2D": "2.3"}  # every op the table knows loads in 2.14: only the real load can refuse the file
REFUSED = {"runtime": "tflite-runtime 2.14.0", "loaded": False, "error": "Didn't find op for builtin opcode",
           "agreement": None, "images": 0, "max_abs_diff": None}
MP_REFUSED = {"runtime": "mediapipe 0.10.14", "loaded": False, "error": "Unsupported op"}


def _scenario():
    """One int8 file benched twice: xnnpack with a real 2.14 load that refused it (and MediaPipe refusing it), then
    gpu's coverage in a later bench without either, and with a contract problem only that bench recorded."""
    xnnpack = replace(rec("int8", FLOAT), compat={"ops": OPS, "min_runtime": "2.3", "real": REFUSED},
                      task_api=MP_REFUSED)
    gpu = replace(rec("int8", FLOAT), backend="gpu", kind="coverage", threads=None, latency_ms=None, top1=None,
                  correct=None, compat={"ops": OPS, "min_runtime": "2.3"}, task_api=None,
                  contract={"ok": False, "problems": ["output 0 has 9 classes, labels.txt 10"]})
    return xnnpack, gpu


@pytest.mark.parametrize("check, fails_by_hand", [
    ("target_runtime", True),  # 2.14 refused to load it: the app cannot ship it, whatever the table says
    ("task_api", True),  # MediaPipe refused it
    ("require_contract", True),  # a contract problem recorded for the file is the file's
])
def test_the_files_facts_are_judged_the_same_whatever_the_order(check, fails_by_hand):
    xnnpack, gpu = _scenario()
    budgets = Budgets(target_runtime="2.14", task_api="mediapipe", require_contract=True)
    verdicts = []
    for order in ([xnnpack, gpu], [gpu, xnnpack]):
        (v,) = [v for v in judge(budgets, "mnv2-int8", order, order) if v.id == check]
        verdicts.append((v.passed, v.message))
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0] is not fails_by_hand


MP_LOADED = {"runtime": "mediapipe 0.10.9", "loaded": True, "error": None, "agreement": 1.0, "top1": 0.75,
             "images": 200}


def _mirror():
    """The refusals on the other record: xnnpack with the op table only (no real load) and an older MediaPipe that
    loaded the file, gpu's later coverage bench holding the real 2.14 load that refused it and MediaPipe's refusal.
    (xnnpack's MediaPipe passes on its own: with none there, task_api would fail on "not measured" whatever record
    were chosen.)"""
    xnnpack = replace(rec("int8", FLOAT), compat={"ops": OPS, "min_runtime": "2.3"}, task_api=MP_LOADED)
    gpu = replace(rec("int8", FLOAT), backend="gpu", kind="coverage", threads=None, latency_ms=None, top1=None,
                  correct=None, compat={"ops": OPS, "min_runtime": "2.3", "real": REFUSED}, task_api=MP_REFUSED)
    return xnnpack, gpu


@pytest.mark.parametrize("check", ["target_runtime", "task_api"])
def test_a_refusal_on_the_second_record_fails_the_file_in_either_order(check):
    """By hand: 2.14 and MediaPipe each refused the file once, so it cannot ship, whichever record comes first."""
    budgets = Budgets(target_runtime="2.14", task_api="mediapipe", require_contract=False)
    for one in _mirror():  # each record alone: the table and the older MediaPipe pass, the refusals fail
        (v,) = [v for v in judge(budgets, "mnv2-int8", [one], [one]) if v.id == check]
        assert v.passed is (one.backend == "xnnpack"), (check, one.backend, v.message)
    for order in (list(_mirror()), list(_mirror())[::-1]):
        (v,) = [v for v in judge(budgets, "mnv2-int8", order, order) if v.id == check]
        assert not v.passed, (check, [r.backend for r in order], v.message)


def test_the_runtime_failure_lines_do_not_depend_on_the_order():
    xnnpack, gpu = _scenario()
    first, second = runtime_failures([xnnpack, gpu], "2.14"), runtime_failures([gpu, xnnpack], "2.14")
    assert first == second and any("refused it" in line for line in first)


def _pair(float_right: int, int8_right: int, n: int = 269):
    """float32 and int8 on n images: float right on the first float_right, int8 on the first int8_right."""
    f = "1" * float_right + "0" * (n - float_right)
    i = "1" * int8_right + "0" * (n - int8_right)
    return [rec("float32", f), rec("int8", i, size=30_000)]


def test_the_change_vs_float_has_one_sign_in_the_gate_line_and_the_report():
    """int8 right on one image more than float32 (264 vs 263 of 269): +0.37 pt, by hand, in every output."""
    from liteship.judge.decision import decide
    from liteship.judge.gate import VariantVerdict
    from liteship.report import build

    records = _pair(263, 264)
    budgets = Budgets(max_accuracy_drop=0.02, require_contract=False)
    verdicts = [VariantVerdict(r.variant, r.recipe, r.model, tuple(judge(budgets, r.variant, [r], records)))
                for r in records]
    (drop,) = verdicts[1].verdicts
    assert drop.passed and drop.measured == pytest.approx(100 / 269, abs=1e-4) and drop.limit == -2.0
    assert "+0.37 pt >= -2.00 pt" in drop.message
    low, high = drop.message.split("95 % interval [")[1].split("] pt")[0].split(", ")
    assert float(low) < 0.37 < float(high) and float(high) > -float(low)  # the change's interval, around +0.37
    report = build(records, decide(records, budgets, "size", verdicts), [], "r").markdown
    assert f"+0.37 pt [{low}, {high}] vs its float32" in report  # the decision: the same value and interval
    assert f"+0.37 pt [{low}, {high}] |" in report  # the variants table too
    assert "negative: the variant is worse" in report  # the convention, said in the legend


@pytest.mark.parametrize("table, drop, agreement", [
    ("", 0.02, 0.97),  # an empty table cannot mean "judge nothing": the default limits
    ('backend = "fp16"\nthreads = 2\n', 0.02, 0.97),  # where to judge, not what: the default limits there
    ("require_contract = false\n", 0.02, 0.97),
    ("max_size_kb = 500\n", None, None),  # a table that sets a limit is the whole list
])
def test_a_budgets_table_that_sets_no_limit_keeps_the_default_ones(tmp_path, table, drop, agreement):
    path = tmp_path / "liteship.toml"
    path.write_text("[budgets]\n" + table)
    budgets = load_budgets(path)
    assert (budgets.max_accuracy_drop, budgets.min_agreement) == (drop, agreement)


def test_compare_writes_the_change_and_its_interval_with_one_sign():
    """Ten images fewer right of 100, none more (paired): a change of -10.00 pt by hand, which its interval must
    hold (the drop's interval, [+5, +17] or so, would not)."""
    from liteship.judge.compare import Thresholds, compare
    from liteship.report.compare import render

    base = [rec("int8", "1" * 90 + "0" * 10)]
    new = [rec("int8", "1" * 80 + "0" * 20)]
    changes, added, removed = compare(base, new, Thresholds())
    line = next(line for line in render(changes, added, removed).splitlines() if " top1: " in line)
    assert "0.9000 -> 0.8000 (-10.00 pt)" in line
    low, high = (float(x) for x in line.split("95 % interval [")[1].split("] pt")[0].split(", "))
    assert low < -10.0 < high < 0  # ten against none: a real loss, and the interval is the change's
