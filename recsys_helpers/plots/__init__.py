"""Figures for the notebooks: one style, one way to save.

Every figure the notebooks show comes from a function in a submodule of this package
(:mod:`~recsys_helpers.plots.eda`, ...) that returns a :class:`matplotlib.figure.Figure`
and draws nothing globally. Notebooks call :func:`set_style` once, then pass each figure
to :func:`save_figure`, which writes it under a stable name into
:func:`recsys_helpers.config.figures_dir` as PNG (for the HTML and PDF report) and SVG
(a vector copy for papers and slides).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from recsys_helpers import atomic, config

__all__ = ["FIGURE_FORMATS", "STYLE", "save_figure", "set_style"]

logger = logging.getLogger(__name__)

FIGURE_FORMATS: tuple[str, ...] = ("png", "svg")
"""Formats :func:`save_figure` writes by default: a raster and a vector copy."""

STYLE: dict[str, object] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.frameon": False,
    "font.size": 10,
    # Fixed hash salt and no date: the same figure gives byte-identical SVG files.
    "svg.hashsalt": "movielens-als",
    "svg.fonttype": "path",
}
"""Matplotlib settings shared by every figure of the project (applied by :func:`set_style`)."""

_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")

# Metadata that would otherwise change on every run (creation dates, software version).
_STABLE_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "Producer": None},
}


def set_style() -> None:
    """Apply :data:`STYLE` to matplotlib's global settings (call once per notebook)."""
    mpl.rcParams.update(STYLE)


def save_figure(
    fig: Figure,
    name: str,
    *,
    formats: Sequence[str] = FIGURE_FORMATS,
    folder: str | os.PathLike | None = None,
) -> list[Path]:
    """Write ``fig`` as ``<folder>/<name>.<fmt>`` for each format, atomically.

    Each file is first written under a temporary name in the same folder and then
    renamed over the target, so a reader never sees a half-written figure and an
    interrupted run leaves the previous version in place. Dates and random ids are left
    out, so saving the same figure twice gives byte-identical files.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save.
    name : str
        Stable file stem: lower-case letters, digits, ``_`` and ``-`` (for example
        ``"01_rating_histogram"``). Notebooks prefix it with their number so names
        never collide across notebooks.
    formats : sequence of str, default ("png", "svg")
        Matplotlib output formats, e.g. ``("png", "pdf")``.
    folder : path-like, optional
        Output folder; defaults to :func:`recsys_helpers.config.figures_dir`. Created if
        missing.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.

    Raises
    ------
    ValueError
        If ``name`` is not a valid stem, ``formats`` is empty or names a format
        matplotlib cannot write.
    """
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"save_figure: name={name!r} must match {_NAME_PATTERN.pattern} "
            "(lower-case letters, digits, '_' and '-', no extension)"
        )
    formats = [fmt.lower().lstrip(".") for fmt in formats]
    if not formats:
        raise ValueError("save_figure: formats must name at least one format")
    supported = fig.canvas.get_supported_filetypes()
    unknown = [fmt for fmt in formats if fmt not in supported]
    if unknown:
        raise ValueError(
            f"save_figure: formats={unknown!r} not supported; choose from {sorted(supported)}"
        )
    out_dir = Path(folder) if folder is not None else config.figures_dir()
    out_dir.mkdir(parents=True, exist_ok=True)

    written = []
    for fmt in formats:
        target = out_dir / f"{name}.{fmt}"
        # SVG element ids are random unless salted; fix the salt so reruns match.
        with (
            atomic.atomic_path(target, suffix=f".{fmt}") as temporary,
            mpl.rc_context({"svg.hashsalt": STYLE["svg.hashsalt"]}),
        ):
            fig.savefig(temporary, format=fmt, metadata=_STABLE_METADATA.get(fmt))
        written.append(target)
    logger.info("saved figure %s (%s) in %s", name, ", ".join(formats), out_dir)
    return written
