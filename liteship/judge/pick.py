"""Pick: the best variant that passes every budget -> RUN_DIR/release/, a bundle the iOS app loads as is."""

from __future__ import annotations

from pathlib import Path

from liteship.bench.run import current_results
from liteship.errors import LiteshipError
from liteship.judge.budgets import Budgets, budget_record
from liteship.judge.gate import VariantVerdict, gate
from liteship.judge.release import write_release


class NothingPasses(Exception):
    def __init__(self, misses: list[VariantVerdict]):
        self.misses = misses
        super().__init__("no variant passes every budget")


def _rank(prefer: str, vv: VariantVerdict, records, budgets: Budgets) -> tuple:
    """Rank on the budget's record (its backend and threads, its latency statistic): the numbers judged."""
    recs = [r for r in records if r.variant == vv.variant]
    run = budget_record(budgets, recs)
    top1 = run.top1 if run is not None and run.top1 is not None else -1.0
    size = recs[0].size_bytes
    latency = getattr(run.latency_ms, budgets.latency_stat) if run is not None and run.latency_ms else float("inf")
    if prefer == "size":
        return (size, -top1, latency)
    if prefer == "latency":
        return (latency, -top1, size)
    return (-top1, size, latency)


def pick(run_dir: str | Path, budgets: Budgets, prefer: str = "accuracy") -> tuple[VariantVerdict, Path]:
    if prefer not in ("accuracy", "size", "latency"):
        raise LiteshipError(f"--prefer {prefer!r} is not one of accuracy, size, latency", "", "pick one of those")
    run_dir = Path(run_dir)
    records, _ = current_results(run_dir)
    results = gate(run_dir, budgets, records=records)
    passing = [vv for vv in results if vv.passed]
    if not passing:
        raise NothingPasses(sorted(results, key=lambda vv: vv.worst_margin)[:3])
    chosen = min(passing, key=lambda vv: _rank(prefer, vv, records, budgets))
    return chosen, write_release(run_dir, chosen, records, budgets, prefer)


