"""The report in a notebook: the sections of ``report.html`` (the decision, the warnings, the plot, the variants
table, ...) as one HTML fragment, for the ``_repr_html_`` of a run, a decision and a release."""

from __future__ import annotations

from liteship.bench import BenchRecord
from liteship.judge import Decision, Finding
from liteship.report.document import html_fragment, Para, Section
from liteship.report.plots import plot_png
from liteship.report.sections import judged_on, report_sections

PARTS = ("decision", "warnings", "plots", "variants", "training", "backends", "classes", "machine")  # the sections' anchors


def notebook_html(records: list[BenchRecord], decision: Decision | None, findings: list[Finding] = (),
                  run_dir: str = "", parts: tuple[str, ...] | None = None, title: str = "liteship sweep") -> str:
    """An HTML fragment of the report ``report.html`` shows for the same records, decision and findings: the same
    sections with the same text and tables, the plot inline as a PNG drawn on a matplotlib Figure (the caller's
    backend and pyplot figures are left alone), the style scoped to one ``<div class='liteship-report'>``.
    ``parts``: the sections to show, by name (of :data:`PARTS`; a section with nothing to show, like ``classes``
    without per-class numbers, is left out), in the report's order; None: all."""
    unknown = sorted(set(parts or ()) - set(PARTS))
    if unknown:
        raise ValueError(f"no report section named {', '.join(map(repr, unknown))}; the sections: {', '.join(PARTS)}")
    png = plot_png(records, *judged_on(decision)) if parts is None or "plots" in parts else None
    sections = report_sections(records, decision, list(findings), png, run_dir)
    if parts is not None:
        sections = [s for s in sections if s.anchor in parts]
    css = "none" if decision is not None and decision.chosen is None else ""
    return html_fragment(title, sections, css)


def notice_html(title: str, text: str) -> str:
    """A fragment in the same scoped style holding one message where the decision goes, in the box of a decision
    that ships nothing: what a run that cannot be read now shows instead of its report."""
    return html_fragment(title, [Section("Decision", "decision", (Para(text),))], "none")
