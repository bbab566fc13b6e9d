"""SIGTERM, Ctrl-C and kill -9 of a real `liteship sweep` (issue 32, case 6): no process of liteship's outlives it.

Each sweep runs in its own session (so a signal to its process group reaches it and its children only) with
a tag in its environment that every child inherits. Before the signal the test notes every descendant it
sees in /proc (parent chain); afterwards it checks that none of them, and no process carrying the tag, is
still alive: a worker re-parented to init is found by either. SIGTERM must take Ctrl-C's path: exit 143, a
message, and the same command afterwards finishes from what was kept.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TAG = "LITESHIP_TEST_SIGNALS"
CONFIG = """
[train]
epochs = 3
seed = 0
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["float32", "int8"]
[bench]
backends = ["xnnpack"]
threads = [1]
runs = 10
instructions = {counts}
arm64 = false
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """2 classes x 15 PNGs of 16 px (red and blue noise) and the sweep's config; tf is needed to train."""
    if importlib.util.find_spec("tensorflow") is None:  # found, not imported: that takes seconds
        pytest.skip("needs the train extra (tensorflow)")
    root = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(0)
    for name, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / "data" / name).mkdir(parents=True)
        for i in range(15):
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / "data" / name / f"img{i}.png")
    for counts in ("false", "true"):
        (root / f"sweep-{counts}.toml").write_text(CONFIG.format(counts=counts))
    return root


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, or None (gone, or a zombie: it runs nothing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in "ZX" else (int(fields[1]), fields[19])


def _descendants(root: int) -> dict[int, str]:
    """Every live process below ``root``, by pid, with its start time (so a reused pid is not mistaken)."""
    table = {int(p): _stat(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    found, frontier = {}, {root}
    while frontier:
        frontier = {pid for pid, st in table.items() if st and st[0] in frontier and pid not in found}
        found.update({pid: table[pid][1] for pid in frontier})
    return found


def _tagged(tag: str) -> list[str]:
    """Live processes whose environment carries ``tag``: liteship's, wherever they were re-parented."""
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            if f"{TAG}={tag}".encode() in Path(f"/proc/{p}/environ").read_bytes().split(b"\0") and _stat(int(p)):
                out.append(f"{p}: {Path(f'/proc/{p}/cmdline').read_bytes().replace(bytes(1), b' ')[:100]!r}")
        except OSError:
            pass
    return out


def _survivors(tag: str, seen: dict[int, str], within: float = 10.0) -> list[str]:
    """What of ``seen`` and the tag is still alive after ``within`` seconds (polled; [] as soon as all are gone)."""
    deadline = time.monotonic() + within
    while True:
        left = [f"{pid}" for pid, start in seen.items() if (_stat(pid) or (0, None))[1] == start] + _tagged(tag)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def ctrl_c_reaches_it() -> None:
    """In the child before exec: SIGINT back to its default, so Python turns it into KeyboardInterrupt. A test run
    started in the background by a non-interactive shell (``cmd &``) inherits SIGINT ignored, and Python keeps an
    inherited SIG_IGN: the Ctrl-C the test sends would never arrive (as a terminal's never reaches such a job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sweep(tiny: Path, out: Path, counts: str = "false", workers: int = 2, ray: bool = False):
    tag = uuid.uuid4().hex
    cmd = [sys.executable, "-m", "liteship", "sweep", "--data", str(tiny / "data"), "--config",
           str(tiny / f"sweep-{counts}.toml"), "--out", str(out)]
    cmd += ["--executor", "ray"] if ray else ["--workers", str(workers)]
    err = open(out.parent / f"{out.name}-{tag}.err", "w+")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            env={**os.environ, TAG: tag}, start_new_session=True, preexec_fn=ctrl_c_reaches_it)
    return proc, tag, err


def _wait_for(proc, what, timeout: float = 120.0) -> dict[int, str]:
    """Poll until ``what(descendants)`` holds; return the descendants seen then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = _descendants(proc.pid)
        if what(seen):
            return seen
        assert proc.poll() is None, "the sweep ended before the moment the test waits for"
        time.sleep(0.2)
    raise AssertionError("the moment the test waits for never came")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _user_files(tiny: Path) -> dict[str, bytes]:
    """The user's data and configs, byte for byte (the run directories are liteship's, beside them)."""
    return {p.relative_to(tiny).as_posix(): p.read_bytes() for p in sorted(tiny.rglob("*"))
            if p.is_file() and p.parts[len(tiny.parts)] in ("data", "sweep-false.toml", "sweep-true.toml")}


def _rss_mb(pid: int) -> float:
    try:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0
    return int(line.split()[1]) / 1024


def _a_worker_is_busy(seen: dict[int, str]) -> bool:
    """A worker holds a job: it has imported TensorFlow (over 300 MB). A worker still starting would end by
    itself when the driver dies (it reads its start-up data from the driver), so it proves nothing."""
    return any("multiprocessing.spawn" in _cmdline(pid) and _rss_mb(pid) > 300 for pid in seen)


def _stderr(err) -> str:
    err.seek(0)
    return err.read()


@pytest.mark.slow  # two sweeps, about 40 s
@pytest.mark.parametrize("to", ["pid", "group"])
def test_sigterm_mid_sweep_is_ctrl_c_exit_143_no_child_left_and_the_rerun_finishes(tiny, tmp_path, to):
    out = tmp_path / "run"
    before = _user_files(tiny)
    proc, tag, err = _sweep(tiny, out)
    # The float model trained (its card is written last) and the workers are making its variants.
    seen = _wait_for(proc, lambda s: (out / "float" / "small_cnn_16" / "card.json").is_file() and _a_worker_is_busy(s))
    kept = {p: p.stat().st_mtime_ns for p in (out / "float").rglob("*") if p.is_file()}
    os.kill(proc.pid, signal.SIGTERM) if to == "pid" else os.killpg(proc.pid, signal.SIGTERM)
    code = proc.wait(timeout=60)
    text = _stderr(err)
    assert code == 143, text[-2000:]
    assert text.strip().splitlines()[-1].startswith("liteship sweep: stopped by SIGTERM; finished outputs are kept")
    assert "Traceback" not in text
    assert _survivors(tag, seen) == []
    # The same command again finishes, from the kept model: the float files are not made again.
    again, _, err2 = _sweep(tiny, out)
    assert again.wait(timeout=300) == 0, _stderr(err2)[-2000:]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert len((out / "results.jsonl").read_text().splitlines()) == 2  # float32 and int8, each once
    assert _user_files(tiny) == before


def test_kill_9_of_the_sweep_leaves_no_worker(tiny, tmp_path):
    out = tmp_path / "run"
    before = _user_files(tiny)
    proc, tag, _ = _sweep(tiny, out)
    seen = _wait_for(proc, _a_worker_is_busy)
    proc.kill()  # SIGKILL: liteship runs no code of its own after this
    proc.wait(timeout=30)
    assert _survivors(tag, seen, within=5.0) == []
    assert _user_files(tiny) == before


@pytest.mark.slow  # valgrind counts a variant: about 40 s
def test_ctrl_c_mid_count_ends_valgrind_too(tiny, tmp_path):
    if not _which("valgrind"):
        pytest.skip("needs valgrind")
    out = tmp_path / "run"
    proc, tag, err = _sweep(tiny, out, counts="true")
    seen = _wait_for(proc, lambda s: any("valgrind" in _cmdline(pid) or "callgrind" in _cmdline(pid) for pid in s),
                     timeout=300)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C: every process of the group
    code = proc.wait(timeout=60)
    text = _stderr(err)
    assert code == 130, text[-2000:]
    assert text.strip().splitlines()[-1].startswith("liteship sweep: interrupted; finished outputs are kept")
    assert _survivors(tag, seen) == []


@pytest.mark.slow  # a local Ray starts: about 20 s
@pytest.mark.parametrize("to, moment", [("pid", "ray::_call"), ("group", "ray::_call"), ("pid", "gcs_server")],
                         ids=["pid-task", "group-task", "pid-ray.init"])
def test_sigterm_mid_ray_sweep_is_exit_143_and_ray_ends_with_it(tiny, tmp_path, to, moment):
    """Mid-task, and while ray.init starts the local Ray (its own SIGTERM handler is in place then)."""
    pytest.importorskip("ray")
    out = tmp_path / "run"
    proc, tag, err = _sweep(tiny, out, ray=True)
    seen = _wait_for(proc, lambda s: any(moment in _cmdline(pid) for pid in s), timeout=180)
    os.kill(proc.pid, signal.SIGTERM) if to == "pid" else os.killpg(proc.pid, signal.SIGTERM)
    code = proc.wait(timeout=90)
    text = _stderr(err)
    assert code == 143, text[-2000:]  # it was 1, or SIGABRT with a crash dump: Ray's own SIGTERM handler
    assert text.strip().splitlines()[-1].startswith("liteship sweep: stopped by SIGTERM; finished outputs are kept")
    assert "Traceback" not in text
    assert _survivors(tag, seen, within=30.0) == []  # Ray's GCS, raylet and workers too


def test_a_program_liteship_runs_dies_with_its_parent_and_gets_ctrl_c_back():
    """valgrind, QEMU and the runtimes' interpreters are started with ``preexec()``: here ``sleep`` is, by a
    parent that ignores SIGINT as a worker does; the parent is then killed with SIGKILL."""
    parent = subprocess.Popen([sys.executable, "-c", (
        "import signal, subprocess\n"
        "from liteship.signals import preexec\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "child = subprocess.Popen(['sleep', '60'], preexec_fn=preexec())\n"
        "print(child.pid, flush=True)\n"
        "child.wait()\n")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    start = _stat(pid)[1]
    ignored = int(next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGINT - 1))  # an inherited SIG_IGN would make Ctrl-C miss it
    parent.kill()
    parent.wait(timeout=30)
    assert _survivors("none", {pid: start}, within=5.0) == []


def test_a_child_whose_parent_is_already_gone_ends_at_once():
    code = "import os; from liteship.signals import die_with_parent; die_with_parent(os.getppid() + 1); print('ran on')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "ran on" not in proc.stdout
    assert proc.stderr == ""  # a quiet exit: no traceback, no message from an exception on the way out
    control = code.replace("os.getppid() + 1", "os.getppid()")  # the live parent: the child goes on
    proc = subprocess.run([sys.executable, "-c", control], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ran on\n", "")


def _which(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None
