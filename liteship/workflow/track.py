"""What a run directory tells an experiment tracker: one parent run per sweep, one nested run per current variant.

Everything here is read from the run directory's files (``run.json``, ``data/split.json``, ``variants/<ID>.json``,
``results.jsonl``, ``release/manifest.json``), never from a process's state, so logging during the sweep and
``liteship track RUN_DIR`` afterwards log the same thing. :mod:`liteship.workflow.mlflow_log` writes it to MLflow.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from liteship.bench import BenchRecord, current_results
from liteship.baseline import is_baseline
from liteship.rundir import (MANIFEST, MARKER, MLARTIFACTS, MLFLOW_DB, PARETO, RELEASE, REPORT_HTML, REPORT_MD, RESULTS,
                             RUN_JSON, SPLIT, TRACK_JSON, VARIANTS, read_json, read_manifest, read_variant_record)

DEFAULT_DB, ARTIFACTS = MLFLOW_DB, MLARTIFACTS  # the run directory's own store (its names: liteship.rundir)
INSTALL = "pip install 'liteship[mlflow]' (in a clone of liteship: pip install -e '.[mlflow]')"
PARENT_ARTIFACTS = (REPORT_HTML, REPORT_MD, PARETO, RESULTS)


@dataclass(frozen=True)
class Tracking:
    """Where a run directory is logged: a tracking URI and an experiment (and, for the default store, where the
    artifacts go: under the run directory, so nothing outside it is touched)."""

    uri: str
    experiment: str
    artifact_location: str | None = None
    in_run_dir: bool = False  # the default store, RUN_DIR/mlflow.db: found again where the run directory is now

    def to_dict(self) -> dict:
        return {"uri": None if self.in_run_dir else self.uri, "experiment": self.experiment}


def run_dir_store(run_dir: Path, experiment: str | None = None) -> Tracking:
    run_dir = Path(run_dir).resolve()
    return Tracking(f"sqlite:///{run_dir / DEFAULT_DB}", experiment or run_dir.name, (run_dir / ARTIFACTS).as_uri(),
                    True)


def _custom(uri: str, experiment: str) -> Tracking:
    """A tracking URI the user named; a SQLite file's artifacts go beside it (mlartifacts/), never to the working
    directory's ./mlruns, MLflow's default."""
    from liteship.workflow.track_store import sqlite_file, uri_problem

    db = sqlite_file(uri)
    if db is None or uri_problem(uri) is not None:  # as given: the checks name what is wrong with it
        return Tracking(uri, experiment)
    # a relative path is the same file from any folder (track.json keeps it for pick and `liteship track`)
    return Tracking(f"sqlite:///{db.absolute()}", experiment, (db.absolute().parent / ARTIFACTS).as_uri())


def default_tracking(run_dir: Path, uri: str | None = None, experiment: str | None = None) -> Tracking:
    """``uri``, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///RUN_DIR/mlflow.db`` with artifacts in the run."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    if uri is None:
        return run_dir_store(run_dir, experiment)
    return _custom(uri, experiment or Path(run_dir).resolve().name)


def saved_tracking(run_dir: Path) -> Tracking | None:
    """Where the sweep logged this run directory, if it did (``track.json``); wrong types there are exit 2."""
    from liteship.config import Problem, Problems, describe

    path = Path(run_dir) / TRACK_JSON
    if path.is_symlink():  # planted: liteship writes its own, and reads nothing through a link (/proc/kmsg hangs)
        raise Problems([Problem(str(path), None, f"a link to {describe(os.readlink(path))}", "liteship writes "
                                "track.json itself and reads none through a link", f"remove the link (rm '{path}')")])
    if not path.is_file():
        return None
    found = read_json(path, "liteship track RUN_DIR")
    wrong = [Problem(str(path), key, describe(found[key]), "it must be text or null",
                     f"fix it, or delete {path} and pass --uri/--experiment to `liteship track`")
             for key in ("uri", "experiment") if found.get(key) is not None and not isinstance(found[key], str)]
    if wrong:
        raise Problems(wrong)
    experiment = found.get("experiment")
    if found.get("uri") is None:
        return run_dir_store(run_dir, experiment)
    return _custom(found["uri"], experiment or Path(run_dir).resolve().name)


def tracking_for(run_dir: Path, uri: str | None, experiment: str | None) -> Tracking:
    """`liteship track`'s destination: the flags, else where the sweep logged, else the default."""
    saved = saved_tracking(run_dir)
    if uri is not None or saved is None:
        return default_tracking(run_dir, uri, experiment or (saved.experiment if saved else None))
    return saved if experiment is None else Tracking(saved.uri, experiment, saved.artifact_location,
                                                      saved.in_run_dir)


def tracking_problems(tracking: Tracking, run_dir, uri_from: str, experiment_from: str) -> list:
    """Whether MLflow can log where ``tracking`` says, checked before any work: the URI, the experiment's name,
    the run directory's path in a sqlite URI, links planted where the store writes, a damaged store.
    ``uri_from``, ``experiment_from``: where each was given (a flag, a config key, track.json)."""
    from liteship.workflow.track_store import experiment_problem, sqlite_file, uri_problem
    from liteship.config import Problem, describe

    found = []
    if tracking.in_run_dir:  # the default store: the run directory's path is in its URI
        found += [Problem("the run directory", None, describe(str(Path(run_dir))), why.replace(
                  "its path", "its path (in the store's URI, sqlite:///RUN_DIR/mlflow.db)"), "use a run directory "
                          "without those characters") for why, _ in [uri_problem(tracking.uri, True) or (0, 0)] if why]
    else:
        found += [Problem(uri_from, None, describe(tracking.uri), why, fix)
                  for why, fix in [uri_problem(tracking.uri) or (None, None)] if why]
    found += [Problem(experiment_from, None, describe(tracking.experiment[:80] + "..." * (len(tracking.experiment) > 80)),
                      why, fix) for why, fix in [experiment_problem(tracking.experiment) or (None, None)] if why]
    db = sqlite_file(tracking.uri)
    return found if found or db is None else _store_problems(tracking, db, run_dir, uri_from)


def _store_problems(tracking: Tracking, db: Path, run_dir, uri_from: str) -> list:
    """Links planted where a run directory's store writes, and a store that is damaged or no MLflow store."""
    from liteship.workflow.track_store import damaged, links_in, store_damage
    from liteship.config import Problem, describe

    if tracking.in_run_dir:
        planted = ([db] if db.is_symlink() else []) + links_in(db.parent / ARTIFACTS)
        found = [Problem(str(link), None, f"a link to {describe(os.readlink(link))}", "MLflow would write through "
                         "it, outside the run directory", f"remove the link (rm '{link}'); liteship makes its own")
                 for link in planted]
        if not planted and db.is_file() and db.stat().st_nlink > 1:
            found.append(Problem(str(db), None, "a file with another name too (a hard link)", "MLflow would write "
                                 "into that other file as well", f"move it away (mv '{db}' '{db}.broken'); liteship "
                                 "makes its own"))
        if found:
            return found
    damage = store_damage(db)
    if damage is None:
        return []
    why, foreign = damage
    if foreign and not tracking.in_run_dir:
        return [Problem(uri_from, None, describe(tracking.uri), f"{db} is no MLflow store ({why}), and liteship "
                        "writes MLflow's tables only into a new file or an MLflow store",
                        "name a new file in an existing folder, or an MLflow store")]
    return [Problem(str(db), None, "", f"the MLflow store is damaged: {why}", damaged(db, why, run_dir).fix)]


def mlflow_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None


def flatten(value, prefix: str = "") -> dict[str, str]:
    """A nested mapping as MLflow params: dotted keys, values as text (lists as JSON)."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    text = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return {prefix: text}


def metric_prefix(rec: BenchRecord) -> str:
    """``xnnpack_t1`` for a measured run; the backend alone for a count or coverage backend (``arm64-a15``)."""
    return rec.kind.label(rec.backend, rec.threads)


_LATENCY = ("init", "first", "p50", "p90", "p99", "mean", "std", "min")
_RECORD = ("top1", "top5", "agreement", "images", "peak_rss_mb", "arena_mb", "delegated", "reference_agreement",
           "reference_max_diff")


def record_metrics(rec: BenchRecord, records: list[BenchRecord]) -> dict[str, float]:
    """Every number of one bench record, with its interval bounds, named ``<backend>_t<threads>.<number>``."""
    from liteship.judge import drop_with_interval

    p, out = metric_prefix(rec), {}
    lat = rec.latency_ms
    if lat is not None:
        out.update({f"{p}.{s}_ms": getattr(lat, s) for s in _LATENCY if getattr(lat, s) is not None})
        out.update({f"{p}.{s}": getattr(lat, s) for s in ("cv", "runs", "rounds") if getattr(lat, s) is not None})
        for stat in ("p50", "p90", "p99"):
            bounds = lat.interval(stat)
            if bounds is not None:
                out[f"{p}.{stat}_ms_ci_low"], out[f"{p}.{stat}_ms_ci_high"] = bounds
    out.update({f"{p}.{k}": getattr(rec, k) for k in _RECORD if getattr(rec, k) is not None})
    if rec.top1_ci is not None:
        out[f"{p}.top1_ci_low"], out[f"{p}.top1_ci_high"] = rec.top1_ci
    if rec.instructions is not None:
        out[f"{p}.instructions_m"] = rec.instructions.millions
        if rec.instructions.first_millions is not None:
            out[f"{p}.first_invoke_instructions_m"] = rec.instructions.first_millions
    task = rec.task_api or {}
    out.update({f"{p}.task_api_{k}": task[k] for k in ("top1", "agreement") if isinstance(task.get(k), (int, float))})
    drop = drop_with_interval(rec, records) if not is_baseline(rec.recipe) else None
    if drop is not None:
        out.update({f"{p}.drop_vs_float_pt": drop.value * 100, f"{p}.drop_vs_float_pt_ci_low": drop.low * 100,
                    f"{p}.drop_vs_float_pt_ci_high": drop.high * 100})
    return {k: float(v) for k, v in out.items()}


def variant_metrics(recs: list[BenchRecord], records: list[BenchRecord]) -> dict[str, float]:
    """The file's numbers (sizes, parameters, sparsity), then each record's."""
    first = recs[0]
    out = {"size_kb": first.size_bytes / 1024, "gzip_kb": first.gzip_bytes / 1024}
    if first.params is not None:
        out["params"] = float(first.params)
    if first.sparsity is not None:
        out["sparsity"] = float(first.sparsity)
    for rec in recs:
        out.update(record_metrics(rec, records))
    return out


@dataclass
class VariantRun:
    """One variant's nested run: what it is logged with."""

    variant: str
    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: tuple[Path, ...]
    versions: dict  # what made the file (its variant record's versions)


@dataclass
class SweepRun:
    """The run directory as a parent run and its variants' nested runs."""

    run_dir: Path
    key: str  # the run directory's identity (its name and when liteship made it): survives a move
    name: str
    params: dict[str, str]
    tags: dict[str, str]
    artifacts: tuple[Path, ...]
    variants: list[VariantRun]
    start_ms: int | None = None  # when liteship made the run directory
    end_ms: int | None = None  # when its results were last written


def _made_at(run_dir: Path):
    """When liteship made the run directory (its marker's time), if it says."""
    marker = Path(run_dir) / MARKER
    return read_json(marker, "liteship sweep").get("since") if marker.is_file() else None


def git_commit(where: Path) -> str | None:
    """The commit checked out in ``where``'s git work tree, if it is in one."""
    try:
        done = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _parent_tags(run_dir: Path, records: list[BenchRecord], variant_versions: dict) -> dict[str, str]:
    from liteship.versions import TRAIN_DISTS, system_info, versions

    have = {**versions(TRAIN_DISTS), **{k: v for k, v in variant_versions.items() if v}}
    measured = next((r.system for r in records if r.kind.times and r.kind.here and r.system), None) or system_info()
    split = read_json(run_dir / SPLIT, "liteship train (or sweep)") if (run_dir / SPLIT).is_file() else {}
    tags = {"liteship.kind": "sweep", "liteship.version": have.get("liteship"),
            "tensorflow.version": have.get("tensorflow"), "litert.version": have.get("ai-edge-litert"),
            "machine.cpu": measured.get("cpu"), "machine.cores": measured.get("cores"),
            "data.content_hash": split.get("content_hash"), "data.source": split.get("source"),
            "mlflow.source.git.commit": git_commit(Path.cwd())}
    return {k: str(v) for k, v in tags.items() if v is not None}


def _released(run_dir: Path) -> tuple[str | None, str | None]:
    """The variant ID and model sha256 of ``release/``, when pick wrote one."""
    if not (run_dir / RELEASE / MANIFEST).is_file():
        return None, None
    manifest = read_manifest(run_dir / RELEASE)
    return manifest.get("variant"), (manifest.get("model") or {}).get("sha256")


def _verdicts(run_dir: Path, records: list[BenchRecord]) -> dict[str, str]:
    """pass or fail under the default budgets, for each current variant."""
    from liteship.judge import DEFAULT_BUDGETS, gate

    return {vv.variant: "pass" if vv.passed else "fail"
            for vv in gate(run_dir, DEFAULT_BUDGETS, remeasure=False, records=records)}


def _variant_run(run_dir: Path, vid: str, recs, records, gate_of, picked) -> VariantRun:
    made = read_variant_record(run_dir / VARIANTS / f"{vid}.json")
    params = {"model": str(made.get("model")), "recipe": str(made.get("recipe")), "variant_id": vid,
              **flatten(made.get("config") or {}, "config")}
    tags = {"liteship.variant_id": vid, "gate": gate_of.get(vid, "fail"), "stale": "false",
            "picked": "true" if picked[0] == vid else "false"}
    if picked[0] == vid and picked[1]:
        tags["release_sha256"] = picked[1]
    files = tuple(p for p in (run_dir / made.get("file", ""), run_dir / VARIANTS / f"{vid}.json") if p.is_file())
    return VariantRun(vid, f"{made.get('model')} {made.get('recipe')}", params, variant_metrics(recs, records), tags,
                      files, made.get("versions") or {})


def describe_run_dir(run_dir: Path) -> SweepRun:
    """The parent run and the current variants' nested runs, read from the run directory's files."""
    run_dir = Path(run_dir)
    records = current_results(run_dir)[0]
    asked = read_json(run_dir / RUN_JSON, "liteship sweep") if (run_dir / RUN_JSON).is_file() else {}
    gate_of, picked = _verdicts(run_dir, records), _released(run_dir)
    by_variant: dict[str, list[BenchRecord]] = {}
    for rec in records:
        by_variant.setdefault(rec.variant, []).append(rec)
    variants = [_variant_run(run_dir, vid, recs, records, gate_of, picked) for vid, recs in by_variant.items()]
    params = {"command": str(asked.get("command")), "data": str(asked.get("data")),
              **flatten(asked.get("config") or {})}
    start = _made_at(run_dir)  # with the folder's name, the run directory's identity: it survives a move
    return SweepRun(run_dir, f"{run_dir.resolve().name}@{start}", f"sweep {run_dir.resolve().name}", params,
                    _parent_tags(run_dir, records, variants[0].versions if variants else {}),
                    tuple(run_dir / n for n in PARENT_ARTIFACTS if (run_dir / n).is_file()), variants,
                    int(start * 1000) if isinstance(start, (int, float)) else None,
                    int((run_dir / RESULTS).stat().st_mtime * 1000) if (run_dir / RESULTS).is_file() else None)
