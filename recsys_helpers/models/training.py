"""Training input as the sweeps see it: accepted forms → the rating structure → both sides.

:func:`ratings_frame` accepts a ratings frame or ``(n, 2)`` ids with ``y``;
:class:`TrainingData` wraps the package's one rating structure,
:class:`~recsys_helpers.data.ratings.RatingMatrix` (which validates the ratings once), as
the two :class:`Side` views the half-steps iterate over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from recsys_helpers.data.checks import require_columns
from recsys_helpers.data.ratings import RatingMatrix
from recsys_helpers.errors import DataError
from recsys_helpers.models import kernels

__all__ = ["ITEM", "USER", "Side", "TrainingData", "id_columns", "ratings_frame"]

USER, ITEM = "user", "item"
USER_COL, ITEM_COL, RATING_COL = "userId", "movieId", "rating"


@dataclass(frozen=True)
class Side:
    """One side of the alternating updates: its rows and the ratings each row owns.

    Attributes
    ----------
    name : {"user", "item"}
    indptr : ndarray of int, shape (n_rows + 1,)
    indices : ndarray of int32, shape (nnz,)
        The other side's row of each entry.
    ratings : ndarray of float64, shape (nnz,)
        ``r_ui`` of each entry.
    rows : ndarray of int32, shape (nnz,)
        This side's row of each entry (built on first use: not every model needs it).
    counts : ndarray of int64, shape (n_rows,)
        ``|Ω_u|``.
    extra : dict of str to ndarray, shape (nnz,) each
        Further per-rating columns a model asked for (its ``_rating_columns``, e.g.
        ``timestamp``), aligned with this side's entries.
    """

    name: str
    indptr: np.ndarray
    indices: np.ndarray
    ratings: np.ndarray
    counts: np.ndarray
    extra: dict = field(default_factory=dict)

    @cached_property
    def rows(self) -> np.ndarray:
        return kernels.row_of_entries(self.indptr)


class TrainingData:
    """The training ratings as the sweeps see them: the rating matrix and both sides.

    Lives only while :meth:`FactorModel.fit` runs; models keep none of it afterwards
    except what they need to rank (each user's rated movies).
    """

    def __init__(self, matrix: RatingMatrix) -> None:
        self.matrix = matrix
        self.sides = {
            USER: self._side(USER, matrix.by_user, matrix.user_counts, matrix.extra_by_user),
            ITEM: self._side(ITEM, matrix.by_item, matrix.item_counts, matrix.extra_by_item),
        }

    @staticmethod
    def _side(name, csr, counts, extra) -> Side:
        # the kernels' index types once here, not a copy at every call of every sweep
        return Side(
            name,
            csr.indptr.astype(np.int64, copy=False),
            kernels.entry_index(csr.indices, csr.shape[1]),
            csr.data,
            counts,
            extra,
        )


def ratings_frame(X, y=None) -> pd.DataFrame:
    """``userId``, ``movieId`` and ``rating`` from the accepted training inputs.

    Parameters
    ----------
    X : DataFrame with ``userId``, ``movieId`` (and ``rating`` when ``y`` is None, and any
        further columns a model uses), or array-like of shape (n, 2) of raw ids.
    y : array-like of shape (n,), optional
        Ratings; take precedence over a ``rating`` column.

    Returns
    -------
    DataFrame
        ``X`` itself when it already holds the ratings, else a new frame.
    """
    if isinstance(X, pd.DataFrame):
        require_columns(X, (USER_COL, ITEM_COL), "ratings")
        frame = X
    else:
        users, items = id_columns(X)
        frame = pd.DataFrame({USER_COL: users, ITEM_COL: items})
    if y is not None:
        ratings = np.asarray(y).ravel()
        if len(ratings) != len(frame):
            raise DataError(f"y has {len(ratings)} ratings for {len(frame)} rows of X")
        frame = frame.assign(**{RATING_COL: ratings})
    if RATING_COL not in frame.columns:
        raise DataError(f"fit needs ratings: a '{RATING_COL}' column or y")
    return frame


def id_columns(X) -> tuple[np.ndarray, np.ndarray]:
    """Raw user and movie ids of a frame (``userId``, ``movieId``) or an (n, 2) array."""
    if isinstance(X, pd.DataFrame):
        require_columns(X, (USER_COL, ITEM_COL), "ratings")
        return X[USER_COL].to_numpy(), X[ITEM_COL].to_numpy()
    array = np.asarray(X)
    if array.ndim != 2 or array.shape[1] != 2:
        raise DataError(
            f"X must be a frame with {USER_COL}/{ITEM_COL} or an (n, 2) array of ids; "
            f"got shape {array.shape}"
        )
    return array[:, 0], array[:, 1]
