"""Headline metrics: each notebook records its numbers; the report gathers them.

Notebooks call :func:`record_metrics` in their last cell, which writes
``<report>/metrics/<notebook>.json``; :func:`write_metrics_summary` gathers those files
into ``<report>/metrics.json`` and the Markdown table ``<report>/headline.md``.
:func:`markdown_table` is also how notebooks print small tables of numbers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recsys_helpers import atomic, config
from recsys_helpers.errors import RecsysError

__all__ = [
    "NOTEBOOK_NAME",
    "ReportError",
    "headline_table",
    "load_metrics",
    "markdown_table",
    "read_timings",
    "record_metrics",
    "write_metrics_summary",
]

logger = logging.getLogger(__name__)

TIMINGS_FILE = "timings.json"
"""Wall time of each executed notebook, written by the pipeline beside the executed copies."""

NOTEBOOK_NAME = re.compile(r"^(?P<number>\d\d)_(?P<slug>[a-z0-9_]+)$")
"""Stem of a report notebook: two digits, an underscore, a lower-case slug."""


class ReportError(RecsysError):
    """A notebook failed to run, or the report could not be rendered."""


def _check_notebook_name(name: str) -> str:
    if not isinstance(name, str) or not NOTEBOOK_NAME.match(name):
        raise ValueError(
            f"notebook={name!r} must be a notebook stem like '01_data_and_eda' "
            f"(pattern {NOTEBOOK_NAME.pattern})"
        )
    return name


def _json_scalar(key: str, value: Any) -> float | int | str | bool | None:
    """A JSON-ready copy of one metric value (numpy scalars unwrapped, NaN as null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise ValueError(
        f"metric {key!r}: value {value!r} of type {type(value).__name__} is not a number, "
        "string, bool or None"
    )


def record_metrics(
    notebook: str,
    metrics: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any] | None = None,
    folder: str | os.PathLike | None = None,
) -> Path:
    """Save a notebook's headline metrics as ``<folder>/metrics/<notebook>.json``.

    Call it in the last cell of every report notebook. The file holds
    ``{"notebook": ..., "parameters": {...}, "metrics": {...}}``, keys in the order given.

    Parameters
    ----------
    notebook : str
        The notebook's stem, e.g. ``"01_data_and_eda"``.
    metrics : mapping of str to scalar
        Headline numbers (int, float, str, bool or None; numpy scalars are accepted).
        Non-finite floats are stored as ``null``.
    parameters : mapping of str to scalar, optional
        The notebook's parameters (dataset, seed, smoke ...), recorded for provenance.
    folder : path-like, optional
        Report folder; defaults to :func:`report_dir`.

    Returns
    -------
    pathlib.Path
        The JSON file written.
    """
    _check_notebook_name(notebook)
    record = {
        "notebook": notebook,
        "parameters": {str(k): _json_scalar(k, v) for k, v in (parameters or {}).items()},
        "metrics": {str(k): _json_scalar(k, v) for k, v in metrics.items()},
    }
    if not record["metrics"]:
        raise ValueError(f"record_metrics: no metrics given for {notebook!r}")
    out_dir = Path(folder) if folder is not None else config.report_dir()
    path = out_dir / "metrics" / f"{notebook}.json"
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    atomic.write_bytes(path, text.encode("utf-8"))
    logger.info("recorded %d metrics of %s in %s", len(record["metrics"]), notebook, path)
    return path


def load_metrics(
    folder: str | os.PathLike | None = None, notebooks: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Every ``metrics/NN_name.json`` under the report folder, by notebook, in name order.

    With ``notebooks`` (stems such as ``"02_biases"``), only those notebooks' files: a file
    left by a notebook that was renamed or removed since is skipped (and logged).

    Raises
    ------
    ReportError
        If a file is not valid JSON or lacks the ``metrics`` mapping (the message names it).
    """
    out_dir = Path(folder) if folder is not None else config.report_dir()
    records = {}
    wanted = None if notebooks is None else set(notebooks)
    for path in sorted((out_dir / "metrics").glob("*.json")):
        if wanted is not None and path.stem not in wanted:
            logger.info("%s: skipped, not one of the report's notebooks", path)
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ReportError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict):
            raise ReportError(f"{path}: expected an object with a 'metrics' object")
        records[path.stem] = record
    return records


def _format_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


_LINE_CHARACTERS = 80
"""Characters of body text across the page, for :func:`_column_widths`."""


def _column_widths(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[int]:
    """Relative column widths for a table's separator line, in dashes.

    Each column is as wide as its widest cell; then every column is widened to at least
    the share of the page its longest word needs (so that "rank" or a number never breaks
    when titles take the rest of a wide table).
    """
    columns = [[str(h), *(row[k] for row in body)] for k, h in enumerate(header)]
    widths = [max(3, *(len(cell) for cell in column)) for column in columns]
    longest_word = [max(len(word) for cell in c for word in (cell.split() or [""])) for c in columns]
    shares = [(word + 2) / _LINE_CHARACTERS for word in longest_word]
    floored = widths
    for _ in range(5):  # widening a column widens the table: settle in a few rounds
        total = sum(floored)
        floored = [max(w, math.ceil(total * f)) for w, f in zip(widths, shares, strict=True)]
    return floored


def _rule(align: str, width: int) -> str:
    """One column of the separator line: as many dashes as the column is wide, with colons."""
    dashes = "-" * max(3, width)
    if align == "l":
        dashes = ":" + dashes[1:]
    elif align == "r":
        dashes = dashes[1:] + ":"
    elif align == "c":
        dashes = ":" + dashes[2:] + ":"
    return f" {dashes} "


def markdown_table(
    rows: Sequence[Sequence[Any]], header: Sequence[str], *, align: str | None = None
) -> str:
    """A GitHub-flavoured Markdown table (numbers formatted to 4 significant digits).

    Notebooks display tables through this so that HTML and PDF both typeset them.

    Parameters
    ----------
    rows : sequence of sequences
        Cell values, one inner sequence per row, as long as ``header``.
    header : sequence of str
        Column titles.
    align : str, optional
        One letter per column: ``l`` (left), ``r`` (right), ``c`` (centre) or ``-`` (the
        renderer's default). With it, the separator gives each column as many dashes as its
        widest cell, and at least what its longest word needs: pandoc makes these the
        relative widths of a table too wide for the page (long titles get room, numbers
        little, none breaks). None leaves every column at the default, ``---``.
    """
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ValueError(
                f"markdown_table: row {number} has {len(row)} cells, header {len(header)}"
            )
    if align is not None and (len(align) != len(header) or set(align) - set("lrc-")):
        raise ValueError(
            f"markdown_table: align={align!r} needs one of l, r, c, - per column "
            f"({len(header)} columns)"
        )
    body = [[_format_value(v).replace("|", r"\|") for v in row] for row in rows]
    if align is None:
        rule = "|" + "|".join(" --- " for _ in header) + "|"
    else:
        widths = _column_widths(header, body)
        rule = "|" + "|".join(_rule(a, w) for a, w in zip(align, widths, strict=True)) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def headline_table(records: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table of every notebook's metrics: ``notebook | metric | value``.

    Parameters
    ----------
    records : mapping
        As returned by :func:`load_metrics`.
    """
    rows = []
    for notebook, record in records.items():
        dataset = record.get("parameters", {}).get("dataset")
        label = f"{notebook} ({dataset})" if dataset else notebook
        for metric, value in record["metrics"].items():
            rows.append((label, metric, value))
    return markdown_table(rows, header=("notebook", "metric", "value"))


def read_timings(folder: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """``{notebook stem: {"seconds": ..., "parameters": {...}}}`` from ``timings.json``.

    The report pipeline (:func:`recsys_helpers.report.build.execute_notebook`) writes it
    in the report folder; empty when no notebook has been run there.

    Raises
    ------
    ReportError
        The file is not valid JSON (the message names it).
    """
    path = (Path(folder) if folder is not None else config.report_dir()) / TIMINGS_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc


def timings_table(timings: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table ``notebook | seconds``, notebooks in name order, then the total."""
    rows = [(name, f"{timings[name]['seconds']:.1f}") for name in sorted(timings)]
    total = sum(float(record["seconds"]) for record in timings.values())
    rows.append(("**total**", f"**{total:.1f}**"))
    return markdown_table(rows, header=("notebook", "wall time (s)"), align="lr")


def write_metrics_summary(
    folder: str | os.PathLike | None = None, notebooks: Sequence[str] | None = None
) -> tuple[Path, Path]:
    """Aggregate the notebooks' metrics into ``metrics.json`` and ``headline.md``.

    Each record of ``metrics.json`` gets the notebook's ``wall_seconds`` when the pipeline
    timed it (:func:`read_timings`), and ``headline.md`` a table of those times. With
    ``notebooks`` (stems), only those notebooks are gathered (:func:`load_metrics`), so
    files left by renamed notebooks stay out of the summary.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The JSON file (``{notebook: record}``) and the Markdown table.
    """
    out_dir = Path(folder) if folder is not None else config.report_dir()
    records = load_metrics(out_dir, notebooks)
    if not records:
        raise ReportError(f"{out_dir / 'metrics'}: no notebook recorded metrics")
    timings = {name: t for name, t in read_timings(out_dir).items() if name in records}
    for name, timing in timings.items():
        records[name]["wall_seconds"] = timing["seconds"]
    json_path = atomic.write_bytes(
        out_dir / "metrics.json", (json.dumps(records, indent=2) + "\n").encode("utf-8")
    )
    text = "# Headline metrics\n\n" + headline_table(records)
    if timings:
        text += "\n## Wall time per notebook\n\n" + timings_table(timings)
    md_path = atomic.write_bytes(out_dir / "headline.md", text.encode("utf-8"))
    return json_path, md_path
