"""What the report notebooks import: headline metrics and small tables.

The pipeline that runs the notebooks and renders HTML and PDF is
:mod:`recsys_helpers.report.build` (``python -m recsys_helpers.report ...``).
"""

from recsys_helpers.report.metrics import (
    NOTEBOOK_NAME,
    ReportError,
    headline_table,
    load_metrics,
    markdown_table,
    record_metrics,
    write_metrics_summary,
)

__all__ = [
    "NOTEBOOK_NAME",
    "ReportError",
    "headline_table",
    "load_metrics",
    "markdown_table",
    "record_metrics",
    "write_metrics_summary",
]
