"""Synthetic ratings with timestamps and planted time effects, for the time-aware model's tests.

Each user rates on a few days spread over a three-year span, several movies a day; the
ratings follow the time-aware model exactly, with Gaussian noise::

    r = μ + b_u + α_u dev_u(t) + b_{u,t} + b_i + b_{i,Bin(t)} + U_u · V_i + ε

The encodings are written out here from their definitions (whole UTC days, the user's mean
day, equal bins over the span of the ratings), independently of the package's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY = 86_400
START = 1_400_000_000  # 2014-05-13, Unix seconds


@dataclass
class Planted:
    """The true parameters behind :func:`planted_ratings` (keyed by raw ids and days)."""

    user_bias: pd.Series  # b_u by userId
    user_drift: pd.Series  # α_u by userId
    day_bias: pd.Series  # b_{u,t} by (userId, day): whole days since 1970-01-01
    item_bin_bias: pd.DataFrame  # b_{i,k}: movieId x bin
    user_term: pd.Series  # b_u + α_u dev_u(t) + b_{u,t} of each rating (the frame's index)
    noise_std: float


def planted_ratings(
    n_users=200,
    n_items=120,
    days_per_user=8,
    ratings_per_day=8,
    n_bins=6,
    beta=0.4,
    drift_std=0.06,
    day_std=0.3,
    bin_std=0.3,
    n_factors=0,
    noise_std=0.15,
    seed=0,
) -> tuple[pd.DataFrame, Planted]:
    """Ratings (``userId``, ``movieId``, ``rating``, ``timestamp``) and the planted truth."""
    rng = np.random.default_rng(seed)
    span_days = 3 * 365
    rows = []
    for user in range(n_users):
        days = np.sort(rng.choice(span_days, size=days_per_user, replace=False))
        movies = rng.choice(n_items, size=(days_per_user, ratings_per_day), replace=False)
        for day, chosen in zip(days, movies, strict=True):
            for movie in chosen:
                second = int(rng.integers(0, DAY))
                rows.append((user, int(movie), START + int(day) * DAY + second))
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "timestamp"])
    frame = frame.drop_duplicates(["userId", "movieId"]).reset_index(drop=True)
    user, item, seconds = (frame[c].to_numpy() for c in ("userId", "movieId", "timestamp"))

    day = seconds // DAY
    mean_day = pd.Series(day).groupby(user).mean().to_numpy()
    delta = day - mean_day[user]
    dev = np.sign(delta) * np.abs(delta) ** beta
    edges = np.linspace(seconds.min(), seconds.max(), n_bins + 1)
    bins = np.minimum(((seconds - edges[0]) / (edges[1] - edges[0])).astype(int), n_bins - 1)

    user_bias = 0.3 * rng.normal(size=n_users)
    item_bias = 0.4 * rng.normal(size=n_items)
    drift = drift_std * rng.normal(size=n_users)
    pair_keys, pair = np.unique(user * 10**6 + day, return_inverse=True)
    day_bias = day_std * rng.normal(size=len(pair_keys))
    bin_bias = bin_std * rng.normal(size=(n_items, n_bins))
    user_factors = 0.5 * rng.normal(size=(n_users, n_factors))
    item_factors = 0.5 * rng.normal(size=(n_items, n_factors))
    user_term = user_bias[user] + drift[user] * dev + day_bias[pair]
    rating = (
        3.5
        + user_term
        + item_bias[item]
        + bin_bias[item, bins]
        + np.einsum("nk,nk->n", user_factors[user], item_factors[item])
        + noise_std * rng.normal(size=len(frame))
    )
    frame["rating"] = rating
    truth = Planted(
        user_bias=pd.Series(user_bias, index=pd.RangeIndex(n_users, name="userId")),
        user_drift=pd.Series(drift, index=pd.RangeIndex(n_users, name="userId")),
        day_bias=pd.Series(
            day_bias,
            index=pd.MultiIndex.from_arrays(
                [pair_keys // 10**6, pair_keys % 10**6], names=["userId", "day"]
            ),
        ),
        item_bin_bias=pd.DataFrame(bin_bias, index=pd.RangeIndex(n_items, name="movieId")),
        user_term=pd.Series(user_term, index=frame.index),
        noise_std=noise_std,
    )
    return frame[["userId", "movieId", "rating", "timestamp"]], truth
