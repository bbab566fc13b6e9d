"""What a budget on a phone's backend judges, and what its verdict says, on records made by hand as bench writes
them (tests/judge/test_predicted_budgets.py), each answer worked out here.

- a variant measured on the device at the budget's threads is judged on its measurement even where an older
  prediction of it is still in the run (an import interrupted between its two writes, before it made one);
- a prediction whose count or whose measurements changed since it was made is stale: not judged, predict again;
- a number that is missing says why and what makes it; an interval is written to the judged value's precision.
"""

import dataclasses

import pytest

from liteship.app.cli import main
from liteship.bench import BenchRecord
from liteship.judge import Budgets, judge
from tests.judge.test_predicted_budgets import _decide, measured, predicted, RESTS_ON, x86

ON = dict(backend="predicted:iphone-13", require_contract=False)


def _count(variant: str, per_invoke: int, backend: str = "arm64-a15") -> BenchRecord:
    """The variant's count record on an ISA profile, as bench writes one."""
    return BenchRecord.from_dict({
        "variant": variant, "model": "mnv2", "recipe": "int8", "arch": None, "alpha": None, "size": 32,
        "backend": backend, "threads": 1, "runtime": "", "kind": "count", "status": "ok", "size_bytes": 1,
        "gzip_bytes": 1, "params": None, "sparsity": None,
        "instructions": {"per_invoke": per_invoke, "isa": "aarch64", "threads": 1}})


def _one(budgets, records, variant, key="max_latency_ms", run_dir=None):
    mine = [r for r in records if r.variant == variant]
    (v,) = [v for v in judge(budgets, variant, mine, records, *([run_dir] if run_dir else [])) if v.id == key]
    return v


def _rested_on():
    """The four measurements the hand-made predictions rest on, as device records of the iPhone 13."""
    return [measured(m["variant"], m["median_ms"]) for m in RESTS_ON]


def test_a_measurement_beside_an_old_prediction_of_the_same_variant_is_judged_not_the_prediction():
    # v: measured 3.3 ms on the iPhone 13 and still predicted at 3.1 (2.6-3.7): a budget of 3.5 judges 3.3, passing,
    # where the prediction's upper end (3.7) would fail it
    records = [predicted("v", 3.1, 2.6, 3.7), measured("v", 3.3, recipe="int8"), x86("v")]
    v = _one(Budgets(max_latency_ms=3.5, **ON), records, "v")
    assert v.passed and v.measured == 3.3 and v.record.backend == "device:iphone-13"
    assert v.message.endswith("[measured on the device, not predicted: device:iphone-13's median]")
    # a measurement at 4 threads stands in at 4 threads only: at 1 the prediction's upper end is judged
    at4 = [predicted("v", 3.1, 2.6, 3.7), measured("v", 1.2, recipe="int8", threads=4), x86("v")]
    v = _one(Budgets(max_latency_ms=3.5, **ON), at4, "v")
    assert not v.passed and v.measured == 3.7 and v.record.backend == "predicted:iphone-13"


def test_a_prediction_whose_count_changed_since_is_stale_and_not_judged():
    records = [predicted("v", 3.1, 2.6, 3.7), x86("v"), *_rested_on()]  # predicted from 35.5 M instructions
    same = _one(Budgets(max_latency_ms=4.0, **ON), [*records, _count("v", 35_500_000)], "v")
    assert same.passed and same.measured == 3.7
    v = _one(Budgets(max_latency_ms=4.0, **ON), [*records, _count("v", 106_500_000)], "v", run_dir="runs/pets")
    # 4.0 would pass the old upper end (3.7): a stale prediction is not judged at all
    assert not v.passed and v.measured is None
    assert v.message == ("max_latency_ms (p50, predicted:iphone-13, 1 thr): not judged (limit 4.000 ms): the "
                         "prediction is stale: it scaled an arm64-a15 count of 35.500 M, and the variant's count there "
                         "is 106.500 M now; predict again: liteship device predict runs/pets")


def test_a_prediction_whose_measurements_changed_since_is_stale():
    base = [predicted("v", 3.1, 2.6, 3.7), x86("v"), _count("v", 35_500_000)]
    assert _one(Budgets(max_latency_ms=4.0, **ON), [*base, *_rested_on()], "v").passed  # the very four
    again = [measured(m["variant"], 1.9 if m["variant"] == "m2" else m["median_ms"]) for m in RESTS_ON]
    v = _one(Budgets(max_latency_ms=4.0, **ON), [*base, *again], "v")  # m2 measured again: 1.9, not 1.85
    assert v.measured is None and "stale: it rests on 4 measurement(s) on the iPhone 13, and the device's records " \
                                  "at 1 thread(s) differ from them now (m2: measured" in v.message
    # a measurement it does not rest on, of a variant counted on arm64-a15: imported since (an interrupted import)
    new = [*base, *_rested_on(), measured("m5", 2.5), _count("m5", 28_000_000)]
    assert "differ from them now (m5:" in _one(Budgets(max_latency_ms=4.0, **ON), new, "v").message
    # one of a variant not counted there could not have been fitted on: not held against it
    assert _one(Budgets(max_latency_ms=4.0, **ON), [*base, *_rested_on(), measured("m6", 2.5)], "v").passed
    # a stale prediction is ranked last by --prefer latency: b (upper end 3.2) before stale a (3.0)
    ranked = [predicted("a", 2.0, 1.5, 3.0), x86("a"), _count("a", 99_000_000), predicted("b", 2.4, 2.2, 3.2),
              x86("b", "dynamic")]
    assert _decide(ranked, Budgets(max_size_kb=1000.0, **ON)).chosen.variant == "b"


def test_a_variant_without_a_prediction_is_told_what_makes_one():
    records = [predicted("p", 3.1, 2.6, 3.7), x86("p"), x86("n", "dynamic"), x86("c", "float16"),
               _count("c", 12_000_000), *_rested_on()]
    counted = _one(Budgets(max_latency_ms=3.5, **ON), records, "c", run_dir="runs/pets")
    # counted on the profile, and not predicted: predicted before it was counted, or the fit gave it 0 ms or less
    assert counted.message == (
        "max_latency_ms (p50, predicted:iphone-13, 1 thr): not predicted (limit 3.500 ms): predicted:iphone-13 holds "
        "no prediction of it, though it is counted on arm64-a15 (12.000 M): the fit gave it 0 ms or less, or it was "
        "counted after the last prediction; liteship device predict runs/pets predicts it, or says why not")
    uncounted = _one(Budgets(max_latency_ms=3.5, **ON), records, "n", run_dir="runs/pets")
    assert uncounted.message.endswith("and it has no arm64-a15 count; count it: liteship bench runs/pets --backends "
                                      "arm64-a15 (which predicts it too)")


def test_accuracy_on_a_phone_s_backend_is_read_from_the_record_scored_here_or_says_which_is_missing():
    better = "1" * 160 + "0" * 40  # 160 of 200 against float32's 150: +5.00 pt
    records = [measured("f", 3.3), x86("f", "float32"), x86("v", "int8", better)]  # v: no device record
    budgets = Budgets(backend="device:iphone-13", max_accuracy_drop=0.02, require_contract=False)
    v = _one(budgets, records, "v", "max_accuracy_drop")
    assert v.passed and v.measured == 5.0 and v.record.backend == "xnnpack"
    assert "[scored on xnnpack, 1 thread(s): device:iphone-13 brought times only]" in v.message
    missing = _one(budgets, [measured("f", 3.3), x86("f", "float32"), measured("w", 2.0, recipe="int8")], "w",
                   "max_accuracy_drop", run_dir="runs/pets")
    assert not missing.passed and missing.message == (
        "max_accuracy_drop: not scored (limit -2.00 pt): a budget on device:iphone-13 reads accuracy from the record "
        "scored here (xnnpack, 1 thread(s)), and the run holds none of this variant; bench it: liteship bench "
        "runs/pets")


@pytest.mark.parametrize("stat", ["p90", "p99"])
def test_a_device_s_p90_or_p99_says_its_tools_print_p5_and_p95(stat):
    for backend in ("device:iphone-13", "predicted:iphone-13"):  # on a prediction's backend, the stand-in's
        v = _one(Budgets(backend=backend, latency_stat=stat, max_latency_ms=50.0, require_contract=False),
                 [measured("m", 3.3), x86("m", "float32"), predicted("p", 3.1, 2.6, 3.7)], "m")
        assert v.measured is None and v.message == (
            f"max_latency_ms ({stat}, {backend}, 1 thr): not measured (limit 50.000 ms): a device's benchmark tool "
            f"(benchmark_model, the iOS benchmark app, the leaderboard) prints p5, the median and p95, and neither p5 "
            f"nor p95 is a {stat}, so device:iphone-13 holds none; judge its median: latency_stat = \"p50\"")


def test_a_prediction_s_interval_is_written_to_the_judged_value_s_precision_and_says_extrapolated():
    v = _one(Budgets(max_latency_ms=0.150, **ON), [predicted("v", 0.13, 0.11, 0.151), x86("v")], "v")
    assert v.message == ("max_latency_ms (p50 upper end, predicted:iphone-13, 1 thr) FAILED: 0.151 ms > 0.150 ms "
                         "(margin -0.001 ms) [predicted 0.130 ms, 95 % interval 0.110-0.151 ms, upper end judged]")
    far = predicted("v", 0.031, 0.031, 0.054)
    far = dataclasses.replace(far, device={**far.device, "extrapolated": {"side": "below", "ratio": 1.1539}})
    v = _one(Budgets(max_latency_ms=0.3, **ON), [far, x86("v")], "v")
    assert v.passed and "[predicted 0.031 ms, 95 % interval 0.031-0.054 ms (extrapolated: its count is 1.15x below " \
                        "the counts measured on the device;" in v.message


@pytest.fixture
def phone_run(tmp_path):
    from liteship.bench.device_predictions import refresh
    from tests.bench.test_device_predictions import iphone, make_run, NO_SME2

    run, _ = make_run(tmp_path, lambda shas: iphone(shas))
    refresh(run, registered=NO_SME2)
    return run


@pytest.mark.parametrize("backend, said, fix", [
    ("device:iPhone 13", 'a device\'s backend is "device:" and its name in lower case, words joined by "-" '
     "(device:iphone-13), a prediction's \"predicted:\" the same; the run holds device:iphone-13 (iPhone 13), "
     "predicted:iphone-13 (predictions for iPhone 13)", 'Fix: backend = "device:iphone-13".'),
    ("device:iphone-14", '[budgets] backend = "device:iphone-14": the run holds no records of that device; the '
     "devices it holds: device:iphone-13 (iPhone 13), predicted:iphone-13 (predictions for iPhone 13)",
     "Fix: import the device's measurements (liteship device import RUN_DIR FILE... --device NAME"),
])
def test_a_budget_on_a_device_the_run_does_not_hold_names_the_ones_it_does(phone_run, tmp_path, capsys, backend, said,
                                                                             fix):
    (tmp_path / "b.toml").write_text(f'[budgets]\nbackend = "{backend}"\nmax_latency_ms = 8\n')
    assert main(["gate", str(phone_run), "--budgets", str(tmp_path / "b.toml")]) == 2
    err = capsys.readouterr().err
    assert said in err and fix in err and "liteship bench RUN_DIR --backends" not in err
