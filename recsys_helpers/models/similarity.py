r"""Movies near each other in the latent space, by the cosine of their vectors.

.. math:: \cos(V_i, V_j) = \frac{V_i \cdot V_j}{\lVert V_i \rVert\, \lVert V_j \rVert}

Two movies whose vectors point the same way are liked and disliked by the same users,
whatever their biases. :func:`nearest_items` lists a movie's neighbours ("similar
movies"); :func:`closest_rated` explains a recommendation by the movie the user rated
whose vector is closest to it ("because you rated …"). A movie whose vector is zero (no
training ratings and no prior, or ``K = 0``) has no direction: its cosine is undefined
(NaN), and it is never a neighbour nor an explanation. Selection reuses
:func:`recsys_helpers.models.ranking.top_n` and its popularity floor.
"""

from __future__ import annotations

import numpy as np

from recsys_helpers.models import ranking

__all__ = ["closest_rated", "cosine_similarities", "nearest_items"]


def _cosines(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``cos(left_a, right_b)`` for every pair of rows, shape ``(len(left), len(right))``;
    NaN where either row is zero (also every pair when ``K = 0``)."""
    left = np.asarray(left, dtype=np.float64)
    right = np.asarray(right, dtype=np.float64)
    left_norm = np.linalg.norm(left, axis=1)
    right_norm = np.linalg.norm(right, axis=1)
    cosines = (left / np.where(left_norm > 0, left_norm, 1.0)[:, None]) @ (
        right / np.where(right_norm > 0, right_norm, 1.0)[:, None]
    ).T
    cosines[~((left_norm > 0)[:, None] & (right_norm > 0)[None, :])] = np.nan
    return cosines


def cosine_similarities(item_factors: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``cos(V_i, v)`` for every movie ``i``.

    Parameters
    ----------
    item_factors : ndarray, shape (n_items, K)
        ``V``.
    vector : ndarray, shape (K,)
        ``v``.

    Returns
    -------
    ndarray of float64, shape (n_items,)
        In ``[−1, 1]``; NaN where ``V_i`` or ``v`` is zero.
    """
    return _cosines(item_factors, np.asarray(vector).reshape(1, -1))[:, 0]


def nearest_items(
    item_factors: np.ndarray,
    item: int,
    n: int,
    *,
    exclude: np.ndarray | None = None,
    item_counts: np.ndarray | None = None,
    min_ratings: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` movies whose vectors have the largest cosine with movie ``item``'s.

    Parameters
    ----------
    item_factors : ndarray, shape (n_items, K)
        ``V``.
    item : int
        Row of the movie in ``item_factors``; never its own neighbour.
    n : int >= 1
    exclude : ndarray of int, optional
        Further rows never returned.
    item_counts : ndarray of int, shape (n_items,), optional
        Training ratings per movie; needed when ``min_ratings > 0``.
    min_ratings : int, default 0
        Popularity floor: movies with fewer training ratings are left out.

    Returns
    -------
    indices : ndarray of int64, shape (m,), ``m <= n``
        Best first; ties broken by lower row. Empty when movie ``item`` has a zero vector.
    similarities : ndarray of float64, shape (m,)
        ``cos(V_i, V_item)``.
    """
    similarities = cosine_similarities(item_factors, item_factors[item])
    similarities[np.isnan(similarities)] = -np.inf
    ranking.popularity_floor(similarities, item_counts, min_ratings)
    excluded = np.asarray([item], dtype=np.int64)
    if exclude is not None:
        excluded = np.concatenate([excluded, np.asarray(exclude, dtype=np.int64)])
    return ranking.top_n(similarities, n, excluded)


def closest_rated(
    item_factors: np.ndarray, items: np.ndarray, rated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each movie in ``items``, the rated movie whose vector is closest by cosine.

    ``argmax_{j ∈ rated} cos(V_i, V_j)`` for every ``i`` in ``items``: the rated movie that
    points the same way in the latent space, used to say "because you rated …".

    Parameters
    ----------
    item_factors : ndarray, shape (n_items, K)
        ``V``.
    items : ndarray of int, shape (m,)
        Rows of the movies to explain.
    rated : ndarray of int, shape (r,)
        Rows of the movies the user rated.

    Returns
    -------
    position : ndarray of int64, shape (m,)
        Index into ``rated`` of the closest rated movie (the first on ties), or ``-1``
        where no cosine is defined (no rated movies, or zero vectors).
    similarity : ndarray of float64, shape (m,)
        That cosine; NaN where ``position`` is ``-1``.
    """
    items = np.asarray(items, dtype=np.int64)
    rated = np.asarray(rated, dtype=np.int64)
    position = np.full(len(items), -1, dtype=np.int64)
    similarity = np.full(len(items), np.nan)
    if len(items) == 0 or len(rated) == 0:
        return position, similarity
    cosines = _cosines(item_factors[items], item_factors[rated])
    defined = ~np.isnan(cosines)
    cosines[~defined] = -np.inf
    has_any = defined.any(axis=1)
    best = np.argmax(cosines, axis=1)
    position[has_any] = best[has_any]
    similarity[has_any] = cosines[has_any, best[has_any]]
    return position, similarity
