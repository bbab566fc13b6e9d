"""Helpers of the hostile-input suites (issue 32): a real `liteship` process with a timeout, and files that are
not what their names say (kernel files, a FIFO, a device, deep TOML, a folder).

Nothing here opens a kernel file: the paths are only named, and a test that breaks the rule ends at its timeout
instead of hanging (``/proc/kmsg`` blocks a reader for ever, and as root consumes the kernel log).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

INTERNALS = ("Traceback", "Ellipsis", "<class", "__init__(", "NoneType", "RecursionError", "UnicodeEncodeError",
             "UnicodeDecodeError", "KeyError", "_RemoteTraceback")
DEPTH = 5_000  # deeper than Python's recursion limit: tomllib recurses once a level


def run(*args, cwd: Path, env: dict | None = None, timeout: float = 60):
    """``liteship ARGS`` as a process: (exit code, stderr, stdout, seconds), with no liteship internals leaked."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "liteship", *map(str, args)], capture_output=True, timeout=timeout,
                          cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    err, out = (proc.stderr.decode("utf-8", "replace"), proc.stdout.decode("utf-8", "replace"))
    leaked = [word for word in INTERNALS if word in err + out]
    assert not leaked, err[-3000:]
    return proc.returncode, err, out, time.monotonic() - start


def first_line(err: str) -> str:
    return err.lstrip().splitlines()[0] if err.strip() else ""


def deep_arrays(path: Path, key: str = "x") -> Path:
    path.write_text(f"{key} = " + "[" * DEPTH + "]" * DEPTH + "\n")
    return path


def deep_tables(path: Path, key: str = "x") -> Path:
    path.write_text(f"{key} = " + "{a = " * DEPTH + "1" + "}" * DEPTH + "\n")
    return path


def deep_dotted(path: Path, key: str = "x") -> Path:
    """Dotted keys parse without recursion, into tables 5,000 deep: liteship must refuse them all the same."""
    path.write_text(f"{key}." + ".".join(["a"] * DEPTH) + " = 1\n")
    return path


def link(path: Path, target: str) -> Path:
    path.symlink_to(target)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


# Every kind of path that is not a config file: made at a given path (links, FIFOs, files) or named as is.
HOSTILE = {
    "proc_kmsg": lambda p: "/proc/kmsg",
    "proc_kmsg_link": lambda p: str(link(p, "/proc/kmsg")),
    "proc_self_mem": lambda p: "/proc/self/mem",
    "proc_self_mem_link": lambda p: str(link(p, "/proc/self/mem")),
    "sys_file": lambda p: "/sys/devices/system/cpu/online",
    "dev_zero": lambda p: "/dev/zero",
    "dev_zero_link": lambda p: str(link(p, "/dev/zero")),
    "dev_stdin": lambda p: "/dev/stdin",
    "fifo": lambda p: str(fifo(p)),
    "fifo_link": lambda p: str(link(p, str(fifo(p.with_name("real-" + p.name))))),
    "deep_arrays": lambda p: str(deep_arrays(p)),
    "deep_tables": lambda p: str(deep_tables(p)),
    "deep_dotted": lambda p: str(deep_dotted(p)),
    "directory": lambda p: str(folder(p)),
}
DEEP = ("deep_arrays", "deep_tables", "deep_dotted")


def fake_run(root: Path) -> Path:
    """A folder that passes for a run directory in the checks: liteship's marker and an empty results file."""
    root.mkdir(parents=True)
    (root / ".liteship-run").write_text("{}\n")
    (root / "results.jsonl").write_text("")
    return root


def snapshot(root: Path) -> dict:
    """Every entry below ``root``: its kind and bytes and mode (files), its target (links), or its kind alone
    (folders, FIFOs). Links are read, never followed, and nothing but regular files is opened. The one snapshot
    of the hostile tests: a user's files are compared with it before and after a command."""
    import stat

    out = {}
    for dirpath, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(dirpath) / name
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
            else:
                out[rel] = (stat.S_IFMT(info.st_mode),)
    return out


HOLD = ("import sys, time\nfrom liteship.rundir import exclusive\nwith exclusive(sys.argv[1], 'sweep'):\n"
        "    print('held', flush=True)\n    time.sleep(300)\n")


@contextmanager
def held_by_a_sweep(run_dir: Path):
    """``run_dir`` held for writing by another process, as `liteship sweep` holds it; yields that process's PID.
    The holder is killed with SIGKILL at the end: its lock file stays, unlocked, as a crashed sweep leaves it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close()
