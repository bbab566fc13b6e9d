"""The one entry to a command's work: :func:`execute` a typed request, get its typed result.

In order: every problem with the request at once (:func:`liteship.workflow.checks.check`; raised as
:class:`~liteship.config.Problems` before anything is written), then the session
(:mod:`liteship.workflow.session`: SIGTERM as Ctrl-C in the main thread, the run directory held for this command
alone, the frameworks' logs to ``RUN_DIR/logs/frameworks.log``), then the work (:mod:`liteship.workflow.work`, and
the sweep here). Ctrl-C (``KeyboardInterrupt``) leaves what is finished, and the same request resumes the run.
The CLI (:mod:`liteship.app`) builds requests from flags and prints results; the Python API calls this too.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

from liteship.progress import Progress
from liteship.workflow import work
from liteship.workflow.checks import check
from liteship.workflow.results import Result, SweepEstimate, SweepResult, TrackResult
from liteship.workflow.session import open_session
from liteship.workflow.validate import text


def log_to_tracker(run_dir: Path, tracking) -> TrackResult:
    """Log the run directory to MLflow: what was logged, or what was not and how to fill the gap (never raised)."""
    from liteship.workflow.mlflow_log import track_run_dir

    started = time.perf_counter()
    logged = track_run_dir(run_dir, tracking)
    return TrackResult(run_dir=Path(run_dir), logged=logged, seconds=time.perf_counter() - started)


def _sweep(request, checked, progress, session, on_estimate) -> SweepResult:
    from liteship.workflow.estimate import left_out, peak_bytes, sweep_plan
    from liteship.workflow.executors import make_executor
    from liteship.workflow.sweep import sweep

    started = time.perf_counter()
    data, out, config, workers = text(request.data), Path(text(request.out)), checked.sweep_config, checked.workers
    costs, seconds = sweep_plan(out, data, config, checked.estimates, workers)
    estimate = SweepEstimate(seconds=seconds, workers=workers, peak_bytes=peak_bytes(checked.estimates, workers),
                             unknown=left_out(checked.estimates))
    if on_estimate is not None:
        on_estimate(estimate)
    records = sweep(data, out, config, progress, make_executor(request.executor, request.address, workers), costs,
                    session=session)
    seconds = time.perf_counter() - started
    tracked = log_to_tracker(out, checked.tracking) if checked.tracking is not None else None
    return SweepResult(out=out, records=tuple(records), seconds=seconds, estimate=estimate, tracked=tracked)


def _work(request, checked, progress, session, on_estimate) -> Result:
    if request.command == "sweep":
        return _sweep(request, checked, progress, session, on_estimate)
    if request.command == "track":
        return log_to_tracker(Path(text(request.run_dir)), checked.tracking)
    if request.command == "pick":
        return work.pick(request, checked, progress, log_to_tracker)
    if request.command.startswith("device "):
        from liteship.workflow import device

        return getattr(device, request.command.replace(" ", "_"))(request, checked, progress)
    return getattr(work, request.command)(request, checked, progress)


def execute(request, progress: Progress | None = None, on_estimate: Callable[[SweepEstimate], None] | None = None,
            on_result: Callable[[Result], None] | None = None) -> Result:
    """Check ``request``, run its work inside a session, and return its result (``result.exit_code``: 0 done, 1
    the work's answer is no). ``progress``: where progress goes (default: the console). ``on_estimate``: called
    with the sweep's estimate before its work starts (the CLI prints it). ``on_result``: called with the result
    before the files the request names for a report (``json``, ``junit``, ``markdown``) are written, so a summary
    shown there comes before such a file sent to standard output ("-").

    Raises :class:`~liteship.config.Problems` (every problem at once, nothing written) or another
    :class:`~liteship.errors.LiteshipError`; ``KeyboardInterrupt`` on Ctrl-C or SIGTERM, with finished work kept.
    """
    from liteship.files import write_output
    from liteship.signals import sigterm_as_interrupt

    progress = progress or Progress()
    with sigterm_as_interrupt():  # the checks too: a SIGTERM while they read a big tree ends them as Ctrl-C would
        checked = check(request)  # every problem at once, before anything is written
        with open_session(request) as session:
            result = _work(request, checked, progress, session, on_estimate)
            if on_result is not None:
                on_result(result)
            for path, content in work.outputs(request, result):
                write_output(path, content)
    return dataclasses.replace(result, framework_log=session.framework_log)
