r"""Ranking, top-N selection and fold-in of new users: array functions the estimator uses.

Ranking score of movie ``i`` for user ``u``

.. math:: s_{ui} = \mu + b_u + w\, b_i + U_u \cdot V_i

with ``w = item_bias_weight``. ``w = 1`` ranks by the predicted rating ``r̂_ui``; because
rarely rated movies can carry large item biases, ``w < 1`` down-weights ``b_i`` and
``min_ratings`` (a popularity floor on training counts) removes them from the ranking.
"""

from __future__ import annotations

import numpy as np

from recsys_helpers.models import kernels

__all__ = ["fold_in", "popularity_floor", "ranking_scores", "top_n"]


def ranking_scores(
    global_mean: float,
    user_bias: float,
    user_vector: np.ndarray,
    item_bias: np.ndarray,
    item_factors: np.ndarray,
    *,
    item_bias_weight: float = 1.0,
    item_counts: np.ndarray | None = None,
    min_ratings: int = 0,
) -> np.ndarray:
    """Scores ``s_ui = μ + b_u + w b_i + U_u · V_i`` of every movie for one user.

    Parameters
    ----------
    global_mean : float
        ``μ``.
    user_bias : float
        ``b_u``.
    user_vector : ndarray, shape (K,)
        ``U_u``.
    item_bias : ndarray, shape (n_items,)
    item_factors : ndarray, shape (n_items, K)
    item_bias_weight : float, default 1.0
        ``w``.
    item_counts : ndarray of int, shape (n_items,), optional
        Training ratings per movie; needed when ``min_ratings > 0``.
    min_ratings : int, default 0
        Movies with fewer training ratings score ``-inf``.

    Returns
    -------
    ndarray of float64, shape (n_items,)
    """
    # in the factors' own precision: no float64 copy of V per call (the web app's hot path)
    vector = np.asarray(user_vector, dtype=item_factors.dtype)
    scores = (item_factors @ vector).astype(np.float64)
    scores += global_mean + user_bias + item_bias_weight * item_bias.astype(np.float64)
    return popularity_floor(scores, item_counts, min_ratings)


def popularity_floor(
    scores: np.ndarray, item_counts: np.ndarray | None, min_ratings: int
) -> np.ndarray:
    """``scores`` with movies of fewer than ``min_ratings`` training ratings set to ``-inf``.

    Parameters
    ----------
    scores : ndarray of float64, shape (n_items,)
        Changed in place and returned.
    item_counts : ndarray of int, shape (n_items,), optional
        Needed when ``min_ratings > 0``.
    min_ratings : int
    """
    if min_ratings > 0:
        if item_counts is None:
            raise ValueError("min_ratings > 0 needs item_counts")
        scores[np.asarray(item_counts) < min_ratings] = -np.inf
    return scores


def top_n(
    scores: np.ndarray, n: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best-scoring indices, best first (ties broken by lower index).

    Parameters
    ----------
    scores : ndarray of float, shape (n_items,)
        ``-inf`` marks movies that may not be recommended.
    n : int >= 1
    exclude : ndarray of int, optional
        Indices never returned (e.g. movies the user has rated).

    Returns
    -------
    indices : ndarray of int64, shape (m,), ``m <= n``
    top_scores : ndarray of float64, shape (m,)
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    scores = np.array(scores, dtype=np.float64)
    if exclude is not None and len(exclude):
        scores[np.asarray(exclude)] = -np.inf
    allowed = np.flatnonzero(np.isfinite(scores))
    if len(allowed) > n:
        # argpartition on the negated scores keeps the n largest; then order them stably
        keep = np.argpartition(-scores[allowed], n - 1)[:n]
        allowed = np.sort(allowed[keep])
    order = np.argsort(-scores[allowed], kind="stable")
    chosen = allowed[order].astype(np.int64)
    return chosen, scores[chosen]


def fold_in(
    item_index: np.ndarray,
    ratings: np.ndarray,
    global_mean: float,
    item_bias: np.ndarray,
    item_factors: np.ndarray,
    reg: float,
    reg_bias: float,
    *,
    scale_reg: bool = False,
    fit_bias: bool = True,
) -> tuple[float, np.ndarray]:
    r"""A new user's ``(b_u, U_u)`` by one least-squares step, movies held fixed.

    The same half-step as training (:func:`recsys_helpers.models.kernels.solve_side`) for one
    row: design rows ``[1, V_i]``, targets ``r_ui − μ − b_i``, penalty
    ``diag(λ_b, c λ, …, c λ)``.

    Parameters
    ----------
    item_index : ndarray of int, shape (m,)
        Rows of the rated movies in ``item_factors`` (distinct, known).
    ratings : ndarray of float, shape (m,)
    global_mean : float
    item_bias : ndarray, shape (n_items,)
    item_factors : ndarray, shape (n_items, K)
    reg, reg_bias : float
    scale_reg : bool, default False
    fit_bias : bool, default True
        False for a model without biases (``b_u`` stays 0).

    Returns
    -------
    bias : float
    vector : ndarray, shape (K,)
        ``(0, 0)`` when ``m = 0`` (the prior mean).
    """
    item_index = np.asarray(item_index, dtype=np.int64)
    targets = np.asarray(ratings, dtype=np.float64) - global_mean - item_bias[item_index]
    indptr = np.array([0, len(item_index)], dtype=np.int64)
    bias, factors = kernels.solve_side(
        indptr,
        item_index,
        targets.astype(item_factors.dtype),
        item_factors,
        reg,
        reg_bias,
        scale_reg=scale_reg,
        fit_bias=fit_bias,
    )
    return float(bias[0]), factors[0]
