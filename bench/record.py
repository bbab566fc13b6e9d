"""The one result record: one per (variant, backend, threads). Renderers only read it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

X86_64 = "x86_64"  # the instruction set valgrind counts on (this machine's), as `uname -m` spells it
AARCH64 = "aarch64"  # the phone's, counted under QEMU
_ISA_SPELLINGS = {"x86-64": X86_64, "x86_64": X86_64, "amd64": X86_64, "aarch64": AARCH64, "arm64": AARCH64}


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds. ``p50`` is the median of round medians; ``ci`` its 95 % bootstrap interval. A statistic a
    device's benchmark tool did not give (imported: ``BenchRecord.device``) is None, never made up."""

    init: float | None
    first: float | None
    p50: float
    p90: float | None
    p99: float | None
    mean: float | None
    std: float | None
    cv: float | None
    min: float | None
    runs: int | None
    rounds: int | None
    ci_low: float | None
    ci_high: float | None
    p90_ci: tuple[float, float] | None = None  # 95 % interval of p90 (rounds resampled)
    p99_ci: tuple[float, float] | None = None

    def interval(self, stat: str) -> tuple[float, float] | None:
        """The 95 % interval of ``stat`` (p50, p90 or p99), each its own."""
        p50 = None if self.ci_low is None or self.ci_high is None else (self.ci_low, self.ci_high)
        return {"p50": p50, "p90": self.p90_ci, "p99": self.p99_ci}.get(stat)


@dataclass(frozen=True)
class Instructions:
    """A variant's instructions per invoke on one instruction set, and how they were counted.

    Its JSON form (``results.jsonl``'s ``instructions``, a ``counts/<ID>.<kind>.json``'s count) keeps the keys it
    always had; :meth:`from_dict` reads every file liteship wrote, whichever way it spelt the ISA.
    """

    per_invoke: int  # instructions of one steady invoke (the third of three under valgrind; the mean under QEMU)
    isa: str = X86_64  # X86_64 or AARCH64
    first_invoke: int | None = None  # the first invoke's, which prepares the kernels
    threads: int = 1
    by_op: dict = field(default_factory=dict)  # kernel family (or the ops a kernel serves) -> instructions per invoke
    tool: dict = field(default_factory=dict)  # how it was counted: each tool's version (valgrind or QEMU, LiteRT ...)
    method: str | None = None  # what exactly was counted, in words
    by_kernel: list | None = None  # ARM: the top XNNPACK kernels, each {kernel, library, per_invoke, ops, ...}
    input: str | None = None  # ARM: what the counted invoke was fed

    def __post_init__(self):
        object.__setattr__(self, "isa", _ISA_SPELLINGS.get(self.isa, self.isa))

    @property
    def counted(self) -> bool:
        """A count of 0 would pass any instruction budget: it is never taken as a count."""
        return self.per_invoke > 0

    @property
    def millions(self) -> float:
        """Millions of instructions per invoke."""
        return self.per_invoke / 1e6

    @property
    def first_millions(self) -> float | None:
        """Millions of instructions of the first invoke."""
        return None if self.first_invoke is None else self.first_invoke / 1e6

    @property
    def on_x86(self) -> bool:
        return self.isa == X86_64

    @property
    def counted_by(self) -> str:
        """The counting tool and its version: "valgrind-3.22.0", "QEMU 8.2.2"."""
        tool = self.tool or {}
        return str(tool.get("valgrind") or (f"QEMU {tool['qemu']}" if tool.get("qemu") else "") or "")

    def formatted(self, spec: str = ".3f") -> str:
        """"12.345 M x86_64"."""
        from liteship.number_formats import millions

        return f"{millions(self.per_invoke, spec)} {self.isa}"

    def to_dict(self) -> dict:
        """The JSON form: the keys it always had (those of an ARM count only on an ARM count)."""
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None or k in ("first_invoke", "method")}

    @classmethod
    def from_dict(cls, d: dict, where: str = "instructions", problems: list | None = None) -> "Instructions | None":
        """From its JSON form; ``problems``: where each wrong key is said (else ValueError)."""
        from liteship.config import check_mapping

        found: list = [] if problems is None else problems
        known = {f.name for f in fields(cls)}
        built = check_mapping(cls, {k: v for k, v in d.items() if k in known} if isinstance(d, dict) else d, where,
                              found, non_negative=False)
        if problems is None and found:
            raise ValueError("; ".join(f"{p.where}.{p.key} = {p.given}: {p.allowed}" for p in found))
        return built


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
    kind: str  # its backend's kind (a backends.Kind, its name on disk: "run", "count", "coverage")
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
    instructions: Instructions | None = None  # counted on an ISA (its JSON form is taken too, and read into one)
    emulation: dict | None = None  # ARM backends: the QEMU CPU model, MIDR and ISA features emulated
    reference_backend: str | None = None  # the backend the two below compare with: the registry's reference
    reference_agreement: float | None = None  # top-1 agreement with the same file on the reference backend
    reference_max_diff: float | None = None  # max |probability difference| vs the same file on it
    count_failed: str | None = None  # a count asked of this record that failed, and why (valgrind's on the reference
    # backend's one-thread record; a count backend's own n/a record); None when counted, or not asked
    device: dict | None = None  # imported from a device (liteship device import): its provenance, and which of the
    # tool's statistics stands for p50, p90 and p99

    def __post_init__(self):
        from liteship.bench.backends import kind_of

        object.__setattr__(self, "kind", kind_of(self.kind))  # the one place a stored kind string is parsed
        if isinstance(self.instructions, dict):  # a count as its tool returns it, or as a counts file holds it
            object.__setattr__(self, "instructions", Instructions.from_dict(self.instructions) if self.instructions
                               else None)  # {}: no count, as it always read

    def to_dict(self) -> dict:
        d = asdict(self)
        d["instructions"] = self.instructions.to_dict() if self.instructions is not None else None
        return d

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
        if isinstance(d.get("instructions"), dict):
            d["instructions"] = Instructions.from_dict(d["instructions"], "instructions", problems) \
                if d["instructions"] else None
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
        if lat is not None and not ((lat.min is None or lat.min <= lat.p50) and
                                    (lat.p90 is None or lat.p99 is None or lat.p90 <= lat.p99)):
            return f"its latency percentiles are out of order (min {lat.min}, p50 {lat.p50}, p90 {lat.p90}, p99 {lat.p99})"
        return None

    @property
    def key(self) -> tuple:
        return (self.variant, self.backend, self.threads)


def to_json(records: list[BenchRecord]) -> str:
    return json.dumps([r.to_dict() for r in records], indent=2, sort_keys=True) + "\n"

