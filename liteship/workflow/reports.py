"""A run's three report files: report.md, report.html and pareto.png, with the decision they open with."""

from __future__ import annotations

from pathlib import Path

from liteship.bench import BenchRecord
from liteship.files import atomic_write_bytes, atomic_write_text
from liteship.rundir import PARETO, REPORT_HTML, REPORT_MD, REPORTS, writing


def write_reports(out: Path, records: list[BenchRecord], decision=None) -> None:
    """report.md, report.html and pareto.png; without ``decision``, what pick would choose with the default budgets."""
    from liteship.judge import DEFAULT_BUDGETS, gate
    from liteship.judge import decide
    from liteship.judge import findings
    from liteship.report import build

    with writing(out, REPORTS):  # a run liteship made, held while read and written (a sweep's or pick's re-entered)
        if decision is None and records:
            verdicts = gate(out, DEFAULT_BUDGETS, remeasure=False, records=records)
            decision = decide(records, DEFAULT_BUDGETS, "accuracy", verdicts, made_by="sweep")
        budgets = decision.budgets if decision is not None else DEFAULT_BUDGETS
        report = build(records, decision, findings(records, budgets, str(out), decision), str(out))
        if report.png is not None:
            atomic_write_bytes(Path(out) / PARETO, report.png)
        atomic_write_text(Path(out) / REPORT_MD, report.markdown)
        atomic_write_text(Path(out) / REPORT_HTML, report.html)
