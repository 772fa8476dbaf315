"""Data frames as Markdown tables, so that the HTML page and the PDF both typeset them.

A pandas ``Styler`` renders as HTML only: the PDF route (pandoc, LaTeX) prints its
``repr``, ``<pandas.io.formats.style.Styler at 0x…>``. Notebooks therefore show every table
as Markdown::

    display(Markdown(report.frame_table(comparison, {"test_rmse": "{:.4f}"})))
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recsys_helpers.report.metrics import _format_value, markdown_table

__all__ = ["MISSING", "frame_table"]

MISSING = "—"
"""What a missing value (None, NaN, NA) shows as."""

Format = str | Callable[[Any], str]


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#])")


def _cell(value: Any, style: Format | None) -> str:
    if _is_missing(value):
        return MISSING
    if isinstance(value, np.generic):
        value = value.item()
    if style is not None:  # the caller's text, Markdown included
        return style(value) if callable(style) else style.format(value)
    if isinstance(value, str):  # a title like "*batteries not included" stays literal
        return _MARKDOWN_SPECIAL.sub(r"\\\1", value)
    return _format_value(value)


def frame_table(
    frame: pd.DataFrame,
    formats: Mapping[str, Format] | None = None,
    *,
    columns: Sequence[str] | None = None,
    index: bool = False,
    header: Mapping[str, str] | None = None,
) -> str:
    """A data frame as a Markdown table (:func:`~recsys_helpers.report.markdown_table`).

    Parameters
    ----------
    frame : DataFrame
        The table; one Markdown row per row, in order.
    formats : mapping of column name to format, optional
        A ``str.format`` pattern (``"{:.4f}"``, ``"{:.1%}"``, ``"{:,}"``) or a function of
        the value returning text. Other columns use the default number format (4
        significant digits, thousands separators for integers) or ``str``.
    columns : sequence of str, optional
        Columns to show, in this order; default all.
    index : bool, default False
        Show the index as the first column (titled with the index's name).
    header : mapping of column name to title, optional
        Column titles other than the column names.

    Returns
    -------
    str
        The Markdown table; numeric columns right-aligned, missing values as
        :data:`MISSING`.

    Raises
    ------
    KeyError
        A column named in ``columns`` or ``formats`` is not in the frame.
    """
    shown = frame[list(columns)] if columns is not None else frame
    formats = dict(formats or {})
    unknown = sorted(set(formats) - set(shown.columns))
    if unknown:
        raise KeyError(f"frame_table: formats for column(s) {unknown} not in the table")
    if index:
        shown = shown.reset_index()
    titles = dict(header or {})
    names = [str(titles.get(column, column)) for column in shown.columns]
    align = "".join(
        "r"
        if pd.api.types.is_numeric_dtype(shown[column])
        and not pd.api.types.is_bool_dtype(shown[column])
        else "l"
        for column in shown.columns
    )
    rows = [
        [
            _cell(value, formats.get(column))
            for column, value in zip(shown.columns, row, strict=True)
        ]
        for row in shown.itertuples(index=False, name=None)
    ]
    return markdown_table(rows, header=names, align=align)
