"""The sweep's estimate, before it starts: each model's memory, disk and time on this machine, and how long the work
still to do will take on the workers it gets (the printed "estimated: about ..."), counting only the units the run
directory does not hold yet. Costs come from :mod:`liteship.workflow.resources`; the order the work runs in from
:mod:`liteship.workflow.schedule`, played by :func:`liteship.workflow.pipeline.simulate_sweep`."""

from __future__ import annotations

from pathlib import Path

from liteship.progress import Progress


def sweep_estimates(config, data: str, source: str = "the sweep config", run_dir=None):
    """(where, TrainConfig, Estimate) for each model of a checked sweep config, in this machine's seconds."""
    import dataclasses

    from liteship.workflow.resources import (config_estimate, fine_tunings, held_reason, image_count, machine_pace,
                                             unit_seconds, unknown_costs)
    from liteship.workflow.sweep_config import bench_options, train_config
    from liteship.progress import Progress
    from liteship.optimize import parse_recipes, with_defaults
    from liteship.bench import backends, count_kinds

    recipes = parse_recipes(list(config.optimize.recipes))
    tunings = fine_tunings(with_defaults(recipes, config.recipe_configs))  # with its overrides, each done once
    runs = sum(1 for b in config.bench.backends if backends.get(b).open is not None) * len(config.bench.threads)
    kinds = count_kinds(bench_options(config.bench, Progress(quiet=True)))
    images = image_count(data) or 0
    held = held_reason(data, run_dir)  # digits, or a run whose image cache is never written
    pace = machine_pace()
    out = []
    invokes = config.bench.runs * config.bench.rounds
    for i, m in enumerate(config.models):
        tc = train_config(config, m)
        estimate = config_estimate(tc, images, len(recipes), held)
        units = unit_seconds(tc.model_dir_name, tc.arch, tc.size, images, tc.epochs + tc.fine_tune_epochs, tunings,
                             runs, kinds, invokes)
        units = {k: v * pace for k, v in units.items()}
        out.append((f"{source} [[models]] #{i + 1} ({tc.model_dir_name})", tc,
                    dataclasses.replace(estimate, seconds=sum(units.values()), units=units,
                                        unknown=unknown_costs(tc.arch, recipes))))
    return out


def done_units(out: Path, data: str, config, recipes: list[str], options) -> set:
    """The keys of the units the run directory already holds, found by the sweep's own plan
    (:mod:`liteship.workflow.plan`): trainings done, variants made, and the benches (with their counts) of variants
    measured with these options. Nothing when the run directory is new."""
    from liteship.workflow.plan import plan_benches, plan_optimize, plan_train
    from liteship.workflow.sweep_config import train_config
    from liteship.bench import count_kinds
    from liteship.errors import LiteshipError
    from liteship.optimize import with_defaults
    from liteship.rundir import FLOAT, is_marked

    out = Path(out)
    if not is_marked(out) or not (out / FLOAT).is_dir():
        return set()
    trains = plan_train(out, data, [train_config(config, m) for m in config.models])
    done = {u.key for u in trains if u.done}
    trained = [u.config.model_dir_name for u in trains if u.done]
    if trained:
        done |= {u.key for u in plan_optimize(out, trained, recipes, with_defaults(recipes, config.recipe_configs))
                 if u.done}
    try:
        benches = [u for u in plan_benches(out, options) if u.done and u.target.group in trained]
    except LiteshipError:  # no variant made yet
        benches = []
    kinds = count_kinds(options)
    return done | {u.key for u in benches} | {key for u in benches for key in u.count_keys(kinds)}


def sweep_plan(out, data: str, config, estimates, workers: int) -> tuple[dict, float]:
    """Each unit's estimated seconds on this machine, and the sweep's on ``workers`` workers, counting only the
    units that will run (those the run directory holds are skipped)."""
    from liteship.workflow.pipeline import simulate_sweep
    from liteship.workflow.resources import fixed_seconds, pending_seconds
    from liteship.workflow.sweep_config import bench_options, train_config
    from liteship.optimize import parse_recipes

    costs = {k: v for _, _, e in estimates for k, v in (e.units or {}).items()}
    models = [train_config(config, m).model_dir_name for m in config.models]
    recipes = parse_recipes(list(config.optimize.recipes))
    options = bench_options(config.bench, Progress(quiet=True))
    todo = pending_seconds(costs, done_units(out, data, config, recipes, options))
    simulated, _ = simulate_sweep(models, recipes, options, todo, workers)
    return costs, simulated.seconds + fixed_seconds(todo)


def left_out(estimates) -> tuple[str, ...]:
    """What the estimate of every model leaves out, in words, each once: an architecture or recipe that declares no
    costs (:func:`liteship.workflow.resources.unknown_costs`); the printed estimate says it
    (:func:`~liteship.workflow.resources.unknown_note`)."""
    return tuple(dict.fromkeys(said for _, _, e in estimates for said in e.unknown))


def peak_bytes(estimates, workers: int) -> float:
    """The sweep's peak memory with ``workers`` side by side."""
    from liteship.workflow.resources import peak_memory

    return peak_memory([e for _, _, e in estimates], workers)
