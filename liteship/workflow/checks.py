"""Each command's checks, run by the CLI before the command: every problem at once, nothing written."""

from __future__ import annotations

from pathlib import Path

from liteship.workflow.validate import (OUTPUT_FLAGS, Invalid, alias_problems, collect, data_problems, file_problems,
                                   flag_problems, inputs, out_problems, output_problems, path_problems,
                                   run_dir_problems)
from liteship.workflow.track_checks import pick_tracking, sweep_tracking, track_command
from liteship.config import Problem, Problems, describe
from liteship.contract import read_labels_file
from liteship.rundir import FLOAT, RESULTS, VARIANTS


def train_config(args):
    """The TrainConfig the flags ask for; a flag that could not be read takes its default (flag_problems says so)."""
    from liteship.trainer import TrainConfig

    given = {k: (None if isinstance(getattr(args, k), Invalid) else getattr(args, k))
             for k in ("size", "alpha", "epochs", "fine_tune_epochs")}
    return TrainConfig(arch=args.arch, weights="imagenet" if args.weights is None else args.weights,
                       fine_tune_at="100" if args.fine_tune_at is None else args.fine_tune_at, **given,
                       batch_size=32 if isinstance(args.batch_size, Invalid) else args.batch_size,
                       seed=0 if isinstance(args.seed, Invalid) else args.seed)


def _train(args) -> list[Problem]:
    if args.list:
        return []
    found = [Problem(f, None, "missing", "liteship train needs it", f"for example {f} {ex}")
             for f, v, ex in (("--data", args.data, "digits"), ("--out", args.out, "runs/demo")) if v is None]
    found += _data_problems(args.data) + out_problems(args.out, data=args.data)
    config = train_config(args)
    config_problems = config.problems()
    from liteship.trainer import list_archs

    spec = next((a for a in list_archs() if a.name == args.arch), None)
    if spec is not None and not spec.transfer:
        found += [Problem(flag, None, describe(value), f"{args.arch} is trained from scratch, with no base model to "
                          "load weights into or fine-tune", f"drop {flag}, or use --arch mobilenet_v2")
                  for flag, value in (("--weights", args.weights), ("--fine-tune-at", args.fine_tune_at))
                  if value is not None]
    found += config_problems
    if not config_problems and not found and not flag_problems(args) and args.data is not None:
        found += _bounds([("--size", config.resolved())], args.data, args.out, 1)
    return found


def _bounds(configs, data: str, out: str, recipes: int):
    from liteship.workflow.resources import bound_problems, image_count, train_estimate

    images = image_count(data)
    if images is None:
        return []
    estimates = [(where, train_estimate(c.arch, c.size, c.alpha, c.batch_size, images, recipes))
                 for where, c in configs]
    return bound_problems(estimates, Path(out or "."))


def _data_problems(data: str | None, flag: str = "--data") -> list[Problem]:
    """data_problems, then what a data folder holds that cannot be split (data_checks.data_folder_problems): a run
    directory, a class folder that is a link to another, a class of one image; all found before the estimate."""
    from liteship.data_checks import data_folder_problems

    found = data_problems(data, flag)
    if found or data in (None, "digits") or not Path(data).is_dir():
        return found
    try:
        return [Problem(flag, None, describe(data), f"{what}: {why}", fix)
                for what, why, fix in data_folder_problems(Path(data))]
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


def _optimize(args) -> list[Problem]:
    from liteship.optimize import parse_recipes, resolve_configs

    if args.list:
        return []
    if not args.run_dir:
        return [Problem("RUN_DIR", None, "missing", "liteship optimize needs the run directory train wrote",
                        "for example: liteship optimize runs/demo --recipes int8,prune_int8")]
    found = _kernel_run_dir(args.run_dir) or run_dir_problems(args.run_dir, needs="", writes=True)
    if not found and not (Path(args.run_dir) / FLOAT).is_dir():
        found.append(Problem("RUN_DIR", None, describe(args.run_dir), "it has no trained float model (float/)",
                             f"run `liteship train --out {args.run_dir}` first"))
    names = collect(found, parse_recipes, args.recipes)
    if names is not None:
        collect(found, resolve_configs, names, args.config)
    return found


def _bench(args) -> list[Problem]:
    from liteship.bench import parse_backends

    if args.list:
        return []
    found = []
    if not args.target:
        found.append(Problem("TARGET", None, "missing", "liteship bench needs a MODEL.tflite or a RUN_DIR",
                             "for example: liteship bench runs/demo --backends xnnpack"))
    elif not Path(args.target).exists():
        found.append(Problem("TARGET", None, describe(args.target), "there is no such file or folder",
                             "check the path"))
    elif Path(args.target).is_dir():
        found += _kernel_run_dir(args.target, "TARGET") or run_dir_problems(args.target, "TARGET", needs="",
                                                                             writes=True)
        found += [Problem(flag, None, describe(value), "a run directory is benched on its own test split and "
                          "labels (data/split.json, float/<model>/labels.txt), so this would be ignored",
                          f"drop {flag}, or bench one .tflite file with it")
                  for flag, value in (("--data", args.data), ("--labels", args.labels)) if value is not None]
    else:
        found += file_problems(args.target, "TARGET")  # a model in /proc, a FIFO: never opened (reading would hang)
    if args.data is not None:
        found += _data_problems(args.data)
        if Path(args.data).is_file():
            found.append(Problem("--data", None, describe(args.data), "bench of one file reads a folder of class "
                                 "folders or digits; an archive is extracted only into a run directory",
                                 "extract the archive and pass the folder"))
    found += file_problems(args.labels, "--labels")
    if args.labels is not None and not any(p.where == "--labels" for p in found):  # not UTF-8: said up front
        collect(found, read_labels_file, args.labels, "--labels")
    backends = collect(found, parse_backends, args.backends)
    found += unavailable_problems(backends, "--backends")
    found += _runtime_problems(args.target_runtime, "--target-runtime")
    found += task_api_problems(args.task_api, "--task-api")
    if args.instructions:
        from liteship.bench import require_valgrind

        collect(found, require_valgrind)
    found += output_problems(args.json, "--json")
    return found


def _runtime_problems(version: str | None, where: str, key: str | None = None) -> list[Problem]:
    from liteship.bench import runtime_problem

    why = None if version is None else runtime_problem(version)
    return [] if why is None else [Problem(where, key, describe(version), why, 'for example "2.14"')]


def _sweep(args) -> tuple[list[Problem], object, list]:
    """Problems, the checked config, and the estimates the sweep prints (computed once, here)."""
    from liteship.workflow.sweep_config import load_sweep_config, sweep_backends
    from liteship.progress import Progress

    found = _data_problems(args.data) + out_problems(args.out, data=args.data)
    if args.executor not in ("local", "ray"):
        found.append(Problem("--executor", None, describe(args.executor), "executors: local, ray",
                             "pass local (the default) or ray"))
    config = collect(found, load_sweep_config, args.config)
    if config is not None:
        where = args.config or "the built-in sweep"
        found += _runtime_problems(config.bench.target_runtime, f"{where} [bench]", "target_runtime")
        found += task_api_problems(config.bench.task_api, f"{where} [bench]", "task_api")
        found += unavailable_problems(sweep_backends(config.bench, Progress(quiet=True)), f"{where} [bench]")
        found += sweep_tracking(args, config.track, where)
    found += _workers_problems(args)
    if args.address is not None and args.executor != "ray":
        found.append(Problem("--address", None, describe(args.address), "it is the address of a Ray cluster, and "
                             f"the executor is {args.executor}", "add --executor ray, or drop --address"))
    estimates = []
    if config is not None and not found:
        from liteship.workflow.resources import bound_problems, default_workers

        estimates = sweep_estimates(config, args.data, args.config or "the built-in sweep")
        if args.workers == "auto":
            args.workers = default_workers([e for _, _, e in estimates]) if args.executor == "local" else 1
        found += bound_problems([(w, e) for w, _, e in estimates], Path(args.out), args.workers)
    return found, config, estimates


def _workers_problems(args) -> list[Problem]:
    """``--workers``: auto or a whole number from 1, with the local executor only; made an int here."""
    import re

    if args.workers == "auto":
        return []
    raw = args.workers
    args.workers = int(raw) if re.fullmatch(r"[0-9]{1,4}", str(raw).strip()) else None  # ASCII digits: "²" is not
    if args.workers is None or not 1 <= args.workers <= 256:
        return [Problem("--workers", None, describe(raw), "it is auto or a whole number of processes "
                        "from 1 to 256", "pass --workers 2, say, or leave it out (auto: one per core)")]
    if args.executor != "local":
        return [Problem("--workers", None, str(args.workers), "--workers sets the local executor's processes; "
                        "Ray places its tasks on the cluster's own workers", "drop --workers, or use --executor local")]
    return []


def sweep_estimates(config, data: str, source: str = "the sweep config"):
    """(where, TrainConfig, Estimate) for each model of a checked sweep config, in this machine's seconds."""
    import dataclasses

    from liteship.workflow.resources import image_count, machine_pace, train_estimate, tune_epochs, unit_seconds
    from liteship.workflow.sweep_config import bench_options, train_config
    from liteship.progress import Progress
    from liteship.optimize import parse_recipes, with_defaults
    from liteship.bench import backends, count_kinds

    recipes = parse_recipes(list(config.optimize.recipes))
    epochs = tune_epochs(with_defaults(recipes, config.recipe_configs))  # with its overrides, each done once
    runs = sum(1 for b in config.bench.backends if backends.get(b).kind == "run") * len(config.bench.threads)
    kinds = count_kinds(bench_options(config.bench, Progress(quiet=True)))
    images = image_count(data) or 0
    pace = machine_pace()
    out = []
    invokes = config.bench.runs * config.bench.rounds
    for i, m in enumerate(config.models):
        tc = train_config(config, m)
        estimate = train_estimate(tc.arch, tc.size, tc.alpha, tc.batch_size, images, len(recipes))
        units = unit_seconds(tc.model_dir_name, tc.arch, tc.size, images, tc.epochs + tc.fine_tune_epochs, epochs,
                             runs, kinds, invokes)
        units = {k: v * pace for k, v in units.items()}
        out.append((f"{source} [[models]] #{i + 1} ({tc.model_dir_name})", tc,
                    dataclasses.replace(estimate, seconds=sum(units.values()), units=units)))
    return out


def _judge(args) -> list[Problem]:
    from liteship.judge import load_budgets
    from liteship.judge import PREFERENCES
    from liteship.rundir import refuse_if_written

    refuse_if_written(args.run_dir, args.command)  # a sweep writing it: exit 2 naming it, before any reading
    found = _kernel_run_dir(args.run_dir) or run_dir_problems(args.run_dir, writes=args.command == "pick")
    if not found:
        collect(found, _unchanged_data, Path(args.run_dir))
    budgets = collect(found, load_budgets, args.budgets)
    if budgets is not None and not found:
        found += _budget_backend_problems(budgets, args)
    if getattr(args, "prefer", "accuracy") not in PREFERENCES:
        found.append(Problem("--prefer", None, describe(args.prefer), "it takes " + ", ".join(PREFERENCES),
                             "pick one of those"))
    for flag in ("junit", "markdown"):
        found += output_problems(getattr(args, flag, None), f"--{flag}")
    return found


def _unchanged_data(run_dir: Path) -> None:
    """Gate and pick refuse alike a run whose current variants' models were trained on data that has changed
    since: pick could not check the release on the test photos, and gate would pass what pick then refuses."""
    from liteship.bench import variant_status
    from liteship.data_checks import data_change

    if (run_dir / VARIANTS).is_dir():
        error = data_change(run_dir, sorted({rec.get("model") for rec in variant_status(run_dir)[0]} - {None}))
        if error is not None:
            raise error


def _budget_backend_problems(budgets, args) -> list[Problem]:
    from liteship.bench import read_results
    from liteship.judge import backend_problem

    records = collect(problems := [], read_results, Path(args.run_dir))
    why = backend_problem(budgets, records or [])
    where = args.budgets or "the default budgets"
    problems += _prefer_problems(budgets, args, records or [])
    return problems + ([] if why is None else [Problem(where, None, "", why,
                                                        "bench that backend and thread count (liteship bench RUN_DIR "
                                                        "--backends ...), or set backend and threads in [budgets] to "
                                                        "one the results hold")])


def _prefer_problems(budgets, args, records) -> list[Problem]:
    from liteship.judge import PREFER_FIX, prefer_problem

    why = prefer_problem(budgets, getattr(args, "prefer", "accuracy"), records)
    return [] if why is None else [Problem("--prefer", None, "instructions", why, PREFER_FIX)]


def _compare(args) -> list[Problem]:
    from liteship.judge import load_thresholds

    from liteship.bench import parse_results
    from liteship.judge.compare import SAME_RUN_FIX, refuse_half_written, same_run

    refuse_half_written(args.base, args.new)  # a sweep writing either: exit 2 naming it, before any reading
    found, read = [], []
    for flag, value in (("BASE", args.base), ("NEW", args.new)):
        path = Path(value)
        path = path / RESULTS if path.is_dir() else path
        if not path.is_file():
            found.append(Problem(flag, None, describe(value), "it is neither a results.jsonl nor a run directory "
                                 "with one", "pass main's run directory or its results.jsonl"))
        else:
            read.append(path.stat())
            collect(found, parse_results, path)
    why = same_run(args.base, args.new) if len(read) == 2 else None  # the very file (a copy is compared, and said)
    if why is not None:
        found.append(Problem("NEW", None, describe(args.new), why, SAME_RUN_FIX))
    collect(found, load_thresholds, args.thresholds, True)
    return found + output_problems(args.markdown, "--markdown") + output_problems(args.json, "--json")


def _explain(args) -> list[Problem]:
    return _kernel_run_dir(args.run_dir) or run_dir_problems(args.run_dir)


def _arm64_tools() -> list[Problem]:
    from liteship.bench import SYSTEM_PACKAGES, missing_tools

    missing = missing_tools()
    return [Problem("arm64", None, "the Debian packages " + " ".join(missing), "are not installed: the arm64 "
                    "environment needs a dynamic qemu-aarch64 (qemu-user; qemu-user-static loads no plugins), "
                    "debootstrap and gcc", f"apt-get install {' '.join(SYSTEM_PACKAGES)} as root, or add "
                    "--with-system-packages")] if missing else []


def unavailable_problems(names, where: str) -> list[Problem]:
    """A backend asked for that is not available on this machine (an ARM one whose environment is not installed)."""
    from liteship.bench import backends

    asked = [backends.get(b) for b in names or () if b in backends.registry()]
    missing = [b for b in asked if not b.available()]
    if not missing:
        return []
    return [Problem(where, "backends", ", ".join(b.name for b in missing), "not available on this machine",
                    f"run {missing[0].unavailable}, or drop these backends")]


def task_api_problems(value: str | None, where: str, key: str | None = None) -> list[Problem]:
    """A Task API check needs its environment, found before any work starts."""
    from liteship import task_api

    if value is None or task_api.installed():
        return []
    return [Problem(where, key, describe(value), "the MediaPipe environment is not installed",
                    f"run `{task_api.INSTALL}` (needs PyPI), or drop it")]


def _runtimes(args) -> list[Problem]:
    import re

    if args.action in ("install", "remove") and not args.version:
        return [Problem("VERSION", None, "missing", f"runtimes {args.action} needs a version", "for example 2.14, "
                        "arm64 or mediapipe")]
    if args.version == "arm64":
        return _arm64_tools() if args.action == "install" and not args.with_system_packages else []
    if args.with_system_packages:
        return [Problem("--with-system-packages", None, "given", "it is for arm64 only", "drop it")]
    if args.version == "mediapipe":
        return []
    if args.version is None or re.fullmatch(r"\d+\.\d+(\.\d+)?", args.version):
        return []  # which releases exist is the registry's to say (the install lists them)
    return [Problem("VERSION", None, describe(args.version), "it takes a tflite-runtime release number, arm64 or "
                    "mediapipe", "for example 2.14")]


CHECKS = {"train": _train, "optimize": _optimize, "bench": _bench, "gate": _judge,
          "pick": lambda args: _judge(args) + pick_tracking(args), "compare": _compare, "explain": _explain,
          "runtimes": _runtimes, "track": track_command}


def check(args) -> None:
    """Raise every problem with the command's input at once (exit 2); a sweep's checked config and estimates are
    left on ``args`` (``sweep_config``, ``sweep_estimates``) for the command."""
    found = path_problems(args)
    if found:
        raise Problems(found)
    found = flag_problems(args)
    if args.command == "sweep":
        more, args.sweep_config, args.sweep_estimates = _sweep(args)
        found += more
    elif args.command in CHECKS:
        found += CHECKS[args.command](args)
    if any(isinstance(getattr(args, name, None), str) for name in OUTPUT_FLAGS):
        aliased = alias_problems(args, *inputs(args))  # says more than "a folder; give a file inside it"
        found = [p for p in found if p.where not in {a.where for a in aliased}] + aliased
    if found:
        raise Problems(list(dict.fromkeys(found)))
