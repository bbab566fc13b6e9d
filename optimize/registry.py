"""The recipe registry: each recipe registers itself with its typed config, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np

from liteship.errors import LiteshipError


@dataclass(frozen=True)
class RecipeData:
    """What a recipe may use: contract pixels (uint8) and labels per split. The pixels are arrays, or rows of the run's
    image cache (:class:`liteship.image_rows.ImageRows`), which the training feed and LiteRT read a batch at a time
    and which an index or slice reads into an array (a calibration set, the debugger's images)."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    seed: int = 0
    batch_size: int = 32
    deterministic: bool = False  # TensorFlow's op determinism while fine-tuning
    augmentation: object = None  # the float model's training augmentation (a trainer Augmentation), which
    # fine-tuning repeats; None: none. Calibration and every evaluation read the pixels as they are.
    # Results one recipe made that another may reuse within one optimize call, keyed by everything that decides
    # them (e.g. auto_int8's QAT step is qat_int8 with the same settings). Not part of the data's identity.
    shared: dict = field(default_factory=dict, compare=False, repr=False)

    def calibration(self, n: int) -> np.ndarray:
        """``n`` training images in a seeded order: the representative data set."""
        order = np.random.default_rng(self.seed).permutation(len(self.train_y))[:n]
        return self.train_x[np.sort(order)]


@dataclass(frozen=True)
class RecipeOutput:
    tflite: bytes
    extra: dict = field(default_factory=dict)  # recipe-specific facts for the record


@dataclass(frozen=True)
class FineTuning:
    """One fine-tuning a recipe runs, for the sweep's estimate: its epochs, an epoch's cost against a training epoch
    of the same model (``factor``: the wrappers' extra work), and ``shared``: recipes of one chain whose fine-tunings
    have the same key other than None run it once (the key the recipe keeps its result by in ``RecipeData.shared``)."""

    epochs: int
    factor: float = 1.0
    shared: Hashable = None


def no_fine_tuning(config) -> tuple[FineTuning, ...]:
    return ()


# The kernels an ARM count runs (RecipeCosts.arm_kernels): XNNPACK's int8 ones; "hybrid", dynamic range (int8
# weights, float activations); "float", floating point, which QEMU emulates in software; "reference", LiteRT's
# reference kernels in plain C (int16x8's: XNNPACK has no int16 kernels).
ARM_KERNELS = ("int8", "hybrid", "float", "reference")


@dataclass(frozen=True)
class RecipeCosts:
    """What a recipe costs, for the sweep's estimate (:mod:`liteship.workflow.resources`)."""

    convert_factor: float = 1.0  # its conversion and checks against a plain conversion's (selective_int8 also debugs)
    arm_kernels: str = "int8"  # the kernels an ARM count runs: one of ARM_KERNELS
    # The fine-tunings it runs, from its typed config (as the sweep resolved it): none for a plain conversion.
    fine_tuning: Callable[[object], tuple[FineTuning, ...]] = no_fine_tuning

    def __post_init__(self):
        if self.arm_kernels not in ARM_KERNELS:
            raise ValueError(f"arm_kernels {self.arm_kernels!r} is not one of {', '.join(ARM_KERNELS)}")


@dataclass(frozen=True)
class RecipeSpec:
    name: str
    run: Callable  # run(model, data: RecipeData, config) -> RecipeOutput
    config_cls: type
    summary: str
    reuses: tuple[str, ...] = ()  # recipes whose results this one reuses (through ``RecipeData.shared``)
    costs: RecipeCosts | None = None  # for the sweep's estimate; None: the estimate says it knows nothing of it


_RECIPES: dict[str, RecipeSpec] = {}


def recipe(name: str, config_cls: type, summary: str, reuses: tuple[str, ...] = (), costs: RecipeCosts | None = None):
    """Decorator: register ``fn(model, data, config) -> RecipeOutput`` as recipe ``name``; ``reuses``: the recipes
    whose work it takes from ``RecipeData.shared`` when they ran first in the same optimize call."""

    def deco(fn):
        if name in _RECIPES:
            raise ValueError(f"recipe {name!r} is registered twice")
        _RECIPES[name] = RecipeSpec(name, fn, config_cls, summary, tuple(reuses), costs)
        return fn

    return deco


def recipe_chains(names: list[str]) -> list[tuple[str, ...]]:
    """``names`` grouped so that a recipe and every recipe it reuses (or that reuses it) are in one group, each
    group in the order given: one optimize call per group does no work twice, and the groups are independent."""
    _load_all()
    first = {n: n for n in names}  # each name -> the first name of its group

    def head(n: str) -> str:
        while first[n] != n:
            n = first[n]
        return n

    for n in names:
        for other in (_RECIPES[n].reuses if n in _RECIPES else ()):
            if other in first:
                a, b = sorted((head(n), head(other)), key=names.index)
                first[b] = a
    chains: dict[str, list[str]] = {}
    for n in names:
        chains.setdefault(head(n), []).append(n)
    return [tuple(c) for c in chains.values()]


def _load_all() -> None:
    # Imported in listing order; each module registers its recipes on import.
    from liteship.optimize import convert  # noqa: F401
    from liteship.optimize import prune  # noqa: F401
    from liteship.optimize import qat  # noqa: F401
    from liteship.optimize import cluster  # noqa: F401
    from liteship.optimize import selective  # noqa: F401
    from liteship.optimize import auto  # noqa: F401


def get_recipe(name: str) -> RecipeSpec:
    _load_all()
    if name not in _RECIPES:
        raise LiteshipError(f"Unknown recipe {name!r}", "valid recipes are: " + ", ".join(_RECIPES),
                            "pass names from `liteship optimize --list` to --recipes")
    return _RECIPES[name]


def list_recipes() -> list[RecipeSpec]:
    _load_all()
    return list(_RECIPES.values())
