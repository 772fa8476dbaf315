r"""What a fitted :class:`~recsys_helpers.models.bayes.BayesianMF` answers from its kept samples.

Predictions average the clipped prediction over the ``S`` kept samples; the predictive
distribution of a rating is the mixture ``(1/S) Σ_s N(r̂^s_ui, 1/α^s)``, whose spread and
quantiles give ``predict(..., return_std=True)`` and ``predict_interval``. Rankings carry
each movie's predictive ``std``, and a new user is drawn once per kept sample by the Gibbs
user step (:func:`recsys_helpers.models.kernels.sample_side`) against that sample's movies.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from recsys_helpers.models import kernels as numpy_kernels
from recsys_helpers.models import posterior
from recsys_helpers.models.training import ITEM, USER, id_columns

__all__ = ["PosteriorServing"]

#: Per-sample prediction rows held in memory at once by ``predict_interval``.
_BATCH_ELEMENTS = 1 << 22


class PosteriorServing:
    """Predictions, intervals, rankings and fold-in from kept posterior samples (mixin).

    Expects the fitted attributes of :class:`~recsys_helpers.models.bayes.BayesianMF`:
    ``{user,item}_{bias,factor}_samples_``, ``noise_precision_samples_``,
    ``{user,item}_prior_{mean,precision}_samples_``, beside the base model's
    ``global_mean_``, ``users_``, ``items_``.
    """

    # ------------------------------------------------------------------ predictions
    def _cold_draws(self, hyper, sample: int) -> dict:
        """One prior draw per side for users or movies absent from training."""
        rng = posterior.generator(self.random_state, sample, "cold")
        draws = {}
        for side in (USER, ITEM):
            mean, precision = hyper[side]
            lower = np.linalg.cholesky(precision)
            draw = mean + np.linalg.solve(lower.T, rng.standard_normal(len(mean)))
            draws[side] = (draw[0], draw[1:])
        return draws

    def _row_times(self, user_index, item_index, X) -> dict | None:
        """Per-row inputs of further terms of ``r̂`` (hook; the time-aware model encodes
        each row's time here)."""
        return None

    def _draw_offsets(self, draw, user_index, rows) -> np.ndarray | float:
        """Further terms of ``r̂`` of one sample for rows encoded by :meth:`_row_times`."""
        return 0.0

    def _sample_prediction(self, draw, cold, user_index, item_index, rows=None) -> np.ndarray:
        r"""Unclipped ``r̂ = μ + b_u + b_i + U_u·V_i`` of one sample for index pairs.

        A user or movie absent from training (index ``-1``) takes the sample's prior draw
        (``cold``), so it is predicted under the prior instead of left out. ``rows``
        (:meth:`_row_times`) adds the model's further terms.
        """
        known_user, known_item = user_index >= 0, item_index >= 0
        users, items = np.where(known_user, user_index, 0), np.where(known_item, item_index, 0)
        (cold_user_bias, cold_user), (cold_item_bias, cold_item) = cold[USER], cold[ITEM]
        prediction = (
            self.global_mean_
            + np.where(known_user, draw["user_bias"][users], cold_user_bias)
            + np.where(known_item, draw["item_bias"][items], cold_item_bias)
        )
        user_factors, item_factors = draw["user_factor"], draw["item_factor"]
        both = known_user & known_item
        prediction[both] += numpy_kernels.pair_dots(
            users[both], items[both], user_factors, item_factors
        )
        only_user = known_user & ~known_item
        prediction[only_user] += user_factors[users[only_user]] @ cold_item
        only_item = ~known_user & known_item
        prediction[only_item] += item_factors[items[only_item]] @ cold_user
        prediction[~known_user & ~known_item] += cold_user @ cold_item
        if rows is not None:
            prediction += self._draw_offsets(draw, user_index, rows)
        return prediction

    def _samples(self):
        """Each kept sample's arrays and cold-start draws (cached after fit or load)."""
        count = len(self.noise_precision_samples_)
        if getattr(self, "_cold", None) is None or len(self._cold) != count:
            self._cold = [
                self._cold_draws(
                    {
                        USER: (
                            self.user_prior_mean_samples_[s],
                            self.user_prior_precision_samples_[s],
                        ),
                        ITEM: (
                            self.item_prior_mean_samples_[s],
                            self.item_prior_precision_samples_[s],
                        ),
                    },
                    s,
                )
                for s in range(count)
            ]
        for s in range(count):
            yield self._kept_draw(s), self._cold[s]

    def _kept_draw(self, sample: int) -> dict:
        """The arrays of kept sample ``sample`` by name."""
        return {
            "user_bias": self.user_bias_samples_[sample],
            "user_factor": self.user_factor_samples_[sample],
            "item_bias": self.item_bias_samples_[sample],
            "item_factor": self.item_factor_samples_[sample],
        }

    def _sample_predictions(self, index, rows) -> np.ndarray:
        """Unclipped predictions of every kept sample for index pairs, shape (S, n)."""
        return np.stack(
            [self._sample_prediction(draw, cold, *index, rows) for draw, cold in self._samples()]
        )

    def _predict_ids(self, users, items, X=None) -> np.ndarray:
        """Average over the kept samples of the clipped prediction."""
        return self._predictive(users, items, X, with_std=False)[0]

    def _predictive(
        self, users, items, X=None, *, with_std: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean of the clipped predictions and, with ``with_std``, the predictive standard
        deviation per row (None without)."""
        index = (self.users_.to_index(users), self.items_.to_index(items))
        rows = self._row_times(*index, X)
        clipped = np.zeros(len(index[0]))
        if with_std:
            total, squares = np.zeros_like(clipped), np.zeros_like(clipped)
        count = 0
        for draw, cold in self._samples():
            prediction = self._sample_prediction(draw, cold, *index, rows)
            clipped += self._clip(prediction)
            if with_std:
                total += prediction
                squares += prediction**2
            count += 1
        if not with_std:
            return clipped / count, None
        spread = np.maximum(squares / count - (total / count) ** 2, 0.0)
        noise = float(np.mean(1.0 / self.noise_precision_samples_))
        return clipped / count, np.sqrt(spread + noise)

    def predict(self, X, return_std: bool = False):
        r"""Posterior-mean predictions, and optionally the predictive standard deviation.

        ``r̂_ui = (1/S) Σ_s clip(μ + b_u^s + b_i^s + U_u^s·V_i^s)`` over the ``S`` kept
        samples. The predictive standard deviation of a new rating is
        ``sqrt(Var_s(r̂^s_ui) + (1/S) Σ_s 1/α^s)``: the spread of the samples plus the noise.
        A user or movie absent from training is a draw from its side's prior in each
        sample (never NaN).

        Parameters
        ----------
        X : DataFrame with ``userId``, ``movieId`` or (n, 2) array of raw ids
        return_std : bool, default False

        Returns
        -------
        mean : ndarray of float64, shape (n,)
        std : ndarray of float64, shape (n,)
            Only with ``return_std=True``.
        """
        check_is_fitted(self, "history_")
        mean, std = self._predictive(*id_columns(X), X, with_std=return_std)
        return (mean, std) if return_std else mean

    def predict_interval(self, X, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        r"""Central credible interval of a new rating, from the predictive mixture.

        The predictive distribution of ``r_ui`` is the mixture ``(1/S) Σ_s N(r̂^s_ui,
        1/α^s)`` over the kept samples; the interval runs from its ``(1 − level)/2`` to its
        ``(1 + level)/2`` quantile (:func:`~recsys_helpers.models.posterior.
        mixture_quantiles`), clipped to the rating range.

        Parameters
        ----------
        X : DataFrame with ``userId``, ``movieId`` or (n, 2) array of raw ids
        level : float in (0, 1), default 0.9

        Returns
        -------
        lower, upper : ndarray of float64, shape (n,)
        """
        check_is_fitted(self, "history_")
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        users, items = id_columns(X)
        index = (self.users_.to_index(users), self.items_.to_index(items))
        times = self._row_times(*index, X)
        variances = 1.0 / self.noise_precision_samples_.astype(np.float64)
        bounds = np.empty((2, len(users)))
        step = max(1, _BATCH_ELEMENTS // len(variances))
        for start in range(0, len(users), step):
            rows = slice(start, start + step)
            batch = None if times is None else {key: value[rows] for key, value in times.items()}
            means = self._sample_predictions((index[0][rows], index[1][rows]), batch)
            bounds[:, rows] = posterior.mixture_quantiles(
                means, variances, [(1 - level) / 2, (1 + level) / 2]
            )
        lower, upper = self._clip(bounds)
        return lower, upper

    # ------------------------------------------------------------------ ranking and fold-in
    def _present_item_bias_samples(self) -> np.ndarray:
        """Each kept sample's movie biases as rankings use them, float64 (S, n_items)."""
        return self.item_bias_samples_.astype(np.float64)

    def _user_state(self, row: int):
        """A training user's kept samples: ``b_u`` (S,) and ``U_u`` (S, K)."""
        return self.user_bias_samples_[:, row], self.user_factor_samples_[:, row]

    def _item_scores(self, state, item_bias_weight: float) -> tuple[np.ndarray, dict]:
        r"""Posterior-mean ranking scores and each movie's predictive ``std``.

        ``s_ui = (1/S) Σ_s (μ + b_u^s + w b_i^s + U_u^s·V_i^s)``; ``std`` is the predictive
        standard deviation of ``r_ui`` (as in :meth:`predict`, unclipped).
        """
        bias, vectors = state
        item_bias = self._present_item_bias_samples()
        dots = np.matmul(
            self.item_factor_samples_, vectors[:, :, None].astype(self.item_factor_samples_.dtype)
        )[:, :, 0]
        ratings = self.global_mean_ + np.asarray(bias, dtype=np.float64)[:, None] + item_bias + dots
        scores = (ratings + (item_bias_weight - 1.0) * item_bias).mean(axis=0)
        noise = float(np.mean(1.0 / self.noise_precision_samples_))
        return scores, {"std": np.sqrt(ratings.var(axis=0) + noise)}

    def _fold_in_state(self, index: np.ndarray, values: np.ndarray):
        """A new user drawn once per kept sample against that sample's movies and priors."""
        count = len(self.noise_precision_samples_)
        width = self._n_factors + 1
        indptr = np.array([0, len(index)], dtype=np.int64)
        bias = np.empty(count)
        factors = np.empty((count, self._n_factors))
        item_bias = self._present_item_bias_samples()
        for s in range(count):
            alpha = float(self.noise_precision_samples_[s])
            mean, precision = (
                self.user_prior_mean_samples_[s],
                self.user_prior_precision_samples_[s],
            )
            item_factors = self.item_factor_samples_[s]
            targets = values - self.global_mean_ - item_bias[s, index]
            noise = posterior.row_noise(
                self.random_state,
                s,
                "fold_in",
                1,
                width,
                1 / np.sqrt(alpha),
                int(numpy_kernels.dual_offsets(indptr, width)[-1]),
            )
            b, f = numpy_kernels.sample_side(
                indptr,
                np.asarray(index, dtype=np.int64),
                targets.astype(item_factors.dtype),
                item_factors,
                precision / alpha,
                precision @ mean / alpha,
                *noise,
            )
            bias[s], factors[s] = b[0], f[0]
        return bias, factors

    def fold_in(self, ratings):
        """Posterior draws of a user not in training, one per kept sample.

        Each kept sample draws the user's ``[b_u, U_u]`` from its conditional given that
        sample's movies, ``α`` and user prior (the Gibbs user step for one row). Movies
        unknown to the model are ignored; at least one must be known
        (:meth:`recommend_prior` is the list for someone who has rated nothing).

        Parameters
        ----------
        ratings : DataFrame (``movieId``, ``rating``) or mapping ``{movieId: rating}``

        Returns
        -------
        bias : ndarray, shape (S,)
        vector : ndarray, shape (S, K)
        """
        return super().fold_in(ratings)
