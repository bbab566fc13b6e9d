"""The Python API: ``liteship.train``, ``liteship.sweep``, ``liteship.pick``, ... for a notebook or a script.

Each function builds the command's typed request (:mod:`liteship.workflow.requests`) and hands it to
:func:`liteship.workflow.execute.execute`, as the CLI does with its flags: every setting is checked before any
work (every problem at once, as :class:`~liteship.config.Problems`, nothing written), the run directory is held
for this command alone, the frameworks' logs go to ``RUN/logs/frameworks.log``, and Ctrl-C keeps finished work.
There is no way round it from here: no function below does work of its own.

The call shapes follow TFLite Model Maker and MediaPipe Model Maker where liteship does the same thing (the data
given as a folder of class folders, a model's settings as keywords or an options object, the quantization chosen
by name), and differ where liteship does more:

- every step writes to a run directory (``out``) instead of returning a model in memory, so any step can be run
  again alone, from a notebook or the command line, and a sweep resumes where it stopped;
- ``train`` evaluates on the held-out test split itself (Model Maker's ``evaluate``), with the split kept in the
  run directory, so every later number is measured on the same photos;
- there is no ``export(quantization_config=...)``: ``sweep`` makes every quantization asked, measures each on
  this machine's CPU with LiteRT (never a phone), and ``pick`` chooses the one to ship under budgets and writes
  ``release/``.

An argument named ``run`` takes a run directory's path or a :class:`~liteship.workflow.run.Run`.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from liteship.config import Problem, Problems
from liteship.progress import Progress
from liteship.workflow.api_words import REQUEST_ONLY, Caller, in_python_words, spell
from liteship.workflow.run import Decision, Explanation, Release, Run


def _path(run) -> Path:
    return run.path if isinstance(run, Run) else Path(run) if isinstance(run, str) else run  # else: the checks say


def _settings(cls, where: str, settings: dict, taken: tuple[str, ...], more=()) -> tuple[dict, list[Problem]]:
    """``settings`` that are fields of ``cls`` (but those the function's own arguments fill, ``taken``), and a
    problem for each that is not: said with every other problem of the request, never a TypeError first.
    ``more``: the other keywords the function takes (a settings object's fields, quiet), for the message."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in REQUEST_ONLY + taken]
    valid = sorted({*names, *more, "quiet"})
    known = {k: v for k, v in settings.items() if k in names}
    unknown = [Problem(str(k), None, spell(v), f"{where} has no such setting; it takes {', '.join(valid)}",
                       f"did you mean {close[0]}={spell(v)}?" if close else "check the name (a typo?)", python=True)
               for k, v in settings.items() if k not in names
               for close in [difflib.get_close_matches(str(k), valid, n=1)]]
    return known, unknown


def _renames(prefix: str, cls, named: dict, passed) -> dict[str, str]:
    """A settings object's fields as the caller names them: a keyword given (``epochs``) by its name; a field of
    the object the caller passed as ``prefix`` by ``prefix.field``; one neither set by the keyword that would."""
    return {f"{prefix}.{f.name}": f"{prefix}.{f.name}" if passed is not None and f.name not in named else f.name
            for f in dataclasses.fields(cls)}


def _with(settings, named: dict):
    """``settings`` (a settings dataclass) with the fields ``named`` replaced; anything else as it is, for the
    checks to refuse by name ("it takes a TrainConfig")."""
    ok = dataclasses.is_dataclass(settings) and not isinstance(settings, type)
    return dataclasses.replace(settings, **named) if ok and named else settings


def _estimate_line(progress: Progress):
    """The sweep's estimate, said through ``progress`` before its work starts (as the CLI prints it)."""
    from liteship.workflow.resources import duration, unknown_note

    def say(estimate) -> None:
        workers = f"{estimate.workers} worker processes" if estimate.workers > 1 else "one worker"
        progress.log(f"estimated: about {duration(estimate.seconds)} with {workers}, peak memory about "
                     f"{estimate.peak_bytes / 1e9:.1f} GB (costs measured on a 2-core x86, scaled to this machine)"
                     f"{unknown_note(estimate.unknown)}")
    return say


def _execute(request, problems: list[Problem] = (), quiet: bool = False, caller: Caller | None = None):
    """Run ``request`` through the one entry every command takes (checks, session, work), its settings' problems
    added to those the checks find; the problems said in the ``caller``'s words (:mod:`.api_words`)."""
    from liteship.workflow.execute import execute
    from liteship.workflow.requests import with_problems

    problems = [*problems] + ([] if isinstance(quiet, bool) else [Problem("quiet", None, spell(quiet), "it takes "
                                                                          "True or False", "pass it", python=True)])
    if problems:
        request = with_problems(request, list(problems))
    progress = Progress(quiet=quiet)
    try:
        return execute(request, progress, on_estimate=None if quiet else _estimate_line(progress))
    except Problems as exc:
        raise Problems(in_python_words(exc.problems, caller or Caller(request, {}))) from None


def train(data, out, config=None, **settings):
    """Train one float model on ``data`` into the run directory ``out`` (``out/float/<model>/``).

    Model Maker's ``ImageClassifier.create`` with its ``evaluate``: the model is trained and its top-1 measured on
    the validation and test photos, which liteship sets aside itself (and keeps in ``out/data/split.json``).
    Unlike Model Maker, the model is written to disk (``model.keras``, ``model.tflite``, ``labels.txt``,
    ``card.json``) rather than returned in memory; :func:`optimize` or :func:`sweep` take it from there.

    Args:
        data: A folder with one subfolder of images per class (the folder names are the class names), a
            ``.zip``/``.tar.gz`` of one, or ``"digits"`` (the handwritten digits bundled with liteship).
        out: The run directory: new, empty, or one liteship made.
        config: A :class:`~liteship.trainer.TrainConfig`; the keyword settings below replace its fields.
        **settings: ``TrainConfig`` fields (``arch="small_cnn"``, ``size=32``, ``epochs=3``, ``alpha``,
            ``weights``, ``fine_tune_epochs``, ``batch_size``, ``seed``, ``augment=["crop", "flip"]`` and its
            steps' settings such as ``crop_area=(0.08, 1.0)``, ...), and ``deterministic`` (default
            True: the same seed gives the same weights), ``verbose`` (the frameworks' logs on the terminal),
            ``quiet`` (no progress).

    Returns:
        liteship.trainer.TrainResult: ``model_dir`` (the model's folder), ``val_top1``, ``test_top1``,
        ``seconds`` and ``card`` (everything ``card.json`` says).

    Raises:
        Problems: Every problem with the settings, the data and ``out`` at once, before any work.
        LiteshipError: Another refusal (``out`` held by another command, the disk full, ...).
    """
    from liteship.trainer import TrainConfig
    from liteship.workflow.requests import TrainRequest

    quiet = settings.pop("quiet", False)
    config_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    named = {k: settings.pop(k) for k in list(settings) if k in config_fields}
    fields, problems = _settings(TrainRequest, "liteship.train()", settings, ("data", "out", "config"), named)
    request = TrainRequest(data=data, out=out, config=_with(config if config is not None else TrainConfig(), named),
                           given=frozenset(named), **fields)
    caller = Caller(request, {"data": data, "out": out, "config": config, **fields, **named},
                    _renames("config", TrainConfig, named, config))
    return _execute(request, problems, quiet, caller).trained


def optimize(run, recipes="all", config=None, **settings):
    """Make ``.tflite`` variants of every float model in ``run``, one per recipe.

    Model Maker's ``export(quantization_config=...)`` for several quantizations at once, each written to
    ``run/variants/<ID>.tflite`` with a record of how it was made (``<ID>.json``); nothing is chosen here.

    Args:
        run: A run directory with a trained model (from :func:`train`), or a :class:`Run`.
        recipes: ``"all"``, or recipe names (``"int8"``, ``["float16", "int8"]``; ``liteship optimize --list``).
        config: The recipes' settings: a TOML file with one ``[<recipe>]`` table per recipe, or built in Python,
            a dict recipe -> its config (``{"prune_int8": liteship.PruneConfig(target_sparsity=0.8)}``) or a list of
            configs (``[liteship.Int8Config(...)]``, each for the recipes asked that take its class); checked as
            the TOML's tables are. A recipe not named keeps its defaults.
        **settings: ``deterministic`` (default True), ``verbose``, ``quiet``.

    Returns:
        liteship.workflow.results.OptimizeResult: ``records``, each variant's record; ``failed``, those that
        could not be made (each with its reason).

    Raises:
        Problems: Every problem with the recipes, their settings and ``run`` at once, before any work.
    """
    from liteship.workflow.requests import OptimizeRequest

    from liteship.workflow.api_words import recipe_tables

    quiet = settings.pop("quiet", False)
    fields, problems = _settings(OptimizeRequest, "liteship.optimize()", settings, ("run_dir", "recipes", "config"))
    names = tuple(recipes) if isinstance(recipes, list) else recipes  # anything but text or a list: the checks say
    settings_given = tuple(config) if isinstance(config, list) else config
    request = OptimizeRequest(run_dir=_path(run), recipes=names, config=settings_given, **fields)
    caller = Caller(request, {"run": run, "recipes": recipes, "config": config, **fields}, {"run_dir": "run"},
                    recipe_tables(config))
    return _execute(request, problems, quiet, caller)


def bench(target, options=None, **settings):
    """Measure ``target``: every current variant of a run directory (results merged into its ``results.jsonl``),
    or one ``.tflite`` file.

    Measured on this machine's CPU with LiteRT (and the delegates' numerics and op coverage emulated), never on a
    phone. Model Maker has no counterpart: its ``evaluate`` gives top-1 alone.

    Args:
        target: A run directory, a :class:`Run`, or a ``.tflite`` file.
        options: A :class:`~liteship.bench.BenchOptions`; the keyword settings below replace its fields.
        **settings: ``BenchOptions`` fields (``backends=("xnnpack", "fp16")`` or ``"xnnpack,fp16"`` or ``"all"``,
            ``threads=(1, 2)`` or ``1``, ``runs``,
            ``rounds``, ``warmup``, ``target_runtime="2.14"``, ``instructions``, ``task_api``), and for one file
            ``data`` (the images to score on) and ``labels``; ``json`` (also write the records there),
            ``verbose``, ``quiet``.

    Returns:
        liteship.workflow.results.BenchResult: ``records`` (:class:`~liteship.bench.BenchRecord`, one per
        variant, backend and thread count) and ``blocked`` (variants ``target_runtime`` cannot load).

    Raises:
        Problems: Every problem with the options and the target at once, before anything is measured.
    """
    from liteship.bench import BenchOptions
    from liteship.workflow.requests import BenchRequest

    quiet = settings.pop("quiet", False)
    option_fields = {f.name for f in dataclasses.fields(BenchOptions)}
    given = {k: settings.pop(k) for k in list(settings) if k in option_fields}
    fields, problems = _settings(BenchRequest, "liteship.bench()", settings, ("target", "options"), given)
    named, found = _bench_lists(given)
    request = BenchRequest(target=_path(target), options=_with(options if options is not None else BenchOptions(),
                                                                named), **fields)
    caller = Caller(request, {"target": target, "options": options, **fields, **given},
                    _renames("options", BenchOptions, given, options))
    return _execute(request, problems + found, quiet, caller)


def _bench_lists(named: dict) -> tuple[dict, list[Problem]]:
    """``backends`` and ``threads`` as ``liteship bench`` takes them too: a list, or text with commas
    (``"xnnpack,fp16"``, ``"all"``; ``"1,2"``), or one thread count; the problems of unknown backend names and of
    thread counts that are not whole numbers (their range is checked with every other setting's)."""
    from liteship.bench import parse_backends

    named, found = dict(named), []
    if isinstance(named.get("backends"), str):
        try:
            named["backends"] = parse_backends(named["backends"])
        except Problems as exc:
            found += exc.problems
            del named["backends"]
    if isinstance(named.get("threads"), str):
        counts = [t.strip() for t in named["threads"].split(",")]
        if all(t.isascii() and t.isdigit() for t in counts):
            named["threads"] = tuple(int(t) for t in counts)
        else:
            found.append(Problem("threads", None, spell(named.pop("threads")), "it takes thread counts: whole "
                                 "numbers, as a list, one number, or text with commas", "for example threads=(1, 2), "
                                 "threads=1 or threads='1,2'", python=True))
    for key in ("backends", "threads"):
        value = named.get(key)
        if isinstance(value, list):
            named[key] = tuple(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            named[key] = (value,)
    return named, found


def sweep(data, out, config=None, **settings) -> Run:
    """Train, optimize, bench and report in one resumable run: what ``liteship sweep`` does.

    Each model is trained once, each (model, recipe) variant made once, each variant benched once per backend;
    everything is content-addressed in ``out``, so calling it again skips what is done and a stopped sweep
    resumes. Ends with ``report.md``, ``report.html`` and ``pareto.png`` in ``out``.

    Args:
        data: A folder of class folders, an archive of one, or ``"digits"``.
        out: The run directory: new, empty, or one liteship made.
        config: A sweep TOML's path, a :class:`~liteship.workflow.sweep_config.SweepConfig`, or None (the built-in
            sweep: ``small_cnn`` and ``mobilenet_v2`` 0.35, every recipe).
        **settings: ``workers`` (the local executor's processes; default: one per core, as memory allows),
            ``executor`` (``"local"`` or ``"ray"``), ``address`` (a Ray cluster's), ``track`` (``"mlflow"``: log
            the sweep there), ``augment`` (the training augmentation's steps, replacing the config's [train]
            augment: ``["crop", "flip"]``, ``[]`` for none), ``verbose``, ``quiet``.

    Returns:
        Run: the run directory, with its records, decision, findings and the estimate and time of this sweep
        (``run.result``).

    Raises:
        Problems: Every problem with the data, ``out``, the config and the settings at once, before any work
            (nothing is written; ``out`` is not even made).
    """
    from liteship.workflow.requests import SweepRequest

    from liteship.workflow.api_words import sweep_tables

    quiet = settings.pop("quiet", False)
    fields, problems = _settings(SweepRequest, "liteship.sweep()", settings, ("data", "out", "config"))
    request = SweepRequest(data=data, out=out, config=config, **fields)
    caller = Caller(request, {"data": data, "out": out, "config": config, **fields}, tables=sweep_tables)
    result = _execute(request, problems, quiet, caller)
    return Run(result.out, result)


def gate(run, budgets=None, variant=None, all=False, **settings):  # noqa: A002 (the flag's name, --all)
    """Judge the run's variants against budgets, as ``liteship gate`` does in CI.

    Args:
        run: A run directory or a :class:`Run`.
        budgets: A :class:`~liteship.judge.Budgets`, a ``liteship.toml``/``pyproject.toml`` with a budgets table,
            or None (the defaults: at most 2 pt of top-1 lost against float32, agreement at least 0.97, the input
            contract kept).
        variant: Judge only this variant (an ID, or a recipe one model has).
        all: Pass only when every variant passes (default: when at least one does).
        **settings: ``junit``, ``markdown`` (write the verdicts there too), ``verbose``.

    Returns:
        liteship.workflow.results.GateResult: ``verdicts`` (every budget of every variant, with its margin),
        ``passed`` and ``ok`` (the gate's answer; the CLI exits 1 when it is False).

    Raises:
        Problems: Every problem with the budgets and the run at once.
    """
    from liteship.workflow.requests import GateRequest

    quiet = settings.pop("quiet", False)
    fields, problems = _settings(GateRequest, "liteship.gate()", settings, ("run_dir", "budgets", "variant", "all"))
    request = GateRequest(run_dir=_path(run), budgets=budgets, variant=variant, all=all, **fields)
    caller = Caller(request, {"run": run, "budgets": budgets, "variant": variant, "all": all, **fields},
                    {"run_dir": "run"})
    return _execute(request, problems, quiet, caller)


def pick(run, budgets=None, prefer: str = "accuracy", **settings):
    """Choose the variant to ship and write ``run/release/``: ``model.tflite``, ``labels.txt``,
    ``manifest.json``, ``MODEL.md`` and ``Classifier.swift``.

    Model Maker's ``export`` picks nothing: you name the quantization. Here the measurements choose: the best
    variant by ``prefer`` among those that pass every budget, ties within the measurement's noise broken by size.

    Args:
        run: A run directory or a :class:`Run`.
        budgets: A :class:`~liteship.judge.Budgets`, a TOML path, or None (the defaults, as :func:`gate`).
        prefer: ``"accuracy"``, ``"size"``, ``"latency"`` or ``"instructions"``.
        **settings: ``verbose``, ``quiet``.

    Returns:
        Release: the bundle (its files, the manifest's fields, and ``decision``: why this variant); or, when no
        variant passes every budget, the :class:`Decision` alone, its ``misses`` saying what the closest lack
        (``release/`` is left as it was).

    Raises:
        Problems: Every problem with the budgets, ``prefer`` and the run at once, before any work.
    """
    from liteship.workflow.requests import PickRequest

    quiet = settings.pop("quiet", False)
    fields, problems = _settings(PickRequest, "liteship.pick()", settings, ("run_dir", "budgets", "prefer"))
    request = PickRequest(run_dir=_path(run), budgets=budgets, prefer=prefer, **fields)
    caller = Caller(request, {"run": run, "budgets": budgets, "prefer": prefer, **fields}, {"run_dir": "run"})
    result = _execute(request, problems, quiet, caller)
    decision = Decision(result.decision, None, result.run_dir)
    return decision if result.release is None else Release(result.release, decision)


def compare(base, new, thresholds=None, **settings):
    """Compare run ``new`` with its baseline ``base``, variant by variant, as ``liteship compare`` in a pull request.

    Args:
        base: The baseline: a run directory, a :class:`Run`, or a ``results.jsonl``.
        new: The run to judge, the same kinds.
        thresholds: A :class:`~liteship.judge.Thresholds`, a TOML with a ``[compare]`` table, or None (the
            defaults).
        **settings: ``markdown``, ``json`` (write the comparison there too).

    Returns:
        liteship.workflow.results.CompareResult: ``changes`` (each number against its threshold), ``added``,
        ``removed``, and ``failed`` (the changes beyond a threshold; the CLI exits 1 when there are any).

    Raises:
        Problems: Every problem with the thresholds and both sides at once.
    """
    from liteship.workflow.requests import CompareRequest

    quiet = settings.pop("quiet", False)
    fields, problems = _settings(CompareRequest, "liteship.compare()", settings, ("base", "new", "thresholds"))
    request = CompareRequest(base=_path(base), new=_path(new), thresholds=thresholds, **fields)
    return _execute(request, problems, quiet, Caller(request, {"base": base, "new": new, "thresholds": thresholds,
                                                               **fields}))


def explain(run, variant: str, vs: str | None = None, model_explorer=None) -> Explanation:
    """What a variant computes, op by op (ops, dtypes, multiply-adds, instructions), and with ``vs`` what differs.

    Args:
        run: A run directory or a :class:`Run`.
        variant: A variant's ID, or a recipe only one model has (``"int8"``).
        vs: Another variant to set beside it.
        model_explorer: A file for each op's quantization error as Google's Model Explorer node data (``[explorer]``).

    Returns:
        Explanation: ``variant`` and ``vs`` (what bench found in each), shown as ``liteship explain`` prints it.

    Raises:
        Problems: A variant the run does not have, or a run that cannot be read.
    """
    from liteship.workflow.requests import ExplainRequest
    request = ExplainRequest(run_dir=_path(run), variant=variant, vs=vs, model_explorer=model_explorer)
    result = _execute(request, caller=Caller(request, {"run": run, "variant": variant, "vs": vs}, {"run_dir": "run"}))
    return Explanation(result.explained, result.vs)


def open_run(path) -> Run:
    """Open a run directory made earlier (by :func:`sweep`, :func:`train` or the ``liteship`` command).

    Args:
        path: The run directory.

    Returns:
        Run: its records, decision, findings and release, read when asked.

    Raises:
        LiteshipError: ``path`` is not a run directory.
        Problems: ``path`` is not a path (None, a number, bytes).
    """
    return Run(path)
