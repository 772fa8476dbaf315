r"""Bayesian probabilistic matrix factorisation (BPMF) with biases, sampled by Gibbs sweeps.

Model (Salakhutdinov & Mnih 2008, with a bias in each row; symbols in ``NOTATION.md``)::

    r_ui ~ N(μ + b_u + b_i + U_u · V_i, 1/α)
    θ_u = [b_u, U_u] ~ N(m_U, Λ_U⁻¹),      θ_i = [b_i, V_i] ~ N(m_V, Λ_V⁻¹)
    (m_U, Λ_U), (m_V, Λ_V) ~ N(m | μ₀, (β₀Λ)⁻¹) W(Λ | W₀, ν₀)      (Normal–Wishart)
    α ~ Gamma(a₀, b₀), or fixed (``noise_precision``)

``μ`` is the training mean, fixed as in the ALS models. One Gibbs sweep (:meth:`BayesianMF.
_sweep`) draws

1. the hyperparameters given the rows: ``(m_U, Λ_U)`` and ``(m_V, Λ_V)`` from their
   Normal–Wishart conditionals (:func:`~recsys_helpers.models.posterior.sample_normal_wishart`)
   and ``α`` from its Gamma conditional
   (:func:`~recsys_helpers.models.posterior.sample_noise_precision`);
2. every user's ``θ_u`` from ``N(θ̄_u, (α X_uᵀX_u + Λ_U)⁻¹)``, the ALS half-step's Gram
   matrix with the prior precision in place of the ridge penalty
   (:func:`recsys_helpers.models.kernels.sample_side`, compiled twin in
   :mod:`~recsys_helpers.models.kernels_numba`);
3. every movie's ``θ_i`` likewise.

The chain starts from the MAP solution (``init_iter`` ALS sweeps of the base class on the
same training data), runs ``burn_in`` sweeps that are discarded, then ``n_samples`` sweeps
whose draws are averaged. Predictions are averages over samples of the clipped prediction;
``n_kept`` evenly spaced samples are kept for serving and saving (predictions, intervals,
rankings and fold-in use them).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.utils.validation import check_is_fitted

from recsys_helpers.data.checks import check_count
from recsys_helpers.models import kernels as numpy_kernels
from recsys_helpers.models import posterior
from recsys_helpers.models.base import FactorModel
from recsys_helpers.models.persistence import register
from recsys_helpers.models.training import ITEM, USER, id_columns

__all__ = ["BayesianMF"]

logger = logging.getLogger(__name__)

#: ``(a₀, b₀)`` of the Gamma prior on the noise precision α: vague next to ``n/2``.
NOISE_PRIOR = (1.0, 1.0)

#: Per-sample prediction rows held in memory at once by :meth:`BayesianMF.predict_interval`.
_BATCH_ELEMENTS = 1 << 22

_SAMPLED = ("bias", "factors")


@register
class BayesianMF(FactorModel):
    r"""Bayesian PMF ``r_ui ~ N(μ + b_u + b_i + U_u·V_i, 1/α)`` sampled by Gibbs sweeps.

    See the module docstring for the model and the sweep. ``predict`` averages the clipped
    predictions of the kept samples; ``predict(X, return_std=True)`` adds the predictive
    standard deviation (posterior spread plus noise), :meth:`predict_interval` gives
    credible intervals, and rankings carry a ``std`` column.

    Parameters
    ----------
    n_factors : int, default 32
        ``K``.
    n_samples : int, default 800
        Gibbs sweeps after the burn-in whose draws are averaged.
    burn_in : int, default 30
        Sweeps discarded after the MAP start.
    n_kept : int, default 100
        Evenly spaced samples (of the ``n_samples``) kept for serving and saving.
    noise_precision : float or None, default None
        ``α``, fixed; None samples it from its Gamma conditional (prior
        ``Gamma(1, 1)``, :data:`NOISE_PRIOR`).
    mean_precision_prior : float, default 2.0
        ``β₀``.
    degrees_of_freedom_prior : float or None, default None
        ``ν₀``; None is ``D = K + 1``.
    scale_prior : float, default 1.0
        ``W₀ = scale_prior · I``.
    reg, reg_bias : float, default 12.0, 3.0
        ``λ`` and ``λ_b`` of the MAP (ALS) start.
    init_iter : int, default 10
        ALS sweeps of the MAP start (0: start from the random initialisation).
    solver : {"auto", "numba", "numpy"}, default "auto"
    dtype : {"float32", "float64"}, default "float32"
        Storage and Gram precision of the samples (Cholesky and averages in float64).
    init_std : float, default 0.1
        ``σ`` of the initial movie vectors before the ALS start.
    random_state : int, default 0
        Seeds the ALS start and every random stream (:func:`~recsys_helpers.models.
        posterior.generator`): the same seed gives the same samples with any thread count.
    rating_range : (float, float) or None
    verbose : bool, default False
        Progress bar over sweeps, with the running RMSE of the posterior mean on
        ``validation=``.

    Attributes
    ----------
    user_bias_, item_bias_, user_factors_, item_factors_ : ndarray
        Posterior means over the ``n_samples`` draws.
    user_bias_samples_, item_bias_samples_ : ndarray (S, n_users), (S, n_items)
        ``b`` of the ``S = n_kept`` kept samples.
    user_factor_samples_, item_factor_samples_ : ndarray (S, n_users, K), (S, n_items, K)
    noise_precision_samples_ : ndarray (S,)
        ``α`` of each kept sample.
    user_prior_mean_samples_, item_prior_mean_samples_ : ndarray (S, K + 1)
        ``m_U``, ``m_V`` the kept samples were drawn with.
    user_prior_precision_samples_, item_prior_precision_samples_ : ndarray (S, K+1, K+1)
        ``Λ_U``, ``Λ_V``.
    history_ : DataFrame
        Per sweep: ``objective`` (``−log p(R, Θ | m, Λ, α)`` up to a constant),
        ``train_rmse`` (of that sweep's draw), ``valid_rmse`` (of the running posterior
        mean after the burn-in, of the draw before), ``seconds`` (the sweep, monitoring
        excluded) and ``noise_precision`` (``α``).
    Plus those of :class:`~recsys_helpers.models.base.FactorModel`.
    """

    def __init__(
        self,
        *,
        n_factors: int = 32,
        n_samples: int = 800,
        burn_in: int = 30,
        n_kept: int = 100,
        noise_precision: float | None = None,
        mean_precision_prior: float = 2.0,
        degrees_of_freedom_prior: float | None = None,
        scale_prior: float = 1.0,
        reg: float = 12.0,
        reg_bias: float = 3.0,
        init_iter: int = 10,
        solver: str = "auto",
        dtype: str = "float32",
        init_std: float = 0.1,
        random_state: int = 0,
        rating_range: tuple[float, float] | None = None,
        verbose: bool = False,
    ) -> None:
        self.n_factors = n_factors
        self.n_samples = n_samples
        self.burn_in = burn_in
        self.n_kept = n_kept
        self.noise_precision = noise_precision
        self.mean_precision_prior = mean_precision_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.scale_prior = scale_prior
        self.reg = reg
        self.reg_bias = reg_bias
        self.init_iter = init_iter
        self.solver = solver
        self.dtype = dtype
        self.init_std = init_std
        self.random_state = random_state
        self.rating_range = rating_range
        self.verbose = verbose

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        super()._check_params()
        check_count("n_samples", self.n_samples, 1)
        check_count("burn_in", self.burn_in, 0)
        check_count("init_iter", self.init_iter, 0)
        check_count("n_kept", self.n_kept, 1)
        if self.n_kept > self.n_samples:
            raise ValueError(
                f"n_kept must be at most n_samples={self.n_samples}, got {self.n_kept}"
            )
        for name in ("mean_precision_prior", "scale_prior"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.noise_precision is not None and not float(self.noise_precision) > 0:
            raise ValueError(
                f"noise_precision must be None (sampled) or positive, got {self.noise_precision!r}"
            )
        dof, width = self.degrees_of_freedom_prior, self._n_factors + 1
        if dof is not None and not float(dof) > width - 1:
            raise ValueError(
                f"degrees_of_freedom_prior must exceed K = {width - 1} (or be None), got {dof!r}"
            )

    @property
    def _hyperprior(self) -> posterior.HyperPrior:
        return posterior.HyperPrior.default(
            self._n_factors + 1,
            self.mean_precision_prior,
            self.degrees_of_freedom_prior,
            self.scale_prior,
        )

    def _n_sweeps(self) -> int:
        return int(self.burn_in) + int(self.n_samples)

    # ------------------------------------------------------------------ the chain
    def _run_sweeps(self, data, valid) -> None:
        """The base class's loop, with BLAS on one thread beside numba's (see
        :func:`~recsys_helpers.models.kernels.one_blas_thread`)."""
        with numpy_kernels.one_blas_thread():
            super()._run_sweeps(data, valid)

    def _initialise(self, data, rng) -> None:
        """The MAP start: the base initialisation, then ``init_iter`` ALS sweeps."""
        super()._initialise(data, rng)
        kernels = self._kernels()
        for _ in range(int(self.init_iter)):
            super()._sweep(data, kernels)
        self._check_finite(0)
        self._squared_error = self._objective_parts(data, kernels)[0]
        self._n_ratings = data.matrix.nnz
        self._alpha = (
            float(self.noise_precision)
            if self.noise_precision is not None
            else self._n_ratings / max(self._squared_error, 1e-12)
        )
        self._sweep_index = 0
        self._sums = {
            side: np.zeros((len(self._params(side)[0]), self._n_factors + 1))
            for side in (USER, ITEM)
        }
        self._kept = []
        self._kept_at = set(
            np.round(np.arange(1, self.n_kept + 1) * self.n_samples / self.n_kept).astype(int)
        )
        self._alphas = []
        self._valid = None

    def _theta(self, side: str) -> np.ndarray:
        """``θ = [b, F]`` of every row of a side, float64, shape (n_rows, K + 1)."""
        bias, factors = self._params(side)
        return np.column_stack([bias.astype(np.float64), factors.astype(np.float64)])

    def _sweep(self, data, kernels) -> None:
        """Hyperparameters given the rows, then every user, then every movie."""
        self._sweep_index += 1
        sweep = self._sweep_index
        rng = posterior.generator(self.random_state, sweep, "hyper")
        self._hyper = {
            side: posterior.sample_normal_wishart(self._theta(side), self._hyperprior, rng)
            for side in (USER, ITEM)
        }
        if self.noise_precision is None:
            # the squared error of the current rows, computed by _objective after the last
            # sweep (or by _initialise): nothing has changed since
            self._alpha = posterior.sample_noise_precision(
                self._squared_error, self._n_ratings, rng, shape=NOISE_PRIOR[0], rate=NOISE_PRIOR[1]
            )
        self._alphas.append(self._alpha)
        for side in (USER, ITEM):
            self._sample_side(data, side, kernels, sweep)
        if sweep > self.burn_in:
            self._keep(sweep - self.burn_in)

    def _sample_side(self, data, side: str, kernels, sweep: int) -> None:
        """Draw every row of ``side`` from its conditional (:func:`kernels.sample_side`)."""
        entries = data.sides[side]
        _, other_factors = self._params(self._other(side))
        mean, precision = self._hyper[side]
        alpha, width = self._alpha, self._n_factors + 1
        noise = posterior.row_noise(
            self.random_state,
            sweep,
            side,
            len(entries.counts),
            width,
            1.0 / np.sqrt(alpha),
            int(numpy_kernels.dual_offsets(entries.indptr, width)[-1]),
        )
        bias, factors = kernels.sample_side(
            entries.indptr,
            entries.indices,
            self._targets(data, side).astype(other_factors.dtype),
            other_factors,
            precision / alpha,
            precision @ mean / alpha,
            *noise,
        )
        setattr(self, f"{side}_bias_", bias)
        setattr(self, f"{side}_factors_", factors)

    def _keep(self, sample: int) -> None:
        """Add the draw to the posterior means; keep it for serving on the thinning grid."""
        for side in (USER, ITEM):
            self._sums[side] += self._theta(side)
        if sample in self._kept_at:
            self._kept.append(
                {
                    "user_bias": self.user_bias_.copy(),
                    "user_factor": self.user_factors_.copy(),
                    "item_bias": self.item_bias_.copy(),
                    "item_factor": self.item_factors_.copy(),
                    "noise_precision": self._alpha,
                    "user_prior_mean": self._hyper[USER][0],
                    "user_prior_precision": self._hyper[USER][1],
                    "item_prior_mean": self._hyper[ITEM][0],
                    "item_prior_precision": self._hyper[ITEM][1],
                }
            )

    def _objective_parts(self, data, kernels) -> tuple[float, int]:
        entries = data.sides[USER]
        errors = kernels.residuals(
            entries.rows,
            entries.indices,
            self._targets(data, USER),
            *self._params(USER),
            self.item_factors_,
        )
        return float(np.dot(errors, errors)), len(errors)

    def _objective(self, data, kernels) -> tuple[float, float]:
        r"""``−log p(R, Θ | m, Λ, α)`` up to a constant, and the draw's training RMSE.

        .. math::

            \frac{α}{2} \sum_Ω (r_{ui} - \hat r_{ui})^2 - \frac{|Ω|}{2} \log α
            + \sum_{s \in \{U, V\}} \Big(\frac12 \sum_n (θ_n - m_s)^T Λ_s (θ_n - m_s)
            - \frac{N_s}{2} \log |Λ_s|\Big)
        """
        squared, count = self._objective_parts(data, kernels)
        self._squared_error = squared
        alpha = self._alpha
        value = 0.5 * alpha * squared - 0.5 * count * np.log(alpha)
        for side in (USER, ITEM):
            mean, precision = self._hyper[side]
            centred = self._theta(side) - mean
            value += 0.5 * float(np.sum((centred @ precision) * centred))
            value -= 0.5 * len(centred) * np.linalg.slogdet(precision)[1]
        return float(value), float(np.sqrt(squared / count))

    def _validation_rmse(self, users, items, ratings, frame) -> float:
        """RMSE of the running posterior mean (of the current draw during the burn-in)."""
        if not hasattr(self, "_sweep_index") or self._sweep_index == 0:
            return super()._validation_rmse(users, items, ratings, frame)
        if self._valid is None or self._valid[0] is not users:
            index = (self.users_.to_index(users), self.items_.to_index(items))
            self._valid = (users, index, np.zeros(len(users)))
        _, index, total = self._valid
        draw = {
            "user_bias": self.user_bias_,
            "user_factor": self.user_factors_,
            "item_bias": self.item_bias_,
            "item_factor": self.item_factors_,
        }
        cold = self._cold_draws(self._hyper, self._sweep_index)
        prediction = self._clip(self._sample_prediction(draw, cold, *index))
        sample = self._sweep_index - self.burn_in
        if sample > 0:
            total += prediction
            prediction = total / sample
        return float(np.sqrt(np.mean((ratings - prediction) ** 2)))

    def _finish(self, data) -> None:
        """Posterior means, the kept samples as arrays, ``α`` per sweep in the history."""
        for side in (USER, ITEM):
            mean = self._sums[side] / self.n_samples
            setattr(self, f"{side}_bias_", mean[:, 0].astype(self._dtype))
            setattr(self, f"{side}_factors_", mean[:, 1:].astype(self._dtype))
        for name in self._kept[0]:
            setattr(self, f"{name}_samples_", np.stack([kept[name] for kept in self._kept]))
        self.history_["noise_precision"] = self._alphas
        for name in ("_kept", "_sums", "_valid", "_hyper", "_alphas", "_cold"):
            self.__dict__.pop(name, None)
        self._sweep_index = 0

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

    def _sample_prediction(self, draw, cold, user_index, item_index) -> np.ndarray:
        r"""Unclipped ``r̂ = μ + b_u + b_i + U_u·V_i`` of one sample for index pairs.

        A user or movie absent from training (index ``-1``) takes the sample's prior draw
        (``cold``), so it is predicted under the prior instead of left out.
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
            draw = {
                "user_bias": self.user_bias_samples_[s],
                "user_factor": self.user_factor_samples_[s],
                "item_bias": self.item_bias_samples_[s],
                "item_factor": self.item_factor_samples_[s],
            }
            yield draw, self._cold[s]

    def _sample_predictions(self, users, items) -> np.ndarray:
        """Unclipped predictions of every kept sample, shape (S, n)."""
        index = (self.users_.to_index(users), self.items_.to_index(items))
        return np.stack(
            [self._sample_prediction(draw, cold, *index) for draw, cold in self._samples()]
        )

    def _predict_ids(self, users, items, X=None) -> np.ndarray:
        """Average over the kept samples of the clipped prediction."""
        return self._predictive(users, items)[0]

    def _predictive(self, users, items) -> tuple[np.ndarray, np.ndarray]:
        """Mean of the clipped predictions and predictive standard deviation, per row."""
        index = (self.users_.to_index(users), self.items_.to_index(items))
        clipped, total, squares = (np.zeros(len(index[0])) for _ in range(3))
        count = 0
        for draw, cold in self._samples():
            prediction = self._sample_prediction(draw, cold, *index)
            clipped += self._clip(prediction)
            total += prediction
            squares += prediction**2
            count += 1
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
        mean, std = self._predictive(*id_columns(X))
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
        variances = 1.0 / self.noise_precision_samples_.astype(np.float64)
        bounds = np.empty((2, len(users)))
        step = max(1, _BATCH_ELEMENTS // len(variances))
        for start in range(0, len(users), step):
            rows = slice(start, start + step)
            means = self._sample_predictions(users[rows], items[rows])
            bounds[:, rows] = posterior.mixture_quantiles(
                means, variances, [(1 - level) / 2, (1 + level) / 2]
            )
        lower, upper = self._clip(bounds)
        return lower, upper

    # ------------------------------------------------------------------ ranking and fold-in
    def _user_state(self, row: int):
        """A training user's kept samples: ``b_u`` (S,) and ``U_u`` (S, K)."""
        return self.user_bias_samples_[:, row], self.user_factor_samples_[:, row]

    def _item_scores(self, state, item_bias_weight: float) -> tuple[np.ndarray, dict]:
        r"""Posterior-mean ranking scores and each movie's predictive ``std``.

        ``s_ui = (1/S) Σ_s (μ + b_u^s + w b_i^s + U_u^s·V_i^s)``; ``std`` is the predictive
        standard deviation of ``r_ui`` (as in :meth:`predict`, unclipped).
        """
        bias, vectors = state
        item_bias = self.item_bias_samples_.astype(np.float64)
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
        for s in range(count):
            alpha = float(self.noise_precision_samples_[s])
            mean, precision = (
                self.user_prior_mean_samples_[s],
                self.user_prior_precision_samples_[s],
            )
            item_factors = self.item_factor_samples_[s]
            targets = values - self.global_mean_ - self.item_bias_samples_[s, index]
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
        sample's movies, ``α`` and user prior (the Gibbs user step for one row); with no
        known ratings the draws come from the prior.

        Parameters
        ----------
        ratings : DataFrame (``movieId``, ``rating``) or mapping ``{movieId: rating}``

        Returns
        -------
        bias : ndarray, shape (S,)
        vector : ndarray, shape (S, K)
        """
        return super().fold_in(ratings)

    # ------------------------------------------------------------------ persistence
    _SAMPLE_ARRAYS = (
        "user_bias_samples_",
        "user_factor_samples_",
        "item_bias_samples_",
        "item_factor_samples_",
        "noise_precision_samples_",
        "user_prior_mean_samples_",
        "user_prior_precision_samples_",
        "item_prior_mean_samples_",
        "item_prior_precision_samples_",
    )

    def _get_state(self) -> tuple[dict, dict]:
        meta, arrays = super()._get_state()
        arrays.update({name.rstrip("_"): getattr(self, name) for name in self._SAMPLE_ARRAYS})
        return meta, arrays

    def _set_state(self, meta: dict, arrays: dict) -> None:
        super()._set_state(meta, arrays)
        for name in self._SAMPLE_ARRAYS:
            setattr(self, name, arrays[name.rstrip("_")])
