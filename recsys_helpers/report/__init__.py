"""What the report notebooks import: the set-up call, headline metrics and tables.

The pipeline that runs the notebooks and renders HTML and PDF is
:mod:`recsys_helpers.report.build` (``python -m recsys_helpers.report ...``).
"""

from recsys_helpers.report.metrics import (
    NOTEBOOK_NAME,
    ReportError,
    headline_table,
    load_metrics,
    markdown_table,
    read_timings,
    record_metrics,
    write_metrics_summary,
)
from recsys_helpers.report.notebook import (
    Study,
    grid_size,
    setup,
    smoke_subsample,
    user_sample,
)
from recsys_helpers.report.tables import frame_table

__all__ = [
    "NOTEBOOK_NAME",
    "ReportError",
    "Study",
    "frame_table",
    "grid_size",
    "headline_table",
    "load_metrics",
    "markdown_table",
    "read_timings",
    "record_metrics",
    "setup",
    "smoke_subsample",
    "user_sample",
    "write_metrics_summary",
]
