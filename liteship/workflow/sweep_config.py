"""The sweep's config: the [train], [[models]], [optimize] and [bench] tables, each checked against the settings
class of the stage it feeds (TrainConfig, a recipe's config class, BenchOptions), every problem found at once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from liteship.bench import BenchOptions
from liteship.bench import backends as registry
from liteship.config import (COLLECTED_KEYS, Problem, Problems, check_mapping, describe, field_of, load_toml,
                             more_problems, setting)
from liteship.progress import Progress
from liteship.trainer import TrainConfig


@dataclass(frozen=True)
class TrainTable:
    """[train]: TrainConfig's settings that every model shares; their defaults and ranges are TrainConfig's."""

    epochs: int | None = field_of(TrainConfig, "epochs")
    fine_tune_epochs: int | None = field_of(TrainConfig, "fine_tune_epochs")
    seed: int = field_of(TrainConfig, "seed")
    batch_size: int = field_of(TrainConfig, "batch_size")
    weights: str = field_of(TrainConfig, "weights")
    augment: tuple[str, ...] | None = field_of(TrainConfig, "augment")  # unset: the data set's default; []: none
    crop_area: tuple[float, float] = field_of(TrainConfig, "crop_area")
    crop_aspect_ratio: tuple[float, float] = field_of(TrainConfig, "crop_aspect_ratio")
    rotation_degrees: float = field_of(TrainConfig, "rotation_degrees")
    brightness: float = field_of(TrainConfig, "brightness")
    contrast: float = field_of(TrainConfig, "contrast")


AUGMENT_SETTINGS = ("augment", "crop_area", "crop_aspect_ratio", "rotation_degrees", "brightness", "contrast")


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
    """[bench]: BenchOptions' settings, with their defaults and ranges."""

    backends: tuple[str, ...] = field_of(BenchOptions, "backends")  # the one default; [bench] arm64 adds the counts
    threads: tuple[int, ...] = field_of(BenchOptions, "threads")
    runs: int = field_of(BenchOptions, "runs")
    warmup: int = field_of(BenchOptions, "warmup")
    rounds: int = field_of(BenchOptions, "rounds")
    target_runtime: str | None = field_of(BenchOptions, "target_runtime")  # e.g. "2.14": load in that runtime too
    task_api: str | None = field_of(BenchOptions, "task_api")  # "mediapipe": classify in its ImageClassifier too
    instructions: bool | None = None  # count instructions per invoke; None: when valgrind is installed
    arm64: bool | None = None  # also the default count backends (arm64-a15, the phone's ISA); None: when installed


@dataclass(frozen=True)
class TrackTable:
    """[track]: log the sweep to an experiment tracker (MLflow); it decides no number, so no variant depends on it."""

    mlflow: bool = False  # what `liteship sweep --track mlflow` asks
    uri: str | None = setting(None, non_empty=True)  # a team's server; unset: MLFLOW_TRACKING_URI, else RUN_DIR/mlflow.db
    experiment: str | None = setting(None, non_empty=True)  # unset: the run directory's name


@dataclass(frozen=True)
class SweepConfig:
    train: TrainTable = TrainTable()
    models: tuple[ModelTable, ...] = ()
    optimize: OptimizeTable = OptimizeTable()
    bench: BenchTable = BenchTable()
    track: TrackTable = TrackTable()
    recipe_configs: dict = field(default_factory=dict)  # recipe -> its typed config, from [optimize.<recipe>]

    def to_dict(self) -> dict:
        return asdict(self)


# The default sweep on the built-in digits: two models, every recipe, on xnnpack and fp16 with GPU and Core ML
# coverage and instruction counts on x86 and arm64-a15. MobileNetV2 trains from scratch for 20 epochs (its
# validation top-1 levels off from about the 15th): with 10, the recipes' fine-tuning kept training it and
# pqat_int8 beat it by 7 pt; with 20, no recipe beats it by more than the paired interval. Halving the recipes'
# fine-tuning instead cost pruning and QAT 6 to 11 pt on MobileNetV2, so the recipes keep their own settings.
DEFAULT_SWEEP = SweepConfig(
    train=TrainTable(weights="none"),
    models=(ModelTable(arch="small_cnn", size=32),
            ModelTable(arch="mobilenet_v2", alpha=0.35, size=64, epochs=20, fine_tune_epochs=0)),
)

TABLES = {"train": TrainTable, "optimize": OptimizeTable, "bench": BenchTable, "track": TrackTable}


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
    from liteship.workflow.validate import collect
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
    out, folders = [], {}
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
                 "batch_size": (tw, "batch_size"), "seed": (tw, "seed"),
                 **{name: (tw, name) for name in AUGMENT_SETTINGS}}
        found = _train_config_raw(train, built).problems(names)
        problems.extend(p for p in found if p not in problems)  # a [train] setting's problem once, not per model
        folder = None if found else _train_config_raw(train, built).resolved().model_dir_name
        if folder is not None and folder in folders:  # None: the model's settings are wrong, and said
            problems.append(Problem(where, None, "", f"it trains the same model as [[models]] #{folders[folder]} "
                                    f"(both would train float/{folder}, at the same time, into one folder)",
                                    "remove one of the two, or give them different arch, size or alpha"))
        folders.setdefault(folder, i + 1)
        out.append(built)
    return tuple(out)


def load_sweep_config(path: str | Path | None) -> SweepConfig:
    """The sweep config in ``path``, every table checked; all problems raised together (exit 2)."""
    if path is None:
        return DEFAULT_SWEEP
    return sweep_config_from(load_toml(path), path)


def sweep_config_from(doc: dict, path: str | Path) -> SweepConfig:
    """The sweep config a TOML document holds, every table checked (``path``: where it came from, for the
    messages); all problems raised together."""
    problems: list[Problem] = []
    unknown = sorted(set(doc) - {"train", "models", "optimize", "bench", "track"})
    for name in unknown[:COLLECTED_KEYS]:
        problems.append(Problem(str(path), f"[{name}]", describe(doc[name]), "valid tables: [train], [[models]], "
                                "[optimize], [bench], [track]", "rename or remove it"))
    problems += more_problems(str(path), len(unknown), "tables or keys liteship does not read")
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
                       batch_size=train.batch_size, seed=train.seed,
                       **{name: getattr(train, name) for name in AUGMENT_SETTINGS})


def train_config(cfg: SweepConfig, m: ModelTable):
    return _train_config_raw(cfg.train, m).resolved()


def augmentations(configs: list, data: str) -> dict:
    """Each model's augmentation on ``data`` as its card will say it (the data set's default where [train] names
    none), for run.json."""
    from liteship.trainer import augment_entry, augmentation_of

    return {c.model_dir_name: augment_entry(augmentation_of(c, data)) for c in configs}


NO_VALGRIND = "instructions not counted: valgrind is not installed (apt-get install valgrind, then re-run)"


def _instructions(asked: bool | None) -> bool:
    """[bench] instructions: as asked; unset, on where valgrind is installed."""
    from liteship.bench import require_valgrind, valgrind

    if asked:
        require_valgrind()
    return asked if asked is not None else valgrind() is not None


NO_ARM64 = ("ARM instruction counts off: the arm64 environment is not installed (`liteship runtimes install arm64 "
            "--with-system-packages` as root, about a minute, then re-run: finished work is kept)")


def sweep_backends(bench: BenchTable, progress: Progress) -> tuple[str, ...]:
    """[bench] backends, plus the default count backends as [bench] arm64 asks (unset: where they are installed)."""
    counts = registry.sweep_defaults(lambda b: b.kind.counts)
    installed = all(registry.get(b).available() for b in counts)
    wanted = bench.arm64 if bench.arm64 is not None else installed
    if wanted:
        return tuple(dict.fromkeys(bench.backends + counts))
    if bench.arm64 is None and not any(registry.get(b).kind.counts for b in bench.backends):
        progress.log(NO_ARM64)
    return tuple(bench.backends)


def bench_options(bench: BenchTable, progress: Progress) -> BenchOptions:
    """The options [bench] asks for: the same object `liteship bench` builds from the same settings as flags."""
    counted = _instructions(bench.instructions)
    return BenchOptions(backends=sweep_backends(bench, progress), threads=bench.threads, runs=bench.runs,
                        warmup=bench.warmup, rounds=bench.rounds, target_runtime=bench.target_runtime,
                        task_api=bench.task_api, instructions=counted,
                        instructions_note=None if counted or bench.instructions is False else NO_VALGRIND)
