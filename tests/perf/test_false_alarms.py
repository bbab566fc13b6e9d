"""A/A: how often the latency judgements cry wolf when nothing changed (issue 22), and that they catch a real change.

Each A/A run is a fresh process, as two CI runs are: a new Python that loads MobileNetV2 0.35@96's float32
and int8 files into new LiteRT sessions and times them together, interleaved, as a run's variants are,
with the default bench settings. Every pair of those runs is an A/A comparison: `liteship compare` at its
default threshold must judge at most 1 in 20 a latency regression, and the latency gate, with a limit of
twice the variant's median p50, must fail at most 1 in 20 runs (the re-measure of a result near the limit
included). Neither rate means anything unless the same checks fail when something did change, so B runs,
fresh processes too, time the float32 beside an int8 model that does three times the work (three
MobileNetV2 0.35@96 side by side): compare must call every A-B pair a regression, and the gate must fail
every B run at the same 2x limit. Run with ``-s`` to see the rates and the spread the README quotes.
"""

from __future__ import annotations

import itertools
import json
import shutil
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from liteship.bench import BenchOptions, BenchRecord, bench_file
from liteship.judge import Budgets, Thresholds, compare, gate
from tests.conftest import full_int8_tflite

pytestmark = pytest.mark.perf

REPEATS = 21  # fresh processes, in both profiles: 20 consecutive pairs, 420 ordered pairs
B_RUNS = 5  # runs of the model that does three times the work
GATE_HEADROOM = 2.0  # the limit over the variant's median p50 at which the gate must hold 1 in 20

# One A/A (or B) run: a new process, new sessions, the default bench settings, the files timed interleaved.
CHILD = """
import json, sys, time
from dataclasses import asdict
from liteship.bench import BenchOptions, backends
from liteship.bench.latency import summarize
from liteship.bench.measure import time_sessions

files = json.loads(sys.argv[1])
sessions = {k: (backends.get("xnnpack").open(path, 1), 0, 0) for k, path in files.items()}
timed = time_sessions(sessions, BenchOptions(backends=("xnnpack",)), None, time.perf_counter_ns)
print(json.dumps({k: asdict(summarize(samples, 0, first)) for k, (samples, first) in timed.items()}))
"""


@pytest.fixture(scope="module")
def three_times_the_work(mobilenet_pair, tmp_path_factory):
    """Three MobileNetV2 0.35@96 (each its own random weights, so nothing is shared) averaged: full int8, uint8 in
    and out like the pair's int8, three times its multiply-adds."""
    import tensorflow as tf
    import tf_keras as keras

    from liteship.trainer.models import get_arch

    keras.backend.clear_session()
    copies = []
    for seed in (1, 2, 3):
        keras.utils.set_random_seed(seed)
        copy = get_arch("mobilenet_v2").build(10, 96, 0.35, "none")
        copy._name = f"copy_{seed}"
        copies.append(copy)
    inp = keras.Input((96, 96, 3))
    model = keras.Model(inp, keras.layers.Average()([c(inp) for c in copies]))
    path = tmp_path_factory.mktemp("x3") / "int8x3.tflite"
    path.write_bytes(full_int8_tflite(model, 96, tf.uint8))
    return path


def _fresh_run(files: dict[str, Path], template: dict[str, BenchRecord]) -> list[BenchRecord]:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps({k: str(p) for k, p in files.items()})],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    latency = json.loads(proc.stdout.strip().splitlines()[-1])
    return [BenchRecord.from_dict({**template[k].to_dict(), "latency_ms": latency[k]}) for k in files]


@pytest.fixture(scope="module")
def runs(mobilenet_pair, three_times_the_work, tmp_path_factory):
    """REPEATS A/A runs of (float32, int8) and B_RUNS of (float32, int8x3), each a fresh process, interleaved
    (A, then B every few runs) so that a slow spell of the machine does not fall on one kind only."""
    f32, int8 = mobilenet_pair
    run = tmp_path_factory.mktemp("aa") / "run"
    (run / "variants").mkdir(parents=True)
    shutil.copy(int8, run / "variants" / "int8.tflite")
    shutil.copy(three_times_the_work, run / "variants" / "int8x3.tflite")
    options = BenchOptions(backends=("xnnpack",), runs=5, rounds=2)  # static facts only; latency comes from runs
    template = {recipe: replace(bench_file(path, options)[0], model="mnv2", recipe="int8" if recipe != "float32"
                                else "float32", variant=recipe)
                for recipe, path in (("float32", f32), ("int8", run / "variants" / "int8.tflite"),
                                     ("int8x3", run / "variants" / "int8x3.tflite"))}
    a_runs, b_runs = [], []
    every = max(1, REPEATS // B_RUNS)
    for i in range(REPEATS):
        a_runs.append(_fresh_run({"float32": f32, "int8": run / "variants" / "int8.tflite"}, template))
        if i % every == every - 1 and len(b_runs) < B_RUNS:
            b_runs.append(_fresh_run({"float32": f32, "int8x3": run / "variants" / "int8x3.tflite"}, template))
    return run, a_runs, b_runs


def _ratio_changes(base, new, threshold: float) -> list:
    changes, _, _ = compare(base, new, Thresholds(max_latency_increase=threshold))
    return [c for c in changes if c.metric == "p50_vs_float32"]


def _p50(run, recipe: str = "int8") -> float:
    return next(r for r in run if r.recipe == recipe).latency_ms.p50


def test_compare_judges_at_most_1_in_20_a_a_pairs_a_regression_and_every_3x_one(benchmark, runs):
    _, a_runs, b_runs = runs
    default = Thresholds().max_latency_increase
    int8 = [_p50(run) for run in a_runs]
    ratios = [_p50(run) / _p50(run, "float32") for run in a_runs]
    spread = {"wall": (max(int8) - min(int8)) / statistics.median(int8),
              "ratio": (max(ratios) - min(ratios)) / statistics.median(ratios)}
    rates = {}
    for threshold in sorted({0.10, 0.25, default}):
        ordered = [c.failed for a, b in itertools.permutations(a_runs, 2) for c in _ratio_changes(a, b, threshold)]
        consecutive = [c.failed for a, b in zip(a_runs, a_runs[1:]) for c in _ratio_changes(a, b, threshold)]
        rates[threshold] = (sum(consecutive), len(consecutive), sum(ordered), len(ordered))
    caught = [c.failed for a in a_runs for b in b_runs for c in _ratio_changes(a, b, default)]
    b_ratios = [_p50(run, "int8") / _p50(run, "float32") for run in b_runs]
    benchmark.pedantic(lambda: _ratio_changes(a_runs[0], a_runs[1], default), rounds=1, iterations=1)
    benchmark.extra_info.update({"int8_p50s": int8, "ratios": ratios, "b_ratios": b_ratios,
                                 "rates": {str(k): v for k, v in rates.items()}})
    print(f"\nA/A compare, {REPEATS} fresh processes timing MobileNetV2 0.35@96 float32 + int8: int8 p50 "
          f"{min(int8):.3f}-{max(int8):.3f} ms (wall-time spread {spread['wall']:.0%} of the median), int8/float32 "
          f"{min(ratios):.3f}-{max(ratios):.3f} (spread {spread['ratio']:.0%}); 3x the work: "
          f"{min(b_ratios):.3f}-{max(b_ratios):.3f}")
    for threshold, (c_fail, c_all, o_fail, o_all) in rates.items():
        print(f"  max_latency_increase {threshold:.2f}: judged a regression in {c_fail} of {c_all} consecutive "
              f"pairs, {o_fail} of {o_all} ordered pairs ({o_fail / o_all:.1%})")
    print(f"  3x the work at {default:.2f}: judged a regression in {sum(caught)} of {len(caught)} A-B pairs")
    assert len(caught) == len(a_runs) * len(b_runs) and all(caught)  # the check can fail, and does on a real change
    _, _, o_fail, o_all = rates[default]
    assert o_fail / o_all <= 1 / 20  # every ordered pair: the rate; the consecutive ones are printed beside it


def _gate_latency(run_dir: Path, budgets: Budgets, record: BenchRecord):
    return next(v for v in gate(run_dir, budgets, records=[record])[0].verdicts if v.id == "max_latency_ms")


def test_the_latency_gate_fails_at_most_1_in_20_a_a_runs_under_the_limit_and_every_3x_run(benchmark, runs):
    run_dir, a_runs, b_runs = runs
    records = [next(r for r in one if r.variant == "int8") for one in a_runs]
    median = statistics.median(r.latency_ms.p50 for r in records)
    found = {}
    for headroom in (1.05, 1.30, GATE_HEADROOM):
        budgets = Budgets(max_latency_ms=round(headroom * median, 4))
        verdicts = [_gate_latency(run_dir, budgets, r) for r in records[1:]]
        found[headroom] = (sum(not v.passed for v in verdicts), sum(v.remeasured for v in verdicts), len(verdicts))
        print(f"\nA/A gate, limit {headroom:.2f} x the median p50 ({budgets.max_latency_ms:.3f} ms): "
              f"{found[headroom][0]} of {len(verdicts)} fresh-process runs failed, {found[headroom][1]} re-measured "
              "first")
    budgets = Budgets(max_latency_ms=round(GATE_HEADROOM * median, 4))
    slower = [_gate_latency(run_dir, budgets, next(r for r in one if r.variant == "int8x3")) for one in b_runs]
    print(f"3x the work, limit {GATE_HEADROOM:.2f} x: {sum(not v.passed for v in slower)} of {len(slower)} runs failed "
          f"(p50 {', '.join(f'{v.measured:.3f}' for v in slower)} ms)")
    benchmark.pedantic(lambda: gate(run_dir, Budgets(max_latency_ms=median), records=records[:1], remeasure=False),
                       rounds=1, iterations=1)
    benchmark.extra_info.update({"median_ms": median, "found": {str(k): v for k, v in found.items()}})
    assert slower and not any(v.passed for v in slower)  # the 2x check fails a run that is really 3x slower
    failed, _, total = found[GATE_HEADROOM]
    assert failed / total <= 1 / 20
