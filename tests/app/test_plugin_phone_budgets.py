"""The pytest plugin on budgets of a phone's backends, with pytest-benchmark installed: a device's imported median
and a prediction from counts are judged as ``liteship gate`` judges them, and never timed on this machine.

The run is tests/bench/test_device_round_trip.py's (float32 F32 and int8 I8 of mnv2, stand-in bytes that no
runtime could open); its results get, written by hand, F32's median on the iPhone 13 (3.300 ms) and a prediction of
I8 (3.10 ms, 95 % interval 2.60-3.70 ms). With max_latency_ms = 3.5: on predicted:iphone-13, F32 passes on its
measurement (3.300 <= 3.5) and I8 fails on its upper end (3.700 > 3.5); on device:iphone-13, F32 passes and I8 has
no measurement. pytest-benchmark's own output and JUnit file are read back, not liteship's.
"""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from tests.bench.test_device_round_trip import F32, I8, run  # noqa: F401 (run: the fixture)
from tests.judge.test_predicted_budgets import measured, predicted
from tests.judge.test_predicted_gate import _add

pytest.importorskip("pytest_benchmark")  # the crash was in the plugin's pytest-benchmark timing


def _plugin(run_dir, tmp_path, backend):  # noqa: F811
    budgets = tmp_path / "b.toml"
    budgets.write_text(f'[budgets]\nbackend = "{backend}"\nmax_latency_ms = 3.5\nrequire_contract = false\n')
    junit, bench_json = tmp_path / "plugin.xml", tmp_path / "benchmark.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--liteship-run", str(run_dir),
                           "--liteship-budgets", str(budgets), f"--junitxml={junit}",
                           f"--benchmark-json={bench_json}", "-rA"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    timed = json.loads(bench_json.read_text())["benchmarks"] if bench_json.exists() else []
    return proc, cases, timed


def _latency(cases, variant):
    case = next(c for name, c in cases.items() if variant in name and "max_latency_ms" in name)
    return case, {p.get("name"): p.get("value") for p in case.iter("property")}


@pytest.mark.parametrize("backend", ["predicted:iphone-13", "device:iphone-13"])
def test_a_phone_budget_is_judged_on_the_phone_s_number_and_never_timed_here(run, tmp_path, backend):  # noqa: F811
    guess = predicted(I8, 3.1, 2.6, 3.7)  # resting on the device's measurement in this run, so not stale
    rests = [{"variant": F32, "median_ms": 3.3, "instructions": 35_500_000, "source": "phone.txt",
              "source_sha256": "0" * 64}]
    _add(run, measured(F32, 3.3), replace(guess, device={**guess.device, "rests_on": rests}))
    proc, cases, timed = _plugin(run, tmp_path, backend)
    out = proc.stdout
    assert "TypeError" not in out and "Benchmark fixture was not used" not in out, out[-3000:]
    assert proc.returncode == 1 and "1 failed, 1 passed" in out, out[-3000:]  # I8 fails, F32 passes
    assert timed == [] and not re.search(r"benchmark: \d+ tests?", out)  # pytest-benchmark timed nothing
    f32, said = _latency(cases, F32)
    assert f32.find("failure") is None and f32.find("error") is None
    assert float(said["liteship_judged_ms"]) == 3.3 and float(said["liteship_limit_ms"]) == 3.5
    assert said["liteship_backend"] == backend
    assert "3.300 ms <= 3.500 ms (margin +0.200 ms)" in said["liteship_verdict"]
    where = "timed on the device and imported" if backend.startswith("device") else "predicted from aarch64 " \
        "instruction counts"
    assert said["liteship_timing"].startswith(f"not timed here: {backend} is no backend this machine runs (")
    assert where in said["liteship_timing"] and "pytest-benchmark timed nothing" in said["liteship_timing"]
    i8, said = _latency(cases, I8)
    assert i8.find("failure") is not None
    if backend.startswith("predicted"):  # judged on the interval's upper end, as gate says it
        assert float(said["liteship_judged_ms"]) == 3.7
        assert re.search(r"3\.700 ms > 3\.500 ms \(margin -0\.200 ms\) \[predicted 3\.100? ms, 95 % interval "
                         r"2\.600?-3\.700? ms, upper end judged\]", said["liteship_verdict"]), said["liteship_verdict"]
    else:  # the device measured only F32
        assert "not measured (limit 3.500 ms)" in said["liteship_verdict"]
    assert "not timed here" in out  # the item's section, in pytest's own output (-rA)
