"""Speed targets of issue 4, as ratios measured in one run (pytest-benchmark).

Run with ``python -m pytest -m perf tests/perf``. Each test prints what it
measured; ``--benchmark-json`` keeps the numbers.
"""

import json
import statistics
import subprocess
import sys

import numpy as np
import pytest

from liteship.bench import backends
from liteship.bench.latency import measure, summarize
from tests.perf.conftest import QUICK, SIZES

pytestmark = pytest.mark.perf


def test_harness_overhead_per_invoke_under_5us(benchmark, one_op_model):
    session = backends.get("xnnpack").open(str(one_op_model), 1)
    session.set_input(np.zeros((1, 4), np.float32))
    raw = benchmark.pedantic(session.invoke, rounds=20_000, iterations=1, warmup_rounds=1000)  # noqa: F841
    raw_us = benchmark.stats.stats.median * 1e6
    samples, first = measure({"one_op": session.invoke}, runs=20_000, rounds=5, warmup=1000)["one_op"]
    ours_us = summarize(samples, 0, first).p50 * 1000
    benchmark.extra_info.update({"raw_invoke_us": raw_us, "harness_p50_us": ours_us})
    print(f"one-op model: harness p50 {ours_us:.2f} us per invoke, pytest-benchmark median {raw_us:.2f} us")
    assert ours_us <= 5.0


def test_batched_accuracy_is_faster_and_identical(benchmark, tiny_classifier):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2000, 8, 8, 3), dtype=np.uint8)
    session = backends.get("xnnpack").open(str(tiny_classifier), 1)

    def per_image():
        out = []
        session.resize(1)
        for i in range(len(pixels)):
            session.set_input(session.feed(pixels[i:i + 1]))
            session.invoke()
            out.append(session.output())
        return np.concatenate(out)

    import time

    times = {"batched": [], "per_image": []}
    for _ in range(5):  # interleaved
        for name, fn in (("batched", lambda: session.predict(pixels)), ("per_image", per_image)):
            t0 = time.perf_counter()
            result = fn()
            times[name].append(time.perf_counter() - t0)
            if name == "batched":
                batched = result
            else:
                single = result
    benchmark.pedantic(lambda: session.predict(pixels), rounds=3, iterations=1)
    ratio = statistics.median(times["per_image"]) / statistics.median(times["batched"])
    benchmark.extra_info["speedup"] = ratio
    print(f"batched evaluation {ratio:.1f}x faster than one invoke per image (2000 images, 8 px classifier)")
    np.testing.assert_array_equal(batched.argmax(1), single.argmax(1))
    np.testing.assert_allclose(batched, single, atol=1e-6)
    assert ratio >= 5.0


def _peer_median_ms(path, threads: int, runs: int) -> float:
    out = path.with_suffix(f".peer{threads}.json")
    proc = subprocess.run([sys.executable, "-m", "ai_edge_litert.tools.benchmark_litert_model", f"--model={path}",
                           f"--num_threads={threads}", f"--num_runs={runs}", "--warmup_runs=5",
                           f"--result_json={out}"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-1000:]
    return float(json.loads(out.read_text())["latency"]["median_ms"])


def _our_p50_ms(path, threads: int, runs: int, backend: str = "xnnpack-cm") -> float:
    """`liteship bench` as a user runs it: a process without TensorFlow in it, like the peer's."""
    out = path.with_suffix(f".ours{threads}.{backend}.json")
    proc = subprocess.run([sys.executable, "-m", "liteship", "bench", str(path), "--backends", backend,
                           "--threads", str(threads), "--runs", str(runs), "--json", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-1000:]
    return float(json.loads(out.read_text())[0]["latency_ms"]["p50"])


# The peer, benchmark_litert_model, runs LiteRT's CompiledModel on the CPU with XNNPACK: the same path as
# xnnpack-cm, and the same kernels as xnnpack (the Interpreter with XNNPACK). It has no equivalent of the
# builtin, reference or fp16 backends, so those have no peer to be checked against.
@pytest.mark.skipif(QUICK, reason="two processes' wall times moved by up to 50 % on the shared CI machines (the A/A in "
                    "docs/how-to/compare.md), which this 10 % check cannot tell from a fault: run it on a quiet machine")
@pytest.mark.parametrize("backend", ["xnnpack", "xnnpack-cm"])
@pytest.mark.parametrize("alpha, size", SIZES)
def test_latency_matches_the_peer_benchmark(benchmark, mobilenets, alpha, size, backend):
    path = mobilenets[(alpha, size)]
    runs = 50 if size == 96 else 20
    # The peer prints milliseconds with two decimals: at 0.28 ms that alone is +-1.8 %.
    ours, peer = [], []
    for _ in range(4):  # interleaved trials, each a fresh process as users run them: drift hits both alike
        peer.append(_peer_median_ms(path, 1, runs))
        ours.append(_our_p50_ms(path, 1, runs, backend))
    # pytest-benchmark times one more of our runs, for its history; the check is the ratio to the peer.
    ours.append(benchmark.pedantic(_our_p50_ms, args=(path, 1, runs, backend), rounds=1, iterations=1))
    peer.append(_peer_median_ms(path, 1, runs))
    ratio = statistics.median(ours) / statistics.median(peer)
    benchmark.extra_info.update({"ours_ms": ours, "peer_ms": peer, "ratio": ratio})
    print(f"MobileNetV2 {alpha}@{size} {backend}: ours {statistics.median(ours):.3f} ms, "
          f"benchmark_litert_model {statistics.median(peer):.3f} ms, ratio {ratio:.3f}")
    assert 0.90 <= ratio <= 1.10
