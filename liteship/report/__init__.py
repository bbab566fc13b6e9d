"""report: Markdown, HTML and plots of a run's bench records. Renders numbers; computes none of its own."""

from liteship.report.build import Report, build
from liteship.report.tables import rows

__all__ = ["Report", "build", "rows"]
