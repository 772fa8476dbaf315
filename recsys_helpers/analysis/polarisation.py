"""Which movies divide their audience: rating spread and latent vector length.

Two measures of how "polarising" a movie is:

* the sample standard deviation of its ratings,
  :math:`s_i = \\sqrt{\\tfrac{1}{|\\Omega_i| - 1} \\sum_{u \\in \\Omega_i} (r_{ui} - \\bar r_i)^2}`,
  a direct, model-free measure of disagreement;
* the Euclidean length of its latent vector, :math:`\\lVert V_i \\rVert_2`, in a fitted
  biased matrix-factorisation model. The prediction :math:`\\hat r_{ui} = \\mu + b_u + b_i +
  U_u \\cdot V_i` varies across users only through :math:`U_u \\cdot V_i`, so a long
  :math:`V_i` means users' predicted ratings of movie *i* spread widely.

Both are unreliable for movies with few ratings: a movie rated twice has a noisy
:math:`s_i`, and a movie rated by nobody in training keeps :math:`V_i = 0` (the prior mean),
so it would top every "least polarising" list. Every ranking here therefore takes a
``min_ratings`` floor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

POLARISATION_MEASURES = ("rating_std", "vector_norm")
"""Column names of the two polarisation measures in :func:`polarisation_table`."""


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def rating_spread(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per-movie count, mean and sample standard deviation of the ratings.

    Parameters
    ----------
    ratings : DataFrame
        Columns ``movieId`` and ``rating`` (stars); one row per (user, movie) rating.

    Returns
    -------
    DataFrame
        Indexed by ``movieId`` (sorted), columns ``n_ratings`` (int64), ``mean_rating`` and
        ``rating_std`` (float64, stars). ``rating_std`` is the sample standard deviation
        (ddof = 1), NaN for movies rated once.
    """
    _require_columns(ratings, ["movieId", "rating"], "ratings")
    if len(ratings) == 0:
        raise DataError("ratings is empty: no movie to measure")
    grouped = ratings.groupby("movieId", sort=True)["rating"]
    spread = pd.DataFrame(
        {
            "n_ratings": grouped.size().astype(np.int64),
            "mean_rating": grouped.mean().astype(np.float64),
            "rating_std": grouped.std(ddof=1).astype(np.float64),
        }
    )
    spread.index.name = "movieId"
    return spread


def vector_norms(item_factors: np.ndarray) -> np.ndarray:
    """Euclidean length of each latent item vector, :math:`\\lVert V_i \\rVert_2`.

    Parameters
    ----------
    item_factors : ndarray, shape (n_items, K)
        Latent item vectors :math:`V` (rows are items). ``K = 0`` gives all zeros.

    Returns
    -------
    ndarray, shape (n_items,), float64
    """
    factors = np.asarray(item_factors, dtype=np.float64)
    if factors.ndim != 2:
        raise DataError(f"item_factors must be 2-D (n_items, K); got shape {factors.shape}")
    return np.sqrt(np.einsum("ik,ik->i", factors, factors))


def polarisation_table(
    ratings: pd.DataFrame,
    item_ids: Sequence[int] | np.ndarray,
    item_factors: np.ndarray,
    *,
    movies: pd.DataFrame | None = None,
    min_ratings: int = 1,
) -> pd.DataFrame:
    """One row per movie with both polarisation measures and their ranks.

    Parameters
    ----------
    ratings : DataFrame
        The ratings the model was trained on: columns ``movieId``, ``rating``.
    item_ids : array-like of int, shape (n_items,)
        Raw ``movieId`` of each row of ``item_factors`` (e.g. ``model.items_.ids``).
    item_factors : ndarray, shape (n_items, K)
        The model's latent item vectors :math:`V` (``model.item_factors_``).
    movies : DataFrame, optional
        Columns ``movieId`` and ``title``; adds a ``title`` column when given.
    min_ratings : int, default 1
        Keep only movies with at least this many ratings in ``ratings``.

    Returns
    -------
    DataFrame
        Columns ``movieId``, [``title``,] ``n_ratings``, ``mean_rating``, ``rating_std``,
        ``vector_norm``, ``std_rank`` and ``norm_rank`` (1 = most polarising, average rank for
        ties), sorted by ``rating_std`` descending. Movies rated once (no standard deviation)
        are dropped.
    """
    if int(min_ratings) < 1:
        raise DataError(f"min_ratings must be >= 1; got {min_ratings}")
    ids = np.asarray(item_ids)
    norms = vector_norms(item_factors)
    if ids.shape != (norms.shape[0],):
        raise DataError(
            f"item_ids has shape {ids.shape} but item_factors has {norms.shape[0]} rows"
        )
    spread = rating_spread(ratings)
    norm_by_id = pd.Series(norms, index=pd.Index(ids, name="movieId"), name="vector_norm")
    table = spread.join(norm_by_id, how="inner")
    unmodelled = len(spread) - len(table)
    if unmodelled:
        logger.info("%d rated movies have no latent vector and are left out", unmodelled)
    table = table[(table["n_ratings"] >= min_ratings) & table["rating_std"].notna()]
    if table.empty:
        raise DataError(f"no movie has at least {max(min_ratings, 2)} ratings and a latent vector")
    table = table.reset_index()
    table["std_rank"] = table["rating_std"].rank(ascending=False, method="average")
    table["norm_rank"] = table["vector_norm"].rank(ascending=False, method="average")
    if movies is not None:
        _require_columns(movies, ["movieId", "title"], "movies")
        table = table.merge(movies[["movieId", "title"]], on="movieId", how="left")
        table.insert(1, "title", table.pop("title"))
    return table.sort_values(["rating_std", "movieId"], ascending=[False, True]).reset_index(
        drop=True
    )


def extremes(table: pd.DataFrame, by: str, n: int = 10, *, most: bool = True) -> pd.DataFrame:
    """The ``n`` most (or least) polarising movies of a :func:`polarisation_table` by one measure.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`polarisation_table`.
    by : {"rating_std", "vector_norm"}
        The measure to rank by.
    n : int, default 10
    most : bool, default True
        True for the largest values, False for the smallest. Ties break by ``movieId``.

    Returns
    -------
    DataFrame
        ``n`` rows (fewer if the table is shorter), ordered from the extreme inwards.
    """
    if by not in POLARISATION_MEASURES:
        raise DataError(f"by must be one of {POLARISATION_MEASURES}; got {by!r}")
    if n < 1:
        raise DataError(f"n must be >= 1; got {n}")
    ordered = table.sort_values([by, "movieId"], ascending=[not most, True])
    return ordered.head(n).reset_index(drop=True)


def compare_rankings(table: pd.DataFrame, n: int = 20) -> dict[str, float]:
    """How far the two polarisation rankings agree.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`polarisation_table` (at least 3 movies).
    n : int, default 20
        Size of the top and bottom lists whose overlap is counted.

    Returns
    -------
    dict
        ``spearman``: Spearman rank correlation between ``rating_std`` and ``vector_norm``
        over all movies in the table; ``spearman_pvalue``; ``n_movies``; ``top_overlap`` and
        ``bottom_overlap``: the fraction of the ``n`` most (least) polarising movies by one
        measure that are also among the ``n`` most (least) by the other, in [0, 1].
    """
    if len(table) < 3:
        raise DataError(f"need at least 3 movies to compare rankings; got {len(table)}")
    n = min(int(n), len(table))
    correlation = stats.spearmanr(table["rating_std"], table["vector_norm"])
    overlaps = {}
    for label, most in (("top_overlap", True), ("bottom_overlap", False)):
        by_std = set(extremes(table, "rating_std", n, most=most)["movieId"])
        by_norm = set(extremes(table, "vector_norm", n, most=most)["movieId"])
        overlaps[label] = len(by_std & by_norm) / n
    return {
        "spearman": float(correlation.statistic),
        "spearman_pvalue": float(correlation.pvalue),
        "n_movies": len(table),
        "n": n,
        **overlaps,
    }
