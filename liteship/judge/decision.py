"""The decision: which variant ships under the budgets in force, why, and what the alternatives trade.

``pick`` makes it and writes the release; the sweep makes it too (without
re-measuring anything) so that its report opens with the variant ``pick``
would choose. Renderers only format the numbers held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liteship.bench import BenchRecord, backends
from liteship.errors import LiteshipError
from liteship.judge.baseline import drop_with_interval, same_images
from liteship.judge.budgets import Budgets, budget_record, judged_latency, predicted, scored_record
from liteship.judge.phone_verdicts import stale
from liteship.judge.gate import VariantVerdict
from liteship.judge.runtime_target import in_force, refused, with_runtime_verdicts
from liteship.stats import paired

PREFERENCES = ("accuracy", "size", "latency", "instructions")
BEST = {"accuracy": "most accurate", "size": "smallest", "latency": "fastest",
        "instructions": "fewest instructions per invoke on the budget's backend"}  # the words for each preference


def on_front(records: list[BenchRecord]) -> frozenset[str]:
    """The variants on their own model's size-vs-top-1 Pareto front (a small model does not hide a big one's): no
    other variant of the model is at least as small and at least as accurate, and better in one. ``records``: one
    per variant (the record a table shows); a top-1 not measured is the worst."""
    out = set()
    for model in dict.fromkeys(r.model for r in records):
        points = {r.variant: (r.size_bytes, r.top1 if r.top1 is not None else -1.0) for r in records
                  if r.model == model}
        out.update(v for v, (size, acc) in points.items()
                   if not any(s <= size and a >= acc and (s < size or a > acc) for w, (s, a) in points.items() if w != v))
    return frozenset(out)


def shown_record(records: list[BenchRecord], decision: "Decision | None") -> BenchRecord | None:
    """The record whose per-class results a report shows: the chosen variant's, on the budgets' backend and threads
    where measured there; with no variant chosen (no decision, or none passes), the most accurate variant's (the
    first of equals). Only timed records with per-class results count; None when there are none."""
    runs = [r for r in records if r.kind.times and r.status == "ok" and r.per_class_top1]
    if not runs:
        return None
    chosen = decision.chosen.variant if decision is not None and decision.chosen is not None else None
    if chosen is None or not any(r.variant == chosen for r in runs):
        chosen = max(runs, key=lambda r: r.top1 or 0).variant
    mine = [r for r in runs if r.variant == chosen]
    b = decision.budgets if decision is not None else None
    return next((r for r in mine if b is not None and (r.backend, r.threads) == (b.backend, b.threads)), mine[0])


@dataclass(frozen=True)
class Option:
    """One variant as the decision weighs it: the numbers of its budget record."""

    verdict: VariantVerdict
    top1: float | None
    top1_ci: tuple[float, float] | None
    drop: float | None  # vs float32 of the same model, on the budget's backend
    drop_ci: tuple[float, float] | None
    size_bytes: int
    latency_ms: float | None  # the budget's statistic, backend and threads
    latency_ci: tuple[float, float] | None
    delegated: dict  # coverage backend -> share of ops the delegate takes
    instructions: int | None = None  # per invoke, on the budget's backend (x86 under valgrind, or an ARM ISA)
    isa: str | None = None  # which instruction set counted them
    phone: dict = field(default_factory=dict)  # ARM count backend -> aarch64 instructions per invoke
    record: BenchRecord | None = field(default=None, compare=False, repr=False)  # the budget record it weighs
    stale: bool = False  # its record is a prediction made before its count or its measurements changed

    @property
    def variant(self) -> str:
        return self.verdict.variant

    def failing(self) -> list[str]:
        return [v.message for v in self.verdict.verdicts if not v.passed]

    @property
    def ranked_latency(self) -> float | None:
        """What ``--prefer latency`` ranks on: the budget's statistic, or, for a prediction, the upper end of its
        95 % interval, as its budget is judged (None, ranked last, when it holds no interval or is stale)."""
        if self.stale:
            return None
        return judged_latency(self.record, "p50")[0] if predicted(self.record) and self.latency_ms is not None \
            else self.latency_ms


@dataclass(frozen=True)
class Alternative:
    option: Option
    why_listed: str  # "next by accuracy", "smallest that passes", ...
    size_change: float  # bytes vs the chosen one, relative (-0.4 = 40 % smaller)
    top1_change: float | None  # accuracy vs the chosen one (-0.01 = 1 pt worse)
    latency_change: float | None  # relative


@dataclass(frozen=True)
class Tie:
    """Variants whose top-1 the paired test cannot separate from the most accurate one's: ranked by what comes next."""

    best: str  # the most accurate by the digits
    tied: tuple[str, ...]  # every variant tied with it (itself included), in the order the tie ranks them
    by: str  # what broke the tie: "aarch64 instructions per invoke on arm64-a15, then size", or "size"
    images: int  # the images they were paired on
    names: dict = field(default_factory=dict, compare=False)  # variant -> "model recipe", for people

    def describe(self) -> str:
        name = (lambda v: f"{self.names[v]} (`{v}`)" if v in self.names else f"`{v}`")
        others = [name(v) for v in self.tied if v != self.best]
        return (f"By top-1, {', '.join(others)} cannot be told from the most accurate, {name(self.best)}: the 95 % "
                f"paired interval of each difference holds 0 on {self.images} images. Tied, they are ranked by "
                f"{self.by}: {', '.join(name(v) for v in self.tied)}.")


@dataclass(frozen=True)
class Decision:
    budgets: Budgets
    prefer: str
    made_by: str  # "pick" (the release was written) or "sweep" (what pick would choose)
    chosen: Option | None
    alternatives: tuple[Alternative, ...]
    misses: tuple[Option, ...]  # when nothing passes: the closest, with what each lacks
    total: int  # variants judged
    tie: Tie | None = None  # --prefer accuracy: the variants the paired test cannot tell from the most accurate
    uncounted: tuple[str, ...] = ()  # --prefer instructions: passing variants with no count, ranked last
    ranked_on: str = ""  # --prefer latency on predictions: what it ranked on, in words ("" for a statistic alone)
    target_said: str = ""  # where the target runtime judged came from, when not only the budgets ("": nothing to say)
    left_out: tuple[tuple[str, str], ...] = ()  # (variant, why) for each the target runtime refuses

    @property
    def target_sentence(self) -> str:
        """``target_said`` as a sentence of its own, for the report and MODEL.md ("": nothing to say)."""
        return f"{self.target_said[0].upper()}{self.target_said[1:]}." if self.target_said else ""


def option(vv: VariantVerdict, records: list[BenchRecord], budgets: Budgets) -> Option:
    recs = [r for r in records if r.variant == vv.variant]
    run = vv.judged or budget_record(budgets, recs, records)  # the record the verdicts judged, a re-measure included
    if run is not None and run.backend != budgets.backend:  # accuracy's record, scored here for a device's times
        run = budget_record(budgets, recs, records)  # (or the device's measurement, where a prediction has none)
    acc = scored_record(recs, run, budgets)  # a device's imported times have no accuracy: the reference's
    drop = drop_with_interval(acc, records)
    lat = run.latency_ms if run is not None else None
    return Option(vv, acc.top1 if acc else None, acc.top1_ci if acc else None, drop.value if drop else None,
                  (drop.low, drop.high) if drop else None, recs[0].size_bytes,
                  getattr(lat, budgets.latency_stat) if lat else None, lat.interval(budgets.latency_stat) if lat else None,
                  {r.backend: r.delegated for r in recs if r.kind.analyses and r.status == "ok"
                   and r.delegated is not None},
                  run.instructions.per_invoke if run and run.instructions and run.instructions.counted else None,
                  run.instructions.isa if run and run.instructions else None,
                  {r.backend: r.instructions.per_invoke for r in recs if r.kind.counts and r.status == "ok"
                   and r.instructions and r.instructions.counted}, run, stale(run, records) is not None)


def rank(prefer: str, o: Option) -> tuple:
    top1 = o.top1 if o.top1 is not None else -1.0
    latency = o.ranked_latency if o.ranked_latency is not None else float("inf")
    if prefer == "size":
        return (o.size_bytes, -top1, latency)
    if prefer == "latency":
        return (latency, -top1, o.size_bytes)
    if prefer == "instructions":  # the budget backend's count, fewest first
        return (o.instructions if o.instructions is not None else float("inf"), -top1, o.size_bytes)
    return (-top1, o.size_bytes, latency)


def _alternative(o: Option, chosen: Option, why: str) -> Alternative:
    rel = (lambda a, b: None if a is None or b is None or not b else round(a / b - 1, 6))
    return Alternative(o, why, rel(o.size_bytes, chosen.size_bytes),
                       None if o.top1 is None or chosen.top1 is None else round(o.top1 - chosen.top1, 6),
                       rel(o.latency_ms, chosen.latency_ms))


def _alternatives(passing: list[Option], chosen: Option, prefer: str) -> tuple[Alternative, ...]:
    """The next two by the same preference, then the smallest, the fastest and the most accurate that pass."""
    rest = sorted((o for o in passing if o is not chosen), key=lambda o: rank(prefer, o))
    listed: dict[str, Alternative] = {}
    for o in rest[:2]:
        listed[o.variant] = _alternative(o, chosen, f"next by {prefer}")
    for pref, why in (("size", "smallest that passes"), ("latency", "fastest that passes"),
                      ("accuracy", "most accurate that passes")):
        best = min(passing, key=lambda o: rank(pref, o))
        if best is not chosen and best.variant not in listed:
            listed[best.variant] = _alternative(best, chosen, why)
    return tuple(listed.values())


def _inseparable(a: Option, b: Option) -> bool:
    """The paired test cannot tell ``a``'s top-1 from ``b``'s: scored on the same images, and the 95 % interval of
    the difference holds 0. Records on other images are never called tied: their digits are all there is."""
    ra, rb = a.record, b.record
    if ra is None or rb is None or not same_images(ra, rb):
        return False
    bits = [np.frombuffer(r.correct.encode(), np.uint8) - ord("0") for r in (ra, rb)]
    p = paired(*bits)
    return p.low <= 0 <= p.high


def _tie(passing: list[Option], best: Option) -> Tie | None:
    """The variants tied with the most accurate, ranked by the phone's cost where every one of them was counted
    (aarch64 instructions on an ARM backend, the registry's first), then size, then latency."""
    tied = [best, *(o for o in passing if o is not best and _inseparable(o, best))]
    if len(tied) < 2:
        return None
    arm = next((b for b in backends.names(lambda b: b.kind.counts) if all(b in o.phone for o in tied)), None)
    latency = (lambda o: o.ranked_latency if o.ranked_latency is not None else float("inf"))
    tied.sort(key=lambda o: (o.phone[arm] if arm else 0, o.size_bytes, latency(o)))
    by = (f"the fewest aarch64 instructions per invoke on {arm} (the phone's instruction set), then the smaller file"
          if arm else "the smaller file (no ARM count covers them all)")
    return Tie(best.variant, tuple(o.variant for o in tied), by, best.record.images or len(best.record.correct),
               {o.variant: f"{o.verdict.model} {o.verdict.recipe}" for o in tied})


def prefer_problem(budgets: Budgets, prefer: str, records: list[BenchRecord]) -> str | None:
    """Why ``prefer`` cannot rank these records: ``instructions`` with no count on the budget's backend."""
    if prefer != "instructions" or any(
            r.backend == budgets.backend and r.threads == budgets.threads and r.status == "ok"
            and r.instructions and r.instructions.counted for r in records):
        return None
    return (f"--prefer instructions ranks by the instruction count on the budget's backend ({budgets.backend}, "
            f"{budgets.threads} thread(s)), and no record there holds one")


PREFER_FIX = ("count them (liteship bench RUN_DIR --instructions, or an arm64-* backend), set [budgets] backend to a "
              "backend that counted them, or --prefer accuracy, size or latency")


def decide(records: list[BenchRecord], budgets: Budgets, prefer: str, verdicts: list[VariantVerdict],
           made_by: str = "pick") -> Decision:
    """The variant ``prefer`` ranks first among those passing every budget (ties: smaller, then faster).

    Under ``accuracy``, variants whose top-1 the paired test cannot tell from the most accurate one's are tied,
    and the tie goes to the phone's cost where it was counted, then size (``Decision.tie`` says so): the decision
    never ranks by digits its own intervals cannot separate.

    The target runtime the run's bench recorded counts as if the budgets declared it (they win when they declare
    another): a variant it refuses is never chosen nor listed, and ``Decision.left_out`` says which and why.
    """
    why = prefer_problem(budgets, prefer, records)
    if why is not None:
        raise LiteshipError(why, "nothing would rank the variants: the choice would be silent", PREFER_FIX)
    budgets, target_said = in_force(budgets, records)
    verdicts = with_runtime_verdicts(verdicts, budgets, records)
    left_out = refused(verdicts)
    options = [option(vv, records, budgets) for vv in verdicts]
    passing = [o for o in options if o.verdict.passed]
    if not passing:
        misses = sorted(options, key=lambda o: (o.verdict.worst_margin, rank(prefer, o)))[:3]
        return Decision(budgets, prefer, made_by, None, (), tuple(misses), len(options), target_said=target_said,
                        left_out=left_out)
    chosen = min(passing, key=lambda o: rank(prefer, o))
    tie = _tie(passing, chosen) if prefer == "accuracy" else None
    if tie is not None:
        chosen = next(o for o in passing if o.variant == tie.tied[0])
    uncounted = tuple(o.variant for o in passing if o.instructions is None) if prefer == "instructions" else ()
    return Decision(budgets, prefer, made_by, chosen, _alternatives(passing, chosen, prefer), (), len(options), tie,
                    uncounted, ranked_on(options, budgets) if prefer == "latency" else "", target_said, left_out)


def ranked_on(options: list[Option], budgets: Budgets) -> str:
    """What --prefer latency ranks predictions on, in words; "" when no option is a prediction."""
    if not any(predicted(o.record) for o in options):
        return ""
    stand_in = {o.record.backend for o in options if o.record is not None and o.record.backend != budgets.backend}
    return (f"ranked on the upper end of each prediction's 95 % interval on {budgets.backend} (predicted from "
            "instruction counts, not measured), as its budget is judged"
            + (f"; a variant measured on the device, on its measured median ({', '.join(sorted(stand_in))})"
               if stand_in else ""))
