"""The one result record: one per (variant, backend, threads). Renderers only read it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds. ``p50`` is the median of round medians; ``ci`` its 95 % bootstrap interval."""

    init: float
    first: float
    p50: float
    p90: float
    p99: float
    mean: float
    std: float
    cv: float
    min: float
    runs: int
    rounds: int
    ci_low: float
    ci_high: float
    p90_ci: tuple[float, float] | None = None  # 95 % interval of p90 (rounds resampled)
    p99_ci: tuple[float, float] | None = None

    def interval(self, stat: str) -> tuple[float, float] | None:
        """The 95 % interval of ``stat`` (p50, p90 or p99), each its own."""
        return {"p50": (self.ci_low, self.ci_high), "p90": self.p90_ci, "p99": self.p99_ci}.get(stat)


@dataclass(frozen=True)
class BenchRecord:
    variant: str
    model: str | None  # the float model a variant came from (its run-directory folder)
    recipe: str | None
    arch: str | None
    alpha: float | None
    size: int | None
    backend: str
    threads: int | None
    runtime: str
    kind: str  # "run" (measured here), "count" (instructions on an emulated ISA) or "coverage" (op analysis only)
    status: str  # "ok" or "n/a"
    size_bytes: int
    gzip_bytes: int
    params: int | None
    sparsity: float | None
    latency_ms: LatencyStats | None = None
    top1: float | None = None
    top5: float | None = None
    agreement: float | None = None
    images: int | None = None
    per_class_top1: dict | None = None
    confusion: list | None = None
    peak_rss_mb: float | None = None
    arena_mb: float | None = None  # upper bound: every activation tensor, without the planner's reuse
    ops: dict | None = None
    delegated: float | None = None
    contract: dict | None = None
    compat: dict | None = None
    task_api: dict | None = None  # MediaPipe's ImageClassifier on the scored images: loaded, top1, agreement
    notes: tuple[str, ...] = ()
    system: dict = field(default_factory=dict)
    model_path: str = ""
    node: str | None = None  # the machine the numbers were measured on
    sha256: str | None = None  # of the .tflite bytes measured
    data: dict | None = None  # what accuracy was scored on: source, split, content_hash, images
    options: dict | None = None  # the bench options that decide the numbers (runs, rounds, ...)
    top1_ci: tuple[float, float] | None = None  # 95 % Wilson interval of top1
    correct: str | None = None  # "1"/"0" per image in the data's order: paired comparisons between variants
    instructions: dict | None = None  # per_invoke, first_invoke, isa, threads, by_op, tool, method
    emulation: dict | None = None  # ARM backends: the QEMU CPU model, MIDR and ISA features emulated
    reference_backend: str | None = None  # the backend the two below compare with: the registry's reference
    reference_agreement: float | None = None  # top-1 agreement with the same file on the reference backend
    reference_max_diff: float | None = None  # max |probability difference| vs the same file on it

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "BenchRecord":
        """A record from its JSON form; ValueError saying, in words, every key missing or of the wrong kind."""
        from liteship.config import check_mapping, describe

        if not isinstance(d, dict):
            raise ValueError(f"it holds {describe(d)}, not a JSON object")
        known = {f.name for f in fields(cls)}
        if isinstance(d, dict) and "xnnpack_agreement" in d:  # written before the backend registry named it
            d = {**d, "reference_backend": "xnnpack", "reference_agreement": d.get("xnnpack_agreement"),
                 "reference_max_diff": d.get("xnnpack_max_diff")}
        d = {k: v for k, v in d.items() if k in known}  # newer liteships may add keys: ignored
        problems: list = []
        if isinstance(d.get("latency_ms"), dict):
            lat = {k: tuple(v) if isinstance(v, list) else v for k, v in d["latency_ms"].items()}
            d["latency_ms"] = check_mapping(LatencyStats, lat, "latency_ms", problems, non_negative=False)
        for key in ("top1_ci",):
            if isinstance(d.get(key), list):
                d[key] = tuple(d[key])
        if "notes" in d and isinstance(d["notes"], list):
            d["notes"] = tuple(d["notes"])
        record = None if problems else check_mapping(cls, d, "the record", problems, non_negative=False)
        if problems:
            name = (lambda p: p.key if p.where == "the record" else f"{p.where}.{p.key}")
            missing = [name(p) for p in problems if p.given == "missing"]
            said = ([f"it lacks the key{'s' if len(missing) > 1 else ''} {', '.join(missing)}"] if missing else []) + \
                [f"{name(p)} = {p.given}: {p.allowed}" for p in problems if p.given != "missing"][:5]
            raise ValueError("; ".join(said))
        contradiction = record.contradiction()
        if contradiction:
            raise ValueError(f"it contradicts itself: {contradiction}")
        return record

    def contradiction(self) -> str | None:
        """What in the record disagrees with the record's own per-image results or statistics, or None."""
        if self.correct is not None:
            if set(self.correct) - {"0", "1"}:
                return "correct holds characters other than 0 and 1"
            if self.images is not None and self.images != len(self.correct):
                return f"images = {self.images}, but correct lists {len(self.correct)} images"
            if self.top1 is not None and self.correct and \
                    abs(self.top1 - self.correct.count("1") / len(self.correct)) > 1e-5:
                return (f"top1 = {self.top1}, but its per-image results give "
                        f"{self.correct.count('1')}/{len(self.correct)} = "
                        f"{self.correct.count('1') / len(self.correct):.6f}")
        if self.top1 is not None and self.top1_ci is not None and \
                not self.top1_ci[0] - 1e-6 <= self.top1 <= self.top1_ci[1] + 1e-6:
            return f"top1 = {self.top1} lies outside its own interval {list(self.top1_ci)}"
        lat = self.latency_ms
        if lat is not None and not (lat.min <= lat.p50 and lat.p90 <= lat.p99):
            return f"its latency percentiles are out of order (min {lat.min}, p50 {lat.p50}, p90 {lat.p90}, p99 {lat.p99})"
        return None

    @property
    def key(self) -> tuple:
        return (self.variant, self.backend, self.threads)


def to_json(records: list[BenchRecord]) -> str:
    return json.dumps([r.to_dict() for r in records], indent=2, sort_keys=True) + "\n"

