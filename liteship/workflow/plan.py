"""The sweep plan: every unit of work (train a model, make a variant, bench a variant), done or pending.

Decided in one place, from the run directory's content-addressed files, with
the stages' own skip checks (:func:`liteship.optimize.run.plan_variants`,
:func:`liteship.bench.run.plan_bench`). Executors run the pending units and
nothing else; they never decide what is done. Each stage is planned after the
one before it has run, because a variant's ID hashes the trained weights.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from liteship.bench import BenchOptions, Target
from liteship.bench import BenchRecord
from liteship.bench import plan_bench
from liteship.rundir import CARD, FLOAT, MODEL_KERAS, read_card


@dataclass(frozen=True)
class TrainKey:
    """Training one model (a job, a progress step)."""

    model: str

    def label(self) -> str:
        return f"train {self.model}"


@dataclass(frozen=True)
class ChainKey:
    """Making a chain of recipes of one model (one job; :func:`liteship.optimize.recipe_chains`). Each recipe's
    variant is a progress step of its own: the chain of that recipe alone (:meth:`steps`)."""

    model: str
    recipes: tuple[str, ...]

    def label(self) -> str:
        return f"optimize {self.model} {'+'.join(self.recipes)}"

    def steps(self) -> tuple[ChainKey, ...]:
        return tuple(ChainKey(self.model, (r,)) for r in self.recipes)


@dataclass(frozen=True)
class CountKey:
    """Counting one variant's instructions with one count backend (valgrind's x86, an ARM backend)."""

    model: str
    recipe: str
    backend: str

    def label(self) -> str:
        return f"count {self.model} {self.recipe} {self.backend}"


@dataclass(frozen=True)
class BenchKey:
    """Scoring and timing one variant."""

    model: str
    recipe: str

    def label(self) -> str:
        return f"bench {self.model} {self.recipe}"


UnitKey = TrainKey | ChainKey | CountKey | BenchKey  # the keys of costs, done units, ranks and the simulated plan


@dataclass(frozen=True)
class TrainUnit:
    config: object  # liteship.trainer.TrainConfig, resolved
    done: bool

    @property
    def key(self) -> TrainKey:
        return TrainKey(self.config.model_dir_name)


@dataclass(frozen=True)
class OptimizeUnit:
    model: str
    recipe: str
    variant: str
    made: dict | None  # the variant's record when it is already made

    @property
    def done(self) -> bool:
        return self.made is not None

    @property
    def key(self) -> ChainKey:
        return ChainKey(self.model, (self.recipe,))


@dataclass(frozen=True)
class BenchUnit:
    target: Target
    records: tuple[BenchRecord, ...] | None  # every record the options ask for, when already measured

    @property
    def done(self) -> bool:
        return self.records is not None

    @property
    def key(self) -> BenchKey:
        return BenchKey(self.target.group, self.target.recipe)

    def count_keys(self, kinds) -> list[CountKey]:
        """The counts of this variant by each count backend of ``kinds``, which its bench reads."""
        return [CountKey(self.target.group, self.target.recipe, kind) for kind in kinds]


def trained(model_dir: Path, config, data: str, fingerprint: str) -> bool:
    """The float model exists and was trained with this config on these very files."""
    card = model_dir / CARD
    if not (card.is_file() and (model_dir / MODEL_KERAS).is_file()):
        return False
    c = read_card(model_dir)
    same_source = c.get("data", {}).get("source") in (data, str(Path(data).expanduser()))
    same_files = c.get("data", {}).get("fingerprint") == fingerprint
    return same_source and same_files and c.get("config") == json.loads(json.dumps(asdict(config)))


def plan_train(out: Path, data: str, configs: list) -> list[TrainUnit]:
    """A model is trained again when its config, its data path or any file under that path changed."""
    from liteship.dataset import data_fingerprint

    fingerprint = data_fingerprint(data)
    return [TrainUnit(c, trained(out / FLOAT / c.model_dir_name, c, data, fingerprint)) for c in configs]


def plan_optimize(out: Path, models: list[str], recipes: list[str], configs: dict | None) -> list[OptimizeUnit]:
    """``configs``: typed recipe configs by name; a recipe without one gets its defaults."""
    from liteship.optimize import plan_variants, with_defaults

    planned = plan_variants(out, recipes, with_defaults(recipes, configs), models)
    return [OptimizeUnit(p.model, p.recipe, p.id, p.made) for p in planned]  # a plan writes nothing


def plan_benches(out: Path, options: BenchOptions) -> list[BenchUnit]:
    return [BenchUnit(p.target, p.done) for p in plan_bench(out, options)]


def pending(units: list) -> list:
    return [u for u in units if not u.done]
