"""report: Markdown, HTML and plots of a run's bench records. Renders numbers; computes none of its own."""

from liteship.report.tables import html_report, markdown, pareto_png, rows

__all__ = ["html_report", "markdown", "pareto_png", "rows"]
