"""What a fitted model answers: predictions, top-N lists, and new users folded in.

:class:`ServingMixin` gives :class:`~recsys_helpers.models.base.FactorModel` its
prediction (``μ`` plus whatever is known of the user and the movie, clipped to the rating
scale; never NaN), ranking (:mod:`recsys_helpers.models.ranking`) and fold-in. Models with
further terms or with posterior samples override the hooks ``_predict_index``,
``_predict_ids``, ``_user_state``, ``_fold_in_state`` and ``_item_scores``.
"""

from __future__ import annotations

import logging
from collections.abc import Sized

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from recsys_helpers.data.checks import (
    check_count,
    check_finite,
    integer_ids,
    require_columns,
    require_in_range,
)
from recsys_helpers.errors import DataError
from recsys_helpers.models import kernels, ranking
from recsys_helpers.models.training import (
    ITEM_COL,
    RATING_COL,
    USER_COL,
    id_columns,
    ratings_frame,
)

__all__ = ["ServingMixin"]

logger = logging.getLogger(__name__)


class ServingMixin:
    """Prediction, ranking and fold-in for a fitted factor model (see the module docstring).

    Relies on the fitted attributes of :class:`~recsys_helpers.models.base.FactorModel`.
    """

    def _clip(self, prediction: np.ndarray) -> np.ndarray:
        low, high = self.rating_range_
        return np.clip(prediction, low, high)

    def _predict_index(self, user_index, item_index, X=None) -> np.ndarray:
        """Unclipped ``r̂`` for rows (``-1`` = unknown: that side contributes nothing)."""
        known_user, known_item = user_index >= 0, item_index >= 0
        both = known_user & known_item
        prediction = np.full(len(user_index), self.global_mean_, dtype=np.float64)
        prediction[known_user] += self.user_bias_[user_index[known_user]]
        prediction[known_item] += self.item_bias_[item_index[known_item]]
        prediction[both] += kernels.pair_dots(
            user_index[both], item_index[both], self.user_factors_, self.item_factors_
        )
        return prediction

    def _predict_ids(self, users, items, X=None) -> np.ndarray:
        """Clipped ``r̂`` for raw ids.

        Raises
        ------
        DataError
            An id that is not an integer (a word, a fraction), naming the column and row.
        """
        user_index = self.users_.to_index(integer_ids(users, USER_COL))
        item_index = self.items_.to_index(integer_ids(items, ITEM_COL))
        return self._clip(self._predict_index(user_index, item_index, X))

    def _validation_rmse(self, users, items, ratings, frame) -> float:
        predictions = self._predict_ids(users, items, frame)
        return float(np.sqrt(np.mean((ratings - predictions) ** 2)))

    def predict(self, X) -> np.ndarray:
        """Predicted ratings ``r̂_ui``, clipped to the rating scale.

        Unknown users or movies get ``μ`` plus whatever bias is known (never NaN).

        Parameters
        ----------
        X : DataFrame with ``userId``, ``movieId`` or (n, 2) array of raw ids

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        check_is_fitted(self, "history_")
        users, items = id_columns(X)
        return self._predict_ids(users, items, X if isinstance(X, pd.DataFrame) else None)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Negative RMSE (greater is better, as scikit-learn scorers expect).

        Parameters
        ----------
        X : DataFrame or (n, 2) array of raw ids
        y : array-like (n,), optional
            Ratings when ``X`` has no ``rating`` column.

        Returns
        -------
        float
            ``−sqrt(mean((r − r̂)²))``.
        """
        frame = ratings_frame(X, y)
        check_is_fitted(self, "history_")
        ratings = np.asarray(frame[RATING_COL], dtype=np.float64)
        predictions = self._predict_ids(*id_columns(frame), frame)
        return -float(np.sqrt(np.mean((ratings - predictions) ** 2)))

    # ------------------------------------------------------------------ top-N and fold-in
    def _user_state(self, row: int):
        """What ranks movies for a training user: ``(b_u, U_u)`` (hook)."""
        return float(self.user_bias_[row]), self.user_factors_[row]

    def _item_scores(self, state, item_bias_weight: float) -> tuple[np.ndarray, dict]:
        """Ranking score of every movie for one user, and extra columns to report (hook)."""
        bias, vector = state
        scores = ranking.ranking_scores(
            self.global_mean_,
            bias,
            vector,
            self.item_bias_,
            self.item_factors_,
            item_bias_weight=item_bias_weight,
        )
        return scores, {}

    def _top_n(self, state, n, excluded, item_bias_weight, min_ratings) -> pd.DataFrame:
        scores, extra = self._item_scores(state, item_bias_weight)
        ranking.popularity_floor(scores, self.item_counts_, min_ratings)
        chosen, top_scores = ranking.top_n(scores, n, excluded)
        columns = {
            ITEM_COL: self.items_.to_ids(chosen),
            "score": top_scores,
            "rank": np.arange(1, len(chosen) + 1),
        }
        columns.update({name: values[chosen] for name, values in extra.items()})
        return pd.DataFrame(columns)

    def _exclusions(self, exclude) -> np.ndarray:
        if exclude is None or (isinstance(exclude, Sized) and len(exclude) == 0):
            return np.empty(0, dtype=np.int64)
        index = self.items_.to_index(integer_ids(list(exclude), "exclude"))
        return index[index >= 0]

    def _seen_by(self, row: int) -> np.ndarray:
        indptr, indices = self._seen
        return indices[indptr[row] : indptr[row + 1]].astype(np.int64)

    def recommend(
        self,
        user_id,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        exclude=None,
        item_bias_weight: float = 1.0,
        min_ratings: int = 0,
    ) -> pd.DataFrame:
        """Top-``n`` movies for a training user by ``μ + b_u + w b_i + U_u·V_i``.

        Parameters
        ----------
        user_id : raw user id seen in training
        n : int, default 10
        exclude_seen : bool, default True
            Leave out the movies the user rated in training.
        exclude : iterable of movie ids, optional
            Further movies to leave out (unknown ids are ignored).
        item_bias_weight : float, default 1.0
            ``w`` (see :func:`recsys_helpers.models.ranking.ranking_scores`).
        min_ratings : int, default 0
            Popularity floor on the movies' training rating counts.

        Returns
        -------
        DataFrame
            ``movieId``, ``score``, ``rank`` (1 = best), at most ``n`` rows.
        """
        check_is_fitted(self, "history_")
        _check_ranking_options(n, item_bias_weight, min_ratings)
        row = int(self.users_.to_index(integer_ids([user_id], "recommend: user_id"))[0])
        if row < 0:
            raise DataError(
                f"userId {user_id!r} is not in the training data; use recommend_new_user"
            )
        excluded = [self._exclusions(exclude)]
        if exclude_seen:
            excluded.append(self._seen_by(row))
        return self._top_n(
            self._user_state(row), n, np.concatenate(excluded), item_bias_weight, min_ratings
        )

    def seen_items(self, user_id) -> np.ndarray:
        """The movieIds a training user rated (what ``recommend`` leaves out by default).

        Parameters
        ----------
        user_id : raw user id seen in training

        Returns
        -------
        ndarray of movieIds, shape (|Ω_u|,), in the model's movie order
        """
        check_is_fitted(self, "history_")
        row = int(self.users_.to_index(np.asarray([user_id]))[0])
        if row < 0:
            raise DataError(f"userId {user_id!r} is not in the training data")
        return self.items_.to_ids(self._seen_by(row))

    def _new_user_ratings(self, ratings) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the known movies a new user rated and the ratings, checked.

        Raises
        ------
        DataError
            Ids that are not integers, ratings that are not finite numbers or lie outside
            the model's ``rating_range_``, a movie rated twice, or no movie the model
            knows (the same input the command line refuses).
        """
        what = "new user's ratings"
        if isinstance(ratings, pd.DataFrame):
            require_columns(ratings, (ITEM_COL, RATING_COL), what)
            items, values = ratings[ITEM_COL].to_numpy(), ratings[RATING_COL].to_numpy()
        else:
            ratings = dict(ratings)
            items, values = np.asarray(list(ratings)), list(ratings.values())
        items = integer_ids(items, f"{what}: {ITEM_COL}")
        try:  # plain numbers (the usual case) convert directly; anything else is examined
            numbers = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
            numbers = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(numbers))
        if bad.size:
            raise DataError(
                f"{what}: {ITEM_COL} {items[bad[0]]}: rating {values[bad[0]]!r} is not a "
                "finite number"
            )
        require_in_range(
            numbers,
            self.rating_range_,
            lambda k: f"{what}: {ITEM_COL} {items[k]}",
            hint=" of this model",
        )
        if len(np.unique(items)) != len(items):
            raise DataError(f"{what} rate a movie twice")
        index = self.items_.to_index(items)
        if not (index >= 0).any():
            given = ", ".join(map(str, items[:5])) + (", ..." if len(items) > 5 else "")
            raise DataError(
                f"{what}: none of the movies ({given or 'none given'}) is known to the "
                "model; rate movies seen in training"
            )
        if (index < 0).any():
            logger.info("fold-in ignores %d movie(s) unknown to the model", int((index < 0).sum()))
        return index[index >= 0], numbers[index >= 0]

    def _fold_in_state(self, index: np.ndarray, values: np.ndarray):
        """A new user's ranking state from known movies' rows and ratings (hook)."""
        return ranking.fold_in(
            index,
            values,
            self.global_mean_,
            self.item_bias_,
            self.item_factors_,
            self.reg,
            self.reg_bias,
            scale_reg=getattr(self, "scale_reg", False),
            fit_bias=getattr(self, "fit_biases", True),
        )

    def fold_in(self, ratings):
        """Bias and vector of a user not in training, by one least-squares step.

        Solves the user half-step of training (:func:`recsys_helpers.models.ranking.fold_in`)
        with the movies held fixed; no retraining. Movies unknown to the model carry no
        information and are ignored.

        Parameters
        ----------
        ratings : DataFrame (``movieId``, ``rating``) or mapping ``{movieId: rating}``

        Returns
        -------
        bias : float
        vector : ndarray, shape (K,)
        """
        check_is_fitted(self, "history_")
        return self._fold_in_state(*self._new_user_ratings(ratings))

    def recommend_new_user(
        self,
        ratings,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        exclude=None,
        item_bias_weight: float = 1.0,
        min_ratings: int = 0,
    ) -> pd.DataFrame:
        """Top-``n`` movies for a new user described by their ratings (fold-in, then rank).

        Parameters
        ----------
        ratings : DataFrame (``movieId``, ``rating``) or mapping ``{movieId: rating}``
        n, exclude, item_bias_weight, min_ratings
            As in :meth:`recommend`.
        exclude_seen : bool, default True
            Leave out the movies in ``ratings``.

        Returns
        -------
        DataFrame
            ``movieId``, ``score``, ``rank``.
        """
        check_is_fitted(self, "history_")
        _check_ranking_options(n, item_bias_weight, min_ratings)
        index, values = self._new_user_ratings(ratings)
        excluded = [self._exclusions(exclude)]
        if exclude_seen:
            excluded.append(index)
        return self._top_n(
            self._fold_in_state(index, values),
            n,
            np.concatenate(excluded),
            item_bias_weight,
            min_ratings,
        )

    def recommend_prior(
        self,
        n: int = 10,
        *,
        exclude=None,
        item_bias_weight: float = 1.0,
        min_ratings: int = 0,
    ) -> pd.DataFrame:
        """Top-``n`` for someone the model knows nothing about yet: the prior-mean user.

        Nothing is folded in: the user is at the prior mean (for ALS ``b_u = 0``,
        ``U_u = 0``, so movies rank by ``μ + w b_i``), the same list for everyone. This is
        what a person who has rated nothing sees; :meth:`recommend_new_user` refuses an
        empty or unknown set of ratings instead of silently returning this list.

        Parameters
        ----------
        n, exclude, item_bias_weight, min_ratings
            As in :meth:`recommend`.

        Returns
        -------
        DataFrame
            ``movieId``, ``score``, ``rank``.
        """
        check_is_fitted(self, "history_")
        _check_ranking_options(n, item_bias_weight, min_ratings)
        nothing = np.empty(0, dtype=np.int64)
        state = self._fold_in_state(nothing, np.empty(0, dtype=np.float64))
        return self._top_n(state, n, self._exclusions(exclude), item_bias_weight, min_ratings)


def _check_ranking_options(n, item_bias_weight, min_ratings) -> None:
    """ValueError naming the option unless ``n >= 1``, ``w`` finite and ``min_ratings >= 0``."""
    check_count("n", n, 1)
    check_finite("item_bias_weight", item_bias_weight)
    check_count("min_ratings", min_ratings, 0)
