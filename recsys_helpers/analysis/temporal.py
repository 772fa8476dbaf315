"""The tables behind notebook 09: ratings in time and what the time-aware model learned.

* :func:`rating_days` and :func:`rating_days_summary`: how many ratings a user gives on one
  (UTC) day, the unit of the day offsets ``b_{u,t}``;
* :func:`movies_across_time`: well-rated movies whose ratings span the bins, chosen from the
  data (no titles are hard-coded, so any release works);
* :func:`movie_bias_over_time`: a movie's bias ``b_i + b_{i,k}`` in each time bin;
* :func:`day_offsets` and :func:`user_timeline`: the day offsets, and one user's ratings
  against the user terms ``b_u + α_u dev_u(t) + b_{u,t}``.

The model is a fitted :class:`~recsys_helpers.models.temporal.TimeAwareMF`; only its public
fitted attributes and :meth:`~recsys_helpers.models.temporal.TimeAwareMF.time_terms` are used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_helpers.data.checks import check_count, require_columns
from recsys_helpers.models.time_effects import SECONDS_PER_DAY, day_number, time_bin

__all__ = [
    "day_offsets",
    "movie_bias_over_time",
    "movies_across_time",
    "rating_days",
    "rating_days_summary",
    "user_timeline",
]


def rating_days(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, day) with ratings.

    Parameters
    ----------
    ratings : DataFrame
        ``userId``, ``timestamp`` (Unix seconds).

    Returns
    -------
    DataFrame
        ``userId``, ``day`` (whole UTC days since 1970-01-01), ``n_ratings``; sorted by user
        and day.
    """
    require_columns(ratings, ("userId", "timestamp"), "ratings")
    days = pd.DataFrame(
        {"userId": ratings["userId"].to_numpy(), "day": day_number(ratings["timestamp"])}
    )
    return days.groupby(["userId", "day"]).size().rename("n_ratings").reset_index()


def rating_days_summary(ratings: pd.DataFrame, *, large: int = 10) -> dict:
    """How concentrated in days the ratings are.

    Returns
    -------
    dict
        ``n_user_days``; ``median_per_day`` and ``max_per_day`` (ratings per user-day);
        ``share_on_large_days`` (share of the ratings given on a day with at least
        ``large`` of them); ``share_one_day_users`` (users whose ratings all fall on one
        day); ``median_days_per_user``; ``first``, ``last`` (dates of the first and last
        rating).
    """
    days = rating_days(ratings)
    per_user = days.groupby("userId").size()
    counts = days["n_ratings"]
    times = pd.to_datetime(ratings["timestamp"], unit="s")
    return {
        "n_user_days": len(days),
        "median_per_day": float(counts.median()),
        "max_per_day": int(counts.max()),
        "share_on_large_days": float(counts[counts >= large].sum() / counts.sum()),
        "share_one_day_users": float((per_user == 1).mean()),
        "median_days_per_user": float(per_user.median()),
        "first": times.min().date(),
        "last": times.max().date(),
    }


def movies_across_time(
    ratings: pd.DataFrame, edges: np.ndarray, n: int = 4, *, min_per_bin: int = 3
) -> list:
    """The ``n`` movies rated in the most time bins, ties broken by rating count.

    A bin counts for a movie when it holds at least ``min_per_bin`` of its ratings, so the
    chosen movies are the ones whose bias can be followed across the span.

    Parameters
    ----------
    ratings : DataFrame
        ``movieId``, ``timestamp``.
    edges : ndarray, shape (n_bins + 1,)
        Bin edges (``TimeAwareMF.bin_edges_``).
    n : int
    min_per_bin : int

    Returns
    -------
    list of movie ids, best first
    """
    check_count("n", n, 1)
    require_columns(ratings, ("movieId", "timestamp"), "ratings")
    bins = time_bin(ratings["timestamp"].to_numpy(), edges)
    per_bin = pd.crosstab(ratings["movieId"].to_numpy(), bins)
    covered = (per_bin >= min_per_bin).sum(axis=1)
    order = pd.DataFrame({"covered": covered, "total": per_bin.sum(axis=1)})
    order = order.sort_values(["covered", "total"], ascending=False, kind="stable")
    return order.index[:n].tolist()


def movie_bias_over_time(model, ratings: pd.DataFrame, movie_ids) -> pd.DataFrame:
    r"""A movie's bias in each time bin, ``b_i + b_{i,k}``, with the ratings behind it.

    Parameters
    ----------
    model : fitted TimeAwareMF
    ratings : DataFrame
        Its training ratings (``movieId``, ``timestamp``), to count each bin's ratings.
    movie_ids : sequence of movie ids known to the model

    Returns
    -------
    DataFrame
        One row per (movie, bin): ``movieId``, ``bin``, ``start``, ``middle`` (Timestamps),
        ``bias`` (``b_i + b_{i,k}``, stars), ``item_bias`` (``b_i``), ``n_ratings``.
    """
    rows = model.items_.to_index(np.asarray(movie_ids))
    if (rows < 0).any():
        raise KeyError(f"movies unknown to the model: {np.asarray(movie_ids)[rows < 0].tolist()}")
    edges = model.bin_edges_
    n_bins = len(edges) - 1
    chosen = ratings[ratings["movieId"].isin(movie_ids)]
    counts = pd.crosstab(
        chosen["movieId"], time_bin(chosen["timestamp"].to_numpy(), edges)
    ).reindex(index=list(movie_ids), columns=range(n_bins), fill_value=0)
    starts = pd.to_datetime(edges[:-1], unit="s")
    middles = pd.to_datetime((edges[:-1] + edges[1:]) / 2, unit="s")
    frames = []
    for movie, row in zip(movie_ids, rows, strict=True):
        frames.append(
            pd.DataFrame(
                {
                    "movieId": movie,
                    "bin": np.arange(n_bins),
                    "start": starts,
                    "middle": middles,
                    "bias": model.item_bias_[row] + model.item_bin_bias_[row],
                    "item_bias": float(model.item_bias_[row]),
                    "n_ratings": counts.loc[movie].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def day_offsets(model, ratings: pd.DataFrame) -> pd.DataFrame:
    """Every day offset ``b_{u,t}`` with the size of its day.

    Parameters
    ----------
    model : fitted TimeAwareMF with the ``user_day`` term
    ratings : DataFrame
        Its training ratings (``userId``, ``timestamp``).

    Returns
    -------
    DataFrame
        ``userId``, ``date``, ``offset`` (stars), ``n_ratings`` (that user's ratings that
        day), ``first_day`` (the user's first day with ratings), ``nth_day`` (1, 2, ... per
        user, in time order).
    """
    offsets = pd.DataFrame(
        {
            "userId": model.users_.ids[model.day_users_],
            "day": model.day_numbers_,
            "offset": model.day_bias_,
        }
    )
    offsets = offsets.merge(rating_days(ratings), on=["userId", "day"], how="left")
    offsets["nth_day"] = offsets.groupby("userId").cumcount() + 1
    offsets["first_day"] = offsets["nth_day"] == 1
    offsets["date"] = pd.to_datetime(offsets["day"] * SECONDS_PER_DAY, unit="s")
    return offsets[["userId", "date", "offset", "n_ratings", "first_day", "nth_day"]]


def user_timeline(model, ratings: pd.DataFrame, user_id) -> pd.DataFrame:
    r"""One user's training ratings against the model's user terms.

    ``rest = r_ui − μ − b_i − b_{i,Bin(t)} − U_u·V_i`` is what the user terms must explain;
    ``user_term = b_u + α_u dev_u(t) + b_{u,t}`` is what they do explain and
    ``drift_term = b_u + α_u dev_u(t)`` is the smooth part.

    Parameters
    ----------
    model : fitted TimeAwareMF
    ratings : DataFrame
        Its training ratings (``userId``, ``movieId``, ``rating``, ``timestamp``).
    user_id : a training user

    Returns
    -------
    DataFrame, sorted by time
        ``time`` (Timestamp), ``rating``, ``rest``, ``user_term``, ``drift_term``.
    """
    mine = ratings[ratings["userId"] == user_id].sort_values("timestamp", kind="stable")
    if mine.empty:
        raise KeyError(f"userId {user_id!r} has no ratings")
    terms = model.time_terms(mine)
    u = int(model.users_.to_index(np.asarray([user_id]))[0])
    items = model.items_.to_index(mine["movieId"].to_numpy())
    dots = model.item_factors_[items].astype(np.float64) @ model.user_factors_[u]
    rest = (
        mine["rating"].to_numpy(dtype=np.float64)
        - model.global_mean_
        - model.item_bias_[items]
        - terms["item_bins"].to_numpy()
        - dots
    )
    drift_term = float(model.user_bias_[u]) + terms["user_drift"].to_numpy()
    return pd.DataFrame(
        {
            "time": pd.to_datetime(mine["timestamp"].to_numpy(), unit="s"),
            "rating": mine["rating"].to_numpy(),
            "rest": rest,
            "user_term": drift_term + terms["user_day"].to_numpy(),
            "drift_term": drift_term,
        }
    )
