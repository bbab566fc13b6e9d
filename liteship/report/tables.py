"""The rows of the variants table, one per variant, from the record its verdicts judge: the budget's backend and
threads (a re-measured latency included). No new numbers: the change vs float comes from
:mod:`liteship.judge.baseline`, the Pareto front from :func:`liteship.judge.on_front`, the counts in millions from
:class:`~liteship.bench.Instructions`."""

from __future__ import annotations

from dataclasses import dataclass

from liteship.bench import BenchRecord
from liteship.judge import (drop_vs_float, drop_with_interval, is_predicted, latency_source, on_front, scored_record,
                            stands_in)


@dataclass(frozen=True)
class Row:
    model: str
    recipe: str
    variant: str
    top1: float | None
    drop: float | None  # float32's top-1 minus this one's, same model
    agreement: float | None
    size_kb: float
    gzip_kb: float
    p50_ms: float | None
    ci: tuple[float, float] | None
    sparsity: float | None
    front: bool
    top1_ci: tuple[float, float] | None = None
    drop_ci: tuple[float, float] | None = None  # 95 % interval of the drop (paired when the images are the same)
    instructions_m: float | None = None  # millions of x86 instructions per invoke (xnnpack, 1 thread, valgrind)
    arm_m: tuple[tuple[str, float], ...] = ()  # (ARM backend, millions of aarch64 instructions per invoke)
    backend: str = ""  # the record the row's top-1 and p50 come from: backend@threads
    latency_from: str = ""  # where its p50 comes from, in words: "this x86 CPU", "measured on iPhone 13", ...
    latency_how: str = "here"  # its p50: "here" (timed on this machine), "device" (a device's own tool, imported)
    # or "predicted" (from counts; ci: the 95 % prediction interval; not measured)

    @property
    def predicted(self) -> bool:
        return self.latency_how == "predicted"

    def arm(self, backend: str) -> float | None:
        return dict(self.arm_m).get(backend)


def primary(records: list[BenchRecord], backend: str | None = None, threads: int = 1) -> list[BenchRecord]:
    """One record per variant, by one rule whatever the file's order: the budget's backend and threads (the
    default budgets': the reference backend, 1 thread; an ARM count backend's own record when the budgets judge
    there; on a backend of predictions, the device's own measurement of a variant measured on it, as the budget
    judges it), else the registry's first run backend that measured it, fewest threads."""
    from liteship.bench import backends

    backend = backend or backends.reference().name
    runs = [r for r in records if r.status == "ok" and (r.kind.times or (r.backend, r.threads) == (backend, threads))]
    device = stands_in(records, backend, threads)  # judged where a backend of predictions has none of a variant
    best = {}
    for r in sorted(runs, key=lambda r: ((r.backend, r.threads) != (backend, threads) and device.get(r.variant) is not r,
                                         backends.rank(r.backend), r.threads or 0)):
        best.setdefault(r.variant, r)
    return [best[v] for v in dict.fromkeys(r.variant for r in runs)]


def rows(records: list[BenchRecord], budgets=None, judged: list[BenchRecord] = ()) -> list[Row]:
    """One row per variant, from the record the budgets judge (``budgets``: their backend and threads; None: the
    default budgets'), or ``judged``'s record of it: the one its verdicts judged, a re-measured latency included."""
    prim = primary(records, *((budgets.backend, budgets.threads) if budgets is not None else ()))
    mine = {r.variant: r for r in judged if r is not None}
    prim = [mine.get(r.variant, r) for r in prim]
    scored = {r.variant: scored_record(records, r) or r for r in prim}  # a device's times: top-1 scored here
    front = on_front([scored[r.variant] for r in prim])  # the judge's: each model's own size-vs-top-1 front
    out = []
    for r in prim:
        a = scored[r.variant]
        drop = drop_with_interval(a, records)
        out.append(Row(r.model or "-", r.recipe or "-", r.variant, a.top1, drop_vs_float(a, records), a.agreement,
                       round(r.size_bytes / 1024, 1), round(r.gzip_bytes / 1024, 1),
                       r.latency_ms.p50 if r.latency_ms else None,
                       r.latency_ms.interval("p50") if r.latency_ms else None, r.sparsity, r.variant in front,
                       a.top1_ci, (drop.low, drop.high) if drop else None, _instructions_m(r, records),
                       arm_counts(r.variant, records),
                       f"{r.backend}@{r.threads}" + ("" if a is r else f", top-1 {a.backend}@{a.threads}"),
                       latency_source(r) if r.latency_ms else "", latency_how(r)))
    return sorted(out, key=lambda row: (-(row.top1 or -1), row.size_kb))


def latency_how(r: BenchRecord) -> str:
    """Where a record's milliseconds come from, as a row says it: "here" (timed on this machine), "device" (measured
    on a device by its own tool, imported) or "predicted" (from counts, not measured)."""
    return "predicted" if is_predicted(r) else "here" if r.kind.here else "device"


def _instructions_m(record: BenchRecord, records: list[BenchRecord]) -> float | None:
    """The x86 count: the variant's reference-backend record at one thread (valgrind), the record that measured it."""
    from liteship.bench import backends

    ref = backends.reference().name
    counted = next((r.instructions for r in records if r.variant == record.variant and r.backend == ref
                    and r.threads == 1 and r.instructions and r.instructions.on_x86), None)
    return counted.millions if counted and counted.counted else None


def arm_counts(variant: str, records: list[BenchRecord]) -> tuple[tuple[str, float], ...]:
    """Each ARM backend's count of the variant, in millions of aarch64 instructions per invoke."""
    return tuple((r.backend, r.instructions.millions) for r in records
                 if r.variant == variant and r.kind.counts and r.status == "ok" and r.instructions
                 and r.instructions.counted)


def latency_where(rs: list[Row]) -> str:
    """Where the rows' p50s come from, in words: "on this x86 CPU", or each place ("measured on iPhone 13; predicted
    for ..., not measured") where a row's comes from elsewhere."""
    where = dict.fromkeys(r.latency_from for r in rs if r.p50_ms is not None and r.latency_from)
    return "; ".join(("on " if w.startswith("this ") else "") + w for w in where) or "not measured"
