"""The tracker's checks, run before any work: whether MLflow is here, where each command logs, and whether it can
log there (the URI, the experiment, the store: see :mod:`liteship.workflow.track_store`)."""

from __future__ import annotations

import os
from pathlib import Path

from liteship.workflow.validate import collect, run_dir_problems, runs_holding
from liteship.config import Problem, describe


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


def sweep_tracking(args, table, where: str) -> list[Problem]:
    """Where the sweep logs (``args.tracking``; None: it does not), and whether it can."""
    from liteship.workflow.track import default_tracking, tracking_problems

    args.tracking = None
    if args.track != "mlflow" and not table.mlflow:
        return _unused(table, where)
    found = mlflow_problems("--track", None, "mlflow") if args.track else \
        mlflow_problems(f"{where} [track]", "mlflow", True)
    if not found and args.out and str(args.out).strip():
        tracking = default_tracking(Path(args.out), table.uri, table.experiment)
        uri_from = f"{where} [track] uri" if table.uri else "MLFLOW_TRACKING_URI"
        found += store_place_problems(tracking, args.out, [args.data] if isinstance(args.data, str) else [], uri_from)
        found += [] if found else tracking_problems(tracking, args.out, uri_from, f"{where} [track] experiment"
                                                    if table.experiment else "the experiment (the run directory's name)")
        args.tracking = None if found else tracking
    return found


def track_command(args) -> list[Problem]:
    """`liteship track`: a run directory with results, MLflow installed; where to log: the flags, else where the
    sweep logged, else the default store; and that it can log there."""
    from liteship.workflow.track import tracking_for, tracking_problems
    from liteship.rundir import data_sources

    found = run_dir_problems(args.run_dir, writes=True) + mlflow_problems("--uri", None, args.uri or "the default")
    for flag, value in (("--uri", args.uri), ("--experiment", args.experiment)):
        if value is not None and not value.strip():
            found.append(Problem(flag, None, describe(value), "it is empty", f"drop {flag} or give it a value"))
    if not found:
        tracking = collect(found, tracking_for, Path(args.run_dir), args.uri, args.experiment)
        saved = Path(args.run_dir) / "track.json"
        uri_from = "--uri" if args.uri else f"{saved} uri" if saved.is_file() else "MLFLOW_TRACKING_URI"
        found += [] if tracking is None else store_place_problems(tracking, args.run_dir,
                                                                   data_sources(Path(args.run_dir)), uri_from)
        found += [] if tracking is None or found else tracking_problems(
            tracking, args.run_dir, uri_from, "--experiment" if args.experiment else f"{saved} experiment" if
            saved.is_file() else "the experiment (the run directory's name)")
        args.tracking = None if found else tracking
    return found


def pick_tracking(args) -> list[Problem]:
    """pick tags the chosen variant's run where the sweep logged, when it did and MLflow is here to do it; a
    track.json that cannot be read, or a store that cannot be written, is said before pick starts."""
    from liteship.workflow.track import mlflow_installed, saved_tracking, tracking_problems
    from liteship.rundir import data_sources

    args.tracking = None
    if run_dir_problems(args.run_dir):
        return []
    saved = collect(found := [], saved_tracking, Path(args.run_dir))
    if saved is not None and mlflow_installed():
        where = Path(args.run_dir) / "track.json"
        found += store_place_problems(saved, args.run_dir, data_sources(Path(args.run_dir)), f"{where} uri")
        found += [] if found else tracking_problems(saved, args.run_dir, f"{where} uri", f"{where} experiment")
        args.tracking = None if found else saved
    return found
