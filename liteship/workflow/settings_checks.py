"""Settings objects built in Python, checked as their TOML tables and flags are: every problem at once.

A ``SweepConfig``, ``Budgets``, ``Thresholds`` or ``BenchOptions`` a caller
builds is turned back into the table TOML would have given (unset settings
left out), and that table goes through the very checks a file's does
(:func:`liteship.config.check_mapping`, the sweep config's loader). A
problem's ``where`` names the argument it came in (``config [bench]``,
``budgets``) where a file's names the file; flags keep their flag names.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from liteship.config import Problem, Problems, check_mapping, describe

SWEEP_CONFIG = "config"  # where a SweepConfig built in Python is named in its problems (the file's path otherwise)
BUDGETS = "budgets"
THRESHOLDS = "thresholds"


def _toml(value):
    """A setting's value as TOML would hold it: tuples as lists, nested settings as tables."""
    if isinstance(value, (tuple, list)):
        return [_toml(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return table(value)
    return value


def table(obj, keep_defaults: bool = True) -> dict:
    """The TOML table of a settings object: each setting that is set (None is unset); ``keep_defaults`` False
    leaves out the ones equal to their defaults too."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj  # not a settings object: the table check says what it should be
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None or (not keep_defaults and f.default is not dataclasses.MISSING and value == f.default):
            continue
        out[f.name] = _toml(value)
    return out


def sweep_doc(config) -> dict:
    """The sweep TOML document ``config`` (a SweepConfig) stands for."""
    doc = {name: table(getattr(config, name)) for name in ("train", "bench", "track")}
    optimize = table(config.optimize)
    for recipe, settings in (config.recipe_configs or {}).items():
        optimize[recipe] = table(settings)
    doc["optimize"] = optimize
    doc["models"] = [table(m) for m in config.models]
    return doc


def checked_sweep_config(config):
    """The sweep config a request names: None, the built-in sweep; a path, its file; a SweepConfig, itself, checked
    as its TOML would be (every problem raised together)."""
    from liteship.workflow.sweep_config import SweepConfig, load_sweep_config, sweep_config_from

    if config is None or isinstance(config, (str, Path)):
        return load_sweep_config(config)
    if not isinstance(config, SweepConfig):
        raise Problems([Problem(SWEEP_CONFIG, None, describe(config), "it takes a sweep TOML's path, a SweepConfig "
                                "or None (the built-in sweep)", "pass one of those")])
    sweep_config_from(sweep_doc(config), SWEEP_CONFIG)  # raises every problem
    return config


def _settings(cls, value, where: str, loader, what: str):
    if value is None or isinstance(value, (str, Path)):
        return loader(value)
    if not isinstance(value, cls):
        raise Problems([Problem(where, None, describe(value), f"it takes a liteship.toml's path, {what} or None "
                                "(the defaults)", "pass one of those")])
    problems: list[Problem] = []
    check_mapping(cls, table(value, keep_defaults=False), where, problems)
    if problems:
        raise Problems(problems)
    return value


def checked_budgets(budgets):
    """The budgets a request names (a path, a Budgets, None: the defaults), checked as load_budgets checks a
    file's: a Budgets that sets no limit judges with the default limits, as a table that sets none does."""
    from liteship.bench import runtime_problem
    from liteship.judge import DEFAULT_BUDGETS, Budgets, load_budgets
    from liteship.judge import LIMITS

    value = _settings(Budgets, budgets, BUDGETS, load_budgets, "a Budgets")
    if isinstance(budgets, Budgets):
        if all(getattr(value, k) is None for k in LIMITS):
            value = dataclasses.replace(value, **{k: getattr(DEFAULT_BUDGETS, k) for k in LIMITS})
        why = None if value.target_runtime is None else runtime_problem(value.target_runtime)
        if why is not None:
            raise Problems([Problem(BUDGETS, "target_runtime", describe(value.target_runtime), why,
                                    'give the release the app ships, e.g. target_runtime="2.14"')])
    return value


def checked_thresholds(thresholds):
    """compare's thresholds (a path whose [compare] table is required, a Thresholds, None: the defaults)."""
    from liteship.judge import Thresholds, load_thresholds

    return _settings(Thresholds, thresholds, THRESHOLDS, lambda path: load_thresholds(path, required=True),
                     "a Thresholds")


BENCH_FLAGS = {"threads": "--threads", "runs": "--runs", "warmup": "--warmup", "rounds": "--rounds",
               "task_api": "--task-api", "target_runtime": "--target-runtime"}


def bench_option_problems(options) -> list[Problem]:
    """A BenchOptions' settings out of their ranges, each named by its flag, and its backends by --backends."""
    from liteship.bench import BenchOptions, backends, parse_backends
    from liteship.workflow.validate import collect

    if not isinstance(options, BenchOptions):
        return [Problem("options", None, describe(options), "it takes a BenchOptions", "pass one")]
    found: list[Problem] = []
    for name, flag in BENCH_FLAGS.items():
        value = getattr(options, name)
        if value is not None:
            check_mapping(BenchOptions, {name: _toml(value)}, flag, problems := [], partial=True)
            found += [dataclasses.replace(p, key=None) for p in problems]
    names = tuple(options.backends) if isinstance(options.backends, (tuple, list)) else ()
    if not names or any(b not in backends.registry() for b in names):
        collect(found, parse_backends, ",".join(map(str, names)) or ",")
    return found


def train_config_problems(config) -> list[Problem]:
    """A TrainConfig's problems, named by the flags that set each setting (as `liteship train`'s are)."""
    from liteship.trainer import TrainConfig

    from liteship.trainer import FLAG_NAMES

    if not isinstance(config, TrainConfig):
        return [Problem("config", None, describe(config), "it takes a TrainConfig", "pass one")]
    typed: list[Problem] = []  # a value of the wrong kind (epochs="5"), which the range checks would not read
    for name, (flag, _) in FLAG_NAMES.items():
        if getattr(config, name) is not None and name != "arch":
            check_mapping(TrainConfig, {name: _toml(getattr(config, name))}, flag, problems := [], partial=True)
            typed += [dataclasses.replace(p, key=None) for p in problems if p.allowed.startswith("it takes")]
    if typed:
        return typed
    return config.problems()


def recipe_settings(names: list[str], config) -> dict[str, object]:
    """Each recipe of ``names``' typed config for optimize. ``config``: None (the defaults), a TOML's path (a table a
    recipe), or built in Python: a dict recipe -> config object, or a list of config objects, each for the recipes
    asked that take its class. An object is checked as its table would be; every problem raised together."""
    from liteship.optimize import get_recipe, list_recipes, resolve_configs

    if config is None or isinstance(config, (str, Path)):
        return resolve_configs(names, config)
    valid = [r.name for r in list_recipes()]
    problems: list[Problem] = []
    if isinstance(config, dict):
        given = [(f"[{name}]", [name] if name in valid else [], value) for name, value in config.items()]
        problems += [Problem(SWEEP_CONFIG, label, describe(value), "there is no recipe of that name; recipes: "
                             + ", ".join(valid), "rename or remove it") for label, takes, value in given if not takes]
    elif isinstance(config, (list, tuple)):
        given = [(f"[{i}]", [n for n in names if type(v) is get_recipe(n).config_cls], v)
                 for i, v in enumerate(config)]
        problems += [Problem(SWEEP_CONFIG, label, describe(value), "no recipe asked takes a "
                             f"{type(value).__name__}; recipes asked: {', '.join(names)}",
                             "pass the config of a recipe asked (Int8Config for int8, ...), or ask for its recipe")
                     for label, takes, value in given if not takes]
    else:
        raise Problems([Problem(SWEEP_CONFIG, None, describe(config), "it takes a TOML's path, a dict recipe -> its "
                                "config, a list of configs, or None (the defaults)", "pass one of those")])
    configs = {}
    for label, takes, value in given:
        for name in takes:
            cls = get_recipe(name).config_cls
            if type(value) is not cls:  # exactly: a PruneConfig is an Int8Config too
                problems.append(Problem(SWEEP_CONFIG, label, describe(value), f"it takes a {cls.__name__}, the "
                                        f"{name} recipe's settings", f"pass {cls.__name__}(...)"))
            elif name in configs:
                problems.append(Problem(SWEEP_CONFIG, label, describe(value), f"an earlier config is {name}'s too",
                                        "pass one config a recipe"))
            elif (built := check_mapping(cls, table(value), f"{SWEEP_CONFIG} {label}", problems)) is not None:
                configs[name] = built
    if problems:
        raise Problems(problems)
    return {n: configs.get(n) or get_recipe(n).config_cls() for n in names}
