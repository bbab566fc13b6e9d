"""The tracker's checks, run before any work: whether MLflow is here, where each command logs, and whether it can
log there (the URI, the experiment, the store: see :mod:`liteship.app.track_store`)."""

from __future__ import annotations

from pathlib import Path

from liteship.app.validate import collect, run_dir_problems
from liteship.config import Problem, describe


def mlflow_problems(where: str, key: str | None, value) -> list[Problem]:
    from liteship.app.track import INSTALL, mlflow_installed

    return [] if mlflow_installed() else [Problem(where, key, describe(value), "MLflow is not installed here",
                                                  f"install it: {INSTALL}")]


def _unused(table, where: str) -> list[Problem]:
    """[track] settings without ``mlflow = true`` (or --track mlflow) would log nothing, silently."""
    return [Problem(f"{where} [track]", key, describe(value), "it is set, but mlflow = true is not (nor --track "
                    "mlflow), so nothing would be logged", "add mlflow = true to [track] (or pass --track mlflow), "
                    f"or remove {key}")
            for key, value in (("uri", table.uri), ("experiment", table.experiment)) if value is not None]


def sweep_tracking(args, table, where: str) -> list[Problem]:
    """Where the sweep logs (``args.tracking``; None: it does not), and whether it can."""
    from liteship.app.track import default_tracking, tracking_problems

    args.tracking = None
    if args.track != "mlflow" and not table.mlflow:
        return _unused(table, where)
    found = mlflow_problems("--track", None, "mlflow") if args.track else \
        mlflow_problems(f"{where} [track]", "mlflow", True)
    if not found and args.out and str(args.out).strip():
        tracking = default_tracking(Path(args.out), table.uri, table.experiment)
        found += tracking_problems(tracking, args.out, f"{where} [track] uri" if table.uri else "MLFLOW_TRACKING_URI",
                                   f"{where} [track] experiment" if table.experiment else "the experiment (the run "
                                   "directory's name)")
        args.tracking = None if found else tracking
    return found


def track_command(args) -> list[Problem]:
    """`liteship track`: a run directory with results, MLflow installed; where to log: the flags, else where the
    sweep logged, else the default store; and that it can log there."""
    from liteship.app.track import tracking_for, tracking_problems

    found = run_dir_problems(args.run_dir, writes=True) + mlflow_problems("--uri", None, args.uri or "the default")
    for flag, value in (("--uri", args.uri), ("--experiment", args.experiment)):
        if value is not None and not value.strip():
            found.append(Problem(flag, None, describe(value), "it is empty", f"drop {flag} or give it a value"))
    if not found:
        tracking = collect(found, tracking_for, Path(args.run_dir), args.uri, args.experiment)
        saved = Path(args.run_dir) / "track.json"
        found += [] if tracking is None else tracking_problems(
            tracking, args.run_dir, "--uri" if args.uri else f"{saved} uri" if saved.is_file() else "MLFLOW_TRACKING_URI",
            "--experiment" if args.experiment else f"{saved} experiment" if saved.is_file() else "the experiment (the "
            "run directory's name)")
        args.tracking = None if found else tracking
    return found


def pick_tracking(args) -> list[Problem]:
    """pick tags the chosen variant's run where the sweep logged, when it did and MLflow is here to do it; a
    track.json that cannot be read, or a store that cannot be written, is said before pick starts."""
    from liteship.app.track import mlflow_installed, saved_tracking, tracking_problems

    args.tracking = None
    if run_dir_problems(args.run_dir):
        return []
    saved = collect(found := [], saved_tracking, Path(args.run_dir))
    if saved is not None and mlflow_installed():
        where = Path(args.run_dir) / "track.json"
        found += tracking_problems(saved, args.run_dir, f"{where} uri", f"{where} experiment")
        args.tracking = None if found else saved
    return found
