"""liteship: train an image classifier, make its .tflite variants, measure them, pick the one to ship.

The Python API, for a notebook or a script (the ``liteship`` command is a thin shell over the same functions)::

    import liteship

    run = liteship.sweep("photos/", "runs/pets", config="sweep.toml")   # train, optimize, bench, report
    run                                  # in Jupyter: the decision, the variants table and the plot
    release = liteship.pick(run)         # runs/pets/release/: model.tflite, labels.txt, manifest.json, ...

The steps one at a time: :func:`train`, :func:`optimize`, :func:`bench`, :func:`gate`, :func:`pick`,
:func:`compare`, :func:`explain`; :func:`open_run` opens a run directory made earlier. Their typed settings:
:class:`SweepConfig` (with its tables :class:`ModelTable`, :class:`TrainTable`, :class:`OptimizeTable`,
:class:`BenchTable`, :class:`TrackTable`), :class:`TrainConfig`, :class:`BenchOptions`, each recipe's config
(:class:`Int8Config`, :class:`PruneConfig`, ...), :class:`Budgets` and :class:`Thresholds`. Bad settings raise
:class:`Problems` (every problem at once, before any work); any other refusal a :class:`LiteshipError`.

Importing this package is cheap: each name above is imported the first time it is used (a module-level
``__getattr__``), so ``import liteship`` loads no TensorFlow, LiteRT, numpy or matplotlib. The names are looked
up by their module's name (:mod:`importlib`), since this package is the core (layer 0) of the layers it names
(ARCHITECTURE.md). ``liteship.optimize`` and ``liteship.bench`` are also the packages of those layers; they are
callable (:mod:`liteship.callable_module`), so ``liteship.optimize(run)`` works whether or not
``liteship.optimize.registry`` has been imported.

The layers below the API (ARCHITECTURE.md): the core modules of this package, :mod:`liteship.trainer`,
:mod:`liteship.optimize`, :mod:`liteship.bench`, :mod:`liteship.judge`, :mod:`liteship.report`,
:mod:`liteship.workflow` (requests, their checks and execution, the sweep, the run handle) and :mod:`liteship.app`
(the CLI, the pytest plugin).
"""

from __future__ import annotations

import importlib

from liteship.errors import LiteshipError

_API = "liteship.workflow.api"
_SWEEP_CONFIG = "liteship.workflow.sweep_config"
# Each public name -> the module it lives in (imported when the name is first used).
_LAZY = {
    "train": _API, "sweep": _API, "gate": _API, "pick": _API, "compare": _API, "explain": _API, "open_run": _API,
    "device_kit": "liteship.workflow.device_api", "device_import": "liteship.workflow.device_api",
    "device_predict": "liteship.workflow.device_api",
    "optimize": None, "bench": None,  # the packages themselves, made callable
    "Run": "liteship.workflow.run", "Release": "liteship.workflow.run", "Decision": "liteship.workflow.run",
    "SweepConfig": _SWEEP_CONFIG, "ModelTable": _SWEEP_CONFIG, "TrainTable": _SWEEP_CONFIG,
    "OptimizeTable": _SWEEP_CONFIG, "BenchTable": _SWEEP_CONFIG, "TrackTable": _SWEEP_CONFIG,
    "load_sweep_config": _SWEEP_CONFIG,
    "TrainConfig": "liteship.trainer.training",
    "BenchOptions": "liteship.bench.measure",
    "NoConfig": "liteship.optimize.convert", "Int8Config": "liteship.optimize.convert",
    "Int16x8Config": "liteship.optimize.convert", "Int4Config": "liteship.optimize.convert",
    "AutoInt8Config": "liteship.optimize.auto", "ClusterConfig": "liteship.optimize.cluster",
    "PruneConfig": "liteship.optimize.prune", "QatConfig": "liteship.optimize.qat", "PqatConfig": "liteship.optimize.qat",
    "SelectiveConfig": "liteship.optimize.selective",
    "Budgets": "liteship.judge.budgets", "Thresholds": "liteship.judge.compare",
    "Problem": "liteship.config", "Problems": "liteship.config",
}

__all__ = ["LiteshipError", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'liteship' has no attribute {name!r}")
    module = _LAZY[name]
    if module is None:  # importing liteship.optimize binds it here as well
        return importlib.import_module(f"liteship.{name}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
