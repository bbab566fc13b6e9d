"""Instruction counts as a CI latency measure: fast enough, identical on repeat, and they rank by work."""

import shutil
import statistics
import time

import pytest

from liteship.bench import BenchOptions, bench_file
from liteship.bench.instructions import count_instructions
from tests.perf.conftest import repeats

pytestmark = [pytest.mark.perf, pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")]


def test_counting_mobilenet_0_35_96_takes_under_30_s(benchmark, mobilenets):
    path = mobilenets[(0.35, 96)]
    started = time.perf_counter()
    counted = benchmark.pedantic(count_instructions, args=(path,), rounds=1, iterations=1)
    seconds = time.perf_counter() - started
    benchmark.extra_info.update({"seconds": seconds, "per_invoke": counted["per_invoke"]})
    print(f"MobileNetV2 0.35@96: {counted['per_invoke'] / 1e6:.3f} M instructions per invoke, counted in {seconds:.1f} s")
    assert seconds <= 30


def test_repeated_counts_are_identical_while_p50s_spread(benchmark, mobilenets):
    path = mobilenets[(0.35, 96)]
    n = repeats(10)
    counts = [count_instructions(path)["per_invoke"] for _ in range(n - 1)]
    counts.append(benchmark.pedantic(lambda: count_instructions(path)["per_invoke"], rounds=1, iterations=1))
    p50s = [bench_file(path, BenchOptions(backends=("xnnpack",), runs=50, rounds=5))[0].latency_ms.p50
            for _ in range(n)]
    spread = (max(p50s) - min(p50s)) / statistics.median(p50s)
    benchmark.extra_info.update({"counts": counts, "p50s": p50s})
    print(f"{n} counts: {sorted(set(counts))} (one value means identical); {n} p50s: "
          f"{[round(p, 4) for p in p50s]} ms, spread {spread:.1%}")
    assert len(set(counts)) == 1


def _conv_net(tmp_path, filters: int):
    import tensorflow as tf
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / f"conv{filters}.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out)).convert())
    return path


def test_more_multiply_adds_rank_higher_every_time(benchmark, tmp_path, tf_available):
    small, big = _conv_net(tmp_path, 32), _conv_net(tmp_path, 33)  # 33^2 / 32^2: 6 % more multiply-adds
    n = repeats(10)
    wins = sum(count_instructions(big)["per_invoke"] > count_instructions(small)["per_invoke"] for _ in range(n - 1))
    wins += benchmark.pedantic(lambda: count_instructions(big)["per_invoke"] > count_instructions(small)["per_invoke"],
                               rounds=1, iterations=1)
    print(f"the variant with 6 % more multiply-adds counted more instructions in {wins} of {n} runs")
    assert wins == n
