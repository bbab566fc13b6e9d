"""The sweep: train each model once, make each variant once, bench each once, then report.

Every unit of work is content-addressed in the run directory (float model
folders, variant IDs, result keys), so re-running the same command skips
what is done, and a killed sweep resumes where it stopped. What it is asked
comes from :mod:`liteship.app.sweep_config`; its reports from :mod:`liteship.app.reports`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from liteship.app.plan import pending, plan_benches, plan_optimize, plan_train
from liteship.app.reports import write_reports
from liteship.app.sweep_config import DEFAULT_SWEEP, SweepConfig, bench_options, train_config
from liteship.bench import BenchRecord
from liteship.files import atomic_write_json, ensure_writable
from liteship.progress import Progress
from liteship.rundir import RUN_JSON, claim, remove_stale_temps, update_current


def _step_done(steps, unit, note: str = "") -> None:
    steps.step(unit.label + note, " (done before, skipped)", key=unit.label, skipped=True)


def sweep(data: str, out: str | Path, config: SweepConfig = DEFAULT_SWEEP, progress: Progress | None = None,
          executor=None, costs: dict[str, float] | None = None) -> list[BenchRecord]:
    """Run (or resume) the sweep on ``executor`` (default: here); return every bench record of the run.

    Each stage is planned from the run directory (:mod:`liteship.app.plan`) and only its pending
    units are handed to the executor. ``costs``: each unit's estimated seconds by its label
    (:func:`liteship.app.resources.unit_seconds`), which the progress line's remaining time weighs units with.
    """
    from liteship.app.executors import LocalExecutor
    from liteship.bench import current_results
    from liteship.optimize import parse_recipes, with_defaults

    progress = progress or Progress()
    executor = executor or LocalExecutor()
    out = claim(out)  # a new, empty or liteship-made folder; anything else is refused before any work
    ensure_writable(out)
    for stale in remove_stale_temps(out):
        progress.log(f"removed {stale.name}, left half-made by an interrupted run")
    recipes = parse_recipes(list(config.optimize.recipes))
    options = bench_options(config.bench, progress)
    train_configs = [train_config(config, m) for m in config.models]
    recipe_configs = with_defaults(recipes, config.recipe_configs)
    atomic_write_json(out / RUN_JSON, {"command": "sweep", "data": data, "config": config.to_dict(),
                                         "executor": executor.name,
                                         "train_configs": [asdict(c) for c in train_configs]})
    with progress.steps(len(train_configs) * (1 + 2 * len(recipes)), costs=costs) as steps:  # train, optimize, bench
        trains = plan_train(out, data, train_configs)
        for unit in trains:
            if unit.done:
                _step_done(steps, unit)
        executor.train(data, out, pending(trains), lambda unit, top1: steps.step(
            unit.label + (f": test top-1 {top1:.4f}" if top1 is not None else ""), key=unit.label))

        makes = plan_optimize(out, [tc.model_dir_name for tc in train_configs], recipes, recipe_configs)
        update_current(out, [(u.model, u.recipe, u.variant) for u in makes])  # what this sweep makes is current
        for unit in makes:
            if unit.done:
                _step_done(steps, unit, f": {unit.made['status']}")
        executor.optimize(out, pending(makes), recipe_configs,
                          lambda r: steps.step(f"optimize {r['model']} {r['recipe']}: {r['status']}",
                                               key=f"optimize {r['model']} {r['recipe']}"))

        def benched(target, recs):
            top1 = next((r.top1 for r in recs if r.top1 is not None), None)
            label = f"bench {target.group} {target.recipe}"
            steps.step(label + (f": top-1 {top1:.4f}" if top1 is not None else ""), key=label)

        benches = plan_benches(out, options)
        for unit in benches:
            if unit.done:
                _step_done(steps, unit)
        executor.bench(out, options, pending(benches), benched)
    records, _ = current_results(out)
    write_reports(out, records)
    return records
