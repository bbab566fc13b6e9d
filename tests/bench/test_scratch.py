"""A bench of one file killed by SIGKILL leaves its temporary folder (its image cache) in TMPDIR; the next bench
removes such folders, and only those: the killed process is a real child killed in the test, the folders kept
are a live bench's, one without the owner file, a link, and one whose pid namespace is another's."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from liteship.bench.scratch import OWNER, PREFIX, remove_stale

CHILD = textwrap.dedent("""
    import sys, time
    from liteship.bench.scratch import bench_scratch
    with bench_scratch() as scratch:
        (scratch / "cache.u8").write_bytes(bytes(12345))
        print(scratch, flush=True)
        time.sleep(600)
""")


def _start_bench_child(tmp):
    """A child in a bench's scratch folder (under ``tmp``), and the folder once made."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "TMPDIR": str(tmp)})
    folder = child.stdout.readline().strip()
    assert folder, "the child did not make its folder"
    from pathlib import Path

    return child, Path(folder)


def test_a_killed_bench_s_folder_is_removed_a_live_one_kept(tmp_path):
    live, live_folder = _start_bench_child(tmp_path)
    killed, killed_folder = _start_bench_child(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed_folder.is_dir()  # SIGKILL leaves it, nothing ran
        removed = remove_stale(tmp_path)
        assert [p for p, _ in removed] == [killed_folder]
        owner_bytes = len((live_folder / OWNER).read_bytes())
        assert removed[0][1] == 12345 + owner_bytes  # the cache file written by hand, and the owner line
        assert not killed_folder.exists() and (live_folder / "cache.u8").is_file()
    finally:
        live.kill()
        live.wait(timeout=30)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def _own_namespace() -> str:
    return os.readlink("/proc/self/ns/pid")


def test_only_folders_certainly_a_dead_bench_s_are_removed(tmp_path):
    dead = _dead_pid()
    outside = tmp_path / "theirs"
    outside.mkdir()
    (outside / "keep.txt").write_text("not ours")
    (outside / OWNER).write_text(f"{dead} 1 {_own_namespace()}\n")
    (tmp_path / f"{PREFIX}link").symlink_to(outside)  # a link to a folder that looks dead: not followed
    (tmp_path / f"{PREFIX}noowner").mkdir()  # no owner file: a sweep's worker folder, or not ours
    other_ns = tmp_path / f"{PREFIX}otherns"
    other_ns.mkdir()
    (other_ns / OWNER).write_text(f"{dead} 1 pid:[1]\n")  # its pids cannot be looked up here
    unreadable = tmp_path / f"{PREFIX}garbage"
    unreadable.mkdir()
    (unreadable / OWNER).write_text("not a pid\n")
    (tmp_path / f"{PREFIX}afile").write_text(f"{dead} 1 {_own_namespace()}\n")
    unrelated = tmp_path / "liteship-count-x"
    unrelated.mkdir()
    (unrelated / OWNER).write_text(f"{dead} 1 {_own_namespace()}\n")  # another prefix
    dead_one = tmp_path / f"{PREFIX}dead"
    dead_one.mkdir()
    (dead_one / OWNER).write_text(f"{dead} 1 {_own_namespace()}\n")
    assert [p for p, _ in remove_stale(tmp_path)] == [dead_one]
    assert (outside / "keep.txt").read_text() == "not ours"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["theirs", f"{PREFIX}link", f"{PREFIX}noowner", f"{PREFIX}otherns", f"{PREFIX}garbage", f"{PREFIX}afile",
         "liteship-count-x"])


def test_a_reused_pid_is_not_the_bench_that_wrote_the_folder(tmp_path):
    """The pid is alive, but started at another time than the owner file says: its bench is gone."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        start = open(f"/proc/{sleeper.pid}/stat").read().rsplit(")", 1)[1].split()[19]  # field 22
        reused, same = tmp_path / f"{PREFIX}reused", tmp_path / f"{PREFIX}same"
        for folder, started in ((reused, int(start) - 7), (same, start)):
            folder.mkdir()
            (folder / OWNER).write_text(f"{sleeper.pid} {started} {_own_namespace()}\n")
        assert [p for p, _ in remove_stale(tmp_path)] == [reused]
        assert same.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait(timeout=30)


@pytest.mark.skipif(os.getuid() != 0, reason="making a folder of another user's needs root")
def test_another_user_s_folder_is_kept(tmp_path):
    folder = tmp_path / f"{PREFIX}nobody"
    folder.mkdir()
    (folder / OWNER).write_text(f"{_dead_pid()} 1 {_own_namespace()}\n")
    os.chown(folder, 65534, 65534)
    assert remove_stale(tmp_path) == [] and folder.is_dir()


def test_a_bench_says_and_removes_a_killed_bench_s_folder(optimized_run, tmp_path):
    """End to end, the command a user runs: a folder left by a bench killed with SIGKILL is gone after the next,
    and the terminal says so."""
    from liteship.dataset import load_digits

    out, variants = optimized_run
    model = tmp_path / "m.tflite"
    model.write_bytes((out / variants["float32"]["file"]).read_bytes())
    (tmp_path / "labels.txt").write_text("\n".join(str(i) for i in range(10)) + "\n")
    ds = load_digits(32)
    data = tmp_path / "data"
    for c in ("1", "7"):
        (data / c).mkdir(parents=True)
        for i in np.flatnonzero(ds.labels == int(c))[:3]:
            Image.fromarray(ds.pixels[i]).save(data / c / f"{i}.png")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    killed, left = _start_bench_child(scratch)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    done = subprocess.run([sys.executable, "-m", "liteship", "bench", str(model), "--data", str(data), "--runs", "2"],
                          capture_output=True, text=True, env={**os.environ, "TMPDIR": str(scratch)}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    said = done.stdout + done.stderr
    assert f"removed 1 temporary folder(s) that killed benches left (12 kB): {left}" in said, said[-2000:]
    assert not left.exists() and not [p for p in scratch.iterdir() if p.name.startswith(PREFIX)]  # its own too
