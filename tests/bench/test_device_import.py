"""Device measurements read from every format of issue 34, against numbers worked by hand from each fixture.

The stdout and logcat fixtures are made from LiteRT's format strings (their headers cite file and commit); the
leaderboard lines are copied from litert-samples; results.pb is written here with protobuf from the message
definition, built in this file; the LiteRT Python tool is run here on a small model.
"""

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from liteship.bench.device_import import DeviceFormat, MAX_BYTES, read_measurements
from liteship.errors import LiteshipError

FIXTURES = Path(__file__).parent / "device_fixtures"


def one(path, **kw):
    found = read_measurements(path, **kw)
    assert len(found) == 1, found
    return found[0]


def test_benchmark_model_stdout_of_today():
    m = one(FIXTURES / "benchmark_model_stdout.txt")
    assert m.format is DeviceFormat.STDOUT and m.line == 22  # the `Inference timings` line
    assert (m.model, m.model_file) == ("/data/local/tmp/liteship/3f2a9c1e.tflite", "3f2a9c1e.tflite")
    assert (m.threads, m.accelerator, m.delegate, m.runs, m.warmup_runs) == (1, "cpu", "XNNPACK", 418, 201)
    # the inference phase's count= line, microseconds / 1000
    assert (m.median_ms, m.p5_ms, m.p95_ms, m.min_ms, m.max_ms) == (2.391, 2.32, 2.533, 2.301, 2.795)
    assert m.avg_ms == pytest.approx(2.3985) and m.std_ms == pytest.approx(0.061)
    assert (m.init_ms, m.first_inference_ms, m.warmup_avg_ms) == (12.834, 4.102, pytest.approx(2.47426))
    assert (m.memory_init_mb, m.memory_overall_mb, m.memory_peak_mb) == (6.23828, 9.94141, 14.1289)
    assert m.device is None and m.os is None and m.runtime_version is None  # stdout does not say them
    assert len(m.source_sha256) == 64


def test_benchmark_model_stdout_of_2020_has_no_percentiles():
    m = one(FIXTURES / "benchmark_model_stdout_2020.txt")
    assert m.format is DeviceFormat.STDOUT
    assert (m.threads, m.accelerator, m.delegate, m.runs, m.warmup_runs) == (4, "gpu", "GPU", 110, 56)
    assert m.median_ms is None and m.p5_ms is None and m.p95_ms is None  # Stat without percentiles: never guessed
    assert (m.avg_ms, m.min_ms, m.max_ms, m.init_ms) == (pytest.approx(8.68033), 7.863, 10.688, 1451.507)
    assert (m.memory_init_mb, m.memory_overall_mb) == (63.4883, 63.4883)


def test_old_average_line_gives_averages_only():
    m = one(FIXTURES / "benchmark_model_stdout_2018.txt")
    assert m.format is DeviceFormat.STDOUT_OLD and m.line == 24
    assert m.avg_ms == pytest.approx(15.2089) and m.warmup_avg_ms == pytest.approx(15.3904) and m.init_ms == 4.117
    assert m.median_ms is None and m.p95_ms is None and m.memory_overall_mb is None


def test_logcat_reads_the_benchmark_lines_and_leaves_other_apps_out():
    m = one(FIXTURES / "benchmark_model_logcat_2019.txt")
    assert m.format is DeviceFormat.LOGCAT_OLD and m.line == 17
    assert (m.model_file, m.threads, m.runs, m.warmup_runs) == ("a1b2c3.tflite", 2, 123, 61)
    assert m.avg_ms == pytest.approx(8.1339) and m.init_ms == 5.993 and m.median_ms is None


def test_logcat_keeps_two_interleaved_runs_apart(tmp_path):
    def line(pid, msg):
        return f"09-20 10:00:00.000  {pid}  {pid} I tflite  : {msg}"

    runs = {101: (1000, 1100), 202: (5000, 5200)}
    lines = []
    for step in range(3):
        for pid, (warm, inf) in runs.items():
            lines.append(line(pid, [f"Graph: [/data/local/tmp/m{pid}.tflite]",
                                    f"count=10 first={warm} curr={warm} min={warm - 10} max={warm + 90} avg={warm} std=5",
                                    f"count=50 first={inf} curr={inf} min={inf - 10} max={inf + 90} avg={inf} std=5 "
                                    f"p5={inf - 5} median={inf} p95={inf + 50}"][step]))
    for pid, (warm, inf) in runs.items():
        lines.append(line(pid, f"Inference timings in us: Init: 7000, First inference: {warm}, Warmup (avg): {warm},"
                               f" Inference (avg): {inf}"))
    (tmp_path / "logcat.txt").write_text("\n".join(lines) + "\n")
    found = read_measurements(tmp_path / "logcat.txt")
    assert [(m.model_file, m.median_ms) for m in found] == [("m101.tflite", 1.1), ("m202.tflite", 5.2)]


def test_python_tool_block_and_ios_app_screen():
    m = one(FIXTURES / "litert_python_stdout.txt")
    assert m.format is DeviceFormat.PYTHON_STDOUT
    assert (m.median_ms, m.p5_ms, m.p95_ms, m.avg_ms, m.runs, m.warmup_runs) == (0.34, 0.32, 0.41, 0.35, 50, 5)
    assert (m.threads, m.accelerator, m.model_file) == (2, "cpu", "5d41402a.tflite")
    ios = one(FIXTURES / "ios_app_screen.txt")
    assert ios.format is DeviceFormat.IOS_APP
    assert (ios.init_ms, ios.avg_ms, ios.min_ms, ios.max_ms, ios.std_ms, ios.runs) == (21.442, 3.1502, 2.981, 4.207,
                                                                                       0.1811, 317)
    assert (ios.warmup_avg_ms, ios.warmup_runs, ios.median_ms) == (3.2995, 160, None)


def test_leaderboard_rows_one_device_at_a_time():
    path = FIXTURES / "leaderboard_measurements.jsonl"
    with pytest.raises(LiteshipError, match="3 devices: Pixel 9 Pro .*line 1.*Galaxy S25 Ultra .*line 2.*iPhone 17 Pro"):
        read_measurements(path)
    pixel = one(path, device="pixel 9 pro")
    assert pixel.format is DeviceFormat.LEADERBOARD and pixel.line == 1
    assert (pixel.model, pixel.model_repo, pixel.device_id, pixel.os) == (
        "mobilenet_v2.tflite", "litert-community/MobileNet-v2", "caiman-35", "Android 15 (API 35)")
    assert (pixel.median_ms, pixel.p5_ms, pixel.p95_ms, pixel.std_ms, pixel.runs) == (9.847, 9.348, 10.655, 0.818, 101)
    assert (pixel.runtime_version, pixel.date, pixel.delegate) == ("2.2.0", "2026-09-18", "TfLiteXNNPackDelegate")
    assert (pixel.memory_init_mb, pixel.memory_overall_mb, pixel.threads) == (30.76, 38.62, None)
    assert one(path, device="PA3Q-35").median_ms == 6.177 and one(path, device="iPhone17Pro").line == 3
    with pytest.raises(LiteshipError, match="no measurement of iPhone 13.*Pixel 9 Pro"):
        read_measurements(path, device="iPhone 13")


# --------------------------------------------------------------------------------------------------- results.pb

def benchmark_result_class():
    """tflite.tools.benchmark.BenchmarkResult built from benchmark_result.proto's fields, here, with protobuf."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="liteship_test_benchmark_result.proto",
                                               package="liteship_test.benchmark", syntax="proto2")

    def message(name, fields):
        msg = proto.message_type.add(name=name)
        for number, (field, kind, *type_name) in enumerate(fields, 1):
            msg.field.add(name=field, number=number, label=F.LABEL_OPTIONAL, type=kind,
                          **({"type_name": f".liteship_test.benchmark.{type_name[0]}"} if type_name else {}))

    message("LatencyMetrics", [(n, F.TYPE_FLOAT) for n in ("avg_ms", "min_ms", "max_ms", "stddev_ms", "median_ms",
                                                           "p5_ms", "p95_ms", "init_ms", "first_inference_ms",
                                                           "average_warm_up_ms")])
    message("MemoryMetrics", [("init_footprint_kb", F.TYPE_INT64), ("overall_footprint_kb", F.TYPE_INT64),
                              ("peak_mem_mb", F.TYPE_FLOAT)])
    message("MiscMetrics", [("model_size_mb", F.TYPE_FLOAT), ("num_runs", F.TYPE_INT32),
                            ("num_warmup_runs", F.TYPE_INT32), ("model_throughput_in_mb_per_sec", F.TYPE_FLOAT)])
    message("BenchmarkResult", [("name", F.TYPE_STRING), ("latency_metrics", F.TYPE_MESSAGE, "LatencyMetrics"),
                                ("memory_metrics", F.TYPE_MESSAGE, "MemoryMetrics"),
                                ("misc_metrics", F.TYPE_MESSAGE, "MiscMetrics")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("liteship_test.benchmark.BenchmarkResult"))


def results_pb(**latency) -> bytes:
    result = benchmark_result_class()(name="cpu run")
    values = {"avg_ms": 3.25, "min_ms": 2.5, "max_ms": 6.0, "stddev_ms": 0.5, "median_ms": 3.125, "p5_ms": 2.75,
              "p95_ms": 4.5, "init_ms": 20.5, "first_inference_ms": 8.0, "average_warm_up_ms": 3.5, **latency}
    for key, value in values.items():
        setattr(result.latency_metrics, key, value)
    result.memory_metrics.init_footprint_kb = 2048
    result.memory_metrics.overall_footprint_kb = 5120
    result.misc_metrics.num_runs, result.misc_metrics.num_warmup_runs = 317, 160
    result.misc_metrics.model_size_mb = 0.5
    return result.SerializeToString()


def test_results_pb_written_by_protobuf_reads_back(tmp_path):
    (tmp_path / "results.pb").write_bytes(results_pb())
    m = one(tmp_path / "results.pb")
    assert m.format is DeviceFormat.RESULTS_PB and m.line is None and m.model is None
    # floats chosen exact in float32, so the numbers come back as written
    assert (m.avg_ms, m.min_ms, m.max_ms, m.std_ms, m.median_ms, m.p5_ms, m.p95_ms) == (3.25, 2.5, 6.0, 0.5, 3.125,
                                                                                         2.75, 4.5)
    assert (m.init_ms, m.first_inference_ms, m.warmup_avg_ms) == (20.5, 8.0, 3.5)
    assert (m.memory_init_mb, m.memory_overall_mb, m.memory_peak_mb) == (2.0, 5.0, None)  # KB / 1024
    assert (m.runs, m.warmup_runs, m.model_size_mb) == (317, 160, 0.5)


def test_session_folder_as_run_ios_sh_writes_it(tmp_path):
    session = tmp_path / "2026-09-20"
    job = session / "cpu-iphone13"
    job.mkdir(parents=True)
    (session / "session.json").write_text(json.dumps({
        "runner": "app", "platform": "ios", "device_id": "iphone13", "device": "iPhone 13", "os": "iOS 17.4 (21E219)",
        "runtime_version": "2.2.0", "binary": "source v2.2.0 (145c7523f), app in benchmark/ios",
        "created": "2026-09-20T08:00:00Z"}, indent=1))
    (job / "results.pb").write_bytes(results_pb())
    (job / "stdout.txt").write_text("INFO: STARTING!\nINFO: Num threads: [1]\n"
                                    "INFO: [benchmark_litert_model.cc:305] Loading model from: 9a8b7c6d.tflite\n")
    for path in (session, job):
        m = one(path)
        assert (m.device, m.device_id, m.os, m.platform) == ("iPhone 13", "iphone13", "iOS 17.4 (21E219)", "ios")
        assert (m.runtime_version, m.date, m.accelerator, m.threads) == ("2.2.0", "2026-09-20", "cpu", 1)
        assert (m.model, m.median_ms, m.source, m.session) == ("9a8b7c6d.tflite", 3.125, str(job / "results.pb"),
                                                               str(session))
    other = session / "gpu-iphone15pro"
    other.mkdir()
    (other / "results.pb").write_bytes(results_pb())
    with pytest.raises(LiteshipError, match="iphone15pro, session.json of iphone13"):
        read_measurements(session)


# ---------------------------------------------------------------------------------- the LiteRT Python tool, for real

@pytest.fixture(scope="module")
def small_tflite(tmp_path_factory, tf_available):
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((48, 48, 3), batch_size=1)  # a convolution of 1 M multiply-adds: well over the 0.01 ms the
    conv = keras.layers.Conv2D(16, 3)(inp)  # tool rounds to (a smaller model reads 0.00 ms, which is refused)
    out = keras.layers.Dense(4, activation="softmax")(keras.layers.GlobalAveragePooling2D()(conv))
    path = tmp_path_factory.mktemp("device") / "variant_5d41402a.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out)).convert())
    return path


def test_litert_python_tool_json_and_stdout(small_tflite, tmp_path):
    out = tmp_path / "out.json"
    run = subprocess.run([sys.executable, "-m", "ai_edge_litert.tools.benchmark_litert_model", "--model",
                          str(small_tflite), "--num_threads", "1", "--num_runs", "20", "--result_json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    written = json.loads(out.read_text())
    m = one(out)
    assert m.format is DeviceFormat.PYTHON_JSON and m.model == str(small_tflite) and m.threads == 1
    lat = written["latency"]
    assert (m.median_ms, m.p5_ms, m.p95_ms, m.avg_ms, m.init_ms) == (lat["median_ms"], lat["p5_ms"], lat["p95_ms"],
                                                                     lat["avg_ms"], lat["init_ms"])
    assert (m.runs, m.accelerator) == (20, "cpu")
    (tmp_path / "stdout.txt").write_text(run.stdout)
    printed = one(tmp_path / "stdout.txt")
    assert printed.format is DeviceFormat.PYTHON_STDOUT
    # the block and the JSON are the same run, each rounded to 0.01 ms
    assert (printed.median_ms, printed.p95_ms, printed.avg_ms, printed.runs) == (m.median_ms, m.p95_ms, m.avg_ms, 20)


# ------------------------------------------------------------------------------------------------ hostile input

def write(tmp_path, text, name="log.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_truncated_logs_are_refused_with_the_line(tmp_path):
    lines = (FIXTURES / "benchmark_model_stdout.txt").read_text().splitlines()
    with pytest.raises(LiteshipError, match=r"line 18: the log ends before the run begun at line 15"):
        read_measurements(write(tmp_path, "\n".join(lines[:18]) + "\n"))
    cut = "\n".join(lines[:21] + ["INFO: Inference timings in us: Init: 12834, First inf"])
    with pytest.raises(LiteshipError, match=r"line 22: the line .* is cut short or altered"):
        read_measurements(write(tmp_path, cut))
    with pytest.raises(LiteshipError, match=r"line 5: the count= line is cut short"):
        read_measurements(write(tmp_path, "\n" * 4 + "INFO: count=50 first=2410 curr=\n"))


@pytest.mark.parametrize("section, key, value, message", [
    ("latency_ms", "median", float("nan"), r"line 1: the median is nan"),
    ("latency_ms", "median", -9.847, r"(?i)line 1: the median is -9.847 ms.*never negative"),
    ("latency_ms", "median", 9_847_000, r"(?i)line 1: the median is 9.847e\+06 ms.*over 3.6e\+06 ms"),
    ("latency_ms", "p5", 19.348, r"line 1: the p5 \(19.348 ms\) is above the median \(9.847 ms\)"),
    ("latency_ms", "p95", 9.2, r"line 1: the p5 \(9.348 ms\) is above the p95 \(9.2 ms\)"),
    ("memory_mb", "overall_footprint", 1e9, r"line 1: the memory overall is 1e\+09 MB"),
    (None, "runs", 0, r"line 1: runs is 0"),
    ("latency_ms", "median", "fast", r"line 1: median is 'fast'"),
])
def test_impossible_numbers_are_refused(tmp_path, section, key, value, message):
    row = json.loads((FIXTURES / "leaderboard_measurements.jsonl").read_text().splitlines()[0])
    (row[section] if section else row)[key] = value
    with pytest.raises(LiteshipError, match=message):
        read_measurements(write(tmp_path, json.dumps(row) + "\n", "rows.jsonl"))


def test_nan_in_a_log_line_is_refused(tmp_path):
    text = (FIXTURES / "benchmark_model_stdout_2018.txt").read_text().replace("no stats: 15208.9", "no stats: nan")
    text = text.replace("avg=15208.9", "avg=nan")
    with pytest.raises(LiteshipError, match="line 24: the avg is nan"):
        read_measurements(write(tmp_path, text))


def test_a_file_over_50_mb_is_refused_from_its_size(tmp_path, monkeypatch):
    path = tmp_path / "huge.log"
    with open(path, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: nothing is written, and nothing may be read

    def no_read(*a, **k):
        raise AssertionError("read before its size was checked")

    monkeypatch.setattr("liteship.bench.device_import.read_regular", no_read)
    with pytest.raises(LiteshipError, match=r"(?i)is 52,428,801 bytes.*over 50 MB"):
        read_measurements(path)


def test_not_a_regular_file_and_not_utf8(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(LiteshipError, match="(?i)it is a FIFO"):
        read_measurements(fifo)  # refused without opening: a FIFO would block a reader
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"INFO: STARTING!\nINFO: Graph: [/data/caf\xe9.tflite]\n")
    with pytest.raises(LiteshipError, match=r"(?i)line 2: it is not UTF-8 text, nor a BenchmarkResult.*byte 0xe9"):
        read_measurements(bad)
    with pytest.raises(LiteshipError, match="it is empty"):
        read_measurements(write(tmp_path, "\n \n", "empty.txt"))
    with pytest.raises(LiteshipError, match="holds no measurement"):
        read_measurements(write(tmp_path, "hello\nworld\n", "other.txt"))
    with pytest.raises(LiteshipError, match="line 3: the JSON is cut short"):
        read_measurements(write(tmp_path, '{"latency": {\n"avg_ms": 1.0,\n', "cut.json"))


def test_a_truncated_results_pb_is_not_read(tmp_path):
    (tmp_path / "results.pb").write_bytes(results_pb()[:-3])
    with pytest.raises(LiteshipError, match="results.pb.*(runs past the end|cut off)"):
        read_measurements(tmp_path / "results.pb")


def test_measurements_are_frozen():
    m = one(FIXTURES / "benchmark_model_stdout.txt")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.median_ms = 1.0
    assert all(math.isfinite(getattr(m, f)) for f in ("median_ms", "avg_ms", "init_ms"))
