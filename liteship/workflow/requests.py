"""What each command is asked to do, as one typed, frozen request: the CLI's flags and the Python API build the same.

:func:`liteship.workflow.execute.execute` takes a request, checks all of it
before any work (every problem at once, as :class:`~liteship.config.Problems`,
nothing written), and returns the command's result
(:mod:`liteship.workflow.results`). A request is never changed: what the checks
resolve (a sweep's loaded config, its estimates, its worker count, where it
logs) is returned beside it (:class:`liteship.workflow.checks.Checked`).

Settings are the stages' own typed classes (``TrainConfig``, ``BenchOptions``,
``SweepConfig``, ``Budgets``, ``Thresholds``), built in Python or read from
TOML; either way they get the same checks. A value the CLI could not even
parse (``--epochs abc``) is carried as one of ``flag_problems``, and its
setting keeps its default, so it is said together with every other problem.
Field names follow the flags (``--fine-tune-at`` is ``fine_tune_at``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Union

from liteship.config import Problem, describe, setting

if TYPE_CHECKING:  # imported when a request is built, not with this module: ``import liteship`` stays cheap
    from liteship.bench import BenchOptions
    from liteship.judge import Budgets, Thresholds
    from liteship.trainer import TrainConfig
    from liteship.workflow.sweep_config import SweepConfig

PathLike = Union[str, Path]


def _train_config():
    from liteship.trainer import TrainConfig

    return TrainConfig()


def _bench_options():
    from liteship.bench import BenchOptions

    return BenchOptions()


@dataclass(frozen=True, kw_only=True)
class Request:
    """What every request has: ``flag_problems``, the values a caller gave that could not be parsed (the CLI fills
    it; said with every other problem), and ``verbose``: leave the frameworks' logs on the terminal."""

    command: ClassVar[str] = ""
    writes: ClassVar[str | None] = None  # the field naming the run directory the command writes, if it writes one
    verbose: bool = False
    flag_problems: tuple[Problem, ...] = ()

    def written_run_dir(self) -> Path | None:
        """The run directory this request writes (held for it alone while it runs), if any."""
        value = getattr(self, self.writes, None) if self.writes and not getattr(self, "list_only", False) else None
        return None if value is None else Path(value)


@dataclass(frozen=True, kw_only=True)
class TrainRequest(Request):
    """``liteship train``: train ``config`` on ``data`` into the run directory ``out``.

    ``given``: the settings the caller named (the flags given); ``weights`` and ``fine_tune_at`` named for an
    architecture trained from scratch are refused, as are ones that differ from the defaults.
    """

    command: ClassVar[str] = "train"
    writes: ClassVar[str | None] = "out"
    data: PathLike | None = None
    out: PathLike | None = None
    config: TrainConfig = field(default_factory=_train_config)
    given: frozenset[str] = frozenset()
    deterministic: bool = True
    list_only: bool = False  # --list: the architectures, nothing trained


@dataclass(frozen=True, kw_only=True)
class OptimizeRequest(Request):
    """``liteship optimize``: make ``recipes`` ("all", or names) of every float model in ``run_dir``; ``config``: a
    TOML with one table per recipe, or (from Python) a dict recipe -> its config object, or a tuple of config
    objects, each for the recipes asked that take its class."""

    command: ClassVar[str] = "optimize"
    writes: ClassVar[str | None] = "run_dir"
    run_dir: PathLike | None = None
    recipes: str | tuple[str, ...] = "all"
    config: PathLike | dict | tuple | None = None
    deterministic: bool = True
    list_only: bool = False


@dataclass(frozen=True, kw_only=True)
class BenchRequest(Request):
    """``liteship bench``: measure ``target`` (one .tflite, or a run directory's variants) with ``options``."""

    command: ClassVar[str] = "bench"
    writes: ClassVar[str | None] = "target"
    target: PathLike | None = None
    options: BenchOptions = field(default_factory=_bench_options)
    data: PathLike | None = None  # one .tflite: the images to score it on
    labels: PathLike | None = None  # one .tflite: its labels (default: labels.txt beside it)
    json: PathLike | None = None  # also write the records as JSON here ("-": standard output)
    list_only: bool = False

    def written_run_dir(self) -> Path | None:
        run_dir = super().written_run_dir()
        return run_dir if run_dir is not None and run_dir.is_dir() else None  # one .tflite: no run directory


WORKERS_LIMITS = (1, 256)  # the local executor's processes; None (auto): one per core, as memory allows, at most 4


@dataclass(frozen=True, kw_only=True)
class SweepRequest(Request):
    """``liteship sweep``: train, optimize, bench and report in one resumable run.

    ``config``: a sweep TOML's path, a :class:`~liteship.workflow.sweep_config.SweepConfig`, or None (the built-in
    sweep). ``workers``: the local executor's processes (None: auto). ``track``: "mlflow" to log the sweep there.
    ``augment``: the training augmentation's steps, replacing the config's [train] augment (None: the config's).
    """

    command: ClassVar[str] = "sweep"
    writes: ClassVar[str | None] = "out"
    data: PathLike | None = None
    out: PathLike | None = None
    config: PathLike | SweepConfig | None = None
    executor: str = "local"
    address: str | None = None
    workers: int | None = setting(None, lo=WORKERS_LIMITS[0], hi=WORKERS_LIMITS[1])
    track: str | None = setting(None, choices=("mlflow",))
    augment: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class GateRequest(Request):
    """``liteship gate``: judge ``run_dir``'s variants against ``budgets`` (a path, a ``Budgets``, or None: the
    defaults); ``variant``: only that one; ``all``: pass only when every variant passes."""

    command: ClassVar[str] = "gate"
    run_dir: PathLike | None = None
    budgets: PathLike | Budgets | None = None
    variant: str | None = None
    all: bool = False
    junit: PathLike | None = None
    markdown: PathLike | None = None


@dataclass(frozen=True, kw_only=True)
class PickRequest(Request):
    """``liteship pick``: choose the variant to ship under ``budgets`` and write ``run_dir/release/``."""

    command: ClassVar[str] = "pick"
    writes: ClassVar[str | None] = "run_dir"
    run_dir: PathLike | None = None
    budgets: PathLike | Budgets | None = None
    prefer: str = "accuracy"


@dataclass(frozen=True, kw_only=True)
class CompareRequest(Request):
    """``liteship compare``: ``new`` against ``base`` (run directories or results.jsonl files) under
    ``thresholds`` (a path, a ``Thresholds``, or None: the defaults)."""

    command: ClassVar[str] = "compare"
    base: PathLike | None = None
    new: PathLike | None = None
    thresholds: PathLike | Thresholds | None = None
    markdown: PathLike | None = None
    json: PathLike | None = None


@dataclass(frozen=True, kw_only=True)
class ExplainRequest(Request):
    """``liteship explain``: what ``variant`` (an ID, or a recipe one model has) computes; ``vs``: what differs;
    ``model_explorer``: a file for each op's quantization error as Model Explorer node data."""

    command: ClassVar[str] = "explain"
    run_dir: PathLike | None = None
    variant: str | None = None
    vs: str | None = None
    model_explorer: PathLike | None = None


@dataclass(frozen=True, kw_only=True)
class TrackRequest(Request):
    """``liteship track``: log ``run_dir`` to MLflow (``uri``, ``experiment``: default where the sweep logged)."""

    command: ClassVar[str] = "track"
    writes: ClassVar[str | None] = "run_dir"
    run_dir: PathLike | None = None
    uri: str | None = None
    experiment: str | None = None


@dataclass(frozen=True, kw_only=True)
class RuntimesRequest(Request):
    """``liteship runtimes``: ``action`` (list, install, remove) on ``version`` (a tflite-runtime release, arm64 or
    mediapipe)."""

    command: ClassVar[str] = "runtimes"
    action: str = "list"
    version: str | None = None
    with_system_packages: bool = False


@dataclass(frozen=True, kw_only=True)
class DeviceImportRequest(Request):
    """``liteship device import``: bring a device's measurements (``files``: benchmark tools' outputs) into
    ``run_dir`` as records of the device's backend. ``device``: its name ("iPhone 13"); ``model``: FILE=VARIANT
    for a measurement whose file name holds no variant ID (a tuple of such strings, or a dict FILE -> VARIANT);
    ``chip``: the device's chip (A15), kept with the records; ``threads``: the threads of measurements whose
    source does not say (a leaderboard row)."""

    command: ClassVar[str] = "device import"
    writes: ClassVar[str | None] = "run_dir"
    run_dir: PathLike | None = None
    files: tuple[PathLike, ...] = ()
    device: str | None = None
    model: tuple[str, ...] | dict | None = None
    chip: str | None = None
    threads: int | None = setting(None, lo=1, hi=1024)


@dataclass(frozen=True, kw_only=True)
class DevicePredictRequest(Request):
    """``liteship device predict``: predict, from the counts of the ISA profile that stands for each device's chip,
    the milliseconds of the variants not measured on it, calibrated on those that were (``predicted:<device>``
    records, replacing the old ones). ``device``: only this device's ("iPhone 13"); ``chip``: its chip (A15), over
    what its records keep."""

    command: ClassVar[str] = "device predict"
    writes: ClassVar[str | None] = "run_dir"
    run_dir: PathLike | None = None
    device: str | None = None
    chip: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeviceKitRequest(Request):
    """``liteship device kit``: write what a person with a phone needs to measure ``run_dir``'s current variants
    into the folder ``out`` (new, empty, or one liteship made)."""

    command: ClassVar[str] = "device kit"
    run_dir: PathLike | None = None
    out: PathLike | None = None


REQUESTS = {cls.command: cls for cls in (TrainRequest, OptimizeRequest, BenchRequest, SweepRequest, GateRequest,
                                         PickRequest, CompareRequest, ExplainRequest, TrackRequest, RuntimesRequest,
                                         DeviceImportRequest, DeviceKitRequest, DevicePredictRequest)}
LOGGED = ("train", "sweep", "optimize", "bench", "pick", "track", "explain")  # the commands that run TensorFlow or LiteRT


_KINDS = {"bool": ((bool,), "True or False"), "str": ((str,), "text"), "str | None": ((str, type(None)), "text"),
          "str | tuple[str, ...]": ((str, tuple, list), "text or a list of text")}


def field_problems(request: Request) -> dict[str, Problem]:
    """Each of the request's own settings of the wrong kind (verbose="no", track=1: the CLI's flags are never) or
    not one of its choices (track="wandb"), named by its flag: field -> its problem. Paths and settings objects are
    the checks' (:mod:`liteship.workflow.validate`, :mod:`liteship.workflow.settings_checks`)."""
    out = {}
    for f in dataclasses.fields(request):
        value, kinds, flag = getattr(request, f.name), _KINDS.get(f.type), f"--{f.name.replace('_', '-')}"
        items = value if isinstance(value, (tuple, list)) else ()
        choices = f.metadata.get("choices")
        if choices is not None and value is not None and (not isinstance(value, str) or value not in choices):
            out[f.name] = Problem(flag, None, describe(value), f"it takes {', '.join(choices)}, or nothing",
                                  f"pass {flag} {choices[0]}, or leave it out")
        elif kinds is not None and (not isinstance(value, kinds[0]) or not all(isinstance(v, str) for v in items)):
            out[f.name] = Problem(flag, None, describe(value), f"it takes {kinds[1]}", f"pass {kinds[1]}")
    return out


def with_problems(request: Request, found: list[Problem]) -> Request:
    """``request`` with ``found`` added to its flag problems (a new object: requests are frozen)."""
    return dataclasses.replace(request, flag_problems=tuple(request.flag_problems) + tuple(found))


__all__ = ["BenchRequest", "CompareRequest", "DeviceImportRequest", "DeviceKitRequest", "DevicePredictRequest",
           "ExplainRequest", "GateRequest", "LOGGED", "OptimizeRequest",
           "PickRequest", "REQUESTS", "Request", "RuntimesRequest", "SweepRequest", "TrackRequest", "TrainRequest",
           "WORKERS_LIMITS", "field_problems", "with_problems"]
