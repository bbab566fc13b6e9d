"""Two commands into one run directory: the second is refused at once, naming the first; a killed holder
leaves the directory free. Real processes, real sweeps."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.app.test_staleness import SWEEP as CONFIG  # a two-epoch small_cnn at 16 px, two recipes


def _liteship(*args):
    return [sys.executable, "-m", "liteship", *args]


def _wait_for_lock(run, proc, timeout=60):
    lock = run / ".liteship.lock"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if lock.is_file() and lock.read_text():
            return lock
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first sweep never took the lock")


@pytest.fixture
def config(tmp_path, tf_available):
    path = tmp_path / "sweep.toml"
    path.write_text(CONFIG)
    return path


@pytest.mark.slow  # a sweep or valgrind count of its own: 14 to 31 s
def test_a_second_sweep_is_refused_while_the_first_runs(tmp_path, config):
    run = tmp_path / "run"
    first = subprocess.Popen(_liteship("sweep", "--data", "digits", "--config", str(config), "--out", str(run)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_lock(run, first)
    started = time.time()
    second = subprocess.run(_liteship("sweep", "--data", "digits", "--config", str(config), "--out", str(run)),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and time.time() - started < 10
    assert f"is in use by `liteship sweep` (PID {first.pid} on {socket.gethostname()}" in second.stderr
    trained = subprocess.run(_liteship("train", "--data", "digits", "--out", str(run)), capture_output=True,
                             text=True, timeout=120)
    assert trained.returncode == 2 and f"PID {first.pid}" in trained.stderr  # any other writer is refused too
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert not (run / ".liteship.lock").exists()  # the holder removes it
    again = subprocess.run(_liteship("sweep", "--data", "digits", "--config", str(config), "--out", str(run)),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stderr.count("done before, skipped") == 5  # 1 train, 2 optimize, 2 bench


@pytest.mark.slow  # a sweep or valgrind count of its own: 14 to 31 s
def test_a_killed_holder_leaves_the_directory_free(tmp_path, config):
    run = tmp_path / "run"
    first = subprocess.Popen(_liteship("sweep", "--data", "digits", "--config", str(config), "--out", str(run)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = _wait_for_lock(run, first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    assert lock.is_file()  # left behind, but no longer held: the kernel released the flock
    after = subprocess.run(_liteship("sweep", "--data", "digits", "--config", str(config), "--out", str(run)),
                           capture_output=True, text=True, timeout=600)
    assert after.returncode == 0, after.stderr
    assert not lock.exists()
