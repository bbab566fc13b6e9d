"""Log a run directory to MLflow: find or make the sweep's parent run and each variant's nested run, then write what
differs. Logging twice changes nothing (runs are found by tags, metrics written only when their value changed,
artifacts only when their files did); a store that is down or full is said, never raised: the sweep's files are kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from liteship.workflow.track import SweepRun, Tracking, VariantRun

KEY = "liteship.run_dir_id"
CONFIG = "liteship.config_sha"
VARIANT = "liteship.variant_id"
FILES = "liteship.files_sha"
PARENT = "mlflow.parentRunId"


@dataclass
class Logged:
    """What one logging pass did, and what it could not do."""

    tracking: Tracking
    parent: str | None = None  # the parent run's ID
    variants: int = 0  # variant runs written (made or brought up to date)
    stale: int = 0  # runs tagged stale = true
    missed: list[str] = field(default_factory=list)  # what could not be logged
    error: str | None = None
    fix: str | None = None  # what to do when waiting for the tracker would not help (a damaged store)
    experiment: str | None = None  # where the runs went, when not the asked experiment (a moved run directory)
    notes: list[str] = field(default_factory=list)

    def lines(self, run_dir) -> list[str]:
        where = f"{self.tracking.uri} (experiment {(self.experiment or self.tracking.experiment)!r})"
        if not self.missed:
            stale = f", {self.stale} run(s) of variants no longer current tagged stale = true" if self.stale else ""
            return [f"mlflow: logged the sweep and {self.variants} variant run(s) to {where}{stale}",
                    *(f"mlflow: {note}" for note in self.notes)]
        then = self.fix or f"when the tracker is back: liteship track {run_dir}"
        return [f"mlflow: could not log to {where}: {self.error}",
                f"mlflow: not logged: {', '.join(self.missed)}; the sweep's files are complete. "
                f"{then[0].upper()}{then[1:]}"]


@contextmanager
def _client_settings():
    """Fail fast on a tracker that is down (one retry, 10 s timeout, unless the user set them); MLflow's notices
    off the terminal."""
    keys = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    saved = {k: os.environ.get(k) for k in keys}
    import mlflow  # noqa: F401 - configures its logger on import: after this, its level can be set

    logger = logging.getLogger("mlflow")
    level = logger.level
    for key, value in keys.items():
        os.environ.setdefault(key, value)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _sha(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _files_sha(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _local_path(uri: str | None) -> str | None:
    """The real path of a ``file:`` artifact location (or a plain path), None for a remote one."""
    if not uri:
        return None
    parsed = urlsplit(uri)
    if parsed.scheme not in ("", "file"):
        return None
    return os.path.realpath(unquote(parsed.path))


def _experiment(client, tracking: Tracking, logged: Logged) -> str:
    """The experiment's ID, made when new. A run directory's own store whose experiment keeps its artifacts in
    another folder (the run directory was moved or copied) logs to a new experiment here, so no artifact is ever
    written into another run directory."""
    name = tracking.experiment
    found = client.get_experiment_by_name(name)
    if found is not None and tracking.in_run_dir and \
            _local_path(found.artifact_location) != _local_path(tracking.artifact_location):
        old = found.artifact_location
        name = f"{tracking.experiment} ({os.path.dirname(_local_path(tracking.artifact_location))})"[:250]
        found = client.get_experiment_by_name(name)
        if found is not None and _local_path(found.artifact_location) != _local_path(tracking.artifact_location):
            raise MovedStore(f"experiments {tracking.experiment!r} and {name!r} keep their artifacts in other "
                             f"folders ({old}, {found.artifact_location})")
        logged.experiment = name
        logged.notes.append(f"experiment {tracking.experiment!r} keeps its artifacts in {old}, another run directory "
                            f"(this one was moved or copied): logged to experiment {name!r}, artifacts in this run "
                            "directory")
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=tracking.artifact_location,
                                    tags={"mlflow.experimentKind": "custom_model_development",  # the UI's runs view
                                          "mlflow.note.content": "liteship sweeps: a parent run per sweep, a nested "
                                                                 "run per variant (metrics per backend and threads)"})


def _find(client, exp: str, *tags: tuple[str, str]) -> list:
    query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags)
    return client.search_runs([exp], query, max_results=10000)


def _write(client, run, params: dict, metrics: dict, tags: dict) -> None:
    """Log only what is new or changed on ``run``: a second pass adds no metric history."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    have = run.data
    new_params = [Param(k[:250], v[:6000]) for k, v in params.items() if k[:250] not in have.params]
    new_metrics = [Metric(k, v, now, 0) for k, v in metrics.items() if have.metrics.get(k) != v]
    new_tags = [RunTag(k, v[:8000]) for k, v in tags.items() if have.tags.get(k) != v]
    for start in range(0, max(len(new_params), len(new_metrics), len(new_tags)), 100):
        client.log_batch(run.info.run_id, metrics=new_metrics[start:start + 100],
                         params=new_params[start:start + 100], tags=new_tags[start:start + 100])


def _artifacts(client, run, paths, tags: dict) -> None:
    """Upload ``paths`` unless this run already holds these bytes (its files tag says which)."""
    if not paths:
        return
    sha = _files_sha(paths)
    if run.data.tags.get(FILES) == sha:
        return
    for path in paths:
        client.log_artifact(run.info.run_id, str(path))
    tags[FILES] = sha


def _parent(client, exp: str, sweep: SweepRun, key: str) -> object:
    config = _sha(*(f"{k}={v}" for k, v in sorted(sweep.params.items())))
    runs = _find(client, exp, (KEY, key), ("liteship.kind", "sweep"))
    mine = [r for r in runs if r.data.tags.get(CONFIG) == config]
    for older in (r for r in runs if r not in mine and r.data.tags.get("stale") != "true"):
        client.set_tag(older.info.run_id, "stale", "true")  # the run directory was swept again with another config
    if mine:
        return mine[0]
    return client.create_run(exp, start_time=sweep.start_ms, run_name=sweep.name,
                             tags={KEY: key, CONFIG: config, "liteship.kind": "sweep"})


def _variant(client, exp: str, key: str, parent_id: str, found: dict, v: VariantRun) -> None:
    # the tags that find the run again are set with it: an interrupted pass cannot leave a run no later one finds
    run = found.get(v.variant) or client.create_run(exp, run_name=v.name, tags={KEY: key, VARIANT: v.variant,
                                                                                PARENT: parent_id,
                                                                                "liteship.kind": "variant"})
    tags = {**v.tags, PARENT: parent_id, "liteship.kind": "variant"}
    _artifacts(client, run, v.artifacts, tags)
    _write(client, run, v.params, v.metrics, tags)
    if "release_sha256" in run.data.tags and "release_sha256" not in tags:  # set by an earlier pick of another
        client.delete_tag(run.info.run_id, "release_sha256")
    if run.info.status != "FINISHED":
        client.set_terminated(run.info.run_id, "FINISHED")


class MovedStore(Exception):
    """A run directory's store whose experiments keep their artifacts elsewhere: logging would write there."""


def _sqlite_store_ready(tracking: Tracking, run_dir, logged: Logged, pending: list[str]) -> bool:
    """A SQLite store made whole if new; True (and ``logged`` says why and what to do) when it is damaged or
    linked elsewhere, which no wait for a tracker would mend."""
    from liteship.workflow.track import ARTIFACTS
    from liteship.workflow.track_store import damaged, ensure_store, links_in, sqlite_file, store_damage

    db = sqlite_file(tracking.uri)
    if db is None:
        return False
    planted = ([db] if db.is_symlink() else []) + links_in(db.parent / ARTIFACTS) if tracking.in_run_dir else []
    if planted:  # planted since the command's checks
        logged.error = f"{planted[0]} is a link, and MLflow would write through it, outside the run directory"
        logged.fix, logged.missed = f"fix: remove the link (rm '{planted[0]}'), then: liteship track {run_dir}", pending
        return True
    damage = store_damage(db)
    if damage is None:
        ensure_store(db, tracking.artifact_location)
        damage = store_damage(db)
    if damage is None:
        return False
    why = damage[0]
    exc = damaged(db, why, run_dir)
    logged.error, logged.fix = f"the store is damaged: {why}", f"fix: {exc.fix}"
    logged.missed = pending
    return True


def log_sweep(sweep: SweepRun, tracking: Tracking) -> Logged:
    """Log ``sweep`` to ``tracking``; whatever fails is in the answer's ``missed``, never raised."""
    logged = Logged(tracking)
    pending = ["the sweep's parent run"] + [f"{v.name} ({v.variant})" for v in sweep.variants]
    with _client_settings():
        try:
            from mlflow.tracking import MlflowClient

            if _sqlite_store_ready(tracking, sweep.run_dir, logged, pending):
                return logged
            client = MlflowClient(tracking_uri=tracking.uri)
            exp = _experiment(client, tracking, logged)
            key = _sha(sweep.key)
            parent = _parent(client, exp, sweep, key)
            logged.parent = parent.info.run_id
            children = _find(client, exp, (KEY, key), ("liteship.kind", "variant"))
            found = {r.data.tags.get(VARIANT): r for r in children}
            for v in sweep.variants:
                _variant(client, exp, key, parent.info.run_id, found, v)
                pending.remove(f"{v.name} ({v.variant})")
                logged.variants += 1
            current = {v.variant for v in sweep.variants}
            for run in children:
                if run.data.tags.get(VARIANT) not in current:
                    logged.stale += run.data.tags.get("stale") != "true"  # newly stale
                    _write(client, run, {}, {}, {"stale": "true", "picked": "false"})
                    if "release_sha256" in run.data.tags:
                        client.delete_tag(run.info.run_id, "release_sha256")
            tags = dict(sweep.tags)
            _artifacts(client, parent, list(sweep.artifacts), tags)
            _write(client, parent, sweep.params, {"variants": float(len(sweep.variants))}, tags)
            if parent.info.status != "FINISHED" or (sweep.end_ms is not None and parent.info.end_time != sweep.end_ms):
                client.set_terminated(parent.info.run_id, "FINISHED", end_time=sweep.end_ms)
            pending.remove("the sweep's parent run")
        except MovedStore as exc:
            logged.error, logged.missed = str(exc), pending
            logged.fix = (f"fix: log it to a new experiment: liteship track {sweep.run_dir} --experiment NAME "
                          "(its artifacts go to this run directory)")
        except Exception as exc:  # noqa: BLE001 - a tracker's failure, whatever its kind, must not lose the sweep
            logged.error, logged.missed = _why(exc), pending
    return logged


def track_run_dir(run_dir, tracking: Tracking) -> Logged:
    """Log ``run_dir`` to ``tracking``, and note there where it went (``track.json``: pick and `liteship track` log
    to the same place)."""
    from pathlib import Path

    from liteship.workflow.track import TRACK_JSON, describe_run_dir
    from liteship.files import atomic_write_json

    atomic_write_json(Path(run_dir) / TRACK_JSON, tracking.to_dict())
    return log_sweep(describe_run_dir(Path(run_dir)), tracking)
