"""A sweep's instruction counts: a failed count never ends the sweep, and a finished one is in the run directory.

valgrind is replaced by scripts of the same name first on PATH: one that fails, one that hangs past a shortened
time limit, one that logs each call and then runs the real valgrind. Each sweep is a tiny small_cnn (8 px, one
epoch) on the bundled digits, one job at a time in this process, so the shortened limit reaches the count.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from liteship.workflow.executors import LocalExecutor
from tests.conftest import run_sweep as sweep
from liteship.workflow.sweep_config import load_sweep_config
from liteship.bench import instructions as ins
from liteship.progress import Progress

pytestmark = pytest.mark.slow  # each test sweeps (train, optimize, count, bench): 20 to 60 s

CONFIG = """
[train]
epochs = 1
seed = 0
[[models]]
arch = "small_cnn"
size = 8
[optimize]
recipes = {recipes}
[bench]
backends = ["xnnpack"]
threads = [1]
runs = 3
rounds = 1
warmup = 0
instructions = true
arm64 = false
"""


def _valgrind_on_path(monkeypatch, folder: Path, body: str) -> Path:
    """A script named valgrind first on PATH: --version answers like valgrind; anything else runs ``body`` (sh)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "valgrind"
    script.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo valgrind-3.19.0; exit 0; fi\n' + body)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return script


def _config(tmp_path: Path, recipes: list[str]):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG.format(recipes=json.dumps(recipes)))
    return load_sweep_config(cfg)


def test_a_count_that_fails_or_hangs_is_kept_as_its_reason_and_the_sweep_goes_on(tf_available, tmp_path,
                                                                                    monkeypatch, capsys):
    from liteship.app.cli import main

    calls = tmp_path / "calls"
    # the first count exits 1, the second hangs: which variant gets which is the scheduler's order
    _valgrind_on_path(monkeypatch, tmp_path / "bin", f'echo x >> {calls}\nif [ $(wc -l < {calls}) -eq 1 ]; then '
                      'echo "fake valgrind: cannot start callgrind" >&2; exit 1; fi\nexec sleep 300\n')
    monkeypatch.setattr(ins, "LIMIT_FLOOR_S", 2.0)  # the floor of the time limit, for a tiny model the limit
    out = tmp_path / "run"
    records = sweep("digits", out, _config(tmp_path, ["float32", "int8"]), Progress(quiet=True), LocalExecutor(1))
    assert len(calls.read_text().splitlines()) == 2  # both counts ran: the first failure did not end the sweep
    xnn = {r.recipe: r for r in records if r.backend == "xnnpack"}
    assert set(xnn) == {"float32", "int8"} and all(r.status == "ok" and r.top1 is not None for r in xnn.values())
    assert all(r.instructions is None for r in xnn.values())
    reasons = sorted(n for r in xnn.values() for n in r.notes if n.startswith("instructions not counted"))
    assert reasons == ["instructions not counted: valgrind exited with code 1: fake valgrind: cannot start callgrind",
                       "instructions not counted: valgrind took over its limit of 2 s "
                       f"({ins.TIME_LIMIT_RULE})"], reasons
    report = (out / "report.md").read_text()  # the report says which counts failed, and why
    assert "no x86 instruction count (instructions not counted: valgrind exited with code 1" in report
    assert "no x86 instruction count (instructions not counted: valgrind took over its limit of 2 s" in report
    # the gate judges an instruction budget on them: not measured, and why
    budgets = tmp_path / "budgets.toml"
    budgets.write_text("[budgets]\nmax_instructions_m = 1000\nrequire_contract = false\n")
    capsys.readouterr()
    assert main(["gate", str(out), "--budgets", str(budgets)]) == 1
    said = capsys.readouterr().out
    assert "max_instructions_m" in said and "not measured" in said
    assert "valgrind exited with code 1" in said and "took over its limit" in said, said


def test_a_resumed_sweep_does_not_count_again(tf_available, tmp_path, monkeypatch):
    """Killed after its count finished and before bench, a sweep resumes without counting again: valgrind is run
    once in all (a script logs each call, then runs the real valgrind), and the record holds that count."""
    real = shutil.which("valgrind")
    if real is None:
        pytest.skip("valgrind is not installed")
    calls = tmp_path / "calls"
    _valgrind_on_path(monkeypatch, tmp_path / "bin", f'echo "$@" >> {calls}\nexec {real} "$@"\n')
    config, out = _config(tmp_path, ["float32"]), tmp_path / "run"

    class KilledBeforeBench(LocalExecutor):
        def bench(self, *args, **kwargs):
            raise KeyboardInterrupt  # the sweep is stopped after every count, before any bench

    with pytest.raises(KeyboardInterrupt):
        sweep("digits", out, config, Progress(quiet=True), KilledBeforeBench(1))
    assert len(calls.read_text().splitlines()) == 1 and not (out / "results.jsonl").exists()
    (written,) = (out / "counts").glob("*.x86.json")
    counted = json.loads(written.read_text())["count"]
    records = sweep("digits", out, config, Progress(quiet=True), LocalExecutor(1))
    assert len(calls.read_text().splitlines()) == 1  # resumed: the count was read, not made again
    (xnn,) = [r for r in records if r.backend == "xnnpack"]
    assert xnn.instructions.to_dict() == counted and xnn.instructions.counted
