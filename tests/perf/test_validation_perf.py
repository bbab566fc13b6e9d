"""Checking a command's whole input takes well under a second: the worst surfaces the fuzz suites found.

The fuzz suites record each case's time; this holds the target as a benchmark (pytest-benchmark's median of
several rounds), so a busy shared machine does not fail a unit test.
"""

import json
import subprocess
import sys
import time

import pytest

from liteship.workflow.checks import check
from liteship.app.cli import build_parser
from liteship.app.requests import build_request
from liteship.config import Problems

pytestmark = pytest.mark.perf

SWEEP = ("[train]\nbatch_size = 0\nepochz = 1\n[[models]]\narch = 'mobilenet_v2'\nalpha = 0.6\nsize = 64\n"
         "[optimize]\nrecipes = 'int8'\n[optimize.prune_int8]\nx = 1\n[bench]\nthreads = [0]\nbackends = []\n")


def _refuse(argv):
    try:
        check(build_request(build_parser().parse_args(argv)))
    except Problems as exc:
        return len(exc.problems)
    raise AssertionError("accepted")


def test_a_bad_sweep_config_is_checked_in_under_a_second(benchmark, tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SWEEP)
    argv = ["sweep", "--data", "digits", "--config", str(cfg), "--out", str(tmp_path / "run")]
    problems = benchmark.pedantic(_refuse, args=(argv,), rounds=20, iterations=1, warmup_rounds=1)
    assert problems == 8 and benchmark.stats.stats.median < 1.0


def test_a_damaged_baseline_is_checked_in_under_a_second(benchmark, tmp_path):
    from tests.judge.test_findings import FLOAT, rec

    good = json.dumps(rec("int8", FLOAT).to_dict())
    base = tmp_path / "results.jsonl"
    base.write_text("\n".join([good] * 500 + [json.dumps({**json.loads(good), "top1": "high"})]) + "\n")
    problems = benchmark.pedantic(_refuse, args=(["compare", str(base), str(base)],), rounds=20, iterations=1,
                                  warmup_rounds=1)
    # BASE and NEW are one file: its damaged line said once, and that a run compared with itself proves nothing
    assert problems == 2 and benchmark.stats.stats.median < 1.0


def test_a_refused_command_exits_in_under_five_seconds_from_a_cold_start(benchmark, tmp_path):
    """The whole process: Python, liteship's imports, the check, the message (the issue's 5 s)."""
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SWEEP)

    def run():
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "liteship", "sweep", "--data", "digits", "--config", str(cfg),
                               "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        return time.perf_counter() - started

    seconds = benchmark.pedantic(run, rounds=5, iterations=1)
    print(f"a refused sweep, cold process: {benchmark.stats.stats.median:.2f} s median")
    assert benchmark.stats.stats.median < 5.0 and seconds < 5.0
