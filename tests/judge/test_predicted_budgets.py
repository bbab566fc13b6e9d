"""Budgets, the pick and MODEL.md on records of a predicted backend (``predicted:<device>``), made by hand exactly as
the design of issue 34 says bench writes them, with every answer worked out by hand.

A prediction is judged on the upper end of its 95 % interval, never its median: a budget of 3.5 ms on a prediction
of 3.10 ms (interval 2.60-3.70 ms) fails, though 3.10 is under 3.5; 4.0 passes.
"""

import dataclasses
import math
import random

import pytest

from liteship.bench import BenchRecord, LatencyStats
from liteship.judge import Budgets, decide, judge
from liteship.judge.gate import VariantVerdict
from tests.judge.test_findings import FLOAT, rec

DEVICE = "iPhone 13"
FIT = {"form": "scale", "formula": "ms = 87.3 x G instructions", "terms": {"scale": 87.3}, "measurements": 4,
       "loo": {"errors": {"m1": 0.05, "m2": -0.16, "m3": 0.07, "m4": -0.02}, "median": 0.06, "mean": 0.075,
               "worst": 0.16},
       "interval": {"level": 0.95, "method": "student t on log errors", "factor": 1.19}, "considered": {}}
RESTS_ON = [{"variant": v, "median_ms": ms, "instructions": n, "source": f"/phone/{v}.txt", "source_sha256": "0" * 64}
            for v, ms, n in (("m1", 3.1, 35_500_000), ("m2", 1.85, 21_200_000), ("m3", 6.0, 68_700_000),
                             ("m4", 2.2, 25_200_000))]


def predicted(variant, p50, low, high, threads=1, recipe="int8", device=DEVICE) -> BenchRecord:
    """A record of predicted:<device>, field by field as the design says (every latency field but p50 and the
    interval None; instructions None; the device dict with the fit and what it rests on)."""
    slug = "-".join(device.lower().split())
    return BenchRecord(
        variant=variant, model="mnv2", recipe=recipe, arch="mobilenet_v2", alpha=0.35, size=32,
        backend=f"predicted:{slug}", threads=threads, kind="predicted", status="ok", size_bytes=100_000,
        gzip_bytes=90_000, params=None, sparsity=None, sha256="f" * 64, model_path=f"variants/{variant}.tflite",
        node=device, runtime=f"predicted for {device} from arm64-a15 instructions (LiteRT 2.2.0 on the device)",
        latency_ms=LatencyStats(init=None, first=None, p50=p50, p90=None, p99=None, mean=None, std=None, cv=None,
                                min=None, runs=None, rounds=None, ci_low=low, ci_high=high),
        instructions=None,
        device={"device": device, "chip": "A15", "chip_from": "--chip", "predicted": True, "profile": "arm64-a15",
                "instructions": 35_500_000, "fit": FIT, "rests_on": RESTS_ON,
                "statistics": {"p50": "predicted median", "p90": None, "p99": None}, "runtime_version": "2.2.0",
                "os": "iOS 17.4", "threads": threads, "accelerator": "cpu"},
        notes=("predicted from arm64-a15 instructions, not measured: ms = 87.3 x G instructions; 95 % prediction "
               "interval from the leave-one-out errors of 4 measurements (median 6 %, worst 16 %)",))


def measured(variant, median, recipe="float32", threads=1) -> BenchRecord:
    """A record of device:iphone-13 as bench.device_records writes one: the tool's median, no interval."""
    return BenchRecord(
        variant=variant, model="mnv2", recipe=recipe, arch="mobilenet_v2", alpha=0.35, size=32,
        backend="device:iphone-13", threads=threads, kind="device", status="ok", size_bytes=120_000,
        gzip_bytes=110_000, params=None, sparsity=None, node=DEVICE, runtime="LiteRT 2.2.0 on iPhone 13 (iOS 17.4)",
        latency_ms=LatencyStats(init=12.8, first=median + 0.9, p50=median, p90=None, p99=None, mean=median, std=0.06,
                                cv=None, min=median - 0.1, runs=50, rounds=None, ci_low=None, ci_high=None),
        device={"device": DEVICE, "chip": "A15", "os": "iOS 17.4", "runtime_version": "2.2.0", "threads": threads,
                "accelerator": "cpu", "runs": 50, "statistics": {"p50": "median", "p90": None, "p99": None}})


def x86(variant, recipe="int8", correct=FLOAT) -> BenchRecord:
    """The variant's record scored here (xnnpack, 1 thread): its top-1 and contract."""
    r = rec(recipe, correct)
    return BenchRecord.from_dict({**r.to_dict(), "variant": variant})


def _latency(budgets, records, variant):
    every = [*records]
    (v,) = [v for v in judge(budgets, variant, [r for r in every if r.variant == variant], every)
            if v.id == "max_latency_ms"]
    return v


ON = dict(backend="predicted:iphone-13", require_contract=False)


def test_a_prediction_is_judged_on_its_upper_end_3_5_fails_4_0_passes():
    records = [predicted("v", 3.1, 2.6, 3.7), x86("v")]
    over = _latency(Budgets(max_latency_ms=3.5, **ON), records, "v")
    # by hand: the upper end 3.7 is over 3.5 by 0.2, though the prediction itself (3.1) is under it
    assert not over.passed and over.measured == 3.7 and over.margin == pytest.approx(-0.2)
    assert over.check == "max_latency_ms (p50 upper end, predicted:iphone-13, 1 thr)"
    assert "FAILED: 3.700 ms > 3.500 ms (margin -0.200 ms)" in over.message
    assert "[predicted 3.100 ms, 95 % interval 2.600-3.700 ms, upper end judged]" in over.message
    under = _latency(Budgets(max_latency_ms=4.0, **ON), records, "v")
    assert under.passed and under.margin == pytest.approx(0.3)  # 4.0 - 3.7
    assert "ok: 3.700 ms <= 4.000 ms (margin +0.300 ms)" in under.message
    assert under.record.backend == "predicted:iphone-13"


def test_an_upper_end_exactly_at_the_limit_passes_as_every_max_budget_does():
    # max_latency_ms is "at most": a margin of 0 passes, as max_size_kb at exactly its size does. The whole 95 %
    # interval is then at or under the limit; any upper end over it, however little, fails.
    records = [predicted("v", 3.1, 2.6, 3.7), x86("v")]
    at = _latency(Budgets(max_latency_ms=3.7, **ON), records, "v")
    assert at.passed and at.margin == 0.0 and "3.700 ms <= 3.700 ms (margin +0.000 ms)" in at.message
    assert not _latency(Budgets(max_latency_ms=3.6999, **ON), records, "v").passed
    size = judge(Budgets(max_size_kb=100_000 / 1024, require_contract=False), "v", records, records)[0]
    assert size.passed and size.margin == 0.0  # the same rule on a size exactly at its limit


@pytest.mark.parametrize("p50, low, high, said", [
    (3.1, 2.6, None, "None"), (3.1, 2.6, math.nan, "nan"), (3.1, None, 3.7, "None"), (math.nan, 2.6, 3.7, "nan"),
    (3.1, 2.6, math.inf, "inf"), (3.1, 3.3, 3.7, "3.3, 3.1, 3.7"), (3.1, 2.6, 3.0, "2.6, 3.1, 3.0")])
def test_a_prediction_without_an_interval_is_refused_with_why_never_judged_on_its_median(p50, low, high, said):
    v = _latency(Budgets(max_latency_ms=100.0, **ON), [predicted("v", p50, low, high), x86("v")], "v")
    # 100 ms would pass any of these medians: refused all the same, with the numbers it could not judge
    assert not v.passed and v.measured is None and v.margin is None
    assert v.message.startswith("max_latency_ms (p50, predicted:iphone-13, 1 thr): not judged (limit 100.000 ms): ")
    assert said in v.message and "judged on its upper end" in v.message and "liteship device import" in v.message


@pytest.mark.parametrize("stat", ["p90", "p99"])
def test_a_p90_or_p99_budget_on_a_prediction_is_not_predicted(stat):
    v = _latency(Budgets(max_latency_ms=1000.0, latency_stat=stat, **ON), [predicted("v", 3.1, 2.6, 3.7), x86("v")],
                 "v")
    assert not v.passed and v.measured is None
    assert v.message == (f"max_latency_ms ({stat}, predicted:iphone-13, 1 thr): not predicted (limit 1000.000 ms): "
                         f'a prediction gives a median and its interval, no {stat}; use latency_stat = "p50"')


def test_a_prediction_never_passes_a_budget_its_upper_end_breaks():
    rng = random.Random(34)
    for _ in range(2000):
        p50 = rng.uniform(0.5, 50.0)
        factor = rng.uniform(1.0, 2.0)
        low, high = p50 / factor, p50 * factor
        limit = round(rng.uniform(0.25, 100.0), rng.choice((1, 3, 6)))
        v = _latency(Budgets(max_latency_ms=limit, **ON), [predicted("v", p50, low, high), x86("v")], "v")
        assert v.passed == (high <= limit), (p50, high, limit)  # the rule, written again here


def test_a_variant_measured_on_the_device_is_judged_on_its_measurement_and_one_never_counted_says_why():
    records = [predicted("p", 3.1, 2.6, 3.7), x86("p"), measured("m", 3.3), x86("m", "float32"), x86("n", "dynamic")]
    budgets = Budgets(max_latency_ms=3.5, **ON)
    on_device = _latency(budgets, records, "m")
    # m has no prediction (none is made for a measured variant): its median on the device, 3.3 <= 3.5, stands in
    assert on_device.passed and on_device.measured == 3.3 and on_device.record.backend == "device:iphone-13"
    assert on_device.message.endswith("ok: 3.300 ms <= 3.500 ms (margin +0.200 ms) [measured on the device, not "
                                      "predicted: device:iphone-13's median]")
    nothing = _latency(budgets, records, "n")
    assert not nothing.passed and nothing.measured is None
    assert "not predicted (limit 3.500 ms): predicted:iphone-13 holds no prediction of it" in nothing.message
    assert "counted on arm64-a15 and not measured on the device" in nothing.message
    # another device's measurement never stands in for this one's prediction
    pixel = dataclasses.replace(measured("m", 1.0), backend="device:pixel-9-pro",
                                device={"device": "Pixel 9 Pro", "accelerator": "cpu"})
    other = [*records[:2], pixel, x86("m", "float32")]
    assert _latency(budgets, other, "m").measured is None


def test_accuracy_budgets_on_a_prediction_are_judged_on_the_record_scored_here():
    records = [predicted("v", 3.1, 2.6, 3.7), x86("v")]
    (v,) = judge(Budgets(min_accuracy=0.7, **ON), "v", records, records)
    # 150 of 200 right = 0.75 >= 0.7, read from the xnnpack record: a prediction holds times only
    assert v.passed and v.measured == 0.75 and v.record.backend == "xnnpack"
    assert "predicted:iphone-13 brought times only" in v.message


def _decide(records, budgets, prefer="latency"):
    verdicts = []
    for vid in dict.fromkeys(r.variant for r in records):
        mine = [r for r in records if r.variant == vid]
        verdicts.append(VariantVerdict(vid, mine[0].recipe, mine[0].model, tuple(judge(budgets, vid, mine, records))))
    return decide(records, budgets, prefer, verdicts)


def test_pick_prefer_latency_ranks_predictions_on_their_upper_end_and_says_so():
    # by the medians: a (2.0) < b (2.4) < c (2.5, measured); by what each is judged on, upper ends and c's median:
    # c 2.5 < b 2.6 < a 3.0, the order reversed
    records = [predicted("a", 2.0, 1.5, 3.0), x86("a"), predicted("b", 2.4, 2.2, 2.6), x86("b", "dynamic"),
               measured("c", 2.5), x86("c", "float32")]
    decision = _decide(records, Budgets(max_size_kb=1000.0, **ON))
    assert decision.chosen.variant == "c"
    assert [a.option.variant for a in decision.alternatives][:2] == ["b", "a"]
    assert [o.ranked_latency for o in (decision.chosen, *(a.option for a in decision.alternatives))][:3] == \
        [2.5, 2.6, 3.0]
    assert decision.ranked_on.startswith("ranked on the upper end of each prediction's 95 % interval on "
                                         "predicted:iphone-13")
    assert "a variant measured on the device, on its measured median (device:iphone-13)" in decision.ranked_on
    # without c, b's upper end (2.6) beats a's (3.0) though a's median is lower
    assert _decide(records[:4], Budgets(max_size_kb=1000.0, **ON)).chosen.variant == "b"
    # a prediction without an interval is ranked last, never on its median
    broken = [predicted("a", 1.0, 1.5, None), x86("a"), *records[2:4]]
    assert _decide(broken, Budgets(max_size_kb=1000.0, **ON)).chosen.variant == "b"
    # --prefer latency on a backend measured here says nothing of predictions
    assert _decide([x86("a"), x86("b", "dynamic")], Budgets(max_size_kb=1000.0)).ranked_on == ""
