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
import os
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


def checked_sweep_config(config, augment=None):
    """The sweep config a request names: None, the built-in sweep; a path, its file; a SweepConfig, itself, checked
    as its TOML would be (every problem raised together). ``augment`` (``--augment``; None: not given) replaces its
    [train] augment, checked as that key is."""
    from liteship.workflow.sweep_config import SweepConfig, load_sweep_config, sweep_config_from

    if augment is not None:
        return _with_augment(config, augment)
    if config is None or isinstance(config, (str, os.PathLike)):
        return load_sweep_config(None if config is None else os.fspath(config))
    if not isinstance(config, SweepConfig):
        raise Problems([Problem(SWEEP_CONFIG, None, describe(config), "it takes a sweep TOML's path, a SweepConfig "
                                "or None (the built-in sweep)", "pass one of those")])
    found = _table_kinds(config)
    if not found:
        try:
            sweep_config_from(sweep_doc(config), SWEEP_CONFIG)
        except Problems as exc:
            found = exc.problems + _unknown_archs(config, exc.problems)
    if found:
        raise Problems(found)
    return config


def _with_augment(config, augment):
    """The sweep config ``config`` names, checked, with ``augment`` (``--augment``) as its [train] augment: a step
    that does not exist or is named twice said with the config's own problems, all raised together."""
    from liteship.trainer import TrainConfig, augment_problems
    from liteship.workflow.validate import collect

    steps = tuple(augment) if isinstance(augment, list) else augment
    found = augment_problems(TrainConfig(augment=steps), {})  # named --augment
    checked = collect(found, checked_sweep_config, config)
    if found:
        raise Problems(found)
    return dataclasses.replace(checked, train=dataclasses.replace(checked.train, augment=steps))


def _table_kinds(config) -> list[Problem]:
    """Each of a SweepConfig's tables that is not its table's class (bench={"runs": 1}, models=None): said before
    its settings are read."""
    from liteship.optimize import get_recipe, list_recipes
    from liteship.workflow.sweep_config import TABLES, ModelTable

    found = [Problem(f"{SWEEP_CONFIG} [{name}]", None, describe(getattr(config, name)), f"it takes a {cls.__name__}",
                     f"pass liteship.{cls.__name__}(...), or leave it out (the defaults)")
             for name, cls in TABLES.items() if not isinstance(getattr(config, name), cls)]
    models = config.models
    if not isinstance(models, (tuple, list)):
        found.append(Problem(f"{SWEEP_CONFIG} [[models]]", None, describe(models), "it takes a list of ModelTable",
                             'pass models=(liteship.ModelTable(arch="small_cnn", size=32),)'))
    else:
        found += [Problem(f"{SWEEP_CONFIG} [[models]] #{i + 1}", None, describe(m), "it takes a ModelTable",
                          'pass liteship.ModelTable(arch="small_cnn", size=32)')
                  for i, m in enumerate(models) if not isinstance(m, ModelTable)]
    recipes = config.recipe_configs
    if not isinstance(recipes, dict):
        return found + [Problem(f"{SWEEP_CONFIG} [optimize]", "recipe_configs", describe(recipes), "it takes a dict "
                                "recipe -> its config", 'pass {"int8": liteship.Int8Config(...)}, or leave it out')]
    valid = {r.name for r in list_recipes()}
    return found + [Problem(f"{SWEEP_CONFIG} [optimize.{name}]", None, describe(value),
                            f"it takes a {get_recipe(name).config_cls.__name__}, the {name} recipe's settings",
                            f"pass liteship.{get_recipe(name).config_cls.__name__}(...)")
                    for name, value in recipes.items() if name in valid and type(value) is not
                    get_recipe(name).config_cls]


def _unknown_archs(config, found: list[Problem]) -> list[Problem]:
    """An unknown arch of a model whose other settings are wrong too (the sweep's checks read its arch only once
    the rest of the model is right): every problem at once."""
    from liteship.trainer import list_archs

    archs = [a.name for a in list_archs()]
    return [Problem(where, "arch", describe(m.arch), "architectures: " + ", ".join(archs),
                    "pick one of them (liteship train --list describes them)")
            for i, m in enumerate(config.models) for where in [f"{SWEEP_CONFIG} [[models]] #{i + 1}"]
            if m.arch not in archs and not any(p.where == where and p.key == "arch" for p in found)]


def _settings(cls, value, where: str, loader, what: str):
    if value is None or isinstance(value, (str, os.PathLike)):
        return loader(None if value is None else os.fspath(value))
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


def _field_problems(cls, obj, flags: dict) -> dict[str, list[Problem]]:
    """Each field of the settings object ``obj`` (a ``cls``) checked by its type and :func:`setting` range, as its
    TOML key would be: field -> its problems, named by ``flags[field]`` (else ``--field-name``)."""
    out = {}
    for f in dataclasses.fields(cls):
        flag = flags.get(f.name) or f"--{f.name.replace('_', '-')}"
        if getattr(obj, f.name) is None and f.default is None:
            continue  # unset, as a key left out of its table
        check_mapping(cls, {f.name: _toml(getattr(obj, f.name))}, flag, problems := [], partial=True)
        if problems:
            out[f.name] = [dataclasses.replace(p, key=None) for p in problems]
    return out


def bench_option_problems(options) -> list[Problem]:
    """Every setting of a BenchOptions of the wrong kind or out of its range, each named by its flag (a setting no
    flag sets, by the flag its name would be: ``--min-round-ms``), and its backends by --backends."""
    from liteship.bench import BenchOptions, backends, parse_backends
    from liteship.workflow.validate import collect

    if not isinstance(options, BenchOptions):
        return [Problem("options", None, describe(options), "it takes a BenchOptions", "pass one")]
    wrong = _field_problems(BenchOptions, options, BENCH_FLAGS)
    names = options.backends
    if isinstance(names, (tuple, list)) and all(isinstance(b, str) for b in names):
        wrong.pop("backends", None)  # unknown names and none at all: said as --backends says them
        if not names or any(b not in backends.registry() for b in names):
            collect(wrong.setdefault("backends", []), parse_backends, ",".join(names) or ",")
    return [p for problems in wrong.values() for p in problems]


TRAIN_SHARE = 0.1  # the least of the images val_fraction and test_fraction leave to training


def train_config_problems(config) -> list[Problem]:
    """Every problem of a TrainConfig, named by the flags that set each setting (as `liteship train`'s are; a
    setting no flag sets, by the flag its name would be: ``--learning-rate``): each field's kind and range, the
    split's fractions together, then what the architecture says of the rest."""
    from liteship.config import range_problems
    from liteship.trainer import FLAG_NAMES, TrainConfig, list_archs

    if not isinstance(config, TrainConfig):
        return [Problem("config", None, describe(config), "it takes a TrainConfig", "pass one")]
    wrong = _field_problems(TrainConfig, config, {name: flag for name, (flag, _) in FLAG_NAMES.items()})
    for name in FLAG_NAMES:  # a flag's range is said by TrainConfig.problems, in the CLI's words
        if name in wrong and not any(p.allowed.startswith("it takes") for p in wrong[name]):
            del wrong[name]
    found = [p for problems in wrong.values() for p in problems]
    val, test = config.val_fraction, config.test_fraction
    if not {"val_fraction", "test_fraction"} & set(wrong) and val + test > 1 - TRAIN_SHARE:
        found.append(Problem("--test-fraction", None, describe(test), f"with val_fraction {describe(val)}, "
                             f"{describe(round(val + test, 6))} of the images would be held out, leaving training "
                             f"less than {TRAIN_SHARE:.0%}", f"keep val_fraction + test_fraction at most "
                             f"{1 - TRAIN_SHARE:g}, e.g. 0.15 each"))
    clean = dataclasses.replace(config, **{name: getattr(TrainConfig(), name) for name in wrong})
    found += clean.problems()
    if clean.arch not in {a.name for a in list_archs()}:  # problems() stops at the arch: say what needs none
        found += range_problems(clean, FLAG_NAMES)
        if clean.epochs == 0 and clean.fine_tune_epochs in (0, None):
            found.append(Problem("--epochs", None, "0", "with no fine-tuning epochs either (an architecture "
                                 "trained from scratch has none), nothing would train", "give epochs 1 or more"))
    return found


def recipe_settings(names: list[str], config) -> dict[str, object]:
    """Each recipe of ``names``' typed config for optimize. ``config``: None (the defaults), a TOML's path (a table a
    recipe), or built in Python: a dict recipe -> config object, or a list of config objects, each for the recipes
    asked that take its class. An object is checked as its table would be; every problem raised together."""
    from liteship.optimize import get_recipe, list_recipes, resolve_configs

    if config is None or isinstance(config, (str, os.PathLike)):
        return resolve_configs(names, None if config is None else os.fspath(config))
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
def runtime_problems(version: str | None, where: str, key: str | None = None) -> list[Problem]:
    from liteship.bench import runtime_problem

    why = None if version is None else runtime_problem(version)
    return [] if why is None else [Problem(where, key, describe(version), why, 'for example "2.14"')]


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

