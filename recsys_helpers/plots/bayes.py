"""Figures of notebook 04 (Bayesian PMF): RMSE against samples and K, calibration, spread.

Each function takes frames (an estimator's ``history_``, the tables of
:mod:`recsys_helpers.evaluation.uncertainty`, ranked lists) and returns a new
:class:`~matplotlib.figure.Figure`; none of them changes matplotlib's settings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "calibration",
    "new_user_lists",
    "rmse_against_factors",
    "rmse_against_samples",
    "spread_against_count",
]


def _subplots(ncols: int = 1, figsize: tuple[float, float] | None = None):
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=figsize, squeeze=False)


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def rmse_against_samples(
    history: pd.DataFrame, burn_in: int, references: Mapping[str, float] | None = None
) -> Figure:
    """Test RMSE of the running posterior mean against the number of samples averaged.

    Parameters
    ----------
    history : DataFrame
        ``BayesianMF.history_`` of a fit given ``validation=`` (column ``valid_rmse``).
    burn_in : int
        Sweeps before the first averaged sample.
    references : mapping label -> RMSE, optional
        Horizontal lines (e.g. the MAP estimate).

    Returns
    -------
    matplotlib.figure.Figure
        RMSE (stars) against samples averaged, log scale.
    """
    _require(history, ["valid_rmse"], "history")
    fig, axes = _subplots(figsize=(6.4, 3.8))
    ax = axes[0][0]
    kept = history["valid_rmse"].to_numpy()[burn_in:]
    ax.plot(np.arange(1, len(kept) + 1), kept, color="C0", label="posterior mean (Gibbs)")
    for number, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=f"C{number + 1}", linestyle="--", label=f"{label}: {value:.4f}")
    ax.set_xscale("log")
    ax.set_xlabel("samples averaged")
    ax.set_ylabel("test RMSE (stars)")
    ax.legend()
    return fig


def rmse_against_factors(table: pd.DataFrame) -> Figure:
    """Test RMSE against K, one line per model.

    Parameters
    ----------
    table : DataFrame
        ``model``, ``n_factors``, ``test_rmse``.
    """
    _require(table, ["model", "n_factors", "test_rmse"], "table")
    fig, axes = _subplots(figsize=(6.4, 3.8))
    ax = axes[0][0]
    for name, rows in table.groupby("model", sort=False):
        rows = rows.sort_values("n_factors")
        ax.plot(rows["n_factors"], rows["test_rmse"], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ks = sorted(table["n_factors"].unique())
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("K (latent factors)")
    ax.set_ylabel("test RMSE (stars)")
    ax.legend()
    return fig


def calibration(table: pd.DataFrame) -> Figure:
    """Observed coverage of central credible intervals against their nominal level.

    Parameters
    ----------
    table : DataFrame
        ``level``, ``coverage`` (:func:`recsys_helpers.evaluation.uncertainty.
        interval_coverage`).
    """
    _require(table, ["level", "coverage"], "table")
    fig, axes = _subplots(figsize=(4.4, 4.0))
    ax = axes[0][0]
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    ax.plot(table["level"], table["coverage"], marker="o", color="C0", label="observed")
    for level, coverage in zip(table["level"], table["coverage"], strict=True):
        ax.annotate(
            f"{coverage:.0%}", (level, coverage), textcoords="offset points", xytext=(6, -10)
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal level of the interval")
    ax.set_ylabel("share of test ratings inside")
    ax.legend(loc="upper left")
    return fig


def spread_against_count(table: pd.DataFrame) -> Figure:
    """Median predictive and posterior spread by the movie's number of training ratings.

    Parameters
    ----------
    table : DataFrame
        ``ratings`` (bin label), ``median_std``, ``median_spread``
        (:func:`recsys_helpers.evaluation.uncertainty.spread_by_count`).
    """
    _require(table, ["ratings", "median_std", "median_spread"], "table")
    fig, axes = _subplots(figsize=(6.4, 3.8))
    ax = axes[0][0]
    positions = np.arange(len(table))
    ax.plot(positions, table["median_std"], marker="o", label="predictive (with noise)")
    ax.plot(positions, table["median_spread"], marker="s", label="posterior of r̂ only")
    ax.set_xticks(positions, table["ratings"], rotation=30)
    ax.set_xlabel("the movie's training ratings")
    ax.set_ylabel("median standard deviation (stars)")
    ax.legend()
    return fig


def new_user_lists(lists: Mapping[str, pd.DataFrame], titles: pd.Series | None = None) -> Figure:
    """Ranked lists of new users with ``score ± std`` for each movie, side by side.

    Parameters
    ----------
    lists : mapping label -> DataFrame
        ``recommend_new_user`` results (``movieId``, ``score``, ``std``), best first.
    titles : Series movieId -> title, optional
        Tick labels (movie ids otherwise).
    """
    fig, axes = _subplots(
        len(lists), figsize=(5.2 * len(lists), 0.35 * max(map(len, lists.values())) + 1.2)
    )
    for ax, (label, table) in zip(axes[0], lists.items(), strict=True):
        _require(table, ["movieId", "score", "std"], "list")
        rows = np.arange(len(table))[::-1]
        ax.errorbar(table["score"], rows, xerr=table["std"], fmt="o", capsize=3)
        names = table["movieId"].astype(str)
        if titles is not None:
            names = (
                titles.reindex(table["movieId"])
                .fillna(names.set_axis(table["movieId"]))
                .astype(str)
            )
        ax.set_yticks(rows, [name[:38] for name in names])
        ax.set_xlabel("predicted rating ± predictive std (stars)")
        ax.set_title(label)
    return fig
