"""The sweep: train each model once, make each variant once, bench each once, then report.

Every unit of work is content-addressed in the run directory (float model
folders, variant IDs, result keys), so re-running the same command skips
what is done, and a killed sweep resumes where it stopped. What it is asked
comes from :mod:`liteship.workflow.sweep_config`; its reports from :mod:`liteship.workflow.reports`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from liteship.workflow.plan import BenchKey, pending, plan_benches, plan_train
from liteship.workflow.reports import write_reports
from liteship.workflow.sweep_config import DEFAULT_SWEEP, SweepConfig, augmentations, bench_options, train_config
from liteship.bench import BenchRecord
from liteship.files import atomic_write_json, ensure_writable
from liteship.progress import Progress
from liteship.rundir import JOBS, RUN_JSON, claim, remove_stale_temps


def _step_done(steps, unit, note: str = "") -> None:
    steps.step(unit.key.label() + note, " (done before, skipped)", key=unit.key, skipped=True)


def _read_once(data: str, out: Path, configs: list, executor, progress: Progress) -> dict:
    """The data at each model's input size, by size, every image file read once for all of them (its hashes, the
    fingerprint planning compares, each size's rows of the run's image cache): the jobs get these instead of
    reading the images again. Nothing for the digits (no files), or when the jobs may run on other machines
    (``shares_disk`` False: Ray), where each job reads the data itself."""
    if data == "digits" or not getattr(executor, "shares_disk", False):
        return {}
    from liteship.dataset import load_datasets
    from liteship.rundir import IMAGE_CACHE

    return load_datasets(data, sorted({c.size for c in configs}), out, progress, out / IMAGE_CACHE)


def sweep(data: str, out: str | Path, config: SweepConfig = DEFAULT_SWEEP, progress: Progress | None = None,
          executor=None, costs: dict | None = None, *, session) -> list[BenchRecord]:
    """Run (or resume) the sweep on ``executor`` (default: here, one job at a time); return every bench record.

    ``session``: the open :class:`~liteship.workflow.session.Session` holding ``out``, so no caller skips the
    checks and the lock (the entry is :func:`liteship.workflow.execute.execute` with a ``SweepRequest``). Training, making variants and counting instructions are jobs the executor may run side by side
    (:mod:`liteship.workflow.pipeline`); then the variants are scored and timed, with nothing else of the sweep
    running. ``costs``: each unit's estimated seconds by its key (:mod:`liteship.workflow.plan`)
    (:func:`liteship.workflow.resources.unit_seconds`): which jobs start first, and what the progress line's remaining
    time weighs finished units with.
    """
    from liteship.workflow.executors import LocalExecutor
    from liteship.workflow.pipeline import SweepWork, simulate_sweep
    from liteship.bench import count_kinds, current_results
    from liteship.optimize import parse_recipes, with_defaults
    from liteship.workflow.session import require_session

    require_session(session, out, "SweepRequest")  # the checks ran, the run directory is held for this sweep
    progress, executor = progress or Progress(), executor or LocalExecutor()
    out = claim(out)  # a new, empty or liteship-made folder; anything else is refused before any work
    ensure_writable(out)
    for stale in remove_stale_temps(out):
        progress.log(f"removed {stale.name}, left half-made by an interrupted run")
    recipes = parse_recipes(list(config.optimize.recipes))
    options = bench_options(config.bench, progress)
    train_configs = [train_config(config, m) for m in config.models]
    recipe_configs = with_defaults(recipes, config.recipe_configs)
    atomic_write_json(out / RUN_JSON, {"command": "sweep", "data": data, "config": config.to_dict(), "executor":
                                         executor.name, "workers": executor.workers, "train_configs":
                                         [asdict(c) for c in train_configs], "augment": augmentations(train_configs, data)})
    models = [tc.model_dir_name for tc in train_configs]
    cores = executor.workers if executor.name == "ray" else None  # a cluster's CPUs, or this machine's cores
    simulated, ranks = simulate_sweep(models, recipes, options, costs or {}, executor.workers, cores)
    per_model = 1 + len(recipes) * (2 + len(count_kinds(options)))  # train; make, count each kind, bench
    datasets = _read_once(data, out, train_configs, executor, progress)
    with progress.steps(len(models) * per_model, costs=simulated.shares if costs else None) as steps:
        work = SweepWork(out, data, plan_train(out, data, train_configs), recipes, recipe_configs, options, steps,
                         ranks, datasets)
        executor.run(work.start())
        if getattr(executor, "timeline", None) and not (out / JOBS).parent.is_symlink():  # never through a link
            # where the time went, job by job, for whoever asks
            atomic_write_json(out / JOBS, {"workers": executor.workers, "jobs": executor.timeline})

        def benched(target, recs):
            top1 = next((r.top1 for r in recs if r.top1 is not None), None)
            key = BenchKey(target.group, target.recipe)
            steps.step(key.label() + (f": top-1 {top1:.4f}" if top1 is not None else ""), key=key)

        benches = plan_benches(out, options)
        # Every job has ended, and each bench is one step: also a current model of an earlier sweep that this
        # config does not name (it is benched again when the options change), none for a recipe that failed.
        steps.expect(steps.done + len(benches))
        for unit in benches:
            if unit.done:
                _step_done(steps, unit)
        todo = pending(benches)  # the counts reach the bench through the run directory's files
        executor.bench(out, options, todo, benched, work.stored_counts(todo))  # nothing else runs now
    records, _ = current_results(out)
    write_reports(out, records)
    return records
