"""The tracker's checks, run before any work: whether MLflow is here, where each command logs, and whether it can
log there (the URI, the experiment, the store: see :mod:`liteship.workflow.track_store`)."""

from __future__ import annotations

import os
from pathlib import Path

from liteship.workflow.validate import collect, run_dir_problems, runs_holding
from liteship.config import Problem, describe
from liteship.rundir import TRACK_JSON


def mlflow_problems(where: str, key: str | None, value) -> list[Problem]:
    from liteship.workflow.track import INSTALL, mlflow_installed

    return [] if mlflow_installed() else [Problem(where, key, describe(value), "MLflow is not installed here",
                                                  f"install it: {INSTALL}")]


def _unused(table, where: str) -> list[Problem]:
    """[track] settings without ``mlflow = true`` (or --track mlflow) would log nothing, silently."""
    return [Problem(f"{where} [track]", key, describe(value), "it is set, but mlflow = true is not (nor --track "
                    "mlflow), so nothing would be logged", "add mlflow = true to [track] (or pass --track mlflow), "
                    f"or remove {key}")
            for key, value in (("uri", table.uri), ("experiment", table.experiment)) if value is not None]


def store_place_problems(tracking, own: str | None, data: list[str], uri_from: str) -> list[Problem]:
    """A SQLite store the user named, and its artifact folder beside it, are never inside a data folder the command
    reads nor inside another liteship run directory (``own`` is the command's run directory): MLflow would write
    its database, models and plots among the images, or among another run's files."""
    from liteship.workflow.track import ARTIFACTS
    from liteship.workflow.track_store import sqlite_file

    db = sqlite_file(tracking.uri)
    if db is None or tracking.in_run_dir:
        return []
    places = [os.path.abspath(db), os.path.realpath(db)]
    places += [os.path.join(os.path.dirname(place), ARTIFACTS) for place in places]
    fix = ("put the store outside the data folders and run directories, e.g. sqlite:///$HOME/mlflow/mlflow.db, or "
           "name no URI: the run directory's own mlflow.db")
    for folder in [d for d in data if os.path.isdir(d)]:
        roots = (os.path.abspath(folder).rstrip(os.sep) + os.sep, os.path.realpath(folder).rstrip(os.sep) + os.sep)
        if any((place + os.sep).startswith(root) for place in places for root in roots):
            return [Problem(uri_from, None, describe(tracking.uri), f"the store (and {ARTIFACTS}/ beside it) would be "
                            f"inside the data folder {folder} the command reads: MLflow would write its database, "
                            "models and plots among the images, and every later run would read them as images", fix)]
    others = [run for run in runs_holding(str(db)) if own is None or os.path.realpath(run) != os.path.realpath(own)]
    return [Problem(uri_from, None, describe(tracking.uri), f"the store (and {ARTIFACTS}/ beside it) would be inside "
                    f"the run directory {run}, another liteship run: MLflow would write among that run's files", fix)
            for run in others[:1]]


def _text(value) -> str | None:
    return None if value is None else str(value)


def sweep_tracking(track: str | None, out, data, table, where: str) -> tuple[list[Problem], object]:
    """Whether the sweep can log where it is asked to (``track``: --track; ``table``: [track]); returns the problems
    and where it logs (a :class:`~liteship.workflow.track.Tracking`; None: it does not)."""
    from liteship.workflow.track import default_tracking, tracking_problems

    if track != "mlflow" and not table.mlflow:
        return _unused(table, where), None
    found = mlflow_problems("--track", None, "mlflow") if track else \
        mlflow_problems(f"{where} [track]", "mlflow", True)
    tracking, out = None, _text(out)
    if not found and out and out.strip():
        tracking = default_tracking(Path(out), table.uri, table.experiment)
        uri_from = f"{where} [track] uri" if table.uri else "MLFLOW_TRACKING_URI"
        found += store_place_problems(tracking, out, [str(data)] if data is not None else [], uri_from)
        found += [] if found else tracking_problems(tracking, out, uri_from, f"{where} [track] experiment"
                                                    if table.experiment else "the experiment (the run directory's name)")
    return found, None if found else tracking


def track_command(request) -> tuple[list[Problem], object]:
    """`liteship track`: a run directory with results, MLflow installed; where to log: the request's, else where the
    sweep logged, else the default store; and that it can log there. Returns the problems and where it logs."""
    from liteship.workflow.track import tracking_for, tracking_problems
    from liteship.rundir import data_sources

    run_dir, uri, experiment = _text(request.run_dir), request.uri, request.experiment
    found = run_dir_problems(run_dir, writes=True) + mlflow_problems("--uri", None, uri or "the default")
    for flag, value in (("--uri", uri), ("--experiment", experiment)):
        if value is not None and not value.strip():
            found.append(Problem(flag, None, describe(value), "it is empty", f"drop {flag} or give it a value"))
    if found:
        return found, None
    tracking = collect(found, tracking_for, Path(run_dir), uri, experiment)
    saved = Path(run_dir) / TRACK_JSON
    uri_from = "--uri" if uri else f"{saved} uri" if saved.is_file() else "MLFLOW_TRACKING_URI"
    found += [] if tracking is None else store_place_problems(tracking, run_dir, data_sources(Path(run_dir)), uri_from)
    found += [] if tracking is None or found else tracking_problems(
        tracking, run_dir, uri_from, "--experiment" if experiment else f"{saved} experiment" if
        saved.is_file() else "the experiment (the run directory's name)")
    return found, None if found else tracking


def pick_tracking(run_dir) -> tuple[list[Problem], object]:
    """pick tags the chosen variant's run where the sweep logged, when it did and MLflow is here to do it; a
    track.json that cannot be read, or a store that cannot be written, is said before pick starts. Returns the
    problems and where pick logs (None: nowhere)."""
    from liteship.workflow.track import mlflow_installed, saved_tracking, tracking_problems
    from liteship.rundir import data_sources

    run_dir = _text(run_dir)
    if run_dir_problems(run_dir):
        return [], None
    saved = collect(found := [], saved_tracking, Path(run_dir))
    if saved is None or not mlflow_installed():
        return found, None
    where = Path(run_dir) / TRACK_JSON
    found += store_place_problems(saved, run_dir, data_sources(Path(run_dir)), f"{where} uri")
    found += [] if found else tracking_problems(saved, run_dir, f"{where} uri", f"{where} experiment")
    return found, None if found else saved
