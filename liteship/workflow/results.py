"""What each command found, as typed results: the CLI prints from them, the Python API returns them.

Each result holds the records and decisions the command's output is made of,
and the exit status they imply (``exit_code``), decided from the data: a
variant the app's runtime cannot load is in ``BenchResult.blocked``, a pick
with nothing that passes has no ``release``. ``framework_log``: where the
frameworks' messages (TensorFlow, LiteRT, the converter) went, when they were
sent to a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from liteship.rundir import PARETO, REPORT_HTML, REPORT_MD
from liteship.rundir import RESULTS as RESULTS_JSONL

if TYPE_CHECKING:
    from liteship.bench import BenchRecord
    from liteship.judge import Change, Decision, Thresholds, VariantVerdict
    from liteship.trainer import TrainResult as Trained
    from liteship.workflow.mlflow_log import Logged


@dataclass(frozen=True, kw_only=True)
class Result:
    command: ClassVar[str] = ""
    framework_log: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether the work's answer is yes; a result whose answer can be no says when."""
        return True

    @property
    def exit_code(self) -> int:
        """0: done; 1: the work ran and its answer is no (ARCHITECTURE.md's exit codes)."""
        return 0 if self.ok else 1


@dataclass(frozen=True)
class StaleVariant:
    """A variant kept on disk that is no longer current (a newer one replaced it), and why."""

    id: str
    model: str | None
    recipe: str | None
    why: str


@dataclass(frozen=True, kw_only=True)
class TrainResult(Result):
    command: ClassVar[str] = "train"
    archs: tuple = ()  # --list: the registered architectures (ArchSpec)
    trained: Trained | None = None  # the trained model's folder and numbers


@dataclass(frozen=True, kw_only=True)
class OptimizeResult(Result):
    command: ClassVar[str] = "optimize"
    recipes: tuple = ()  # --list: the registered recipes (RecipeSpec)
    records: tuple[dict, ...] = ()  # each variant's record (variants/ID.json), made or failed

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r.get("status") != "ok"]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, kw_only=True)
class BenchResult(Result):
    command: ClassVar[str] = "bench"
    backends: tuple = ()  # --list: the backend registry (Backend)
    records: tuple[BenchRecord, ...] = ()
    run_dir: Path | None = None  # the run directory benched (None: one .tflite)
    stale: tuple[StaleVariant, ...] = ()
    target_runtime: str | None = None
    runtime_notes: tuple[str, ...] = ()  # what happened in the app's runtime, one line a variant
    runtime_failures: tuple[str, ...] = ()  # too-new ops and variants that cannot ship, one line each
    blocked: tuple[str, ...] = ()  # the variants the app's runtime cannot load

    @property
    def ok(self) -> bool:
        return not self.blocked


@dataclass(frozen=True)
class SweepEstimate:
    """The sweep's estimate on this machine, of the work still to do: said before it starts."""

    seconds: float
    workers: int
    peak_bytes: float
    unknown: tuple[str, ...] = ()  # the work it left out, in words: an architecture or recipe that declares no costs


@dataclass(frozen=True, kw_only=True)
class TrackResult(Result):
    command: ClassVar[str] = "track"
    run_dir: Path
    logged: Logged  # what went to MLflow, and what did not (``missed``) with the fix
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.logged.missed

    def lines(self) -> list[str]:
        return self.logged.lines(self.run_dir)


@dataclass(frozen=True, kw_only=True)
class SweepResult(Result):
    command: ClassVar[str] = "sweep"
    out: Path
    records: tuple[BenchRecord, ...] = ()
    seconds: float = 0.0
    estimate: SweepEstimate | None = None
    tracked: TrackResult | None = None  # logged to MLflow (a tracker that is down is said; the sweep still exits 0)

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self.out / name for name in (REPORT_MD, REPORT_HTML, PARETO, RESULTS_JSONL))


@dataclass(frozen=True, kw_only=True)
class GateResult(Result):
    command: ClassVar[str] = "gate"
    run_dir: Path
    verdicts: tuple[VariantVerdict, ...] = ()
    every: bool = False  # pass only when every variant judged passes (--all, or one --variant)
    stale: tuple[StaleVariant, ...] = ()

    @property
    def passed(self) -> list[VariantVerdict]:
        return [v for v in self.verdicts if v.passed]

    @property
    def ok(self) -> bool:
        return len(self.passed) == len(self.verdicts) if self.every else bool(self.passed)


@dataclass(frozen=True)
class MediaPipeCheck:
    """What the release's check in MediaPipe Tasks found (``release/manifest.json``'s ``task_api``)."""

    loaded: bool
    runtime: str | None = None
    top1: float | None = None
    images: int | None = None
    stretched_top1: float | None = None  # the whole photo stretched to the input, not the centre square
    agreement: float | None = None  # the same class as liteship's LiteRT path, as a fraction
    error: str | None = None  # why it was not checked
    kernels_warning: str | None = None  # the resize kernels apps use change the top-1
    change: float | None = None  # MediaPipe's top-1 minus LiteRT's, when beyond the paired interval
    interval: tuple[float, float] | None = None


@dataclass(frozen=True, kw_only=True)
class PickResult(Result):
    command: ClassVar[str] = "pick"
    run_dir: Path
    decision: Decision
    release: Path | None = None  # None: no variant passes every budget (``misses`` are the closest)
    misses: tuple[VariantVerdict, ...] = ()
    mediapipe: MediaPipeCheck | None = None
    tracked: TrackResult | None = None  # the picked variant's run tagged where the sweep logged

    @property
    def report(self) -> Path:
        return self.run_dir / REPORT_HTML

    @property
    def chosen(self) -> VariantVerdict | None:
        return None if self.decision.chosen is None else self.decision.chosen.verdict

    @property
    def ok(self) -> bool:
        return self.release is not None


@dataclass(frozen=True, kw_only=True)
class CompareResult(Result):
    command: ClassVar[str] = "compare"
    changes: tuple[Change, ...] = ()
    added: tuple = ()
    removed: tuple = ()
    thresholds: Thresholds | None = None
    same_measurements: bool = False  # both sides hold the very same measurements (a copy of one run)

    @property
    def failed(self) -> list[Change]:
        return [c for c in self.changes if c.failed]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, kw_only=True)
class ExplainResult(Result):
    command: ClassVar[str] = "explain"
    explained: object = None  # bench.explain.Explained: the variant
    vs: object = None  # the other variant's, with --vs
    node_data: str | None = None  # with --model-explorer: the variant's per-op error as Model Explorer node data


@dataclass(frozen=True)
class RuntimeEnv:
    """One runtime environment in the cache: what it is, where, and its facts."""

    name: str  # "arm64", "mediapipe", or the tflite-runtime distribution
    version: str | None
    path: Path | None  # None: not installed
    facts: dict  # arm64: qemu, wheels, plugin_sha256, backends; mediapipe: its version
    install: str = ""  # the command that makes it, when it is not installed


@dataclass(frozen=True, kw_only=True)
class RuntimesResult(Result):
    command: ClassVar[str] = "runtimes"
    action: str
    version: str | None = None
    name: str = ""  # install, remove: arm64, mediapipe, or the tflite-runtime distribution
    envs: tuple[RuntimeEnv, ...] = ()  # list: arm64, mediapipe, then each tflite-runtime release
    cache: Path | None = None  # list: the folder of tflite-runtime releases
    installed: RuntimeEnv | None = None
    seconds: float = 0.0
    removed: tuple[Path, ...] = ()
    left: tuple[tuple[Path, str], ...] = ()  # folders in the way, not liteship's, left as they are (an error)

    @property
    def error(self):
        """The error to raise after saying what was removed: folders in the way were left, or None."""
        from liteship.cache import in_the_way
        from liteship.errors import LiteshipError

        if not self.left:
            return None
        if len(self.left) == 1:
            return in_the_way(*self.left[0])
        return LiteshipError(f"{len(self.left)} folders in the way of liteship's environments were left as they are: "
                             + "; ".join(f"{p} ({why})" for p, why in self.left), "", "move them out of liteship's "
                             "cache (or delete them yourself if they are yours to delete)")


@dataclass(frozen=True, kw_only=True)
class DeviceImportResult(Result):
    command: ClassVar[str] = "device import"
    run_dir: Path
    records: tuple[BenchRecord, ...] = ()  # the device records merged into results.jsonl
    predictions: tuple = ()  # the device's outcomes after the merge (bench's PredictionOutcome each)


@dataclass(frozen=True, kw_only=True)
class DevicePredictResult(Result):
    command: ClassVar[str] = "device predict"
    run_dir: Path
    outcomes: tuple = ()  # one per device backend and thread count: predicted, or why not and what to do

    @property
    def ok(self) -> bool:
        """Some device's milliseconds were predicted."""
        return any(o.predicted for o in self.outcomes)


@dataclass(frozen=True, kw_only=True)
class DeviceKitResult(Result):
    command: ClassVar[str] = "device kit"
    out: Path
    files: tuple[str, ...] = ()  # the kit's files, relative to out


RESULTS = {cls.command: cls for cls in (TrainResult, OptimizeResult, BenchResult, SweepResult, GateResult, PickResult,
                                        CompareResult, ExplainResult, TrackResult, RuntimesResult, DeviceImportResult,
                                        DeviceKitResult, DevicePredictResult)}
