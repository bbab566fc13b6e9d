"""report: Markdown, HTML and plots of a run's bench records. Renders numbers; computes none of its own."""

from liteship.report.build import build, Report
from liteship.report.tables import rows
from liteship.report.compare import markdown
from liteship.report.notebook import notebook_html
from liteship.report.terminal import bench_table, sweep_summary
from liteship.report.verdicts import junit_xml, markdown_summary

__all__ = ["bench_table", "build", "junit_xml", "markdown", "markdown_summary", "notebook_html", "Report", "rows",
           "sweep_summary"]
