"""Each command's checks, run before any work: every problem with a request at once, nothing written.

:func:`check` takes a typed request (:mod:`liteship.workflow.requests`) and
never changes it; what it resolved on the way (a sweep's loaded config, its
estimates and worker count, where a command logs, the budgets and thresholds
read from their files) comes back as a :class:`Checked`, for the work to use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path

from liteship.workflow.validate import (OUTPUT_FLAGS, alias_problems, collect, data_problems, file_problems,
                                        flag_problems, inputs, out_problems, output_problems, path_kind_problems,
                                        path_problems, run_dir_problems, text, tilde_problems)
from liteship.workflow.requests import field_problems
from liteship.workflow.settings_checks import (BUDGETS, SWEEP_CONFIG, bench_option_problems, checked_budgets,
                                               checked_sweep_config, checked_thresholds, recipe_settings,
                                               runtime_problems, task_api_problems, train_config_problems,
                                               unavailable_problems)
from liteship.workflow.resource_checks import (bounds_problems, cache_path_problems, quantizer_problems,
                                              scratch_problems, workers_problems)
from liteship.workflow.track_checks import pick_tracking, sweep_tracking, track_command
from liteship.config import Problem, Problems, describe
from liteship.contract import read_labels_file
from liteship.rundir import FLOAT, RESULTS, VARIANTS


@dataclass(frozen=True)
class Checked:
    """What the checks resolved for the work: nothing here is read or computed twice."""

    sweep_config: object = None  # the sweep's SweepConfig, loaded and checked
    estimates: tuple = ()  # (where, TrainConfig, Estimate) for each model of the sweep, in this machine's seconds
    workers: int | None = None  # the local executor's processes (auto resolved)
    tracking: object = None  # where the command logs to MLflow (a Tracking), or None
    budgets: object = None  # gate's and pick's Budgets
    thresholds: object = None  # compare's Thresholds
    prepared: tuple = ()  # device import: the records read and matched, to merge


def _given(request, name: str, value) -> bool:
    """A TrainConfig setting the caller named: a flag given, or (from Python) a value other than the default."""
    from liteship.trainer import TrainConfig

    default = next(f.default for f in fields(TrainConfig) if f.name == name)
    return name in request.given or str(value) != str(default)


def _train(request) -> list[Problem]:
    if request.list_only:
        return []
    data, out = text(request.data), text(request.out)
    found = _missing("train", ("--data", data, "--data digits"), ("--out", out, "--out runs/demo"))
    found += _data_problems(data) + (out_problems(out, data=data) or cache_path_problems(out))
    config = request.config
    config_problems = train_config_problems(config)
    from liteship.trainer import list_archs

    spec = next((a for a in list_archs() if a.name == getattr(config, "arch", None)), None)
    if spec is not None and not spec.transfer:
        found += [Problem(flag, None, describe(value), f"{config.arch} is trained from scratch, with no base model to "
                          "load weights into or fine-tune", f"drop {flag}, or use --arch mobilenet_v2")
                  for flag, name, value in (("--weights", "weights", config.weights),
                                            ("--fine-tune-at", "fine_tune_at", config.fine_tune_at))
                  if _given(request, name, value)]
    found += config_problems
    if not config_problems and not found and not flag_problems(request) and data is not None:
        found += bounds_problems([("--size", config.resolved())], data, out, 1)
    return found


def _data_problems(data: str | None, flag: str = "--data", scoring: bool = False) -> list[Problem]:
    """data_problems, then what a data folder holds that cannot be split (data_checks.data_folder_problems): a run
    directory, a class folder that is a link to another, a class of one image (``scoring``: of none); all found
    before the estimate."""
    from liteship.data_checks import data_folder_problems

    found = data_problems(data, flag)
    if found or data in (None, "digits") or not Path(data).is_dir():
        return found
    try:
        return [Problem(flag, None, describe(data), f"{what}: {why}", fix)
                for what, why, fix in data_folder_problems(Path(data), scoring)]
    except OSError as exc:
        return [Problem(flag, None, describe(data), f"it cannot be read: {exc.strerror}", "check the folder")]


def _kernel_run_dir(run_dir: str | None, flag: str = "RUN_DIR") -> list[Problem]:
    """A run directory under /proc, /sys or /dev: liteship never reads its own files from there (card.json would
    be "damaged"), so it is refused before any work; rundir.out_refusal refuses making one there."""
    from liteship.files import kernel_tree

    tree = None if run_dir is None else kernel_tree(run_dir)
    return [] if tree is None else [Problem(flag, None, describe(run_dir), f"a run directory cannot live under "
                                            f"{tree}: liteship never reads its own files from /proc, /sys or /dev",
                                            "pass a run directory on a disk, e.g. runs/demo")]


def _optimize(request) -> list[Problem]:
    from liteship.optimize import parse_recipes, quantizer

    if request.list_only:
        return []
    run_dir = text(request.run_dir)
    if not run_dir:
        return [Problem("RUN_DIR", None, "missing", "liteship optimize needs the run directory train wrote",
                        "for example: liteship optimize runs/demo --recipes int8,prune_int8")]
    found = _kernel_run_dir(run_dir) or run_dir_problems(run_dir, needs="", writes=True)
    if not found and not (Path(run_dir) / FLOAT).is_dir():
        found.append(Problem("RUN_DIR", None, describe(run_dir), "it has no trained float model (float/)",
                             f"run `liteship train --out {run_dir}` first"))
    recipes = request.recipes if isinstance(request.recipes, str) else list(request.recipes)
    names = collect(found, parse_recipes, recipes)
    if names is not None or not isinstance(request.config, (list, tuple)):  # a list's configs need the recipes
        collect(found, recipe_settings, names or [], text(request.config))
    return found + quantizer.problems(names or [])


def _bench(request) -> list[Problem]:
    if request.list_only:
        return []
    found, target, data, labels, options = [], text(request.target), text(request.data), text(request.labels), \
        request.options
    if not target:
        found.append(Problem("TARGET", None, "missing", "liteship bench needs a MODEL.tflite or a RUN_DIR",
                             "for example: liteship bench runs/demo --backends xnnpack"))
    elif not Path(target).exists():
        found.append(Problem("TARGET", None, describe(target), "there is no such file or folder", "check the path"))
    elif Path(target).is_dir():
        found += _kernel_run_dir(target, "TARGET") or run_dir_problems(target, "TARGET", needs="", writes=True)
        found += [Problem(flag, None, describe(value), "a run directory is benched on its own test split and "
                          "labels (data/split.json, float/<model>/labels.txt), so this would be ignored",
                          f"drop {flag}, or bench one .tflite file with it")
                  for flag, value in (("--data", data), ("--labels", labels)) if value is not None]
    else:
        found += file_problems(target, "TARGET")  # a model in /proc, a FIFO: never opened (reading would hang)
    if data is not None:
        found += _data_problems(data, scoring=True) + scratch_problems(data)
        if Path(data).is_file():
            found.append(Problem("--data", None, describe(data), "bench of one file reads a folder of class "
                                 "folders or digits; an archive is extracted only into a run directory",
                                 "extract the archive and pass the folder"))
    found += file_problems(labels, "--labels")
    if labels is not None and not any(p.where == "--labels" for p in found):  # not UTF-8: said up front
        collect(found, read_labels_file, labels, "--labels")
    wrong = bench_option_problems(options)  # a BenchOptions built in Python: its ranges, its backends
    found += wrong
    if not wrong:
        found += unavailable_problems(options.backends, "--backends")
        found += runtime_problems(options.target_runtime, "--target-runtime")
        found += task_api_problems(options.task_api, "--task-api")
    if getattr(options, "instructions", False) is True:
        from liteship.bench import require_valgrind

        collect(found, require_valgrind)
    found += output_problems(text(request.json), "--json")
    return found


def _sweep_source(config) -> str:
    return "the built-in sweep" if config is None else text(config) if isinstance(text(config), str) else SWEEP_CONFIG


def _sweep(request) -> tuple[list[Problem], Checked]:
    """Problems, and what the sweep resolved: its checked config, estimates (computed once, here), workers and
    where it logs."""
    from liteship.workflow.sweep_config import sweep_backends
    from liteship.progress import Progress

    data, out = text(request.data), text(request.out)
    found = _missing("sweep", ("--data", data, "--data digits"), ("--out", out, "--out runs/demo"))
    found += _data_problems(data) + (out_problems(out, data=data) or cache_path_problems(out))
    if request.executor not in ("local", "ray"):
        found.append(Problem("--executor", None, describe(request.executor), "executors: local, ray",
                             "pass local (the default) or ray"))
    config, tracking, where = (collect(found, checked_sweep_config, request.config, request.augment), None,
                               _sweep_source(request.config))
    if config is not None:
        found += runtime_problems(config.bench.target_runtime, f"{where} [bench]", "target_runtime")
        found += task_api_problems(config.bench.task_api, f"{where} [bench]", "task_api")
        found += unavailable_problems(sweep_backends(config.bench, Progress(quiet=True)), f"{where} [bench]")
        found += quantizer_problems(config.optimize.recipes, f"{where} [optimize]")
        more, tracking = sweep_tracking(request.track, out, data, config.track, where)
        found += more
    found += workers_problems(request)
    if request.address is not None and request.executor != "ray":
        found.append(Problem("--address", None, describe(request.address), "it is the address of a Ray cluster, and "
                             f"the executor is {request.executor}", "add --executor ray, or drop --address"))
    if config is None or found or flag_problems(request):
        return found, Checked(sweep_config=config)
    from liteship.workflow.resources import bound_problems, default_workers

    from liteship.workflow.estimate import sweep_estimates

    estimates = tuple(sweep_estimates(config, data, where, out))
    workers = request.workers if request.workers is not None else \
        default_workers([e for _, _, e in estimates]) if request.executor == "local" else 1
    found += bound_problems([(w, e) for w, _, e in estimates], Path(out), workers)
    return found, Checked(sweep_config=config, estimates=estimates, workers=workers, tracking=tracking)


def _judge(request) -> tuple[list[Problem], Checked]:
    from liteship.judge import named_in_run, PREFERENCES
    from liteship.rundir import refuse_if_written

    run_dir = text(request.run_dir)
    refuse_if_written(run_dir, request.command)  # a sweep writing it: exit 2 naming it, before any reading
    found = _missing(request.command, ("RUN_DIR", run_dir, "runs/demo")) or _kernel_run_dir(run_dir) or \
        run_dir_problems(run_dir, writes=request.command == "pick")
    if not found:
        collect(found, _unchanged_data, Path(run_dir))
    budgets = collect(found, checked_budgets, request.budgets)
    found = named_in_run(found, run_dir)  # a device's backend misspelt: said with the run's own device backends
    prefer = getattr(request, "prefer", "accuracy")
    if budgets is not None and not found:
        found += _budget_backend_problems(budgets, request, prefer)
    if prefer not in PREFERENCES:
        found.append(Problem("--prefer", None, describe(prefer), "it takes " + ", ".join(PREFERENCES),
                             "pick one of those"))
    for flag in ("junit", "markdown"):
        found += output_problems(text(getattr(request, flag, None)), f"--{flag}")
    tracking = None
    if request.command == "pick" and run_dir is not None:
        more, tracking = pick_tracking(run_dir)
        found += more
    return found, Checked(budgets=budgets, tracking=tracking)


def _unchanged_data(run_dir: Path) -> None:
    """Gate and pick refuse alike a run whose current variants' models were trained on data that has changed
    since: pick could not check the release on the test photos, and gate would pass what pick then refuses."""
    from liteship.bench import variant_status
    from liteship.data_checks import data_change

    if (run_dir / VARIANTS).is_dir():
        error = data_change(run_dir, sorted({rec.get("model") for rec in variant_status(run_dir)[0]} - {None}))
        if error is not None:
            raise error


def _budget_backend_problems(budgets, request, prefer: str) -> list[Problem]:
    from liteship.bench import read_results
    from liteship.judge import PREFER_FIX, backend_fix, backend_problem, prefer_problem

    records = collect(problems := [], read_results, Path(text(request.run_dir)))
    why = backend_problem(budgets, records or [])
    given = request.budgets
    where = "the default budgets" if given is None else text(given) if isinstance(text(given), str) else BUDGETS
    why_prefer = prefer_problem(budgets, prefer, records or [])
    problems += [] if why_prefer is None else [Problem("--prefer", None, "instructions", why_prefer, PREFER_FIX)]
    return problems + ([] if why is None else [Problem(where, None, "", why, backend_fix(budgets, records or []) or
                                                        "bench that backend and thread count (liteship bench RUN_DIR "
                                                        "--backends ...), or set backend and threads in [budgets] to "
                                                        "one the results hold")])


def _compare(request) -> tuple[list[Problem], Checked]:
    from liteship.bench import parse_results
    from liteship.judge.compare import SAME_RUN_FIX, refuse_half_written, same_run

    base, new = text(request.base), text(request.new)
    found, read = _missing("compare", ("BASE", base, "runs/main"), ("NEW", new, "runs/pr")), []
    refuse_half_written(*(side for side in (base, new) if side is not None))  # a sweep writing either: exit 2
    for flag, value in (("BASE", base), ("NEW", new)):
        if value is None:
            continue
        path = Path(value)
        path = path / RESULTS if path.is_dir() else path
        if not path.is_file():
            found.append(Problem(flag, None, describe(value), "it is neither a results.jsonl nor a run directory "
                                 "with one", "pass main's run directory or its results.jsonl"))
        else:
            read.append(path.stat())
            collect(found, parse_results, path)
    why = same_run(base, new) if len(read) == 2 else None  # the very file (a copy is compared, and said)
    if why is not None:
        found.append(Problem("NEW", None, describe(new), why, SAME_RUN_FIX))
    thresholds = collect(found, checked_thresholds, request.thresholds)
    found += output_problems(text(request.markdown), "--markdown") + output_problems(text(request.json), "--json")
    return found, Checked(thresholds=thresholds)


def _explain(request) -> list[Problem]:
    from liteship.bench import EXPLORER_INSTALL, explorer_data, explorer_missing

    found = [Problem("VARIANT", None, "missing", "liteship explain needs the variant to explain",
                     "pass a variant ID or a recipe")] if not request.variant else []
    explorer = text(request.model_explorer)
    found += output_problems(explorer, "--model-explorer") or explorer_data.output_problems(explorer)
    why = explorer_missing() if isinstance(explorer, str) else None
    found += [Problem("--model-explorer", None, describe(explorer), why, EXPLORER_INSTALL)] if why else []
    return found + (_missing("explain", ("RUN_DIR", text(request.run_dir), "runs/demo")) or
                    _kernel_run_dir(text(request.run_dir)) or run_dir_problems(text(request.run_dir)))


def _arm64_tools(version: str) -> list[Problem]:
    from liteship.bench import SYSTEM_PACKAGES, arm64_sme2, missing_tools

    missing, fix = (missing_tools(), SYSTEM_PACKAGES) if version == "arm64" else (arm64_sme2.missing_tools(),) * 2
    why = ("the arm64 environment needs a dynamic qemu-aarch64 (qemu-user; qemu-user-static loads no plugins), "
           "debootstrap and gcc") if version == "arm64" else arm64_sme2.NEEDS
    return [Problem(version, None, "the Debian packages " + " ".join(missing), "are not installed: " + why,
                    f"apt-get install {' '.join(fix)} as root, or add --with-system-packages")] if missing else []


def _runtimes(request) -> list[Problem]:
    import re

    action, version = request.action, request.version
    if action not in ("list", "install", "remove"):
        return [Problem("ACTION", None, describe(action), "it takes list, install or remove", "pick one of those")]
    if action in ("install", "remove") and not version:
        return [Problem("VERSION", None, "missing", f"runtimes {action} needs a version", "for example 2.14, "
                        "arm64, arm64-a18 or mediapipe")]
    if version in ("arm64", "arm64-a18"):
        return _arm64_tools(version) if action == "install" and not request.with_system_packages else []
    if request.with_system_packages:
        return [Problem("--with-system-packages", None, "given", "it is for arm64 and arm64-a18 only", "drop it")]
    if version == "mediapipe":
        return []
    if version is None or re.fullmatch(r"\d+\.\d+(\.\d+)?", version):
        return []  # which releases exist is the registry's to say (the install lists them)
    return [Problem("VERSION", None, describe(version), "it takes a tflite-runtime release number, arm64, arm64-a18 "
                    "or mediapipe", "for example 2.14")]


def _track(request) -> tuple[list[Problem], Checked]:
    found, tracking = track_command(request)
    return found, Checked(tracking=tracking)


def _device(request) -> tuple[list[Problem], Checked]:
    from liteship.workflow.device import device_checks

    return device_checks(request, Checked)


def _plain(check):
    return lambda request: (check(request), Checked())


CHECKS = {"train": _plain(_train), "optimize": _plain(_optimize), "bench": _plain(_bench), "sweep": _sweep,
          "gate": _judge, "pick": _judge, "compare": _compare, "explain": _plain(_explain), "runtimes": _plain(_runtimes),
          "track": _track, **dict.fromkeys(("device import", "device kit", "device predict"), _device)}


def _default(request, name: str):
    f = next(f for f in fields(request) if f.name == name)
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _missing(command: str, *given: tuple[str, object, str]) -> list[Problem]:
    """(where, value, an example) of each path the command needs that was given as None."""
    return [Problem(where, None, "missing", f"liteship {command} needs it", f"for example {example}")
            for where, value, example in given if value is None]


def check(request) -> Checked:
    """Raise every problem with ``request`` at once (:class:`~liteship.config.Problems`, exit 2 from the CLI), or
    return what the checks resolved for the work. ``request`` is not changed."""
    found = path_problems(request)
    if found:
        raise Problems(found)
    wrong = {**field_problems(request), **tilde_problems(request), **path_kind_problems(request)}
    request = dataclasses.replace(request, **{name: _default(request, name) for name in wrong})  # checked as unset
    more, checked = CHECKS[request.command](request)
    said = {p.where for p in wrong.values()} | {name.upper() for name in wrong}  # said once: what is wrong with it
    found = list(wrong.values()) + flag_problems(request) + [p for p in more if p.where not in said]
    if any(isinstance(text(getattr(request, name, None)), str) for name in OUTPUT_FLAGS):
        aliased = alias_problems(request, *inputs(request))  # says more than "a folder; give a file inside it"
        found = [p for p in found if p.where not in {a.where for a in aliased}] + aliased
    if found:
        raise Problems(list(dict.fromkeys(found)))
    return checked
