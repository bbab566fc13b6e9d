"""A run's report: report.md, report.html and pareto.png from its records, the decision and the findings."""

from __future__ import annotations

from dataclasses import dataclass

from liteship.bench import BenchRecord
from liteship.judge import Decision
from liteship.judge import Finding
from liteship.report.document import html_page, markdown
from liteship.report.plots import plot_png
from liteship.report.sections import judged_on, report_sections


@dataclass(frozen=True)
class Report:
    markdown: str
    html: str
    png: bytes | None


def build(records: list[BenchRecord], decision: Decision | None, findings: list[Finding], run_dir: str,
          title: str = "liteship sweep") -> Report:
    png = plot_png(records, *judged_on(decision))
    sections = report_sections(records, decision, findings, png, run_dir)
    css = "none" if decision is not None and decision.chosen is None else ""
    return Report(markdown(title, sections), html_page(title, sections, css), png)
