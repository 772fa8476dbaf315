r"""Bayesian probabilistic matrix factorisation (BPMF) with biases, sampled by Gibbs sweeps.

Model (Salakhutdinov & Mnih 2008, with a bias in each row; symbols in ``NOTATION.md``)::

    r_ui ~ N(μ + b_u + b_i + U_u · V_i, 1/α)
    θ_u = [b_u, U_u] ~ N(m_U, Λ_U⁻¹),      θ_i = [b_i, V_i] ~ N(m_V, Λ_V⁻¹)
    (m_U, Λ_U), (m_V, Λ_V) ~ N(m | μ₀, (β₀Λ)⁻¹) W(Λ | W₀, ν₀)      (Normal–Wishart)
    α ~ Gamma(a₀, b₀), or fixed (``noise_precision``)

With ``hyperprior="shared-diagonal"`` users and movies share one ``(m, Λ)`` instead, with
``Λ`` diagonal and a Normal–Gamma hyperprior on each coordinate
(:class:`~recsys_helpers.models.posterior.DiagonalHyperPrior`).

``μ`` is the training mean, fixed as in the ALS models. One Gibbs sweep (:meth:`BayesianMF.
_sweep`) draws

1. the hyperparameters given the rows: ``(m_U, Λ_U)`` and ``(m_V, Λ_V)`` from their
   Normal–Wishart conditionals (:func:`~recsys_helpers.models.posterior.sample_normal_wishart`;
   the shared ``(m, Λ)`` from :func:`~recsys_helpers.models.posterior.sample_normal_gamma`
   given both sides' rows) and ``α`` from its Gamma conditional
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

from recsys_helpers.data.checks import check_count
from recsys_helpers.models import kernels as numpy_kernels
from recsys_helpers.models import posterior
from recsys_helpers.models.base import FactorModel
from recsys_helpers.models.bayes_serving import PosteriorServing
from recsys_helpers.models.persistence import register
from recsys_helpers.models.training import ITEM, USER

__all__ = ["BayesianMF"]

logger = logging.getLogger(__name__)

#: ``(a₀, b₀)`` of the Gamma prior on the noise precision α: vague next to ``n/2``.
NOISE_PRIOR = (1.0, 1.0)

#: ``hyperprior`` choices: a Normal–Wishart ``(m, Λ)`` per side (the BPMF paper's), or one
#: ``(m, Λ)`` with a diagonal ``Λ`` shared by users and movies.
HYPERPRIORS = ("normal-wishart", "shared-diagonal")

#: The Normal–Gamma hyperprior of ``hyperprior="shared-diagonal"``: ``μ₀ = 0``, ``β₀ = 1``,
#: each ``λ_d ~ Gamma(1, 1)``.
DIAGONAL_PRIOR = posterior.DiagonalHyperPrior()

_SAMPLED = ("bias", "factors")


@register
class BayesianMF(PosteriorServing, FactorModel):
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
    hyperprior : {"normal-wishart", "shared-diagonal"}, default "normal-wishart"
        A Normal–Wishart ``(m, Λ)`` for each side (the BPMF paper's), or one ``(m, Λ)``
        with a diagonal ``Λ`` for users and movies together (:data:`DIAGONAL_PRIOR`; the
        three options below then do not apply and must keep their defaults).
    mean_precision_prior : float, default 2.0
        ``β₀`` of the Normal–Wishart hyperprior.
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
        hyperprior: str = "normal-wishart",
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
        self.hyperprior = hyperprior
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
        if self.hyperprior not in HYPERPRIORS:
            raise ValueError(
                f"hyperprior must be one of {', '.join(HYPERPRIORS)}, got {self.hyperprior!r}"
            )
        for name in ("mean_precision_prior", "scale_prior"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        default = type(self)()
        wishart = ("mean_precision_prior", "degrees_of_freedom_prior", "scale_prior")
        changed = [name for name in wishart if getattr(self, name) != getattr(default, name)]
        if self.hyperprior == "shared-diagonal" and changed:
            raise ValueError(
                f"{', '.join(changed)} set the Normal–Wishart hyperprior; "
                "hyperprior='shared-diagonal' has its own fixed constants"
            )
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
            self._map_sweep(data, kernels)
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
        self._theta_buffers = {side: np.empty_like(self._sums[side]) for side in (USER, ITEM)}
        self._kept_at = set(
            np.round(np.arange(1, self.n_kept + 1) * self.n_samples / self.n_kept).astype(int)
        )
        self._alphas = []
        self._valid = None

    def _map_sweep(self, data, kernels) -> None:
        """One sweep of the MAP (ALS) model that starts the chain."""
        FactorModel._sweep(self, data, kernels)

    def _extra_prior(self) -> tuple[float, int]:
        """``(Σ λ θ², n)`` of parameters beyond the rows whose prior precision is ``α λ``
        (none here; the time-aware model's time terms), for ``α`` and the objective."""
        return 0.0, 0

    def _theta(self, side: str) -> np.ndarray:
        """``θ = [b, F]`` of every row of a side, float64, shape (n_rows, K + 1).

        Written into one buffer per side, reused by every call (a fresh array of this size
        each time costs more than the copy): the result holds until the next call for the
        side.
        """
        bias, factors = self._params(side)
        theta = self._theta_buffers[side]
        theta[:, 0] = bias
        theta[:, 1:] = factors
        return theta

    def _sweep(self, data, kernels) -> None:
        """Hyperparameters given the rows, then every user, then every movie."""
        self._sweep_index += 1
        sweep = self._sweep_index
        rng = posterior.generator(self.random_state, sweep, "hyper")
        self._hyper = self._sample_hyper(rng)
        if self.noise_precision is None:
            # the squared error of the current rows, computed by _objective after the last
            # sweep (or by _initialise): nothing has changed since
            penalty, count = self._extra_prior()
            self._alpha = posterior.sample_noise_precision(
                self._squared_error + penalty,
                self._n_ratings + count,
                rng,
                shape=NOISE_PRIOR[0],
                rate=NOISE_PRIOR[1],
            )
        self._alphas.append(self._alpha)
        for side in (USER, ITEM):
            self._sample_side(data, side, kernels, sweep)
        if sweep > self.burn_in:
            self._keep(sweep - self.burn_in)

    def _sample_hyper(self, rng) -> dict:
        """``{side: (m, Λ)}`` drawn given the current rows (one draw for both sides when
        the hyperprior is shared)."""
        if self.hyperprior == "shared-diagonal":
            shared = posterior.sample_normal_gamma(
                [self._theta(USER), self._theta(ITEM)], DIAGONAL_PRIOR, rng
            )
            return {USER: shared, ITEM: shared}
        return {
            side: posterior.sample_normal_wishart(self._theta(side), self._hyperprior, rng)
            for side in (USER, ITEM)
        }

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
            self._targets(data, side),
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
                    **{name: np.copy(value) for name, value in self._draw_to_keep().items()},
                    "noise_precision": self._alpha,
                    "user_prior_mean": self._hyper[USER][0],
                    "user_prior_precision": self._hyper[USER][1],
                    "item_prior_mean": self._hyper[ITEM][0],
                    "item_prior_precision": self._hyper[ITEM][1],
                }
            )

    def _current_draw(self) -> dict:
        """The chain's current arrays, named as a kept sample's."""
        return {
            "user_bias": self.user_bias_,
            "user_factor": self.user_factors_,
            "item_bias": self.item_bias_,
            "item_factor": self.item_factors_,
        }

    def _draw_to_keep(self) -> dict:
        """What a kept sample stores of the current draw (hook: all of it)."""
        return self._current_draw()

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
        penalty, extra = self._extra_prior()
        value = 0.5 * alpha * (squared + penalty) - 0.5 * (count + extra) * np.log(alpha)
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
            self._valid = (users, index, self._row_times(*index, frame), np.zeros(len(users)))
        _, index, rows, total = self._valid
        cold = self._cold_moments(self._hyper)
        prediction = self._clip(self._sample_prediction(self._current_draw(), cold, *index, rows))
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
        for name in ("_kept", "_sums", "_valid", "_hyper", "_alphas", "_cold", "_theta_buffers"):
            self.__dict__.pop(name, None)
        self._sweep_index = 0

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
