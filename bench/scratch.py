"""The temporary folder of a bench of one file: removed when the bench ends, and by a later bench if the process
that made it was killed (SIGKILL, the OOM killer) before it could remove it itself.

A folder is judged a dead bench's only on certain evidence: its owner file (written first thing, read without
following a link, at most a line) names this machine's boot, host and pid namespace, and a pid that is no longer
running, or is now a process started at another time. Anything else is left alone: another host's bench on a shared
TMPDIR, a system without /proc, a folder of another user, a link.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from typing import Iterator

PREFIX = "liteship-bench-"
OWNER = "liteship-owner"  # inside the folder: "PID START BOOT HOST NAMESPACE" of the process that made it
CLAIMED = OWNER + ".removing"  # the owner file once a bench has taken the folder to remove it
PID_MAX = 2**22  # Linux's largest pid_max
_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, field 22 of /proc/PID/stat), or None: none runs."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _machine() -> tuple[str, str, str] | None:
    """(boot id, host name, pid namespace) of this process, or None where /proc cannot tell them."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return boot, socket.gethostname() or "-", os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _read_owner(folder: Path) -> list[str] | None:
    """The owner file's fields: a regular file of this user's, opened without following a link or waiting on a
    FIFO, at most its first 512 bytes read."""
    try:
        fd = os.open(folder / OWNER, _NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        return os.read(fd, 512).decode("ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def _stale(folder: Path, machine: tuple[str, str, str]) -> bool:
    """True only for a folder that is certainly a dead bench's (see the module's docstring)."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    fields = _read_owner(folder)
    if fields is None or len(fields) != 5 or tuple(fields[2:]) != machine or not fields[0].isdigit():
        return False
    pid = int(fields[0])
    if not 0 < pid < PID_MAX or pid == os.getpid():
        return False
    started = _started(pid)
    return started is None or started != fields[1]


def _mark(folder: Path, machine: tuple[str, str, str]) -> None:
    """Write this process as ``folder``'s owner, a new file (never through a link); nothing where /proc cannot say
    when this process started."""
    started = _started(os.getpid())
    if started is None:
        return
    fd = os.open(folder / OWNER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(" ".join((str(os.getpid()), started, *machine)) + "\n")


def _claim(folder: Path, machine: tuple[str, str, str]) -> bool:
    """Take a stale folder for this bench alone: its owner file renamed (one bench wins), then this process written
    as its owner, so a removal killed half-way is taken up again by the next bench."""
    try:
        os.rename(folder / OWNER, folder / CLAIMED)
        _mark(folder, machine)
        return True
    except OSError:
        return False


def _disk_used(folder: Path) -> int:
    """Bytes the folder's files take on disk (allocated blocks; a file with other hard links frees nothing)."""
    used = 0
    for root, _, files in os.walk(folder, onerror=lambda exc: None):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                used += info.st_blocks * 512
    return used


def remove_stale(parent: Path | None = None) -> list[tuple[Path, int]]:
    """Remove the temporary folders that killed benches left in ``parent`` (``TMPDIR``); what was removed, with
    the disk space it freed. Never raises: a folder it cannot judge or remove is left as it is."""
    machine = _machine()
    if machine is None:
        return []
    parent = Path(parent or tempfile.gettempdir())
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return []
    removed = []
    for folder in entries:
        try:
            if not _stale(folder, machine):
                continue
            used = _disk_used(folder)  # what the dead bench left, before this bench's own owner line
            if not _claim(folder, machine):
                continue
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, RecursionError):  # a tree deeper than Python's recursion: left for the user
            continue
        if not os.path.lexists(folder):
            removed.append((folder, used))
    return removed


@contextlib.contextmanager
def bench_scratch() -> Iterator[Path]:
    """A new temporary folder marked with this process's identity, removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix=PREFIX) as scratch:
        machine = _machine()
        if machine is not None:
            _mark(Path(scratch), machine)
        yield Path(scratch)
