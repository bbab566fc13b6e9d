"""liteship called from a Python script, ``python -m`` or a notebook, as users write them.

- A script without ``if __name__ == "__main__":`` runs its sweep once: the local executor's spawned workers never
  run the caller's main module again (each re-run would be another sweep). Evidence: a marker line the script
  writes at module level, counted; the same script on plain spawn writes more than one.
- A worker that dies says why as far as its exit code tells (exit code, signal), and the memory guess only for
  SIGKILL.
- SIGTERM to a Python program inside a liteship call: exit 143 and a message on stderr, the program's own
  excepthook still called; a caught Terminated leaves the excepthook as it was by the next call.
- TensorFlow's and absl's Python loggers go to the framework log while it is active, also when, as in Jupyter,
  TensorFlow's logger writes to stdout; afterwards they are as they were.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from liteship.errors import LiteshipError
from liteship.signals import Terminated, sigterm_as_interrupt
from liteship.workflow.executors import LocalExecutor
from liteship.workflow.schedule import Job

MESSAGE = "stopped by SIGTERM; finished work is kept; call the same function again to resume"

# Module level, no guard: writes one marker line each time the module runs, then runs six jobs on two workers.
NO_GUARD = """
import os, sys
with open(sys.argv[1], "a") as f:
    f.write(f"{os.getpid()} {__name__}\\n")
from liteship.workflow.executors import LocalExecutor
from liteship.workflow.schedule import Job
class Key:
    def label(self):
        return "getpid"
pids = []
LocalExecutor(2).run([Job(Key(), os.getpid, (), lambda pid: pids.append(pid) or []) for _ in range(6)])
print("workers", len(set(pids)), "driver", os.getpid() not in pids)
"""
# The same, with the pool multiprocessing gives (spawn): each worker runs the module again as __mp_main__.
PLAIN_SPAWN = """
import multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
with open(sys.argv[1], "a") as f:
    f.write(f"{os.getpid()} {__name__}\\n")
with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
    print(list(pool.map(abs, [-1, -2, -3])))
"""


def _run(tmp_path: Path, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("how", ["script", "module"])
def test_a_script_without_the_guard_runs_once_with_two_workers(tmp_path, how):
    (tmp_path / "noguard.py").write_text(NO_GUARD)
    marker = tmp_path / "marker.txt"
    done = _run(tmp_path, ["noguard.py", str(marker)] if how == "script" else ["-m", "noguard", str(marker)])
    assert done.returncode == 0, done.stderr
    assert "driver True" in done.stdout  # the jobs ran in worker processes, not in the script's
    lines = marker.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith(" __main__")  # once, as the main module; never as __mp_main__


def test_plain_spawn_runs_such_a_script_again_in_each_worker(tmp_path):
    """The scenario the executor guards against, shown with multiprocessing's own spawn pool."""
    (tmp_path / "plain.py").write_text(PLAIN_SPAWN)
    marker = tmp_path / "marker.txt"
    _run(tmp_path, ["plain.py", str(marker)])
    names = [line.split()[1] for line in marker.read_text().splitlines()]
    assert names[0] == "__main__" and "__mp_main__" in names[1:]


class _Key:
    def __init__(self, name: str):
        self.name = name

    def label(self) -> str:
        return self.name


def test_the_callers_main_module_is_back_once_workers_have_started():
    main = sys.modules["__main__"]
    pids = []
    LocalExecutor(2).run([Job(_Key("getpid"), os.getpid, (), lambda pid: pids.append(pid) or []) for _ in range(4)])
    assert sys.modules["__main__"] is main and pids and os.getpid() not in pids


@pytest.mark.parametrize("fn, args, says, not_said", [
    (os._exit, (3,), "It ended by itself with exit code 3, not killed", "memory"),
    (signal.raise_signal, (signal.SIGSEGV,), "It crashed with SIGSEGV", "memory"),
    (signal.raise_signal, (signal.SIGKILL,), "It was killed from outside, most often by the kernel when memory ran out",
     "exit code"),
])
def test_a_dead_worker_says_what_its_exit_code_tells(fn, args, says, not_said):
    with pytest.raises(LiteshipError) as caught:
        LocalExecutor(2).run([Job(_Key("optimize m int8"), fn, args)])
    text = str(caught.value)
    assert text.startswith("A worker process died while running optimize m int8.")
    assert says in text and not_said not in text and "run the same command again to resume" in text


def _wait_for(path: Path, process: subprocess.Popen, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None and time.monotonic() < end, process.communicate()
        time.sleep(0.05)


def test_sigterm_in_a_python_sweep_exits_143_with_the_message(tmp_path):
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs the train extra (tensorflow)")
    (tmp_path / "sweep.py").write_text(textwrap.dedent("""
        import atexit, liteship
        atexit.register(lambda: print("atexit ran", flush=True))
        config = liteship.SweepConfig(
            train=liteship.TrainTable(epochs=1), models=(liteship.ModelTable(arch="small_cnn", size=32),),
            optimize=liteship.OptimizeTable(recipes=("float32", "int8")),
            bench=liteship.BenchTable(backends=("xnnpack",), runs=5, rounds=1, instructions=False, arm64=False))
        liteship.sweep("digits", "out", config=config, quiet=True)
        print("finished", flush=True)
    """))
    process = subprocess.Popen([sys.executable, "sweep.py"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "out" / "run.json", process, 120)  # the sweep has started: it trains next
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert err.rstrip().splitlines()[-1] == f"liteship.signals.Terminated: {MESSAGE}"
    assert out.splitlines() == ["atexit ran"]  # Python ended normally, with that code: atexit ran, no "finished"


def test_an_uncaught_terminated_still_calls_the_programs_own_excepthook(tmp_path):
    (tmp_path / "hooked.py").write_text(textwrap.dedent("""
        import signal, sys, time
        from liteship.signals import sigterm_as_interrupt
        sys.excepthook = lambda kind, value, tb: print("own hook:", kind.__name__, value, file=sys.stderr)
        with sigterm_as_interrupt():
            signal.raise_signal(signal.SIGTERM)
            time.sleep(30)
    """))
    done = _run(tmp_path, ["hooked.py"], timeout=60)
    assert done.returncode == 143
    assert done.stderr.strip() == f"own hook: Terminated {MESSAGE}"


def test_a_caught_terminated_leaves_the_excepthook_as_it_was_by_the_next_call(monkeypatch):
    def own_hook(kind, value, tb):
        pass

    monkeypatch.setattr(sys, "excepthook", own_hook)
    with pytest.raises(Terminated, match="stopped by SIGTERM; finished work is kept"):
        with sigterm_as_interrupt():
            signal.raise_signal(signal.SIGTERM)
            time.sleep(30)
    assert sys.excepthook is not own_hook  # a Terminated on its way out: stood in front of, in case it ends Python
    with sigterm_as_interrupt():
        pass
    assert sys.excepthook is own_hook


def test_rays_plain_keyboard_interrupt_after_sigterm_leaves_as_terminated(monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    with pytest.raises(Terminated) as caught:
        with sigterm_as_interrupt():
            try:
                signal.raise_signal(signal.SIGTERM)
                time.sleep(30)
            except Terminated:
                raise KeyboardInterrupt from None  # what Ray's wait and get raise in its place
    assert str(caught.value) == MESSAGE and type(caught.value.__cause__) is KeyboardInterrupt


# --------------------------------------------------------------------------- framework loggers in a notebook

LOGGING_CHILD = """
import logging, sys
from pathlib import Path
from liteship.logs import frameworks_to_file
run = Path(sys.argv[1])
{setup}
tf_logger = logging.getLogger("tensorflow")
before = (list(tf_logger.handlers), tf_logger.level, tf_logger.propagate, list(tf_logger.filters))
with frameworks_to_file(run / "logs" / "frameworks.log"):
    {inside}
    logging.getLogger("absl").warning("absl says this")
after = (list(tf_logger.handlers), tf_logger.level, tf_logger.propagate, list(tf_logger.filters))
print("restored", before == after, "filters", after[3], flush=True)
{after}
"""
# What TensorFlow's tf_logging.get_logger does in an interactive session (sys.ps1 set): INFO, to sys.stdout.
INTERACTIVE = """
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
logging.getLogger("tensorflow").addHandler(handler)
logging.getLogger("tensorflow").setLevel(logging.INFO)
"""


def test_tensorflows_logger_writing_to_stdout_goes_to_the_log_and_is_restored(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "child.py").write_text(LOGGING_CHILD.format(
        setup=INTERACTIVE, inside='logging.getLogger("tensorflow").info("Assets written to: %s", "x/assets")',
        after='logging.getLogger("tensorflow").info("after the block")'))
    done = _run(tmp_path, ["child.py", str(tmp_path / "run")])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["restored True filters []", "INFO:tensorflow:after the block"]
    assert "Assets" not in done.stderr and "absl" not in done.stderr
    assert (tmp_path / "run" / "logs" / "frameworks.log").read_text().splitlines() == [
        "INFO:tensorflow:Assets written to: x/assets", "WARNING:absl:absl says this"]


@pytest.mark.slow
def test_tensorflow_first_imported_inside_the_block_in_an_interactive_session(tmp_path):
    """About 20 s (TensorFlow's import). TensorFlow adds its stdout handler on first use, inside the block (liteship.train imports it): its lines
    still go to the log, and afterwards TensorFlow's logger writes to stdout as it set itself up to."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs the train extra (tensorflow)")
    (tmp_path / "run").mkdir()
    (tmp_path / "child.py").write_text(LOGGING_CHILD.format(
        setup="sys.ps1 = '>>> '",
        inside='from tensorflow.python.platform import tf_logging; tf_logging.info("Assets written to: %s", "y")',
        after='tf_logging.info("after the block")'))
    done = _run(tmp_path, ["child.py", str(tmp_path / "run")])
    assert done.returncode == 0, done.stderr
    # TensorFlow's own handler is the one change (made by TensorFlow); liteship's filter is gone
    assert done.stdout.splitlines() == ["restored False filters []", "INFO:tensorflow:after the block"]
    assert "Assets" not in done.stderr
    log = (tmp_path / "run" / "logs" / "frameworks.log").read_text().splitlines()
    assert "INFO:tensorflow:Assets written to: y" in log and "WARNING:absl:absl says this" in log


# --------------------------------------------------------------------------- the README's example as a script

SWEEP_NO_GUARD = """
import sys
import liteship
with open("marker.txt", "a") as f:
    f.write("ran\\n")
config = liteship.SweepConfig(
    train=liteship.TrainTable(epochs=1),
    models=(liteship.ModelTable(arch="small_cnn", size=32),),
    optimize=liteship.OptimizeTable(recipes=("float32", "int8")),
    bench=liteship.BenchTable(backends=("xnnpack",), threads=(1,), runs=5, rounds=1, instructions=False,
                              arm64=False))
run = liteship.sweep("digits", "out", config=config, workers=2, quiet=True)
print(run)
"""


@pytest.mark.slow
def test_a_sweep_script_without_the_guard_finishes_on_two_workers(tmp_path):
    """About 45 s: training and two recipes on two worker processes."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs the train extra (tensorflow)")
    (tmp_path / "sweep.py").write_text(SWEEP_NO_GUARD)
    done = _run(tmp_path, ["sweep.py"], timeout=900)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "marker.txt").read_text() == "ran\n"  # once, not once more per worker
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2  # 2 recipes x 1 backend x 1 thread count
    assert json.loads((tmp_path / "out" / "logs" / "jobs.json").read_text())["workers"] == 2
