"""Experiments that compare models under one protocol, as notebooks and benchmarks run them.

:func:`cold_start_comparison` (notebook 08, ``benchmarks/bench_cold_start.py``): the content
baseline, plain ALS and the hybrid model on movies nobody rated and on warm movies.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from recsys_helpers.data.split import item_holdout_split, random_split
from recsys_helpers.evaluation.metrics import ndcg_within_users, rmse
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.content import ContentBaseline
from recsys_helpers.models.features import FEATURE_KINDS
from recsys_helpers.models.hybrid import HybridMF

__all__ = ["cold_start_comparison"]

logger = logging.getLogger(__name__)


def cold_start_comparison(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    tags: pd.DataFrame | None = None,
    *,
    test_fraction: float = 0.1,
    n_factors: int = 16,
    reg: float = 15.0,
    reg_bias: float = 5.0,
    feature_reg: float = 10.0,
    n_iter: int = 10,
    feature_kinds: Sequence[str] = FEATURE_KINDS,
    content_alpha: float = 20.0,
    k: int = 10,
    random_state: int = 0,
    cg_steps: int | None = None,
) -> pd.DataFrame:
    """Content baseline, plain ALS and hybrid ALS on cold-start and on warm movies.

    * ``cold``: :func:`~recsys_helpers.data.split.item_holdout_split` puts every rating of a
      seeded ``test_fraction`` of movies in test, so they have no training ratings. Plain ALS then
      predicts ``μ + b_u`` for them; the hybrid predicts from their features; the content
      baseline from the user's feature profile.
    * ``warm``: :func:`~recsys_helpers.data.split.random_split`, a seeded random
      ``test_fraction`` of the ratings.

    Tags applied to a held-out movie stay among its features: they are metadata a new
    movie can carry before it is rated (pass ``feature_kinds=("genres", "year")`` to leave
    them out).

    Plain ALS is :class:`~recsys_helpers.models.als.BiasedMF` with the same λ, λ_b (unscaled), K,
    sweeps and random_state, so the two differ only in the feature prior; ``cg_steps``
    (conjugate-gradient steps per row, None for exact solves) applies to both.

    Returns
    -------
    DataFrame
        One row per (split, model) with ``split`` ("cold"/"warm"), ``model``
        ("content", "als", "hybrid"), ``rmse``, ``ndcg@{k}`` (within each user's test
        movies, gain = rating, see :func:`ndcg_within_users`), ``n_test`` (ratings).
    """
    # a fixed number of sweeps for every model: no convergence warning wanted
    common = dict(
        n_factors=n_factors,
        reg=reg,
        reg_bias=reg_bias,
        n_iter=n_iter,
        random_state=random_state,
        tol=None,
        cg_steps=cg_steps,
    )
    splits = {
        "cold": item_holdout_split(ratings, test_fraction, random_state=random_state),
        "warm": random_split(ratings, test_fraction, random_state=random_state),
    }
    rows = []
    for split, (train, test) in splits.items():
        models = {
            "content": ContentBaseline(alpha=content_alpha, feature_kinds=feature_kinds).fit(
                train, movies, tags
            ),
            "als": BiasedMF(scale_reg=False, dtype="float64", **common).fit(train),
            "hybrid": HybridMF(feature_kinds=feature_kinds, feature_reg=feature_reg, **common).fit(
                train, movies=movies, tags=tags
            ),
        }
        truth = test["rating"].to_numpy(dtype=np.float64)
        for name, model in models.items():
            predicted = model.predict(test)
            rows.append(
                {
                    "split": split,
                    "model": name,
                    "rmse": rmse(truth, predicted),
                    f"ndcg@{k}": ndcg_within_users(test["userId"].to_numpy(), truth, predicted, k),
                    "n_test": len(test),
                }
            )
            logger.info("cold_start_comparison %s %s: %s", split, name, rows[-1])
    return pd.DataFrame(rows)
