"""A bench of one file killed by SIGKILL leaves its temporary folder (its image cache) in TMPDIR; the next bench
removes such folders, and only those: the killed process is a real child killed in the test, the folders kept
are a live bench's, one without the owner file, a link, another host's or pid namespace's, and owner files that
are links, FIFOs, huge or nonsense. The machine's identity is read here from /proc and the host name, not from
liteship."""

import os
import signal
import subprocess
import sys
import textwrap

from pathlib import Path

import pytest

from liteship.bench.scratch import OWNER, PREFIX, remove_stale
from tests.conftest import model_and_digit_photos

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
    return child, Path(folder)


def test_a_killed_bench_s_folder_is_removed_a_live_one_kept(tmp_path):
    live, live_folder = _start_bench_child(tmp_path)
    killed, killed_folder = _start_bench_child(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed_folder.is_dir()  # SIGKILL leaves it, nothing ran
        on_disk = sum(os.lstat(killed_folder / n).st_blocks * 512 for n in ("cache.u8", OWNER))
        removed = remove_stale(tmp_path)
        assert [p for p, _ in removed] == [killed_folder]
        assert removed[0][1] == on_disk >= 12345  # the blocks of the cache file and the owner line, read here
        assert not killed_folder.exists() and (live_folder / "cache.u8").is_file()
    finally:
        live.kill()
        live.wait(timeout=30)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def _own_namespace() -> str:
    """This machine's boot, host and pid namespace, as an owner file's last three fields."""
    import socket

    boot = open("/proc/sys/kernel/random/boot_id").read().strip()
    return f"{boot} {socket.gethostname()} {os.readlink('/proc/self/ns/pid')}"


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
    (other_ns / OWNER).write_text(f"{dead} 1 {_own_namespace().rsplit(' ', 1)[0]} pid:[1]\n")  # not looked up here
    other_host = tmp_path / f"{PREFIX}otherhost"  # a shared TMPDIR (NFS): another host's pids mean nothing here
    other_host.mkdir()
    boot, host, ns = _own_namespace().split()
    (other_host / OWNER).write_text(f"{dead} 1 {boot} {host}-b {ns}\n")
    other_boot = tmp_path / f"{PREFIX}otherboot"
    other_boot.mkdir()
    (other_boot / OWNER).write_text(f"{dead} 1 0{boot[1:]} {host} {ns}\n")
    huge_pid = tmp_path / f"{PREFIX}hugepid"
    huge_pid.mkdir()
    (huge_pid / OWNER).write_text(f"4294967296 1 {_own_namespace()}\n")  # past any pid_max: never a crash
    linked_owner = tmp_path / f"{PREFIX}linkedowner"
    linked_owner.mkdir()
    (tmp_path / "owner-elsewhere").write_text(f"{dead} 1 {_own_namespace()}\n")
    (linked_owner / OWNER).symlink_to(tmp_path / "owner-elsewhere")
    fifo_owner = tmp_path / f"{PREFIX}fifo"
    fifo_owner.mkdir()
    os.mkfifo(fifo_owner / OWNER)  # read: it would wait for a writer
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
         "liteship-count-x", f"{PREFIX}otherhost", f"{PREFIX}otherboot", f"{PREFIX}hugepid", f"{PREFIX}linkedowner",
         "owner-elsewhere", f"{PREFIX}fifo"])


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
    model, data = model_and_digit_photos(optimized_run, tmp_path, classes=("1", "7"), per_class=3)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    killed, left = _start_bench_child(scratch)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    on_disk = sum(f.lstat().st_blocks * 512 for f in left.iterdir())
    done = subprocess.run([sys.executable, "-m", "liteship", "bench", str(model), "--data", str(data), "--runs", "2"],
                          capture_output=True, text=True, env={**os.environ, "TMPDIR": str(scratch)}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    said = done.stdout + done.stderr
    assert f"removed 1 temporary folder(s) that killed benches left ({on_disk / 1024:,.0f} kB): {left}" in said, \
        said[-2000:]
    assert not left.exists() and not [p for p in scratch.iterdir() if p.name.startswith(PREFIX)]  # its own too


def _stale_folder(tmp_path, name="dead"):
    folder = tmp_path / f"{PREFIX}{name}"
    folder.mkdir()
    (folder / OWNER).write_text(f"{_dead_pid()} 1 {_own_namespace()}\n")
    return folder


def test_a_removal_killed_half_way_is_taken_up_by_the_next_bench(tmp_path):
    """The remover writes itself as the folder's owner before removing: killed mid-removal (here: it exits where
    the removal would start), the folder is again a dead bench's for the next one."""
    folder = _stale_folder(tmp_path)
    (folder / "cache.u8").write_bytes(bytes(5000))
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, shutil
        from liteship.bench.scratch import remove_stale
        shutil.rmtree = lambda *a, **k: os._exit(9)
        remove_stale({str(tmp_path)!r})
    """)])
    assert child.wait(timeout=60) == 9 and (folder / "cache.u8").is_file()
    assert int((folder / OWNER).read_text().split()[0]) == child.pid  # the remover's own line, the remover dead
    assert [p for p, _ in remove_stale(tmp_path)] == [folder]


def test_what_cannot_be_removed_never_stops_the_bench_and_a_hard_link_frees_nothing(tmp_path, monkeypatch):
    import shutil

    import liteship.bench.scratch as scratch

    deep = _stale_folder(tmp_path, "deep")
    real = shutil.rmtree

    def deeper_than_python_recurses(path, *args, **kwargs):  # Python 3.11's rmtree on 1,200 nested folders
        if Path(path) == deep:
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(scratch.shutil, "rmtree", deeper_than_python_recurses)
    outside = tmp_path / "users-file"
    outside.write_bytes(bytes(300_000))
    linked = _stale_folder(tmp_path, "hardlink")
    os.link(outside, linked / "same-inode")  # removing the link frees nothing, and the user's file stays
    removed = dict(remove_stale(tmp_path))  # no RecursionError out of it
    assert deep.is_dir() and deep not in removed
    assert not linked.exists() and removed[linked] < 300_000  # only the owner files' blocks
    assert outside.read_bytes() == bytes(300_000)
