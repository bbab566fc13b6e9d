"""How liteship ends: SIGTERM like Ctrl-C, and no child process outliving it, kill -9 included.

SIGTERM (what ``timeout``, ``kill`` and CI runners send) raises
:class:`Terminated` in the main thread, a ``KeyboardInterrupt``, so it takes
Ctrl-C's path: the workers are ended, finished outputs are kept, the command
says so and exits 143 (128 + 15) instead of 130. A Python program that does
not catch it ends with 143 too, after its traceback (``sys.excepthook`` is
stood in front of only from then on, and put back by the next call).

Children: on Linux each asks the kernel for SIGKILL when its parent ends
(``prctl(PR_SET_PDEATHSIG)``), then checks that the parent has not already
ended before it asked (it would have been adopted by init unseen). A worker
process does it first thing (:func:`die_with_parent`); a subprocess liteship
starts does it between fork and exec (``preexec_fn=preexec()``), so valgrind,
QEMU and the other runtimes' interpreters get it too, and they get Ctrl-C and
SIGTERM back even if the process that starts them ignores both. The kernel
ties the signal to the thread that started the child, so long-lived children
are started from the main thread. Elsewhere than Linux the request does
nothing; the parent still ends its children on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SIGTERM_EXIT = 128 + signal.SIGTERM  # 143, the shell's code for a process ended by SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised where Ctrl-C's ``KeyboardInterrupt`` would be, and handled the same way.

    Left uncaught in a Python program, it ends the process with exit code 143 (:func:`sigterm_as_interrupt`), as
    the CLI does, after the usual traceback, whose last line says what happened."""

    def __init__(self, message: str = "stopped by SIGTERM; finished work is kept; call the same function again "
                                      "to resume"):
        super().__init__(message)


_received = threading.Event()


def stopped_by_sigterm(exc: BaseException) -> bool:
    """Whether ``exc`` is SIGTERM's: a :class:`Terminated`, or the plain ``KeyboardInterrupt`` Ray's ``wait``
    and ``get`` raise in its place."""
    return isinstance(exc, Terminated) or (isinstance(exc, KeyboardInterrupt) and _received.is_set())


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: a second must not break the cleanup
    _received.set()
    raise Terminated()


_hooked_over = None  # the excepthook that :func:`_exit_143` stands in front of, while it does


def _exit_143(kind, value, traceback) -> None:
    """``sys.excepthook`` once a :class:`Terminated` has left liteship: the hook before it says the exception (the
    traceback); a Terminated then ends the process with 143 (Python's own exit would be 1), atexit handlers run."""
    _hooked_over(kind, value, traceback)
    if isinstance(value, Terminated):
        raise SystemExit(SIGTERM_EXIT)  # Python exits with this code when the hook raises it


def _hook_exit(terminated: bool) -> None:
    """Stand in front of the caller's excepthook while a Terminated is on its way out of liteship; otherwise (a
    new call: the last Terminated was caught) put theirs back, if nobody has replaced ours since."""
    global _hooked_over
    if terminated and sys.excepthook is not _exit_143:
        _hooked_over, sys.excepthook = sys.excepthook, _exit_143
    elif not terminated and sys.excepthook is _exit_143:
        sys.excepthook, _hooked_over = _hooked_over, None


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While inside: SIGTERM raises :class:`Terminated` (main thread only; elsewhere nothing changes). A
    Terminated (or Ray's plain ``KeyboardInterrupt`` in its place) leaves as a Terminated, and if nothing catches
    it, the process ends with 143 (:func:`_exit_143`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    _hook_exit(False)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except KeyboardInterrupt as exc:
        if not stopped_by_sigterm(exc):
            raise
        _hook_exit(True)
        if isinstance(exc, Terminated):
            raise
        raise Terminated() from exc
    finally:
        signal.signal(signal.SIGTERM, previous)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc if hasattr(libc, "prctl") and hasattr(libc, "signal") else None
    except OSError:
        return None


_LIBC = _libc()  # resolved here, in the parent: after a fork the child only calls it


def die_with_parent(parent: int) -> None:
    """In a child of ``parent`` (its pid): SIGKILL when the parent ends; if it already has, end now."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def preexec():
    """``preexec_fn`` for ``subprocess``: the child (and what it execs) dies with this process, and takes
    Ctrl-C and SIGTERM as any program does, whatever this process does with them."""
    parent = os.getpid()

    def in_child() -> None:
        if _LIBC is not None:  # libc's, not Python's signal.signal: that one refuses a thread's fork
            _LIBC.signal(int(signal.SIGINT), 0)  # 0 is SIG_DFL
            _LIBC.signal(int(signal.SIGTERM), 0)
        die_with_parent(parent)

    return in_child
