"""Pick: the best variant that passes every budget -> RUN_DIR/release/, a bundle the iOS app loads as is."""

from __future__ import annotations

from pathlib import Path

from liteship.bench import BenchRecord
from liteship.bench import current_results
from liteship.errors import LiteshipError
from liteship.judge.budgets import Budgets
from liteship.judge.decision import PREFERENCES, Decision, decide
from liteship.judge.gate import VariantVerdict, gate
from liteship.judge.release import write_release


class NothingPasses(Exception):
    def __init__(self, decision: Decision):
        self.decision = decision
        self.misses: list[VariantVerdict] = [o.verdict for o in decision.misses]
        super().__init__("no variant passes every budget")


def pick(run_dir: str | Path, budgets: Budgets, prefer: str = "accuracy",
         records: list[BenchRecord] | None = None) -> tuple[Decision, Path]:
    """Decide (see :mod:`liteship.judge.decision`) and write the release bundle of the chosen variant.

    ``records``: the run's current results, when the caller has read them.
    """
    if prefer not in PREFERENCES:
        raise LiteshipError(f"--prefer {prefer!r} is not one of {', '.join(PREFERENCES)}", "", "pick one of those")
    run_dir = Path(run_dir)
    records = current_results(run_dir)[0] if records is None else records
    decision = decide(records, budgets, prefer, gate(run_dir, budgets, records=records))
    if decision.chosen is None:
        raise NothingPasses(decision)
    return decision, write_release(run_dir, decision, records)
