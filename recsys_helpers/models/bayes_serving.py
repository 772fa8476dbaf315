r"""What a fitted :class:`~recsys_helpers.models.bayes.BayesianMF` answers from its kept samples.

Predictions average the clipped prediction over the ``S`` kept samples; the predictive
distribution of a rating is the mixture ``(1/S) Σ_s N(r̂^s_ui, 1/α^s + v^s_ui)``, whose spread
and quantiles give ``predict(..., return_std=True)`` and ``predict_interval``. ``v^s_ui`` is
zero for a user and a movie seen in training; a user or movie absent from training is
integrated out under the sample's prior instead of drawn from it (its prior mean in ``r̂^s``,
its prior spread in ``v^s``: :meth:`PosteriorServing._cold_variance`). Rankings carry each
movie's predictive ``std``, and a new user is drawn once per kept sample by the Gibbs user
step (:func:`recsys_helpers.models.kernels.sample_side`) against that sample's movies.
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


def _prior_spread(factors: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``[1, F_n] Σ [1, F_n]ᵀ`` for each row ``F_n`` of ``factors`` (n, K), shape (n,): the
    variance of ``b + F_n·F`` for ``[b, F] ~ N(m, Σ)``."""
    factors = np.asarray(factors, dtype=np.float64)
    return (
        covariance[0, 0]
        + 2.0 * factors @ covariance[1:, 0]
        + np.einsum("nk,nk->n", factors @ covariance[1:, 1:], factors)
    )


class PosteriorServing:
    """Predictions, intervals, rankings and fold-in from kept posterior samples (mixin).

    Expects the fitted attributes of :class:`~recsys_helpers.models.bayes.BayesianMF`:
    ``{user,item}_{bias,factor}_samples_``, ``noise_precision_samples_``,
    ``{user,item}_prior_{mean,precision}_samples_``, beside the base model's
    ``global_mean_``, ``users_``, ``items_``.
    """

    # ------------------------------------------------------------------ predictions
    @staticmethod
    def _cold_moments(hyper) -> dict:
        """``{side: (m, Λ⁻¹)}``: the prior mean and covariance of a row absent from training,
        float64, shapes (K + 1,) and (K + 1, K + 1), from a sample's ``{side: (m, Λ)}``."""
        return {
            side: (np.asarray(mean, dtype=np.float64), np.linalg.inv(precision))
            for side, (mean, precision) in hyper.items()
        }

    def _row_times(self, user_index, item_index, X) -> dict | None:
        """Per-row inputs of further terms of ``r̂`` (hook; the time-aware model encodes
        each row's time here)."""
        return None

    def _draw_offsets(self, draw, user_index, rows) -> np.ndarray | float:
        """Further terms of ``r̂`` of one sample for rows encoded by :meth:`_row_times`."""
        return 0.0

    def _sample_prediction(self, draw, cold, user_index, item_index, rows=None) -> np.ndarray:
        r"""Unclipped ``r̂ = μ + b_u + b_i + U_u·V_i`` of one sample for index pairs.

        A user or movie absent from training (index ``-1``) is integrated out under the
        sample's prior (``cold``, :meth:`_cold_moments`): its row is replaced by the prior
        mean ``m``, which gives ``E[r̂ | sample]`` exactly (``r̂`` is linear in each side's
        row, and the two sides are independent a priori). :meth:`_cold_variance` is the
        spread this leaves out. ``rows`` (:meth:`_row_times`) adds the model's further terms.
        """
        known_user, known_item = user_index >= 0, item_index >= 0
        users, items = np.where(known_user, user_index, 0), np.where(known_item, item_index, 0)
        cold_user, cold_item = cold[USER][0], cold[ITEM][0]
        prediction = (
            self.global_mean_
            + np.where(known_user, draw["user_bias"][users], cold_user[0])
            + np.where(known_item, draw["item_bias"][items], cold_item[0])
        )
        user_factors, item_factors = draw["user_factor"], draw["item_factor"]
        both = known_user & known_item
        prediction[both] += numpy_kernels.pair_dots(
            users[both], items[both], user_factors, item_factors
        )
        only_user = known_user & ~known_item
        prediction[only_user] += user_factors[users[only_user]] @ cold_item[1:]
        only_item = ~known_user & known_item
        prediction[only_item] += item_factors[items[only_item]] @ cold_user[1:]
        prediction[~known_user & ~known_item] += cold_user[1:] @ cold_item[1:]
        if rows is not None:
            prediction += self._draw_offsets(draw, user_index, rows)
        return prediction

    @staticmethod
    def _cold_variance(draw, cold, user_index, item_index) -> np.ndarray:
        r"""Variance of one sample's ``r̂`` that the prior of an absent side adds, shape (n,).

        Zero where both sides were seen in training. With ``θ = [b, F] ~ N(m, Σ)`` for
        the absent side and ``w = [1, F]`` of the known one, ``b + F·F' = wᵀθ`` is Gaussian
        with variance ``wᵀ Σ w``: the per-sample predictive ``N(r̂^s, 1/α^s + wᵀ Σ w)`` is
        exact. With both sides absent, ``b_u + b_i + U·V`` (independent rows) has variance

        .. math::

            m̄_Vᵀ Σ_U m̄_V + m̄_Uᵀ Σ_V m̄_U + \operatorname{tr}(Σ_U^{FF} Σ_V^{FF}),
            \qquad m̄ = [1, m_F]

        (law of total variance over the movie's row; ``FF`` is the factor block), exact
        though that sum is not Gaussian.
        """
        known_user, known_item = user_index >= 0, item_index >= 0
        variance = np.zeros(len(user_index))
        if (known_user & known_item).all():
            return variance
        (user_mean, user_cov), (item_mean, item_cov) = cold[USER], cold[ITEM]
        only_user = known_user & ~known_item
        variance[only_user] = _prior_spread(draw["user_factor"][user_index[only_user]], item_cov)
        only_item = ~known_user & known_item
        variance[only_item] = _prior_spread(draw["item_factor"][item_index[only_item]], user_cov)
        neither = ~known_user & ~known_item
        variance[neither] = (
            _prior_spread(item_mean[None, 1:], user_cov)[0]
            + _prior_spread(user_mean[None, 1:], item_cov)[0]
            + np.sum(user_cov[1:, 1:] * item_cov[1:, 1:].T)
        )
        return variance

    def _samples(self):
        """Each kept sample's arrays and prior moments (cached after fit or load)."""
        count = len(self.noise_precision_samples_)
        if getattr(self, "_cold", None) is None or len(self._cold) != count:
            self._cold = [
                self._cold_moments(
                    {
                        USER: (
                            self.user_prior_mean_samples_[s],
                            self.user_prior_precision_samples_[s],
                        ),
                        ITEM: (
                            self.item_prior_mean_samples_[s],
                            self.item_prior_precision_samples_[s],
                        ),
                    }
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

    def _sample_moments(self, index, rows) -> tuple[np.ndarray, np.ndarray]:
        """Each kept sample's unclipped prediction and predictive variance
        (``1/α^s + v^s``) for index pairs, both shape (S, n)."""
        means, variances = [], []
        for (draw, cold), alpha in zip(self._samples(), self.noise_precision_samples_, strict=True):
            means.append(self._sample_prediction(draw, cold, *index, rows))
            variances.append(1.0 / float(alpha) + self._cold_variance(draw, cold, *index))
        return np.stack(means), np.stack(variances)

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
            total, squares, prior = (np.zeros_like(clipped) for _ in range(3))
        count = 0
        for draw, cold in self._samples():
            prediction = self._sample_prediction(draw, cold, *index, rows)
            clipped += self._clip(prediction)
            if with_std:
                total += prediction
                squares += prediction**2
                prior += self._cold_variance(draw, cold, *index)
            count += 1
        if not with_std:
            return clipped / count, None
        spread = np.maximum(squares / count - (total / count) ** 2, 0.0)
        noise = float(np.mean(1.0 / self.noise_precision_samples_))
        return clipped / count, np.sqrt(spread + noise + prior / count)

    def predict(self, X, return_std: bool = False):
        r"""Posterior-mean predictions, and optionally the predictive standard deviation.

        ``r̂_ui = (1/S) Σ_s clip(μ + b_u^s + b_i^s + U_u^s·V_i^s)`` over the ``S`` kept
        samples. The predictive standard deviation of a new rating is
        ``sqrt(Var_s(r̂^s_ui) + (1/S) Σ_s (1/α^s + v^s_ui))``: the spread of the samples plus
        the noise. A user or movie absent from training is integrated out under each
        sample's prior: its prior mean in ``r̂^s``, its prior spread in ``v^s``
        (:meth:`_cold_variance`; zero for pairs seen in training). Never NaN.

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
        1/α^s + v^s_ui)`` over the kept samples (``v^s`` the prior spread of a side absent
        from training, :meth:`_cold_variance`); the interval runs from its ``(1 − level)/2``
        to its ``(1 + level)/2`` quantile (:func:`~recsys_helpers.models.posterior.
        mixture_quantiles`), clipped to the rating range. A pair with both sides absent
        takes the Gaussian with its exact mean and variance in each sample.

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
        bounds = np.empty((2, len(users)))
        step = max(1, _BATCH_ELEMENTS // len(self.noise_precision_samples_))
        for start in range(0, len(users), step):
            rows = slice(start, start + step)
            batch = None if times is None else {key: value[rows] for key, value in times.items()}
            means, variances = self._sample_moments((index[0][rows], index[1][rows]), batch)
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
        standard deviation of ``r_ui`` (as in :meth:`predict`, unclipped). A state that
        carries the user prior's covariances (someone who has rated nothing,
        :meth:`_fold_in_state`) has the prior mean as ``[b_u^s, U_u^s]`` and adds the prior
        spread ``(1/S) Σ_s [1, V_i^s] Σ_U^s [1, V_i^s]ᵀ`` to the variance, as :meth:`predict`
        does for an unknown user.
        """
        bias, vectors, *prior = state
        item_bias = self._present_item_bias_samples()
        dots = np.matmul(
            self.item_factor_samples_, vectors[:, :, None].astype(self.item_factor_samples_.dtype)
        )[:, :, 0]
        ratings = self.global_mean_ + np.asarray(bias, dtype=np.float64)[:, None] + item_bias + dots
        scores = (ratings + (item_bias_weight - 1.0) * item_bias).mean(axis=0)
        variance = ratings.var(axis=0) + float(np.mean(1.0 / self.noise_precision_samples_))
        if prior:
            variance += np.mean(
                [
                    _prior_spread(factors, covariance)
                    for factors, covariance in zip(self.item_factor_samples_, prior[0], strict=True)
                ],
                axis=0,
            )
        return scores, {"std": np.sqrt(variance)}

    def _fold_in_state(self, index: np.ndarray, values: np.ndarray):
        """A new user drawn once per kept sample against that sample's movies and priors.

        With no ratings (:meth:`recommend_prior`) the user is the prior itself, integrated
        out rather than drawn: each sample's prior mean ``m_U`` as ``[b_u, U_u]``, plus the
        prior covariances ``Λ_U⁻¹`` (S, K + 1, K + 1) as a third element for
        :meth:`_item_scores`.
        """
        if len(index) == 0:
            means = self.user_prior_mean_samples_.astype(np.float64)
            return means[:, 0], means[:, 1:], np.linalg.inv(self.user_prior_precision_samples_)
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
