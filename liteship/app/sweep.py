"""The sweep: train each model once, make each variant once, bench each once, then report.

Every unit of work is content-addressed in the run directory (float model
folders, variant IDs, result keys), so re-running the same command skips
what is done, and a killed sweep resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from liteship.config import Problem, Problems, check_mapping, describe, field_of, load_toml, setting
from liteship.files import atomic_write_bytes, atomic_write_json, atomic_write_text, ensure_writable
from liteship.rundir import PARETO, REPORT_HTML, REPORT_MD, RUN_JSON, claim, remove_stale_temps, update_current
from liteship.app.plan import pending, plan_benches, plan_optimize, plan_train
from liteship.progress import Progress

from liteship.bench import backends as registry
from liteship.bench import BenchOptions
from liteship.bench import BenchRecord
from liteship.trainer import TrainConfig


@dataclass(frozen=True)
class TrainTable:
    """[train]: TrainConfig's settings that every model shares; their defaults and ranges are TrainConfig's."""

    epochs: int | None = field_of(TrainConfig, "epochs")
    fine_tune_epochs: int | None = field_of(TrainConfig, "fine_tune_epochs")
    seed: int = field_of(TrainConfig, "seed")
    batch_size: int = field_of(TrainConfig, "batch_size")
    weights: str = field_of(TrainConfig, "weights")


@dataclass(frozen=True)
class ModelTable:
    """[[models]]: one model; a setting it leaves out is [train]'s."""

    arch: str
    size: int | None = field_of(TrainConfig, "size")
    alpha: float | None = field_of(TrainConfig, "alpha")
    epochs: int | None = field_of(TrainConfig, "epochs")
    fine_tune_epochs: int | None = field_of(TrainConfig, "fine_tune_epochs")
    weights: str | None = None


@dataclass(frozen=True)
class OptimizeTable:
    recipes: tuple[str, ...] = setting(("all",), non_empty=True)


@dataclass(frozen=True)
class BenchTable:
    """[bench]: BenchOptions' settings, with their defaults and ranges, and the sweep's own backend defaults."""

    backends: tuple[str, ...] = setting(registry.sweep_defaults(), choices=registry.names, non_empty=True)
    threads: tuple[int, ...] = field_of(BenchOptions, "threads")
    runs: int = field_of(BenchOptions, "runs")
    warmup: int = field_of(BenchOptions, "warmup")
    rounds: int = field_of(BenchOptions, "rounds")
    target_runtime: str | None = field_of(BenchOptions, "target_runtime")  # e.g. "2.14": load in that runtime too
    instructions: bool | None = None  # count instructions per invoke; None: when valgrind is installed
    arm64: bool | None = None  # also the default count backends (arm64-a15, the phone's ISA); None: when installed


@dataclass(frozen=True)
class SweepConfig:
    train: TrainTable = TrainTable()
    models: tuple[ModelTable, ...] = ()
    optimize: OptimizeTable = OptimizeTable()
    bench: BenchTable = BenchTable()
    recipe_configs: dict = field(default_factory=dict)  # recipe -> its typed config, from [optimize.<recipe>]

    def to_dict(self) -> dict:
        return asdict(self)


# The default sweep on the built-in digits: two models, every recipe, on xnnpack and fp16 with GPU and Core ML
# coverage, within 12 minutes on 2 cores.
DEFAULT_SWEEP = SweepConfig(
    train=TrainTable(weights="none"),
    models=(ModelTable(arch="small_cnn", size=32), ModelTable(arch="mobilenet_v2", alpha=0.35, size=64)),
)

TABLES = {"train": TrainTable, "optimize": OptimizeTable, "bench": BenchTable}


def _table(doc: dict, name: str, path, problems: list[Problem]) -> dict | None:
    value = doc.get(name, {})
    if isinstance(value, list):
        problems.append(Problem(str(path), f"[[{name}]]", "an array of tables", f"[{name}] is one table",
                                f"write [{name}] (single brackets)"))
        return None
    if not isinstance(value, dict):
        problems.append(Problem(str(path), name, describe(value), f"{name} must be a table",
                                f"write it as [{name}] with one key a line"))
        return None
    return dict(value)


def _recipe_tables(table: dict, path, problems: list[Problem]) -> dict:
    """The typed configs of the [optimize.<recipe>] tables, and the recipe names, checked as optimize checks them,
    now, not after training."""
    from liteship.app.validate import collect
    from liteship.optimize import list_recipes
    from liteship.optimize import parse_recipes, recipe_configs

    valid = {r.name for r in list_recipes()}
    found = {k: table.pop(k) for k in list(table) if isinstance(table[k], dict)}
    configs = collect(problems, recipe_configs, [n for n in found if n in valid], found, str(path), "optimize.")
    recipes = table.get("recipes")
    if isinstance(recipes, list) and recipes and all(isinstance(r, str) for r in recipes):
        collect(problems, parse_recipes, recipes, (f"{path} [optimize]", "recipes"))
    # (missing, empty or not text: the [optimize] table's own check says so)
    return configs or {}


def _models(doc: dict, path, train: TrainTable | None, problems: list[Problem]) -> tuple[ModelTable, ...]:

    models = doc.get("models")
    if not isinstance(models, list) or not models:
        problems.append(Problem(str(path), "[[models]]", "missing" if models is None else describe(models),
                                "a sweep needs at least one [[models]] table (double brackets)",
                                'add [[models]] with arch = "small_cnn" and size = 32'))
        return ()
    out = []
    for i, m in enumerate(models):
        where = f"{path} [[models]] #{i + 1}"
        built = check_mapping(ModelTable, m, where, problems)
        if built is None or train is None:
            continue
        tw = f"{path} [train]"
        names = {"arch": (where, "arch"), "size": (where, "size"), "alpha": (where, "alpha"),
                 "weights": (where if built.weights is not None else tw, "weights"),
                 "epochs": (where if built.epochs is not None else tw, "epochs"),
                 "fine_tune_epochs": (where if built.fine_tune_epochs is not None else tw, "fine_tune_epochs"),
                 "batch_size": (tw, "batch_size"), "seed": (tw, "seed")}
        problems.extend(_train_config_raw(train, built).problems(names))
        out.append(built)
    return tuple(out)


def load_sweep_config(path: str | Path | None) -> SweepConfig:
    """The sweep config in ``path``, every table checked; all problems raised together (exit 2)."""
    if path is None:
        return DEFAULT_SWEEP
    doc = load_toml(path)
    problems: list[Problem] = []
    for name in sorted(set(doc) - {"train", "models", "optimize", "bench"}):
        problems.append(Problem(str(path), f"[{name}]", describe(doc[name]), "valid tables: [train], [[models]], "
                                "[optimize], [bench]", "rename or remove it"))
    parts: dict = {}
    for name, cls in TABLES.items():
        table = _table(doc, name, path, problems)
        if table is None:
            continue
        if name == "optimize":
            parts["recipe_configs"] = _recipe_tables(table, path, problems)
        built = check_mapping(cls, table, f"{path} [{name}]", problems, partial=name == "train")
        if built is not None:
            parts[name] = built
    parts["models"] = _models(doc, path, parts.get("train"), problems)
    if problems:
        raise Problems(problems)
    return SweepConfig(**parts)


def _train_config_raw(train: TrainTable, m: ModelTable):
    from liteship.trainer import TrainConfig

    return TrainConfig(arch=m.arch, size=m.size, alpha=m.alpha,
                       weights=m.weights if m.weights is not None else train.weights,
                       epochs=m.epochs if m.epochs is not None else train.epochs,
                       fine_tune_epochs=m.fine_tune_epochs if m.fine_tune_epochs is not None else train.fine_tune_epochs,
                       batch_size=train.batch_size, seed=train.seed)


def _train_config(cfg: SweepConfig, m: ModelTable):
    return _train_config_raw(cfg.train, m).resolved()


NO_VALGRIND = "instructions not counted: valgrind is not installed (apt-get install valgrind, then re-run)"


def _instructions(asked: bool | None) -> bool:
    """[bench] instructions: as asked; unset, on where valgrind is installed."""
    from liteship.bench import require_valgrind, valgrind

    if asked:
        require_valgrind()
    return asked if asked is not None else valgrind() is not None


NO_ARM64 = ("ARM instruction counts off: the arm64 environment is not installed (`liteship runtimes install arm64 "
            "--with-system-packages` as root, about a minute, then re-run: finished work is kept)")


def _backends(bench: BenchTable, progress: Progress) -> tuple[str, ...]:
    """[bench] backends, plus the default count backends as [bench] arm64 asks (unset: where they are installed)."""
    counts = registry.sweep_defaults(kind_count=True)
    installed = all(registry.get(b).available() for b in counts)
    wanted = bench.arm64 if bench.arm64 is not None else installed
    if wanted:
        return tuple(dict.fromkeys(bench.backends + counts))
    if bench.arm64 is None and not any(registry.get(b).kind == "count" for b in bench.backends):
        progress.log(NO_ARM64)
    return tuple(bench.backends)


def bench_options(bench: BenchTable, progress: Progress) -> BenchOptions:
    """The options [bench] asks for: the same object `liteship bench` builds from the same settings as flags."""
    counted = _instructions(bench.instructions)
    return BenchOptions(backends=_backends(bench, progress), threads=bench.threads, runs=bench.runs,
                        warmup=bench.warmup, rounds=bench.rounds, target_runtime=bench.target_runtime,
                        instructions=counted,
                        instructions_note=None if counted or bench.instructions is False else NO_VALGRIND)


def _step_done(steps, unit, note: str = "") -> None:
    steps.step(unit.label + note, " (done before, skipped)" if unit.done else "")


def sweep(data: str, out: str | Path, config: SweepConfig = DEFAULT_SWEEP, progress: Progress | None = None,
          executor=None) -> list[BenchRecord]:
    """Run (or resume) the sweep on ``executor`` (default: here); return every bench record of the run.

    Each stage is planned from the run directory (:mod:`liteship.app.plan`) and only its pending
    units are handed to the executor.
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
    train_configs = [_train_config(config, m) for m in config.models]
    recipe_configs = with_defaults(recipes, config.recipe_configs)
    atomic_write_json(out / RUN_JSON, {"command": "sweep", "data": data, "config": config.to_dict(),
                                         "executor": executor.name,
                                         "train_configs": [asdict(c) for c in train_configs]})
    with progress.steps(len(train_configs) * (1 + 2 * len(recipes))) as steps:  # train, optimize each, bench each
        trains = plan_train(out, data, train_configs)
        for unit in trains:
            if unit.done:
                _step_done(steps, unit)
        executor.train(data, out, pending(trains), lambda unit, top1: steps.step(
            unit.label + (f": test top-1 {top1:.4f}" if top1 is not None else "")))

        makes = plan_optimize(out, [tc.model_dir_name for tc in train_configs], recipes, recipe_configs)
        update_current(out, [(u.model, u.recipe, u.variant) for u in makes])  # what this sweep makes is current
        for unit in makes:
            if unit.done:
                _step_done(steps, unit, f": {unit.made['status']}")
        executor.optimize(out, pending(makes), recipe_configs,
                          lambda r: steps.step(f"optimize {r['model']} {r['recipe']}: {r['status']}"))

        def benched(target, recs):
            top1 = next((r.top1 for r in recs if r.top1 is not None), None)
            steps.step(f"bench {target.group} {target.recipe}" + (f": top-1 {top1:.4f}" if top1 is not None else ""))

        benches = plan_benches(out, options)
        for unit in benches:
            if unit.done:
                _step_done(steps, unit)
        executor.bench(out, options, pending(benches), benched)
    records, _ = current_results(out)
    write_reports(out, records)
    return records


def write_reports(out: Path, records: list[BenchRecord], decision=None) -> None:
    """report.md, report.html and pareto.png; without ``decision``, what pick would choose with the default budgets."""
    from liteship.judge import DEFAULT_BUDGETS, gate
    from liteship.judge import decide
    from liteship.judge import findings
    from liteship.report import build

    if decision is None and records:
        verdicts = gate(out, DEFAULT_BUDGETS, remeasure=False, records=records)
        decision = decide(records, DEFAULT_BUDGETS, "accuracy", verdicts, made_by="sweep")
    budgets = decision.budgets if decision is not None else DEFAULT_BUDGETS
    report = build(records, decision, findings(records, budgets, str(out)), str(out))
    if report.png is not None:
        atomic_write_bytes(out / PARETO, report.png)
    atomic_write_text(out / REPORT_MD, report.markdown)
    atomic_write_text(out / REPORT_HTML, report.html)
