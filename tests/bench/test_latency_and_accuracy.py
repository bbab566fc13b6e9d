"""The statistics, checked with a fake clock and hand-made predictions."""

import gc
import json

import numpy as np
import pytest

from liteship.bench.accuracy import score
from liteship.bench.latency import measure, summarize


class FakeClock:
    """Each invoke 'takes' the next duration of its key; the clock only moves when invoked."""

    def __init__(self):
        self.now = 0
        self.calls = []
        self.gc_during = []

    def __call__(self):
        return self.now

    def invoker(self, key, durations_ns):
        it = iter(durations_ns)

        def invoke():
            self.calls.append(key)
            self.gc_during.append(gc.isenabled())
            self.now += next(it)

        return invoke


def test_rounds_interleave_and_p50_is_the_median_of_round_medians():
    clock = FakeClock()
    # A: rounds at 1, 2, 3, 4, 5 ms (drift); B: always 10 ms.
    a = [1_000_000] * 3 + [r * 1_000_000 for r in (1, 2, 3, 4, 5) for _ in range(4)]
    b = [10_000_000] * 3 + [10_000_000] * 20
    out = measure({"A": clock.invoker("A", a), "B": clock.invoker("B", b)}, runs=20, rounds=5, warmup=3, timer=clock)
    timed = clock.calls[6:]
    assert timed == (["A"] * 4 + ["B"] * 4) * 5  # A B A B ...: drift hits both alike
    assert not any(clock.gc_during[6:])  # every timed invoke ran with the garbage collector off
    samples, first = out["A"]
    stats = summarize(samples, init_ns=2_000_000, first_ns=first)
    assert stats.p50 == 3.0 and stats.min == 1.0 and stats.runs == 20 and stats.rounds == 5
    assert stats.first == 1.0 and stats.init == 2.0
    assert 1.0 <= stats.ci_low <= 3.0 <= stats.ci_high <= 5.0
    assert stats.mean == pytest.approx(3.0) and stats.p90 == pytest.approx(5.0)
    b_stats = summarize(*out["B"][:1], init_ns=0, first_ns=0)
    assert b_stats.p50 == 10.0 and b_stats.std == 0.0 and b_stats.cv == 0.0 and b_stats.ci_low == b_stats.ci_high == 10.0


def test_gc_is_restored_after_timing():
    clock = FakeClock()
    assert gc.isenabled()
    measure({"A": clock.invoker("A", [1] * 100)}, runs=10, rounds=2, warmup=1, timer=clock)
    assert gc.isenabled()


def test_score_numbers():
    probs = np.array([[0.7, 0.1, 0.1, 0.05, 0.05, 0.0],
                      [0.1, 0.6, 0.1, 0.1, 0.05, 0.05],
                      [0.5, 0.4, 0.0, 0.05, 0.05, 0.0],
                      [0.0, 0.0, 0.0, 0.0, 0.1, 0.9]])
    labels = np.array([0, 1, 1, 2])
    out = score(probs, labels, list("abcdef"), reference_top1=np.array([0, 1, 1, 5]))
    assert out["top1"] == 0.5 and out["images"] == 4
    assert out["top5"] == 0.75  # the last image's class c is the least likely of six
    assert out["agreement"] == 0.75
    assert out["per_class_top1"] == {"a": 1.0, "b": 0.5, "c": 0.0, "d": None, "e": None, "f": None}
    assert out["confusion"][1] == [1, 1, 0, 0, 0, 0] and out["confusion"][2][5] == 1


def test_no_top5_below_five_classes():
    out = score(np.eye(3), np.arange(3), ["a", "b", "c"])
    assert "top5" not in out and out["top1"] == 1.0


def test_p90_and_p99_have_intervals_of_their_own():
    rng = np.random.default_rng(0)
    rounds = [list((1_000_000 + rng.exponential(200_000, 200)).astype(int)) for _ in range(10)]
    stats = summarize(rounds, 0, 0)
    assert stats.p90_ci[0] <= stats.p90 <= stats.p90_ci[1] and stats.p99_ci[0] <= stats.p99 <= stats.p99_ci[1]
    assert stats.p90_ci[0] > stats.ci_high  # the tail's interval, not the median's
    assert stats.interval("p90") == stats.p90_ci and stats.interval("p50") == (stats.ci_low, stats.ci_high)


def test_a_models_variants_are_timed_together(optimized_run, monkeypatch):
    from liteship.bench import run as bench_run_module
    from liteship.bench.measure import BenchOptions

    out, _ = optimized_run
    seen = []
    real = bench_run_module.time_sessions

    def spy(sessions, *args):
        seen.append(sorted({key[0] for key in sessions}))
        return real(sessions, *args)

    monkeypatch.setattr(bench_run_module, "time_sessions", spy)
    bench_run_module.bench_run(out, BenchOptions(backends=("xnnpack",), runs=4, rounds=2, min_round_ms=0))
    current = json.loads((out / "current_variants.json").read_text())  # what other tests made here counts too
    assert len(current) == 1 and len(seen) == 1 and len(seen[0]) == len(next(iter(current.values()))) >= 4
    # float32, float16, dynamic, int8 and any other current variant of the model: one interleaved timing
