"""Figures of notebooks 02 and 03: training curves, regularisation sweeps, model comparison.

Each function takes frames (an estimator's ``history_`` or a sweep's results) and returns a
new :class:`~matplotlib.figure.Figure`; none of them changes matplotlib's settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

__all__ = [
    "model_comparison",
    "regularisation_sweep",
    "rmse_heatmap",
    "training_curves",
    "validation_curves",
]

_RMSE_LABELS = {"train_rmse": "train", "valid_rmse": "validation", "test_rmse": "test"}


def _subplots(ncols: int = 1, figsize: tuple[float, float] | None = None):
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=figsize, squeeze=False)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def training_curves(history: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Regularised objective and RMSE per ALS iteration.

    Parameters
    ----------
    history : DataFrame
        An estimator's ``history_``: columns ``iteration``, ``objective``, ``train_rmse`` and
        optionally ``valid_rmse`` (NaN or absent when no validation set was given).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: left, the objective :math:`J` against iteration (log scale when it spans
        more than a factor of 10, else linear with thousands separators); right, train and
        (if present) validation RMSE in stars.
    """
    _require(history, ["iteration", "objective", "train_rmse"], "history")
    fig, axes = _subplots(2, figsize=(9.6, 3.6))
    left, right = axes[0]
    left.plot(history["iteration"], history["objective"], marker="o", color="C0")
    objective = history["objective"].to_numpy(dtype=float)
    if objective.min() > 0 and objective.max() > 10 * objective.min():
        left.set_yscale("log")
    else:
        left.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    left.set_xlabel("iteration")
    left.set_ylabel("regularised objective J")
    left.set_title("Objective")
    for column, colour in (("train_rmse", "C0"), ("valid_rmse", "C1")):
        if column in history and history[column].notna().any():
            right.plot(
                history["iteration"],
                history[column],
                marker="o",
                color=colour,
                label=_RMSE_LABELS[column],
            )
    right.set_xlabel("iteration")
    right.set_ylabel("RMSE (stars)")
    right.set_title("RMSE")
    right.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def validation_curves(
    histories: Mapping[str, pd.DataFrame], *, column: str = "valid_rmse", title: str | None = None
) -> Figure:
    """One RMSE-per-iteration curve for each labelled training run.

    Parameters
    ----------
    histories : mapping of str to DataFrame
        Label (e.g. ``"λ = 0"``) to the run's ``history_`` (columns ``iteration``, ``column``).
    column : str, default "valid_rmse"
        Which RMSE to draw.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes: RMSE (stars) against iteration, one line per run.
    """
    if not histories:
        raise ValueError("histories is empty: nothing to plot")
    fig, axes = _subplots()
    ax = axes[0, 0]
    for label, history in histories.items():
        _require(history, ["iteration", column], f"history {label!r}")
        ax.plot(history["iteration"], history[column], marker="o", label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"{_RMSE_LABELS.get(column, column)} RMSE (stars)")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def regularisation_sweep(
    sweep: pd.DataFrame,
    *,
    x: str = "reg_bias",
    curves: Sequence[str] = ("train_rmse", "test_rmse"),
    baseline: float | None = None,
    baseline_label: str = "global mean",
    xlabel: str | None = None,
) -> Figure:
    """RMSE against a regularisation strength.

    Parameters
    ----------
    sweep : DataFrame
        One row per fitted model: column ``x`` (λ ≥ 0) and each column of ``curves``.
    x : str, default "reg_bias"
    curves : sequence of str
        RMSE columns to draw.
    baseline : float, optional
        A reference RMSE drawn as a horizontal dashed line (e.g. the global-mean predictor).
    baseline_label : str
    xlabel : str, optional
        Defaults to ``x``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, x on a symmetric-log scale (linear near 0, so λ = 0 can be shown); the
        minimum of the last curve is marked.
    """
    _require(sweep, [x, *curves], "sweep")
    ordered = sweep.sort_values(x)
    fig, axes = _subplots()
    ax = axes[0, 0]
    for column in curves:
        ax.plot(ordered[x], ordered[column], marker="o", label=_RMSE_LABELS.get(column, column))
    best = ordered.loc[ordered[curves[-1]].idxmin()]
    ax.plot(
        [best[x]],
        [best[curves[-1]]],
        marker="*",
        markersize=14,
        color="C3",
        linestyle="none",
        label=f"best: {best[x]:g}",
    )
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label=baseline_label)
    positive = ordered[x][ordered[x] > 0]
    linthresh = float(positive.min()) if len(positive) else 1.0
    ax.set_xscale("symlog", linthresh=linthresh)
    if (ordered[x] >= 0).all():  # no negative ticks for a penalty that cannot be negative
        ax.set_xlim(left=-0.3 * linthresh)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel("RMSE (stars)")
    ax.legend()
    return fig


def rmse_heatmap(
    grid: pd.DataFrame,
    *,
    rows: str = "n_factors",
    cols: str = "reg",
    value: str = "valid_rmse",
    row_label: str = "K (latent factors)",
    col_label: str = "λ (latent regularisation)",
) -> Figure:
    """Heat map of an RMSE over a two-parameter grid, every cell annotated, best cell boxed.

    Drawn by :func:`seaborn.heatmap` (cells annotated with their value, colour bar).

    Parameters
    ----------
    grid : DataFrame
        One row per (``rows``, ``cols``) combination with the ``value`` column.
    rows, cols, value : str
        Column names of the two parameters and the RMSE.
    row_label, col_label : str
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; brighter (yellow) = lower RMSE (better). Cell ``(i, j)`` (row ``i`` from the top,
        parameters ascending) spans ``[j, j + 1] × [i, i + 1]`` in data coordinates.
    """
    import seaborn as sns

    _require(grid, [rows, cols, value], "grid")
    if grid.duplicated([rows, cols]).any():
        raise ValueError(f"grid has repeated ({rows}, {cols}) combinations")
    table = grid.pivot(index=rows, columns=cols, values=value).sort_index().sort_index(axis=1)
    table = table.astype(float)
    table.index = [f"{v:g}" for v in table.index]
    table.columns = [f"{v:g}" for v in table.columns]
    fig, axes = _subplots(figsize=(1.1 * table.shape[1] + 2.5, 0.6 * table.shape[0] + 1.8))
    ax = axes[0, 0]
    sns.heatmap(
        table,
        ax=ax,
        cmap="viridis_r",
        annot=True,
        fmt=".3f",
        annot_kws={"fontsize": 8},
        cbar_kws={"label": f"{_RMSE_LABELS.get(value, value)} RMSE (stars)"},
    )
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.tick_params(axis="y", rotation=0)
    best_i, best_j = np.unravel_index(np.nanargmin(table.to_numpy()), table.shape)
    ax.add_patch(Rectangle((best_j, best_i), 1, 1, fill=False, edgecolor="C3", linewidth=2.5))
    return fig


def model_comparison(
    table: pd.DataFrame, *, model: str = "model", value: str = "test_rmse"
) -> Figure:
    """Horizontal bars of one RMSE per model, labelled with the value.

    Parameters
    ----------
    table : DataFrame
        Columns ``model`` (names) and ``value`` (RMSE, stars), one row per model, drawn
        top to bottom in table order.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the x axis starts just below the smallest RMSE so differences show.
    """
    _require(table, [model, value], "table")
    if table.empty:
        raise ValueError("table is empty: no model to compare")
    fig, axes = _subplots(figsize=(6.4, 0.5 * len(table) + 1.5))
    ax = axes[0, 0]
    positions = np.arange(len(table))[::-1]
    values = table[value].to_numpy(dtype=float)
    bars = ax.barh(positions, values, color=[f"C{k % 10}" for k in range(len(table))])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], padding=3)
    ax.set_yticks(positions, list(table[model]))
    low, high = float(values.min()), float(values.max())
    ax.set_xlim(max(0.0, low - 0.5 * (high - low) - 0.02), high + 0.25 * (high - low) + 0.02)
    ax.set_xlabel(f"{_RMSE_LABELS.get(value, value)} RMSE (stars)")
    return fig
