"""The sweep: train each model once, make each variant once, bench each once, then report.

Every unit of work is content-addressed in the run directory (float model
folders, variant IDs, result keys), so re-running the same command skips
what is done, and a killed sweep resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from liteship.config import from_mapping, load_toml
from liteship.errors import LiteshipError
from liteship.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from liteship.rundir import remove_stale_temps
from liteship.progress import Progress

from liteship.bench.record import BenchRecord


@dataclass(frozen=True)
class TrainTable:
    epochs: int | None = None
    fine_tune_epochs: int | None = None
    seed: int = 0
    batch_size: int = 32
    weights: str = "imagenet"


@dataclass(frozen=True)
class ModelTable:
    arch: str
    size: int | None = None
    alpha: float | None = None
    epochs: int | None = None
    fine_tune_epochs: int | None = None
    weights: str | None = None


@dataclass(frozen=True)
class OptimizeTable:
    recipes: tuple[str, ...] = ("all",)


@dataclass(frozen=True)
class BenchTable:
    backends: tuple[str, ...] = ("xnnpack",)
    threads: tuple[int, ...] = (1,)
    runs: int = 50
    warmup: int = 5
    rounds: int = 10


@dataclass(frozen=True)
class SweepConfig:
    train: TrainTable = TrainTable()
    models: tuple[ModelTable, ...] = ()
    optimize: OptimizeTable = OptimizeTable()
    bench: BenchTable = BenchTable()
    recipe_configs: dict = field(default_factory=dict)  # [optimize.<recipe>] tables

    def to_dict(self) -> dict:
        return asdict(self)


# The default sweep on the built-in digits: two models, every recipe, within 15 minutes on 2 cores.
DEFAULT_SWEEP = SweepConfig(
    train=TrainTable(weights="none"),
    models=(ModelTable(arch="small_cnn", size=32), ModelTable(arch="mobilenet_v2", alpha=0.35, size=64)),
)

TABLES = {"train": TrainTable, "optimize": OptimizeTable, "bench": BenchTable}


def load_sweep_config(path: str | Path | None) -> SweepConfig:
    if path is None:
        return DEFAULT_SWEEP
    doc = load_toml(path)
    unknown = sorted(set(doc) - {"train", "models", "optimize", "bench"})
    if unknown:
        raise LiteshipError(f"{path}: unknown table{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                            "valid tables are: bench, models, optimize, train", "rename or remove it")
    parts = {}
    for name, cls in TABLES.items():
        table = dict(doc.get(name, {}))
        if not isinstance(table, dict):
            raise LiteshipError(f"{path}: [{name}] must be a table", "", f"write it as [{name}]")
        if name == "optimize":
            from liteship.optimize.registry import list_recipes

            recipe_names = {r.name for r in list_recipes()}
            parts["recipe_configs"] = {k: table.pop(k) for k in list(table) if k in recipe_names and isinstance(table[k], dict)}
        parts[name] = from_mapping(cls, table, f"{path} [{name}]")
    models = doc.get("models", [])
    if not isinstance(models, list) or not models:
        raise LiteshipError(f"{path}: no [[models]]", "a sweep needs at least one model",
                            'add [[models]] with arch = "small_cnn" and size = 32')
    parts["models"] = tuple(from_mapping(ModelTable, m, f"{path} [[models]] #{i + 1}") for i, m in enumerate(models))
    return SweepConfig(**parts)


def _train_config(cfg: SweepConfig, m: ModelTable):
    from liteship.trainer import TrainConfig

    return TrainConfig(arch=m.arch, size=m.size, alpha=m.alpha,
                       weights=m.weights if m.weights is not None else cfg.train.weights,
                       epochs=m.epochs if m.epochs is not None else cfg.train.epochs,
                       fine_tune_epochs=m.fine_tune_epochs if m.fine_tune_epochs is not None else cfg.train.fine_tune_epochs,
                       batch_size=cfg.train.batch_size, seed=cfg.train.seed).resolved()


class Stages:
    """Progress over the sweep's units: a bar with stage and ETA on a terminal, lines otherwise."""

    def __init__(self, progress: Progress, total: int):
        self.progress, self.total, self.done, self.start = progress, max(total, 1), 0, time.perf_counter()
        self.bar = None
        if progress.bar and not progress.quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, file=progress.stream, unit="step")

    def step(self, stage: str, skipped: bool = False) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_description(stage)
            self.bar.update(1)
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        self.progress.log(f"[{self.done}/{self.total}] {stage}{' (done before, skipped)' if skipped else ''} "
                          f"- elapsed {elapsed:.0f} s, ETA {eta:.0f} s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _trained(model_dir: Path, config, data: str) -> bool:
    """The float model exists and was trained with this config on this data."""
    card = model_dir / "card.json"
    if not (card.is_file() and (model_dir / "model.keras").is_file()):
        return False
    c = json.loads(card.read_text())
    same_source = c.get("data", {}).get("source") in (data, str(Path(data).expanduser()))
    return same_source and c.get("config") == json.loads(json.dumps(asdict(config)))


def sweep(data: str, out: str | Path, config: SweepConfig = DEFAULT_SWEEP, progress: Progress | None = None,
          executor=None) -> list[BenchRecord]:
    """Run (or resume) the sweep on ``executor`` (default: here); return every bench record of it."""
    from liteship.optimize.run import parse_recipes
    from liteship.trainer.training import ensure_writable

    from liteship.app.executors import LocalExecutor
    from liteship.bench.run import BenchOptions, parse_backends

    progress = progress or Progress()
    executor = executor or LocalExecutor()
    out = Path(out)
    ensure_writable(out)
    for stale in remove_stale_temps(out):
        progress.log(f"removed {stale.name}, left half-made by an interrupted run")
    recipes = parse_recipes(list(config.optimize.recipes))
    backends = parse_backends(",".join(config.bench.backends))
    train_configs = [_train_config(config, m) for m in config.models]
    recipe_file = None
    if config.recipe_configs:  # [optimize.<recipe>] tables, handed to optimize as its own config file
        recipe_file = out / "recipes.toml"
        atomic_write_text(recipe_file, "".join(
            f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
            for name, table in config.recipe_configs.items()))
    atomic_write_json(out / "run.json", {"command": "sweep", "data": data, "config": config.to_dict(),
                                         "executor": executor.name,
                                         "train_configs": [asdict(c) for c in train_configs]})
    stages = Stages(progress, len(train_configs) * (1 + 2 * len(recipes)))  # train, optimize each, bench each
    options = BenchOptions(backends=backends, threads=tuple(config.bench.threads), runs=config.bench.runs,
                           warmup=config.bench.warmup, rounds=config.bench.rounds)
    try:
        todo = []
        for tc in train_configs:
            if _trained(out / "float" / tc.model_dir_name, tc, data):
                stages.step(f"train {tc.model_dir_name}", skipped=True)
            else:
                todo.append(tc)
        executor.train(data, todo, out, lambda tc, top1: stages.step(
            f"train {tc.model_dir_name}" + (f": test top-1 {top1:.4f}" if top1 is not None else "")))
        executor.optimize(out, [tc.model_dir_name for tc in train_configs], recipes, recipe_file,
                          lambda r, skipped: stages.step(f"optimize {r['model']} {r['recipe']}: {r['status']}", skipped))

        def step(target, recs, skipped):
            best = next((r for r in recs if r.top1 is not None), None)
            stages.step(f"bench {target.group} {target.recipe}" + (f": top-1 {best.top1:.4f}" if best else ""), skipped)

        records = executor.bench(out, options, step)
    finally:
        stages.close()
    write_reports(out, records)
    return records


def write_reports(out: Path, records: list[BenchRecord]) -> None:
    from liteship.report.tables import html_report, markdown, pareto_png

    png = pareto_png(records)
    if png is not None:
        atomic_write_bytes(out / "pareto.png", png)
    atomic_write_text(out / "report.md", markdown(records))
    atomic_write_text(out / "report.html", html_report(records, png))
