"""The decision: which variant ships under the budgets in force, why, and what the alternatives trade.

``pick`` makes it and writes the release; the sweep makes it too (without
re-measuring anything) so that its report opens with the variant ``pick``
would choose. Renderers only format the numbers held here.
"""

from __future__ import annotations

from dataclasses import dataclass

from liteship.bench import BenchRecord
from liteship.judge.baseline import drop_with_interval
from liteship.judge.budgets import Budgets, budget_record
from liteship.judge.gate import VariantVerdict

PREFERENCES = ("accuracy", "size", "latency", "instructions")
BEST = {"accuracy": "most accurate", "size": "smallest", "latency": "fastest",
        "instructions": "fewest instructions per invoke on the budget's backend"}  # the words for each preference


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

    @property
    def variant(self) -> str:
        return self.verdict.variant

    def failing(self) -> list[str]:
        return [v.message for v in self.verdict.verdicts if not v.passed]


@dataclass(frozen=True)
class Alternative:
    option: Option
    why_listed: str  # "next by accuracy", "smallest that passes", ...
    size_change: float  # bytes vs the chosen one, relative (-0.4 = 40 % smaller)
    top1_change: float | None  # accuracy vs the chosen one (-0.01 = 1 pt worse)
    latency_change: float | None  # relative


@dataclass(frozen=True)
class Decision:
    budgets: Budgets
    prefer: str
    made_by: str  # "pick" (the release was written) or "sweep" (what pick would choose)
    chosen: Option | None
    alternatives: tuple[Alternative, ...]
    misses: tuple[Option, ...]  # when nothing passes: the closest, with what each lacks
    total: int  # variants judged


def option(vv: VariantVerdict, records: list[BenchRecord], budgets: Budgets) -> Option:
    recs = [r for r in records if r.variant == vv.variant]
    run = vv.judged or budget_record(budgets, recs)  # the record the verdicts judged, a re-measure included
    drop = drop_with_interval(run, records)
    lat = run.latency_ms if run is not None else None
    return Option(vv, run.top1 if run else None, run.top1_ci if run else None, drop.value if drop else None,
                  (drop.low, drop.high) if drop else None, recs[0].size_bytes,
                  getattr(lat, budgets.latency_stat) if lat else None, lat.interval(budgets.latency_stat) if lat else None,
                  {r.backend: r.delegated for r in recs if r.kind == "coverage" and r.status == "ok"
                   and r.delegated is not None},
                  (run.instructions or {}).get("per_invoke") or None if run else None,
                  (run.instructions or {}).get("isa") if run else None)


def rank(prefer: str, o: Option) -> tuple:
    top1 = o.top1 if o.top1 is not None else -1.0
    latency = o.latency_ms if o.latency_ms is not None else float("inf")
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


def decide(records: list[BenchRecord], budgets: Budgets, prefer: str, verdicts: list[VariantVerdict],
           made_by: str = "pick") -> Decision:
    """The variant ``prefer`` ranks first among those passing every budget (ties: smaller, then faster)."""
    options = [option(vv, records, budgets) for vv in verdicts]
    passing = [o for o in options if o.verdict.passed]
    if not passing:
        misses = sorted(options, key=lambda o: (o.verdict.worst_margin, rank(prefer, o)))[:3]
        return Decision(budgets, prefer, made_by, None, (), tuple(misses), len(options))
    chosen = min(passing, key=lambda o: rank(prefer, o))
    return Decision(budgets, prefer, made_by, chosen, _alternatives(passing, chosen, prefer), (), len(options))
