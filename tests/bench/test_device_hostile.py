"""Device files a benchmark tool really writes that the reader got wrong, and absurd ones it let through: each
checked against numbers and words worked out by hand from the text written here.

The count= lines follow ``Stat::OutputToStream`` and ``StatWithPercentiles::OutputToStream`` of
``xla/tsl/util/stats_calculator.h`` (tensorflow/tensorflow, the file LiteRT's benchmark_model.cc prints its phases
with): ``count=N curr=X`` then ``(all same)`` when every run took the same time and there were more than one, else
``count=N first=X curr=X min=X max=X avg=X std=X``; the percentile version adds `` p5=X median=X p95=X`` either way.
``Benchmarking failed.`` is ``benchmark_main.cc``'s ERROR line after a run that did not finish.
"""

import json

import pytest

from liteship.bench.device_import import read_measurements
from liteship.errors import LiteshipError
from tests.bench.test_device_import import benchmark_result_class, results_pb
from tests.bench.test_device_round_trip import stdout


def write(tmp_path, text, name="log.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def one(path, **kw):
    found = read_measurements(path, **kw)
    assert len(found) == 1, found
    return found[0]


HEAD = "INFO: STARTING!\nINFO: Num threads: [1]\nINFO: Graph: [/data/local/tmp/m-aaaaaaaaaaa1.tflite]\n"


@pytest.mark.parametrize("tail", ["", " p5=260 median=260 p95=260"])
def test_every_run_the_same_time_is_read_as_that_time(tmp_path, tail):
    text = (HEAD + "INFO: count=5 first=390 curr=260 min=234 max=390 avg=292 std=50 p5=234 median=260 p95=390\n"
            f"INFO: count=500 curr=260(all same){tail}\n"
            "INFO: Inference timings in us: Init: 12300, First inference: 390, Warmup (avg): 292, "
            "Inference (avg): 260\n")
    m = one(write(tmp_path, text))
    # by hand: 500 runs of 260 us each: every statistic 0.26 ms, no spread
    assert (m.median_ms, m.p5_ms, m.p95_ms, m.min_ms, m.max_ms, m.avg_ms, m.std_ms) == (0.26,) * 6 + (0.0,)
    assert (m.runs, m.warmup_runs, m.first_inference_ms) == (500, 5, 0.39)


def test_a_single_run_is_its_own_median(tmp_path):
    text = (HEAD + "INFO: count=1 curr=1200 p5=1200 median=1200 p95=1200\nINFO: count=1 curr=980\n"
            "INFO: Inference timings in us: Init: 5000, First inference: 1200, Warmup (avg): 1200, "
            "Inference (avg): 980\n")
    m = one(write(tmp_path, text))
    assert (m.median_ms, m.min_ms, m.max_ms, m.std_ms, m.runs) == (0.98, 0.98, 0.98, 0.0, 1)


@pytest.mark.parametrize("median, said", [(0, "0 ms"), (-5, "-0.005 ms")])
def test_a_median_of_zero_or_less_in_a_log_is_refused_naming_the_line(tmp_path, median, said):
    text = stdout("/x/m-aaaaaaaaaaa1.tflite", 2000).replace("median=2000 p95=2300", f"median={median} p95=2300")
    text = text.replace("min=1900", f"min={min(median, 0)}").replace("p5=1920", f"p5={min(median, 0)}")
    with pytest.raises(LiteshipError, match=rf"log.txt, line 13: the median is {said}"):
        read_measurements(write(tmp_path, text))


def test_a_median_under_a_microsecond_is_refused_one_of_a_microsecond_is_read(tmp_path):
    lat = {"median": 1e-300, "avg": 0.249, "p5": 1e-300, "p95": 0.27, "min": 1e-300, "max": 0.37}
    base = {"file": "m.tflite", "device": "Pixel 9 Pro", "accelerator": "cpu", "runs": 101}
    path = write(tmp_path, json.dumps({**base, "latency_ms": lat}) + "\n", "tiny.jsonl")
    with pytest.raises(LiteshipError, match=r"tiny.jsonl, line 1: the median is 1e-300 ms.*under 0.001 ms"):
        read_measurements(path)
    lat.update(median=0.001, p5=0.001, min=0.001)  # 1 us: the least benchmark_model prints
    assert one(write(tmp_path, json.dumps({**base, "latency_ms": lat}) + "\n", "us.jsonl")).median_ms == 0.001
    zero = stdout("/x/m-aaaaaaaaaaa1.tflite", 2000).replace("median=2000 p95", "median=0 p95")
    with pytest.raises(LiteshipError, match=r"line 13: the median is 0 ms"):
        read_measurements(write(tmp_path, zero.replace("min=1900", "min=0").replace("p5=1920", "p5=0")))


def test_an_average_of_zero_is_refused_too(tmp_path):
    old = (HEAD + "INFO: Initialized session in 4.117ms.\n"
           "INFO: Average inference timings in us: Warmup: 15390.4, Init: 4117, no stats: 0\n")
    with pytest.raises(LiteshipError, match=r"line 5: the avg is 0 ms"):
        read_measurements(write(tmp_path, old))


def test_a_failed_benchmark_run_says_so_with_its_error_line(tmp_path):
    text = (HEAD + "ERROR: Failed to allocate tensors!\nERROR: Benchmarking failed.\n")
    with pytest.raises(LiteshipError, match=r"log.txt, line 4: the benchmark run failed: Failed to allocate "
                                            r"tensors!.*no measurement") as caught:
        read_measurements(write(tmp_path, text))
    assert "wire type" not in str(caught.value) and "results.pb" not in caught.value.why
    logcat = ("09-20 10:00:00.000  101  101 I tflite  : STARTING!\n"
              "09-20 10:00:00.100  101  101 E tflite  : Didn't find op for builtin opcode 'CONV_2D' version '9'\n"
              "09-20 10:00:00.200  101  101 E tflite  : Benchmarking failed.\n")
    with pytest.raises(LiteshipError, match=r"line 2: the benchmark run failed: Didn't find op for builtin"):
        read_measurements(write(tmp_path, logcat, "logcat.txt"))


def test_liteships_own_results_file_is_named_as_such(tmp_path):
    record = {"variant": "aaaaaaaaaaa1", "backend": "xnnpack", "threads": 1, "latency_ms": {"p50": 2.0}}
    path = write(tmp_path, json.dumps(record) + "\n" + json.dumps({**record, "threads": 2}) + "\n", "results.jsonl")
    with pytest.raises(LiteshipError, match=r"results.jsonl, line 1: it is liteship's own results file"):
        read_measurements(path)
    with pytest.raises(LiteshipError, match=r"one.jsonl, line 1: it is liteship's own results file"):
        read_measurements(write(tmp_path, json.dumps(record) + "\n", "one.jsonl"))


@pytest.mark.parametrize("given, kept", [("CPU", "cpu"), (" Gpu ", "gpu"), ("npu", "npu")])
def test_accelerator_words_are_one_case(tmp_path, given, kept):
    row = {"file": "m.tflite", "device": "Pixel 9 Pro", "accelerator": given, "runs": 101,
           "latency_ms": {"median": 9.8, "avg": 9.9}}
    assert one(write(tmp_path, json.dumps(row) + "\n", "row.jsonl")).accelerator == kept


@pytest.mark.parametrize("given", ["../../x", "cpu/../gpu", "a b", ""])
def test_an_accelerator_that_is_no_word_is_refused(tmp_path, given):
    row = {"file": "m.tflite", "device": "Pixel 9 Pro", "accelerator": given, "runs": 101,
           "latency_ms": {"median": 9.8, "avg": 9.9}}
    path = write(tmp_path, json.dumps(row) + "\n", "row.jsonl")
    if not given:
        assert one(path).accelerator is None  # empty: not said, as null is
        return
    with pytest.raises(LiteshipError, match=r"row.jsonl, line 1: the accelerator is .*a word such as cpu, gpu"):
        read_measurements(path)


# ------------------------------------------------------------------------- a session's results.pb and stdout.txt

def _pb(size_mb: float) -> bytes:
    result = benchmark_result_class()()
    result.ParseFromString(results_pb())
    result.misc_metrics.model_size_mb = size_mb
    return result.SerializeToString()


def _session(tmp_path, printed: str | None, size_mb: float):
    session = tmp_path / "s"
    job = session / "cpu-00008140-001A"
    job.mkdir(parents=True)
    (session / "session.json").write_text(json.dumps({"platform": "ios", "device": "iPhone17,3",
                                                      "device_id": "00008140-001A", "os": "iOS 18.1"}))
    (job / "results.pb").write_bytes(_pb(size_mb))
    size = "" if printed is None else f"INFO: The input model file size (MB): {printed}\n"
    (job / "stdout.txt").write_text(HEAD + "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n" + size)
    return session


@pytest.mark.parametrize("printed, size_mb", [("0.52", 0.52), ("2.41932", 2.419318), (None, 0.5)])
def test_a_session_whose_stdout_and_results_pb_both_give_the_model_size_reads(tmp_path, printed, size_mb):
    m = one(_session(tmp_path, printed, size_mb))
    # results.pb's own number (a float32) wins; stdout prints the same double to 6 significant digits
    assert m.model_size_mb == pytest.approx(size_mb, rel=1e-7) and m.model_file == "m-aaaaaaaaaaa1.tflite"
    assert (m.median_ms, m.threads, m.delegate, m.accelerator) == (3.125, 1, "XNNPACK", "cpu")


def test_a_session_whose_stdout_is_of_another_run_than_its_results_pb_is_refused(tmp_path):
    session = _session(tmp_path, "0.52", 0.5)
    with pytest.raises(LiteshipError, match=r"stdout.txt says the model file size \(MB\) is 0.52, results.pb "
                                            r"0.5.*not of one run") as caught:
        read_measurements(session)
    assert "cpu-00008140-001A" in str(caught.value)


def test_the_python_tools_zero_is_too_fast_for_it_not_a_time(tmp_path):
    # the keys of ai_edge_litert.tools.benchmark_litert_model's --result_json, as it wrote them for a model it timed
    # at 0.00 ms (it rounds to 0.01 ms)
    doc = {"model": "/tmp/m-aaaaaaaaaaa1.tflite", "model_size_mb": 0.0, "accelerators": ["CPU"], "num_threads": 1,
           "latency": {"init_ms": 0.94, "warmup_first_ms": 0.04, "warmup_avg_ms": 0.01, "num_warmup_runs": 5,
                       "avg_ms": 0.0, "min_ms": 0.0, "max_ms": 0.0, "median_ms": 0.0, "std_ms": 0.0, "p5_ms": 0.0,
                       "p95_ms": 0.0, "num_runs": 20}}
    with pytest.raises(LiteshipError, match=r"out.json, line 1: the median is 0 ms.*rounds to 0.01 ms.*benchmark_model"):
        read_measurements(write(tmp_path, json.dumps(doc), "out.json"))


def test_a_negative_time_on_the_timings_line_is_refused_not_overwritten(tmp_path):
    # the count= line's average (2020 us) would stand for the run's, and the -2020 beside it was dropped unread
    text = stdout("/x/m-aaaaaaaaaaa1.tflite", 2000).replace("Inference (avg): 2020", "Inference (avg): -2020")
    with pytest.raises(LiteshipError, match=r"log.txt, line 13: the line gives a time of -2020 us"):
        read_measurements(write(tmp_path, text))


@pytest.mark.parametrize("doc, said", [('{"rows": []}', "its rows are empty"),
                                       ("[" * 5000 + "]" * 5000, "the JSON nests too deep"),
                                       ('[{"latency_ms": {"median": 1.0}}]', "the JSON is not an object")])
def test_json_that_holds_no_measurement_is_said_as_json_not_as_a_results_pb(tmp_path, doc, said):
    with pytest.raises(LiteshipError, match=said) as caught:
        read_measurements(write(tmp_path, doc, "board.json"))
    assert "wire type" not in str(caught.value)
