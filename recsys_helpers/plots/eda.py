"""Figures of notebook 01: what the ratings look like before any model.

Each function takes arrays or frames (from :mod:`recsys_helpers.analysis.descriptive`) and returns a
new :class:`~matplotlib.figure.Figure` (close it with ``plt.close(fig)`` when done);
none of them changes matplotlib's settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from recsys_helpers.analysis import descriptive
from recsys_helpers.analysis.descriptive import PowerLawFit, ZipfFit

__all__ = ["degree_ccdf", "rating_histogram", "ratings_over_time", "sparsity_pattern", "zipf_plot"]


def _new_figure(figsize: tuple[float, float] | None = None) -> tuple[Figure, Axes]:
    """A pyplot figure with one axes (pyplot, so that notebooks show it inline)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def rating_histogram(ratings: pd.DataFrame) -> Figure:
    """Bar chart of how often each star value is given.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Column ``rating`` (float, 0.5 to 5.0 in half stars for MovieLens).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: x = rating (stars), y = share of all ratings (%), mean marked by a
        dashed line.
    """
    counts = ratings["rating"].value_counts().sort_index()
    share = 100.0 * counts.to_numpy() / counts.sum()
    fig, ax = _new_figure()
    ax.bar(counts.index.to_numpy(dtype=float), share, width=0.4, color="C0")
    mean = float(ratings["rating"].mean())
    ax.axvline(mean, color="C3", linestyle="--", label=f"mean = {mean:.2f}")
    ax.set_xticks(counts.index.to_numpy(dtype=float))
    ax.set_xlabel("rating (stars)")
    ax.set_ylabel("share of ratings (%)")
    ax.set_title("Distribution of ratings")
    ax.legend()
    return fig


def degree_ccdf(
    degrees: np.ndarray, fit: PowerLawFit | None = None, *, entity: str = "user"
) -> Figure:
    r"""Log-log CCDF of ratings per user (or movie) with the fitted power-law tail.

    The empirical :math:`\hat P(X \ge x)` comes from
    :func:`recsys_helpers.analysis.descriptive.ccdf`; the fit is drawn as
    :math:`\hat P(X \ge x_{\min}) \, \zeta(\alpha, x) / \zeta(\alpha, x_{\min})`
    (:func:`recsys_helpers.analysis.descriptive.power_law_ccdf`), scaled to meet the data at
    :math:`x_{\min}`.

    Parameters
    ----------
    degrees : numpy.ndarray of int, shape (n,)
        Ratings per user or per movie (:func:`recsys_helpers.analysis.descriptive.degrees`).
    fit : PowerLawFit, optional
        From :func:`recsys_helpers.analysis.descriptive.fit_power_law`; drawn when given.
    entity : str, default "user"
        Used in the labels ("ratings per user").

    Returns
    -------
    matplotlib.figure.Figure
        One axes, both scales logarithmic.
    """
    x, p = descriptive.ccdf(degrees)
    fig, ax = _new_figure()
    ax.loglog(x, p, marker=".", linestyle="none", markersize=4, color="C0", label="data")
    if fit is not None:
        grid = np.unique(np.geomspace(fit.xmin, x.max(), 200).round())
        scale = fit.n_tail / fit.n_total
        ax.loglog(
            grid,
            scale * descriptive.power_law_ccdf(grid, fit.alpha, fit.xmin),
            color="C3",
            label=f"power law, α = {fit.alpha:.2f} (x ≥ {fit.xmin})",
        )
        ax.axvline(fit.xmin, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"ratings per {entity}, x")
    ax.set_ylabel("P(X ≥ x)")
    ax.set_title(f"Ratings per {entity} (CCDF)")
    ax.legend()
    return fig


def zipf_plot(counts: np.ndarray, fit: ZipfFit | None = None) -> Figure:
    r"""Rank-frequency plot of movie popularity with the fitted Zipf line :math:`C r^{-s}`.

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (n,)
        Ratings per movie, any order.
    fit : ZipfFit, optional
        From :func:`recsys_helpers.analysis.descriptive.fit_zipf`; drawn over its rank range.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, both scales logarithmic: x = popularity rank, y = number of ratings.
    """
    ordered = np.sort(np.asarray(counts))[::-1]
    ranks = np.arange(1, ordered.size + 1)
    fig, ax = _new_figure()
    ax.loglog(ranks, ordered, color="C0", label="movies")
    if fit is not None:
        fitted_ranks = np.geomspace(fit.min_rank, fit.max_rank, 100)
        ax.loglog(
            fitted_ranks,
            fit.constant * fitted_ranks**-fit.exponent,
            color="C3",
            linestyle="--",
            label=f"Zipf, s = {fit.exponent:.2f} (ranks {fit.min_rank}–{fit.max_rank})",
        )
    ax.set_xlabel("popularity rank r")
    ax.set_ylabel("ratings of the movie at rank r")
    ax.set_title("Movie popularity (rank-frequency)")
    ax.legend()
    return fig


def ratings_over_time(per_period: pd.DataFrame) -> Figure:
    """Ratings per period (bars) and their mean (line, right axis).

    Parameters
    ----------
    per_period : pandas.DataFrame
        From :func:`recsys_helpers.analysis.descriptive.ratings_per_period`: indexed by period
        start, columns ``n_ratings`` and ``mean_rating``.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes sharing x: counts on the left, mean rating (stars) on the right.
    """
    years = per_period.index.year.to_numpy()
    fig, ax = _new_figure(figsize=(7.0, 4.0))
    ax.bar(years, per_period["n_ratings"].to_numpy(), color="C0", label="ratings")
    ax.set_xlabel("year")
    ax.set_ylabel("ratings per year")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    right = ax.twinx()
    right.plot(years, per_period["mean_rating"].to_numpy(), color="C3", marker="o", markersize=3)
    right.set_ylabel("mean rating (stars)", color="C3")
    right.grid(False)
    right.spines["right"].set_visible(True)
    ax.set_title("Ratings over time")
    return fig


def sparsity_pattern(
    ratings: pd.DataFrame, *, max_users: int = 600, max_movies: int = 1500
) -> Figure:
    """Which (user, movie) pairs are rated, users and movies sorted by activity.

    Only the ``max_users`` most active users and ``max_movies`` most rated movies are
    shown, so that one pixel stays one pair on large datasets.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Columns ``userId`` and ``movieId``.
    max_users, max_movies : int
        Size of the displayed corner of the rating matrix.

    Returns
    -------
    matplotlib.figure.Figure
        One image axes: rows = users (most active on top), columns = movies (most rated
        on the left); dark = rated.
    """
    users = ratings["userId"].value_counts().index[:max_users]
    movies = ratings["movieId"].value_counts().index[:max_movies]
    row = pd.Index(users).get_indexer(ratings["userId"])
    col = pd.Index(movies).get_indexer(ratings["movieId"])
    shown = (row >= 0) & (col >= 0)
    image = np.zeros((len(users), len(movies)), dtype=np.uint8)
    image[row[shown], col[shown]] = 1
    fig, ax = _new_figure(figsize=(7.0, 3.6))
    ax.imshow(image, aspect="auto", cmap="Greys", interpolation="nearest")
    ax.grid(False)
    ax.set_xlabel(f"movies, by number of ratings (top {len(movies):,})")
    ax.set_ylabel(f"users, by activity (top {len(users):,})")
    ax.set_title(f"Rated pairs: {image.mean():.1%} of the block shown")
    return fig
