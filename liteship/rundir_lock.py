"""The run directory's one-writer lock: a writer holds RUN_DIR/.liteship.lock while it writes, whoever calls it.

Every function that writes a run directory (train into ``out``, ``optimize_run``, ``bench_run``, the release and
the reports) takes :func:`exclusive` itself, so a Python caller that calls one of them directly is refused, as the
CLI is, while another command writes the run. The session a command runs in (:mod:`liteship.workflow.session`)
holds the run first; the writers it calls then re-enter the hold instead of taking it again.

Re-entry is per thread. This process keeps a registry of the run directories it holds (by real path): the
thread that holds one, and for which command. ``exclusive`` of a directory that the same thread holds, for the
same command or for a part of it (a sweep's bench and reports, a pick's reports), yields at once. Any other
caller is refused, naming the holder: another process (the ``flock``), another thread of this process (the
registry), or, in the same thread, a command that is not part of the holder's (a pick from inside a sweep).
Two threads of one process never write one run at once: the second is refused, as a second process is.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from liteship.errors import LiteshipError

LOCK = ".liteship.lock"  # held by the one command writing the run directory: its PID, host, command

# What may write a run directory inside a hold of another command, in the same thread: the work of that command.
# A command always re-enters its own hold (a session's ``bench`` and the ``bench_run`` it calls).
REPORTS = "liteship.workflow.reports.write_reports"  # not a command of its own: held under this Python name
PARTS = {"sweep": ("bench", REPORTS), "pick": (REPORTS,)}


@dataclass(frozen=True)
class Hold:
    """A run directory this process holds: in which thread, for which command, since when."""

    pid: int
    thread: int
    thread_name: str
    command: str
    since: float


_holds: dict[str, Hold] = {}  # real path -> this process's hold on it
_registry = threading.Lock()


def _key(run_dir: str | Path) -> str:
    return os.path.realpath(run_dir)


def held_here(run_dir: str | Path) -> Hold | None:
    """This thread's hold on ``run_dir``, or None (no hold, or another thread's or process's)."""
    with _registry:
        hold = _holds.get(_key(run_dir))
    if hold is None or hold.pid != os.getpid() or hold.thread != threading.get_ident():
        return None  # a child made by fork inherits the registry, not the hold
    return hold


def _said(command: str) -> str:
    """A holder as the refusal names it: a command (`liteship sweep`), or a Python function that writes alone."""
    return f"`{command}()`" if "." in command else f"`liteship {command}`"


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
        since = time.strftime("%H:%M:%S", time.localtime(h["since"]))
        return f"{_said(h['command'])} (PID {h['pid']} on {h['host']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another liteship command"


def writer(run_dir: str | Path) -> str | None:
    """Who writes ``run_dir`` now (holds :func:`exclusive`), named as its refusal names them; None if no one. A shared
    ``flock`` tried without waiting and let go at once: a reader writes nothing and makes no writer wait."""
    import fcntl
    import stat

    try:
        fd = os.open(Path(run_dir) / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None  # no lock file (or a link): no writer
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(Path(run_dir) / LOCK)
    except OSError:
        pass
    finally:
        os.close(fd)
    return None


def refuse_if_written(run_dir: str | Path | None, reader: str) -> None:
    """Exit 2 while a liteship command writes ``run_dir``: until it ends, its variants and results are half-made."""
    holder = writer(run_dir) if run_dir is not None and Path(run_dir).is_dir() else None
    if holder is not None:
        raise LiteshipError(f"{run_dir} is being written by {holder}", f"{reader} judges a finished run, and a "
                            "verdict on half-made variants and results would be neither passed nor failed",
                            f"wait for that command to finish, then run {reader} again")


def _in_use(run_dir: Path, holder: str) -> LiteshipError:
    return LiteshipError(f"{run_dir} is in use by {holder}",
                         "two commands writing one run directory would overwrite each other's files",
                         "wait for it to finish (re-running then skips what it did), or pass another run directory")


def _held_in_process(run_dir: Path, command: str) -> bool:
    """True when this thread may re-enter its own hold on ``run_dir``; refused when this process holds it otherwise;
    False when this process does not hold it (the ``flock`` then decides)."""
    with _registry:
        hold = _holds.get(_key(run_dir))
    if hold is None or hold.pid != os.getpid():
        return False
    since = time.strftime("%H:%M:%S", time.localtime(hold.since))
    if hold.thread != threading.get_ident():
        raise _in_use(run_dir, f"{_said(hold.command)} in another thread of this process ({hold.thread_name}, "
                               f"PID {hold.pid}, since {since})")
    if command != hold.command and command not in PARTS.get(hold.command, ()):
        raise _in_use(run_dir, f"{_said(hold.command)} in this thread (PID {hold.pid}, since {since}), which does "
                               f"not write it as part of its work")
    return True


def _lock(run_dir: Path) -> int:
    """The locked file descriptor of ``run_dir``'s lock file; refused at once (after a reader's instant) if held."""
    import fcntl

    path, patience = run_dir / LOCK, time.monotonic() + 0.25
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() < patience:  # a reader's look (:func:`writer`) holds a shared lock for an instant
                time.sleep(0.01)
                continue
            raise _in_use(run_dir, _holder(path)) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed the file between our open and our lock: take the new one


@contextmanager
def exclusive(run_dir: str | Path, command: str):
    """Hold the run directory for one writer; a second one is refused at once, naming the holder.

    An ``flock`` on RUN_DIR/.liteship.lock: the kernel releases it when the holder exits or is killed,
    so a crashed run never leaves the directory locked (its file may stay, unlocked, until the next run
    ends). The file says who holds it, for the message; the holder removes it when done. Within this process
    the hold is re-entrant for the thread that holds it, for its command and that command's parts (:data:`PARTS`).
    """
    import fcntl

    run_dir = Path(run_dir)
    if run_dir.is_dir() and _held_in_process(run_dir, command):
        yield  # this thread holds it already, for this work: the outer hold stays the one that lets go
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = _lock(run_dir)
    key = _key(run_dir)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                                 "since": time.time()}).encode())
        from liteship.files import holding

        me = threading.current_thread()
        with _registry:
            _holds[key] = Hold(os.getpid(), threading.get_ident(), me.name, command, time.time())
        with holding(run_dir):  # moved while held: writes stop, and never make the old path again
            yield
    finally:
        with _registry:
            _holds.pop(key, None)
        (run_dir / LOCK).unlink(missing_ok=True)  # removed while still held, so no one can lock a file going away
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
