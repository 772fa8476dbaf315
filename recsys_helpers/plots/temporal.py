"""Figures of notebook 09: ratings in time and the time-aware model's terms.

Each function takes a table from :mod:`recsys_helpers.analysis.temporal` or
:mod:`recsys_helpers.evaluation.temporal`, returns a new
:class:`~matplotlib.figure.Figure` and changes no matplotlib settings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "ablation_gains",
    "day_offsets_by_size",
    "movie_bias_over_time",
    "ratings_per_day",
    "user_timeline",
]


def _figure(n_columns: int = 1, figsize: tuple[float, float] | None = None):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n_columns, figsize=figsize)
    return fig, axes


def _log_bins(values: np.ndarray, per_decade: int = 8) -> np.ndarray:
    top = max(float(np.max(values)), 2.0)
    return np.unique(np.round(np.logspace(0, np.log10(top) + 1e-9, per_decade * 4)).astype(int))


def ratings_per_day(days: pd.DataFrame) -> Figure:
    """Days with ratings per user, and how the ratings spread over days of each size.

    Parameters
    ----------
    days : DataFrame
        :func:`recsys_helpers.analysis.temporal.rating_days` (``userId``, ``n_ratings``).
    """
    fig, (left, right) = _figure(2, (9.6, 3.6))
    per_user = days.groupby("userId").size().to_numpy()
    left.hist(per_user, bins=_log_bins(per_user), color="C0")
    left.set_xscale("log")
    left.set_xlabel("days with ratings")
    left.set_ylabel("users")
    left.set_title("(a) days on which a user rates")
    counts = days["n_ratings"].to_numpy()
    right.hist(counts, bins=_log_bins(counts), weights=counts / counts.sum(), color="C1")
    right.set_xscale("log")
    right.set_xlabel("ratings the user gave that day")
    right.set_ylabel("share of all ratings")
    right.set_title("(b) ratings by the size of their day")
    fig.tight_layout()
    return fig


def ablation_gains(tables: Mapping[str, pd.DataFrame]) -> Figure:
    """Each variant's RMSE gain over the model without time terms, one bar group per split.

    Parameters
    ----------
    tables : mapping of split name -> DataFrame
        :func:`recsys_helpers.evaluation.temporal.time_effects_ablation` tables
        (``variant``, ``gain``).
    """
    fig, ax = _figure(1, (7.2, 3.6))
    names = [v for v in next(iter(tables.values()))["variant"] if v != "none"]
    width = 0.8 / len(tables)
    positions = np.arange(len(names))
    for number, (split, table) in enumerate(tables.items()):
        gains = table.set_index("variant").loc[names, "gain"].to_numpy()
        bars = ax.bar(
            positions + (number - (len(tables) - 1) / 2) * width, gains, width, label=split
        )
        ax.bar_label(bars, fmt="%.4f", fontsize=7, padding=2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(positions, [name.replace("_", "-") for name in names])
    ax.set_ylabel("test RMSE gain (stars)")
    ax.set_title("gain of each time term over none (higher is better)")
    ax.legend()
    fig.tight_layout()
    return fig


def movie_bias_over_time(frame: pd.DataFrame, titles: Mapping) -> Figure:
    """``b_i + b_{i,k}`` per time bin for a few movies; dashed: the movie's ``b_i``.

    Parameters
    ----------
    frame : DataFrame
        :func:`recsys_helpers.analysis.temporal.movie_bias_over_time`.
    titles : mapping movieId -> title
    """
    fig, ax = _figure(1, (7.6, 4.0))
    for number, (movie, part) in enumerate(frame.groupby("movieId", sort=False)):
        color = f"C{number % 10}"
        rated = part["n_ratings"] > 0
        ax.plot(part["middle"], part["bias"], color=color, lw=1.0, alpha=0.5)
        ax.scatter(
            part.loc[rated, "middle"],
            part.loc[rated, "bias"],
            s=4 + 3 * np.sqrt(part.loc[rated, "n_ratings"]),
            color=color,
            label=titles.get(movie, str(movie)),
        )
        ax.axhline(part["item_bias"].iloc[0], color=color, lw=0.8, ls="--")
    ax.set_xlabel("time bin (middle)")
    ax.set_ylabel("movie bias $b_i + b_{i,k}$ (stars)")
    ax.set_title("movie biases over the years (marker area: ratings in the bin)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def day_offsets_by_size(offsets: pd.DataFrame, max_points: int = 20_000) -> Figure:
    """Day offsets against the number of ratings that day; first days apart.

    Parameters
    ----------
    offsets : DataFrame
        :func:`recsys_helpers.analysis.temporal.day_offsets`.
    max_points : int, default 20,000
        Draw a seeded random sample of this many offsets when there are more (ML-25M has
        millions of rating days; the title then says how many are shown). The points are
        rasterised, so the SVG stays small.
    """
    fig, ax = _figure(1, (6.4, 3.8))
    rng = np.random.default_rng(0)  # the sample, and jitter that spreads the integer counts
    shown = offsets
    if len(offsets) > max_points:
        shown = offsets.iloc[np.sort(rng.choice(len(offsets), max_points, replace=False))]
    for first, label, color in ((False, "later days", "C0"), (True, "first day", "C3")):
        part = shown[shown["first_day"] == first]
        jitter = np.exp(rng.uniform(-0.08, 0.08, len(part)))
        ax.scatter(
            part["n_ratings"] * jitter,
            part["offset"],
            s=5,
            alpha=0.4,
            color=color,
            label=label,
            rasterized=True,
        )
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ratings the user gave that day")
    ax.set_ylabel("day offset $b_{u,t}$ (stars)")
    title = "day offsets by the size of the day"
    if len(shown) < len(offsets):
        title += f" (a random {len(shown):,} of {len(offsets):,})"
    ax.set_title(title)
    ax.legend(markerscale=3)
    fig.tight_layout()
    return fig


def user_timeline(frame: pd.DataFrame, title: str) -> Figure:
    """One user's ratings (what the user terms must explain) and the user terms over time.

    Parameters
    ----------
    frame : DataFrame
        :func:`recsys_helpers.analysis.temporal.user_timeline`.
    title : str
    """
    fig, ax = _figure(1, (7.6, 3.8))
    ax.scatter(  # rasterised: the busiest ML-25M user has tens of thousands of ratings
        frame["time"],
        frame["rest"],
        s=6,
        alpha=0.35,
        color="0.45",
        label="rating − other terms",
        rasterized=True,
    )
    ax.plot(frame["time"], frame["drift_term"], color="C0", lw=1.5, label="$b_u + α_u\\,dev_u(t)$")
    days = frame.groupby(frame["time"].dt.floor("D")).first()
    ax.scatter(
        days.index, days["user_term"], s=18, color="C3", zorder=3, label="$+\\,b_{u,t}$ (per day)"
    )
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("time of the rating")
    ax.set_ylabel("stars")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
