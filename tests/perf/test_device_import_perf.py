"""Issue 34's import target: 1,000 device measurement lines read in well under 2 s (pytest-benchmark).

Two files of 1,000 measurements each: leaderboard rows (one JSON object a line, copied from litert-samples) and a
benchmark_model log of 1,000 runs (the stdout fixture repeated). Each test counts what was read and compares the
time with a plain ``json.loads`` of the same lines, so a slow reader shows as a ratio as well as in seconds.
"""

import json
import time
from pathlib import Path

import pytest

from liteship.bench.device_import import read_measurements

pytestmark = pytest.mark.perf

FIXTURES = Path(__file__).parents[1] / "bench" / "device_fixtures"
N = 1000


def test_1000_leaderboard_lines_import_under_2_s(benchmark, tmp_path):
    row = json.loads((FIXTURES / "leaderboard_measurements.jsonl").read_text().splitlines()[0])
    lines = [json.dumps({**row, "file": f"variant_{i:04d}.tflite"}) for i in range(N)]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    found = benchmark.pedantic(read_measurements, args=(path,), rounds=5, iterations=1)
    seconds = (time.perf_counter() - started) / 5
    parse_only = min(_timed(lambda: [json.loads(line) for line in lines]) for _ in range(5))
    benchmark.extra_info.update({"seconds": seconds, "json_loads_seconds": parse_only})
    print(f"{N} leaderboard lines: {seconds * 1000:.1f} ms each import, {seconds / parse_only:.1f}x json.loads alone")
    assert [m.model for m in found] == [f"variant_{i:04d}.tflite" for i in range(N)]
    assert benchmark.stats.stats.max < 2.0


def test_1000_benchmark_model_runs_import_under_2_s(benchmark, tmp_path):
    run = "\n".join(line for line in (FIXTURES / "benchmark_model_stdout.txt").read_text().splitlines()
                    if not line.startswith("#"))
    path = tmp_path / "runs.txt"
    path.write_text("\n".join(run.replace("3f2a9c1e", f"{i:08x}") for i in range(N)) + "\n")
    found = benchmark.pedantic(read_measurements, args=(path,), rounds=3, iterations=1)
    benchmark.extra_info.update({"lines": len(path.read_text().splitlines())})
    print(f"{N} benchmark_model runs ({benchmark.extra_info['lines']} lines): "
          f"{benchmark.stats.stats.max * 1000:.1f} ms the slowest import")
    assert [m.model_file for m in found] == [f"{i:08x}.tflite" for i in range(N)]
    assert {m.median_ms for m in found} == {2.391}
    assert benchmark.stats.stats.max < 2.0


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
