"""Outputs that reach what a command reads by a second road (issue 32), each a real `liteship` process.

A tracker store named inside the data or another run directory, a run whose results.jsonl is a link into another
run, a model benched inside a run directory, and /dev paths that are a file the process has open (/dev/stdin is
whatever file standard input is). What each command reads is written down from the README and the issue (the data
a run was made from, the run directory a results file lives in, the run a model belongs to), not from liteship's
code. Every case checks the exit code, the first lines of the message, no traceback, a timeout, and every file
of the user's world byte for byte before and after.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.robustness.hostile import INTERNALS, snapshot
from tests.robustness.worlds import make_world

TIMEOUT = 120  # the old code trained a whole sweep before the store was refused
PROBLEM = "error: 1 problem in the input; nothing was started or written:"
needs_mlflow = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the mlflow extra")


def liteship(*args, cwd: Path, stdin=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "liteship", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=cwd, stdin=stdin if stdin is not None else subprocess.DEVNULL)
    assert not any(word in proc.stderr + proc.stdout for word in INTERNALS), proc.stderr[-3000:]
    return proc


def refused(proc, command: str, flag: str, problems: int = 1) -> str:
    """The line naming ``flag``, after checking exit 2 and the first line."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    head = PROBLEM if problems == 1 else PROBLEM.replace("1 problem", f"{problems} problems")
    assert lines[0] == f"liteship {command}: {head}", lines
    return next(line for line in lines[1:] if line.startswith(f"  - {flag} = "))


# --------------------------------------------------------------------------- 1. a tracker store among the inputs


@needs_mlflow
@pytest.mark.parametrize("where", ["in-a-class-folder", "in-the-data-folder", "through-a-linked-folder",
                                   "in-another-run"])
def test_track_never_puts_its_store_among_the_inputs(tmp_path, where):
    world = make_world(tmp_path)  # runs/base was made from data/ (run.json, data/split.json)
    (tmp_path / "lnk").symlink_to(world["data"] / "b", target_is_directory=True)
    db = {"in-a-class-folder": world["data"] / "a" / "new.db", "in-the-data-folder": world["data"] / "x.db",
          "through-a-linked-folder": tmp_path / "lnk" / "new.db", "in-another-run": world["new"] / "mlflow.db"}[where]
    before = snapshot(tmp_path)
    line = refused(liteship("track", world["base"], "--uri", f"sqlite:///{db}", cwd=tmp_path), "track", "--uri")
    inside = f"run directory {world['new']}, another" if where == "in-another-run" else \
        f"inside the data folder {world['data']}"
    assert inside in line, line
    assert snapshot(tmp_path) == before  # no new.db, no mlartifacts/ with pareto.png among the photos


def _photos(data: Path) -> Path:
    for i, name in enumerate(("red", "green", "blue")):
        (data / name).mkdir(parents=True)
        for j in range(12):
            Image.new("RGB", (20, 20), (80 * i, 10 * j, 0)).save(data / name / f"{j}.png")
    return data


SWEEP = """[train]
epochs = 2
weights = "none"
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["float32", "int8"]
[bench]
backends = ["xnnpack"]
threads = [1]
runs = 5
instructions = false
arm64 = false
[track]
mlflow = true
uri = "sqlite:///{db}"
"""


@needs_mlflow
@pytest.mark.parametrize("where", ["class-folder", "other-run"])
def test_a_sweep_never_puts_its_store_among_the_inputs(tmp_path, where):
    data = _photos(tmp_path / "data")
    other = tmp_path / "runs" / "v"
    other.mkdir(parents=True)
    (other / ".liteship-run").write_text("{}\n")
    db = data / "green" / "x.db" if where == "class-folder" else other / "mlflow.db"
    (tmp_path / "small.toml").write_text(SWEEP.format(db=db))
    before = snapshot(tmp_path)
    proc = liteship("sweep", "--data", data, "--config", "small.toml", "--out", tmp_path / "runs" / "a", cwd=tmp_path)
    line = refused(proc, "sweep", "small.toml [track] uri")
    assert (f"inside the data folder {data}" if where == "class-folder" else f"run directory {other}") in line, line
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- 2. results.jsonl, a link to another run


def _linked_run(world: dict) -> Path:
    """runs/lk: a copy of runs/base whose results.jsonl is a link to runs/new's."""
    lk = world["base"].with_name("lk")
    lk.mkdir()
    for name in (".liteship-run", "run.json", "report.md"):
        (lk / name).write_bytes((world["base"] / name).read_bytes())
    (lk / "results.jsonl").symlink_to("../new/results.jsonl")
    return lk


@pytest.mark.parametrize("flag, victim", [("--markdown", "report.md"), ("--junit", "results.csv"),
                                          ("--junit", "new.xml")])
def test_gate_never_writes_into_the_run_its_results_link_to(tmp_path, flag, victim):
    world = make_world(tmp_path)
    lk = _linked_run(world)
    (world["new"] / "results.csv").write_text("variant,accuracy\n")
    before = snapshot(tmp_path)
    proc = liteship("gate", lk, flag, world["new"] / victim, cwd=tmp_path)
    line = refused(proc, "gate", flag, problems=2)
    assert f"inside the run directory RUN_DIR's results.jsonl lives in ({world['new']})" in line, line
    assert proc.stderr.splitlines()[1] == (f'  - RUN_DIR = "{lk}": its results.jsonl is a link to another place '
                                           '("../new/results.jsonl"); liteship reads a run\'s own files, and would '
                                           "judge that place's records as this run's. Fix: pass the run directory the "
                                           "results belong to, or put a copy of the file in place of the link.")
    assert snapshot(tmp_path) == before


def test_gate_refuses_a_run_whose_results_are_another_runs(tmp_path):
    """Without any output flag: gate judged runs/new's records as runs/lk's."""
    world = make_world(tmp_path)
    lk = _linked_run(world)
    before = snapshot(tmp_path)
    line = refused(liteship("gate", lk, cwd=tmp_path), "gate", "RUN_DIR")
    assert "its results.jsonl is a link to another place" in line, line
    assert snapshot(tmp_path) == before


def test_a_results_link_inside_the_run_is_still_read(tmp_path):
    """The rule is about leaving the run: a link to a file of the run itself is the run's own results."""
    world = make_world(tmp_path)
    run = world["base"]
    (run / "kept").mkdir()
    (run / "results.jsonl").rename(run / "kept" / "results.jsonl")
    (run / "results.jsonl").symlink_to("kept/results.jsonl")
    proc = liteship("gate", run, "--junit", tmp_path / "gate.xml", cwd=tmp_path)
    assert proc.returncode in (0, 1) and (tmp_path / "gate.xml").is_file(), proc.stderr


@pytest.mark.parametrize("flag", ["--json", "--markdown"])
def test_compare_never_writes_into_the_run_its_results_link_to(tmp_path, flag):
    world = make_world(tmp_path)
    lk = _linked_run(world)
    before = snapshot(tmp_path)
    proc = liteship("compare", lk, world["base"], flag, world["new"] / "report.md", cwd=tmp_path)
    line = refused(proc, "compare", flag)
    assert f"inside the run directory BASE's results.jsonl lives in ({world['new']})" in line, line
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- 3. bench of a model inside a run


@pytest.mark.parametrize("model, victim", [("variants/x.tflite", "report.md"), ("variants/x.tflite", "new.json"),
                                           ("variants/deep/x.tflite", "results.jsonl"), ("x.tflite", "run.json")])
def test_bench_of_a_model_never_writes_into_its_run(tmp_path, model, victim):
    world = make_world(tmp_path)
    run = world["base"]
    (run / model).parent.mkdir(parents=True, exist_ok=True)
    (run / model).write_bytes(world["model"].read_bytes())
    before = snapshot(tmp_path)
    proc = liteship("bench", run / model, "--backends", "xnnpack", "--json", run / victim, cwd=tmp_path)
    line = refused(proc, "bench", "--json")
    assert f"it is inside the run directory of TARGET ({run})" in line, line
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- 4. /dev and /proc paths as outputs


@pytest.mark.parametrize("out", ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "/proc/self/fd/1", "link-to-stdin",
                                 "linked-fd-folder/0"])
def test_an_output_that_is_standard_input_is_refused(tmp_path, out):
    world = make_world(tmp_path)
    (tmp_path / "link-to-stdin").symlink_to("/dev/stdin")
    (tmp_path / "linked-fd-folder").symlink_to("/proc/self/fd", target_is_directory=True)
    (tmp_path / "p2.txt").write_text("the user's notes, read as standard input\n")
    before = snapshot(tmp_path)
    with open(tmp_path / "p2.txt", "rb") as stdin:
        proc = liteship("gate", world["base"], "--junit", out, cwd=tmp_path, stdin=stdin)
    line = refused(proc, "gate", "--junit")
    assert "where the outputs are /dev/null, /dev/stdout, /dev/stderr and /dev/full alone" in line, line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("first, second", [("-", "-"), ("-", "/dev/stdout"), ("/dev/stdout", "/dev/stdout"),
                                           ("/dev/stderr", "/dev/stderr")])
def test_two_outputs_on_one_stream_are_refused(tmp_path, first, second):
    world = make_world(tmp_path)
    before = snapshot(tmp_path)
    proc = liteship("gate", world["base"], "--junit", first, "--markdown", second, cwd=tmp_path)
    line = refused(proc, "gate", "--markdown")
    stream = "standard error" if first == "/dev/stderr" else "standard output"
    assert f"--markdown and --junit ({first}) both write to {stream}" in line, line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out", ["/dev/stdout", "/dev/null", "link-to-stdout"])
@pytest.mark.parametrize("shell", ["file", "pipe"])
def test_the_streams_are_still_outputs(tmp_path, out, shell):
    """/dev/stdout is written to the process's standard output, a file or a pipe: a replace of the file (the old
    way, through its link) took it from the shell with the summary written before, and a pipe's name in /proc was
    refused as a kernel file."""
    world = make_world(tmp_path)
    (tmp_path / "link-to-stdout").symlink_to("/dev/stdout")
    with open(tmp_path / "shell.out", "wb") as stdout:
        proc = subprocess.run([sys.executable, "-m", "liteship", "gate", str(world["base"]), "--junit", out],
                              stdout=stdout if shell == "file" else subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=TIMEOUT, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stderr
    written = (tmp_path / "shell.out").read_text() if shell == "file" else proc.stdout
    assert "0 of 2 variants pass every budget: gate FAILED" in written  # gate's verdict on the world's 2 variants
    assert ('<testsuite name="liteship.gate"' in written) == (out != "/dev/null"), written
