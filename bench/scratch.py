"""The temporary folder of a bench of one file: removed when the bench ends, and by a later bench if the process
that made it was killed (SIGKILL, the OOM killer) before it could remove it itself."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterator

PREFIX = "liteship-bench-"
OWNER = "liteship-owner"  # inside the folder: "PID START NAMESPACE" of the process that made it


def _identity(pid: int) -> tuple[str, str] | None:
    """(start time in clock ticks since boot, pid namespace) of a live process, or None when there is none. On a
    system without /proc this is never None for a live pid: nothing is judged stale there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[19], os.readlink(f"/proc/{pid}/ns/pid")  # field 22 of stat: starttime
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except OSError:
            pass  # alive, another user's
        return ("?", "?")


def _stale(folder: Path) -> bool:
    """True only for a folder that is certainly a dead bench's: a real folder of this user's, named as ours, holding
    our owner file, whose process is gone (or its pid is now another process) in this pid namespace."""
    try:
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        owner = folder / OWNER
        if not stat.S_ISREG(owner.lstat().st_mode):
            return False
        pid, start, namespace = owner.read_text(encoding="ascii").split()
        mine = _identity(os.getpid())
        if mine is None or mine[1] != namespace or int(pid) == os.getpid():
            return False  # another namespace's pids cannot be looked up here
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    now = _identity(int(pid))
    return now is None or (now[0] != start and now[0] != "?")


def remove_stale(parent: Path | None = None) -> list[tuple[Path, int]]:
    """Remove the temporary folders that killed benches left in ``parent`` (``TMPDIR``); what was removed, with
    its size in bytes."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return removed
    for folder in entries:
        if not _stale(folder):
            continue
        size = sum(f.lstat().st_size for f in folder.rglob("*") if not f.is_symlink() and f.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append((folder, size))
    return removed


@contextlib.contextmanager
def bench_scratch() -> Iterator[Path]:
    """A new temporary folder marked with this process's identity, removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix=PREFIX) as scratch:
        me = _identity(os.getpid())
        if me is not None and "?" not in me:
            (Path(scratch) / OWNER).write_text(f"{os.getpid()} {me[0]} {me[1]}\n", encoding="ascii")
        yield Path(scratch)
