"""Framework logs to a file, liteship's own lines to the terminal.

TensorFlow, absl, XLA, oneDNN and the TFLite converter write their notices
from C++ straight to file descriptor 2, and from Python through ``logging``
and ``warnings``; none of that is liteship's to show. While
:func:`frameworks_to_file` is active, descriptor 2 and ``sys.stderr`` go to a
log file in the run directory, and so do the records of TensorFlow's and
absl's Python loggers, whatever handlers they have (in Jupyter TensorFlow's
writes INFO to ``sys.stdout``); liteship writes its progress and messages to
:func:`console`, the terminal the command was started from.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

_console: io.TextIOBase | None = None


def console():
    """Where liteship's own progress and messages go: the terminal, also while framework logs are redirected."""
    if _console is not None:
        return _console
    replace_unencodable(sys.stderr)
    return sys.stderr


def replace_unencodable(*streams) -> None:
    """Make text streams write what their encoding cannot hold as ``\\u2014`` escapes instead of raising: with
    ``PYTHONIOENCODING=ascii`` (or an encoding without the character), standard output is strict, and a dash in a
    verdict line would end the command with a traceback. Streams that cannot be reconfigured (a test's capture) are left as they are."""
    for stream in streams or (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError, io.UnsupportedOperation):
                pass


class _StderrProxy(io.TextIOBase):
    """Stands in for ``sys.stderr``: the log while redirected, the real stderr afterwards.

    A logging handler or library that kept a reference to ``sys.stderr`` while
    the log was active keeps working after it is closed.
    """

    def __init__(self, real, log):
        self.real, self.log = real, log

    @property
    def target(self):
        return self.log if self.log is not None else self.real

    def write(self, text: str) -> int:
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def _terminal_stream(real):
    """A stream to the terminal that survives fd 2 being pointed elsewhere."""
    try:
        is_fd2 = real.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        is_fd2 = False  # a captured or replaced stderr (pytest, a notebook) does not write to fd 2: keep it
    if not is_fd2:
        return real, None
    fd = os.dup(2)
    stream = io.TextIOWrapper(os.fdopen(fd, "wb", buffering=0), encoding=real.encoding or "utf-8",
                              errors="backslashreplace", line_buffering=True, write_through=True)
    stream.isatty = real.isatty  # progress bars ask the terminal, not the wrapper
    return stream, fd


FRAMEWORK_LOGGERS = ("tensorflow", "absl")  # their records go to the log while it is active


class _ToLog(logging.Filter):
    """On a framework's logger for the block: each record it logs is written to the log, and to none of its
    handlers or its ancestors' (a logger's filter runs before them, also those added during the block, as
    TensorFlow adds its own on first use). Removing it leaves the logger as it was: handlers, level, propagation."""

    def __init__(self, stream):
        super().__init__()
        self.handler = logging.StreamHandler(stream)
        self.handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))  # TensorFlow's: INFO:tensorflow:...

    def filter(self, record: logging.LogRecord) -> bool:
        self.handler.handle(record)
        return False


class FrameworkLog:
    """Where the block's framework output ended up: ``path`` once it is saved there, else None."""

    path: Path | None = None


PRIVATE_TEMP = Path("<a private temp folder>")  # as ``path``: keep the log in a new mkdtemp folder (mode 0700)


def _append(final: Path, data: bytes) -> None:
    """Append to ``final``, never through a symlink (O_NOFOLLOW): a planted link cannot redirect the write."""
    fd = os.open(final, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return  # a FIFO or device planted under the name: write nothing into it
        os.write(fd, data)
    finally:
        os.close(fd)


def _save(tmp: Path, final: Path, log: FrameworkLog) -> None:
    """Append the block's output to ``final`` when there is any and its run directory exists."""
    try:
        data = tmp.read_bytes()
        if data and final == PRIVATE_TEMP:
            final = Path(tempfile.mkdtemp(prefix="liteship-logs-")) / Path("frameworks.log")
        if data and final.parent.parent.is_dir():
            if final.parent.is_symlink():
                return
            final.parent.mkdir(parents=True, exist_ok=True)
            _append(final, data)
            log.path = final
    except OSError:
        pass  # a log that cannot be kept must not turn a finished command into a failed one
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def frameworks_to_file(path: Path | None, verbose: bool = False):
    """Send fd 2, ``sys.stderr`` and the framework loggers' records to a log for the block; afterwards append it to
    ``path`` (in a run directory).

    Yields a :class:`FrameworkLog` (None when nothing is redirected: with
    ``verbose``, without a ``path``, or when already redirected). The block
    writes to a temp file first, so a command refused for bad input leaves
    nothing in the run directory.
    """
    global _console
    if verbose or path is None or _console is not None:
        yield None
        return
    log_fd, tmp_name = tempfile.mkstemp(prefix="liteship-", suffix=".log")
    real = sys.stderr
    real.flush()
    saved_fd2 = os.dup(2)
    terminal, terminal_fd = _terminal_stream(real)
    log = io.TextIOWrapper(os.fdopen(os.dup(log_fd), "wb", buffering=0), encoding="utf-8",
                           errors="backslashreplace", write_through=True)
    proxy = _StderrProxy(real, log)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stderr, _console = proxy, terminal
    to_log = _ToLog(log)
    for name in FRAMEWORK_LOGGERS:
        logging.getLogger(name).addFilter(to_log)
    outcome = FrameworkLog()
    try:
        yield outcome
    finally:
        for name in FRAMEWORK_LOGGERS:
            logging.getLogger(name).removeFilter(to_log)
        proxy.log = None
        sys.stderr, _console = real, None
        os.dup2(saved_fd2, 2)
        os.close(saved_fd2)
        log.close()
        if terminal_fd is not None:
            terminal.flush()
            terminal.close()
        _save(Path(tmp_name), Path(path), outcome)
