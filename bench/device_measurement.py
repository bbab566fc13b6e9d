"""One measurement of a ``.tflite`` made on a device (a phone, a Mac) by someone else's tool, as its file says it.

:class:`Measurement` is what :func:`liteship.bench.device_import.read_measurements` returns: where the numbers came
from (file, sha256, line, format), what the source says was measured (model file, device, OS, LiteRT version,
threads, accelerator, runs, date) and the statistics in milliseconds as the source gave them. A statistic the
source has not got is None, never derived from another (the old ``benchmark_model`` prints only an average, so a
measurement from it has no median). :func:`checked` refuses what cannot be a measurement: NaN, negative or absurd
values, a median or average of 0 or under the microsecond benchmark_model counts in, percentiles out of order, an
accelerator that is no word (``../../x``); it writes the accelerator in one case (``CPU`` is ``cpu``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re

from liteship.errors import LiteshipError

HOUR_MS = 3_600_000.0  # a latency, an init or a warm-up over an hour is not a phone running a classifier
MAX_MEMORY_MB = 65_536.0  # 64 GB: more than any phone or laptop has
MAX_RUNS = 100_000_000
MAX_THREADS = 1024
MIN_TIME_MS = 0.001  # benchmark_model times whole microseconds: a median or average under 1 us is not a measurement
TIMES = ("median_ms", "avg_ms")  # the statistics that stand for the run's time
ACCELERATOR = re.compile(r"[a-z][a-z0-9_]*")  # cpu, gpu, npu, as the sources write them (one case)


class DeviceFormat(str, enum.Enum):
    """How a measurement was written, which says which of its fields the source can hold."""

    STDOUT = "benchmark_model stdout"  # LiteRT's benchmark_model: `Inference timings in us`, the results block
    STDOUT_OLD = "benchmark_model stdout (old)"  # `Average inference timings in us: Warmup, Init, Inference`
    LOGCAT = "benchmark_model logcat"  # the same lines, in Android's log
    LOGCAT_OLD = "benchmark_model logcat (old)"
    IOS_APP = "iOS benchmark app"  # TFLiteBenchmark's screen: `Startup latency`, `Inference:` with ` - Average`
    RESULTS_PB = "results.pb"  # --result_file_path: tflite.tools.benchmark.BenchmarkResult
    PYTHON_JSON = "benchmark_litert_model json"  # ai_edge_litert.tools.benchmark_litert_model --result_json
    PYTHON_STDOUT = "benchmark_litert_model stdout"  # its BENCHMARK RESULTS block
    LEADERBOARD = "litert-samples leaderboard"  # benchmark/leaderboard/data/measurements.jsonl, board.json


STATISTICS = ("median_ms", "p5_ms", "p95_ms", "avg_ms", "std_ms", "min_ms", "max_ms", "init_ms",
              "first_inference_ms", "warmup_avg_ms")
MEMORY = ("memory_init_mb", "memory_overall_mb", "memory_peak_mb")


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One device measurement of one model file, with its provenance. Milliseconds and MB; None: not in the source.

    ``model`` is the model file as the source names it (a path on the phone, a bare file name, or None when the
    source does not say: the Python tool's stdout, a results.pb); ``model_sha256`` only where the source gives one.
    ``line`` is the 1-based line of the file the numbers were read at (None for a binary or a whole JSON document).
    ``session`` is the litert-samples session folder the file was read from, when it was.
    """

    source: str
    source_sha256: str
    line: int | None
    format: DeviceFormat
    model: str | None = None
    model_sha256: str | None = None
    model_repo: str | None = None  # the leaderboard's `model`: the Hugging Face repo the file came from
    model_size_mb: float | None = None
    platform: str | None = None  # android, ios, macos
    device: str | None = None
    device_id: str | None = None
    os: str | None = None
    runtime_version: str | None = None
    threads: int | None = None
    accelerator: str | None = None  # cpu, gpu, npu
    delegate: str | None = None  # as the source names it: XNNPACK, GPU, TfLiteXNNPackDelegate, Metal, LITERT_CL
    runs: int | None = None
    warmup_runs: int | None = None
    date: str | None = None
    session: str | None = None
    median_ms: float | None = None
    p5_ms: float | None = None
    p95_ms: float | None = None
    avg_ms: float | None = None
    std_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    init_ms: float | None = None
    first_inference_ms: float | None = None
    warmup_avg_ms: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    memory_peak_mb: float | None = None

    @property
    def model_file(self) -> str | None:
        """The model's file name without the folders the source put before it (``/data/local/tmp/a.tflite``)."""
        if self.model is None:
            return None
        return self.model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or None

    @property
    def where(self) -> str:
        return f"{self.source}, line {self.line}" if self.line is not None else self.source


def refuse(where: str, what: str, why: str, fix: str = "") -> LiteshipError:
    """The error for a device file that cannot be read: names the file (and line) first."""
    return LiteshipError(f"{where}: {what}", why,
                         fix or "measure again and pass the tool's whole output, or leave this file out")


def checked(m: Measurement) -> Measurement:
    """``m`` when every number is one a device could have measured; else a LiteshipError naming file and line."""
    for name in STATISTICS + MEMORY:
        value = getattr(m, name)
        if value is None:
            continue
        limit, unit = (MAX_MEMORY_MB, "MB") if name in MEMORY else (HOUR_MS, "ms")
        label = name.rsplit("_", 1)[0].replace("_", " ")
        if not math.isfinite(value):
            raise refuse(m.where, f"the {label} is {value}", "a measurement is a finite number of milliseconds or MB")
        if value < 0:
            raise refuse(m.where, f"the {label} is {value:g} {unit}", "a time or a size is never negative")
        if value > limit:
            raise refuse(m.where, f"the {label} is {value:g} {unit}",
                         f"over {limit:g} {unit} is not a measurement of a classifier (a unit mistaken, or a damaged"
                         " file)")
    _check_times(m)
    _check_counts(m)
    _check_order(m)
    if m.median_ms is None and m.avg_ms is None:
        raise refuse(m.where, "it has no inference time", "neither a median nor an average was found for the run")
    return _accelerator(m)


def _check_times(m: Measurement) -> None:
    """A median or average of 0, or under the microsecond benchmark_model counts in (1e-300 ms in a row), is no
    run of a model: it would pass every budget."""
    for name in TIMES:
        value = getattr(m, name)
        if value is None or value >= MIN_TIME_MS:
            continue
        if value == 0 and m.format in (DeviceFormat.PYTHON_JSON, DeviceFormat.PYTHON_STDOUT):
            raise refuse(m.where, f"the {name[:-3]} is 0 ms", "the LiteRT Python tool rounds to 0.01 ms, so a model "
                         "that runs in under 0.005 ms reads 0: too fast for that tool to time, and 0 ms would pass "
                         "every budget", "time it with benchmark_model, which prints microseconds (count=... median=...)")
        raise refuse(m.where, f"the {name[:-3]} is {value:g} ms", f"a time under {MIN_TIME_MS:g} ms (1 us, the least "
                     "benchmark_model prints) is no model's run, and would pass every budget: a damaged or edited "
                     "file, or a unit mistaken")


def _accelerator(m: Measurement) -> Measurement:
    """``m`` with its accelerator in one case (``CPU`` is the CPU); one that is no word (``../../x``) refused."""
    if m.accelerator is None:
        return m
    word = m.accelerator.strip().casefold()
    if not word:
        return dataclasses.replace(m, accelerator=None)
    if not ACCELERATOR.fullmatch(word):
        raise refuse(m.where, f"the accelerator is {m.accelerator!r}", "an accelerator is a word such as cpu, gpu "
                     "or npu, as the benchmark tools write it; it names the device's backend (device:NAME-gpu)")
    return dataclasses.replace(m, accelerator=word) if word != m.accelerator else m


def _check_counts(m: Measurement) -> None:
    for name, top in (("runs", MAX_RUNS), ("warmup_runs", MAX_RUNS), ("threads", MAX_THREADS)):
        value = getattr(m, name)
        if value is not None and not 0 < value <= top and not (name == "warmup_runs" and value == 0):
            raise refuse(m.where, f"{name.replace('_', ' ')} is {value}", f"it must be between 1 and {top}")


def _check_order(m: Measurement) -> None:
    """min ≤ p5 ≤ median ≤ p95 ≤ max and min ≤ avg ≤ max, where the source gives both sides."""
    chain = [(n, getattr(m, n)) for n in ("min_ms", "p5_ms", "median_ms", "p95_ms", "max_ms")]
    pairs = [(a, b) for i, a in enumerate(chain) for b in chain[i + 1:]]
    pairs += [(("min_ms", m.min_ms), ("avg_ms", m.avg_ms)), (("avg_ms", m.avg_ms), ("max_ms", m.max_ms))]
    for (low_name, low), (high_name, high) in pairs:
        if low is not None and high is not None and low > high * (1 + 1e-6) + 1e-9:
            raise refuse(m.where, f"the {_label(low_name)} ({low:g} ms) is above the {_label(high_name)} ({high:g} ms)",
                         "the statistics of one run cannot be out of order: the file is damaged or edited")


def _label(name: str) -> str:
    return {"min_ms": "minimum", "max_ms": "maximum", "avg_ms": "average"}.get(name, name[:-3])
