"""What surrounds a command's work, whoever runs it (the CLI, a script, a notebook): the same safety everywhere.

- SIGTERM is taken as Ctrl-C (:func:`liteship.signals.sigterm_as_interrupt`) where Python lets it be: in the main
  thread, which a notebook's kernel runs cells in; from another thread nothing changes.
- The run directory the command writes is held for it alone (:func:`liteship.rundir.exclusive`): a second writer
  is refused at once, naming the first.
- TensorFlow's, LiteRT's and the converter's messages go to ``RUN_DIR/logs/frameworks.log``
  (:func:`liteship.logs.frameworks_to_file`; ``verbose`` leaves them where they are).
- Ctrl-C leaves what is finished (every write is atomic) and a run the same request resumes.

:func:`open_session` is used by :func:`liteship.workflow.execute.execute` after the checks; the sweep's driver
runs only inside one (:func:`liteship.workflow.sweep.sweep` takes the :class:`Session`), so no caller reaches the
work without the lock by accident.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from liteship.logs import PRIVATE_TEMP, frameworks_to_file
from liteship.rundir import LOG, exclusive, held_here
from liteship.signals import sigterm_as_interrupt
from liteship.workflow.requests import LOGGED


def log_path(request) -> Path | None:
    """Where the request's framework logs go: RUN_DIR/logs/frameworks.log, or a private temp folder's for one
    .tflite benched; None for the commands that run no framework."""
    if request.command not in LOGGED or getattr(request, "list_only", False):
        return None
    run_dir = request.written_run_dir()
    if run_dir is not None:
        return run_dir / LOG
    if request.command == "bench" and request.target is not None or request.command == "explain":  # a run only read
        return PRIVATE_TEMP  # a new private folder (mkdtemp), made only if there is something to keep
    return None


_OPENED = object()  # only open_session has it: a Session made by hand is never one that holds a run


class Session:
    """A command's hold on its run directory while its work runs; made only by :func:`open_session` (one made by
    hand is refused by :func:`require_session`)."""

    def __init__(self, command: str, run_dir: Path | None, *, _opened=None):
        self.command, self.run_dir, self._log = command, run_dir, None
        self.open = self._opened = _opened is _OPENED

    @property
    def framework_log(self) -> Path | None:
        """Where the frameworks' messages went (known once the session has ended), or None."""
        return None if self._log is None else self._log.path

    def holds(self, run_dir) -> bool:
        """Whether this open session holds ``run_dir`` for its command."""
        return self.open and self._opened and self.run_dir is not None \
            and os.path.realpath(self.run_dir) == os.path.realpath(run_dir)


def _outside(run_dir, request: str):
    from liteship.errors import LiteshipError

    return LiteshipError(f"this work on {run_dir} ran outside a session that holds the run directory",
                         "it runs after the request's checks, with the run directory locked for it alone",
                         f"call liteship.workflow.execute.execute({request}(...)), or the liteship command")


def require_session(session, run_dir, request: str) -> None:
    """Refuse to work on ``run_dir`` outside an open session that holds it (a caller that skipped the checks): one
    :func:`open_session` made, still open, whose run directory is ``run_dir`` and whose command holds it in this
    thread now (:func:`liteship.rundir.held_here`)."""
    hold = held_here(run_dir) if isinstance(session, Session) and session.holds(run_dir) else None
    if hold is None or hold.command != session.command:
        raise _outside(run_dir, request)


def require_held(request) -> None:
    """Refuse a command's work unless the run directory it writes (if any) is held for it in this thread, as its
    session holds it (:func:`open_session`): a caller of :mod:`liteship.workflow.work` does not skip the checks."""
    run_dir = request.written_run_dir()
    hold = held_here(run_dir) if run_dir is not None else None
    if run_dir is not None and (hold is None or hold.command != request.command):
        raise _outside(run_dir, type(request).__name__)


@contextlib.contextmanager
def open_session(request):
    """Hold ``request``'s run directory, send the frameworks' logs to it, take SIGTERM as Ctrl-C; yield the
    :class:`Session`. The request must have been checked (:func:`liteship.workflow.checks.check`)."""
    run_dir = request.written_run_dir()
    session = Session(request.command, run_dir, _opened=_OPENED)
    held = contextlib.nullcontext() if run_dir is None else exclusive(run_dir, request.command)
    try:
        with sigterm_as_interrupt(), held, frameworks_to_file(log_path(request), request.verbose) as log:
            session._log = log
            yield session
    finally:
        session.open = False
