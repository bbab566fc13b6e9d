"""The local executor's worker processes: how they start, how they end, and what a dead one says.

Workers are spawned (a fresh interpreter, never a fork of a process that
holds TensorFlow's threads) and run only liteship's job functions
(:mod:`liteship.workflow.executors`). They never run the caller's
``__main__``: a script without ``if __name__ == "__main__":`` (the README's
example, typed as is) works like one with it, and runs once.
"""

from __future__ import annotations

import multiprocessing.context
import signal
import sys
import threading
import types

from liteship.errors import LiteshipError

_MAIN_SWAP = threading.Lock()  # one stand-in at a time: two pools starting at once never restore each other's


def worker_started(driver: int) -> None:
    """A worker process: it dies with the driver (kill -9 included); Ctrl-C and SIGTERM are the driver's to
    handle (it ends the workers), so a signal to the whole process group does not end a worker mid-job first."""
    from liteship.signals import die_with_parent

    die_with_parent(driver)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that does not run the caller's ``__main__`` again.

    A spawned child runs the parent's main script again, as ``__mp_main__``,
    when the parent's ``__main__`` has a ``__spec__`` name (``python -m``) or a
    ``__file__`` (a script): :func:`multiprocessing.spawn.get_preparation_data`
    reads them while the process starts, in ``_Popen``. So the process starts
    while ``sys.modules['__main__']`` is a bare module with neither (what
    Jupyter's ``__main__`` is anyway), and the caller's module is put back as
    soon as the child has what it needs: the window is the start of one
    process, not the sweep. Nothing of ``__main__`` is pickled to a worker.
    """

    @staticmethod
    def _Popen(process_obj):  # noqa: N802 (multiprocessing's name)
        with _MAIN_SWAP:
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                return multiprocessing.context.SpawnProcess._Popen(process_obj)
            finally:
                if main is None:
                    del sys.modules["__main__"]
                else:
                    sys.modules["__main__"] = main


class WorkerContext(multiprocessing.context.SpawnContext):
    """spawn's context, making :class:`_WorkerProcess`; ``started``: each process it made, to read how one ended."""

    def __init__(self):
        self.started: list[_WorkerProcess] = []

    def Process(self, *args, **kwargs):  # noqa: N802 (multiprocessing's name)
        process = _WorkerProcess(*args, **kwargs)
        self.started.append(process)
        return process


def died(job, broken: BaseException, exitcodes: list) -> LiteshipError:
    """What a broken pool says about ``job``: why its worker died, as far as the exit codes and the pool tell.

    ``exitcodes``: each started worker's (None while alive). The pool sends the
    others SIGTERM once one has died, so that code is not the cause."""
    codes = [c for c in exitcodes if c is not None and c != -signal.SIGTERM]
    code, kept = (codes[0] if codes else None), "everything finished before it is kept in the run directory"
    what = f"A worker process died while running {job.key.label()}"
    if broken.__cause__ is not None:  # the pool could not read what the worker sent back
        why = f"its result could not be read back ({str(broken.__cause__).strip().splitlines()[-1]})"
    elif code is not None and code >= 0:
        why = (f"it ended by itself with exit code {code}, not killed: Python or a library in it stopped the process "
               "(what it printed is in the run's logs/frameworks.log, or on the terminal with --verbose)")
    elif code is not None and code != -signal.SIGKILL:
        why = (f"it crashed with {signal.Signals(-code).name}, most often in a framework's native code (what it "
               "printed is in the run's logs/frameworks.log, or on the terminal with --verbose)")
    else:
        return LiteshipError(what, f"it was killed from outside, most often by the kernel when memory ran out; {kept}",
                             "run the same command again to resume, with --workers 1 to use less memory")
    return LiteshipError(what, f"{why}; {kept}", "run the same command again to resume, with --workers 1 if a worker "
                                                 "dies again")


def end_workers() -> None:
    """Stop every worker now (SIGKILL: they ignore SIGTERM), and wait until each is gone."""
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join(timeout=10)
