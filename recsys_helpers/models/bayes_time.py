r"""Bayesian PMF with Koren's time-aware biases, sampled by Gibbs sweeps.

Model (symbols in ``NOTATION.md``; ``t`` the rating's day)::

    r_ui(t) ~ N(μ + b_u + α_u dev_u(t) + b_{u,t} + b_i + b_{i,Bin(t)} + U_u · V_i, 1/α)
    θ_u = [b_u, U_u] ~ N(m_U, Λ_U⁻¹),      θ_i = [b_i, V_i] ~ N(m_V, Λ_V⁻¹)
    α_u ~ N(0, 1/(α λ_α)),   b_{u,t} ~ N(0, 1/(α λ_d)),   b_{i,k} ~ N(0, 1/(α λ_bin))

with the Normal–Wishart hyperpriors and the Gamma prior on ``α`` of
:class:`~recsys_helpers.models.bayes.BayesianMF`, and the time terms of
:class:`~recsys_helpers.models.temporal.TimeAwareMF`. The time terms' prior precisions are
``α`` times the MAP model's penalties (``reg_drift``, ``reg_day``, ``reg_bin``, chosen by
validation RMSE for that model): measured in units of the noise, as the MAP penalties are. A
day offset exists for each (user, day) with training ratings and a bin offset for each
(movie, bin) with training ratings; other days and bins have no term.

One Gibbs sweep draws the hyperparameters and ``α`` (whose Gamma conditional counts the time
terms too, as their priors scale with ``α``), then

1. every user's ``θ_u`` given the rest (the half-step draw, time terms in the targets);
2. every user's ``(b_u, α_u, b_{u,·})`` jointly from their Gaussian conditional given ``U_u``
   and the movies (:meth:`~recsys_helpers.models.temporal.TimeTerms._time_step`, drawing
   through :func:`~recsys_helpers.models.time_effects.grouped_ridge`), where ``b_u`` keeps its
   Normal–Wishart prior given ``U_u``: ``N(m_b − Λ_{bU}(U_u − m_U)/Λ_{bb}, 1/Λ_{bb})``;
3. every movie's ``θ_i``, then 4. every movie's ``(b_i, b_{i,·})`` likewise.

``b_u`` is drawn again in step 2 because it is collinear with the day offsets (a user who
rated on one day only): drawn jointly, the pair moves along its ridge in one step. Each kept
sample keeps its time terms as well (bin offsets only for the cells with training ratings),
so predictions, intervals and rankings average over the joint posterior. The chain starts
from the time-aware MAP solution (``init_iter`` sweeps of
:meth:`~recsys_helpers.models.temporal.TimeTerms._map_sweep`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys_helpers.models import posterior
from recsys_helpers.models.bayes import BayesianMF
from recsys_helpers.models.persistence import register
from recsys_helpers.models.temporal import TimeTerms
from recsys_helpers.models.time_effects import TIME_EFFECTS

__all__ = ["BayesianTimeMF"]


@register
class BayesianTimeMF(TimeTerms, BayesianMF):
    """Bayesian PMF with time-aware biases (Koren 2009), sampled by Gibbs sweeps.

    See the module docstring for the model and the sweep. Training ratings, and rows to
    predict, need a ``timestamp`` column (Unix seconds). Prediction, intervals, rankings
    (which speak of the end of the training span, as :class:`~recsys_helpers.models.
    temporal.TimeAwareMF`'s do) and fold-in (a new user has no time terms) average over the
    kept samples, as :class:`~recsys_helpers.models.bayes.BayesianMF`'s do.

    Parameters
    ----------
    time_effects, reg_day, reg_drift, reg_bin, n_bins, beta
        As in :class:`~recsys_helpers.models.temporal.TimeAwareMF`; the penalties are the
        time terms' prior precisions in units of ``α``.
    n_factors, n_samples, burn_in, n_kept, noise_precision, hyperprior, mean_precision_prior,
    degrees_of_freedom_prior, scale_prior, reg, reg_bias, init_iter, solver, dtype,
    init_std, random_state, rating_range, verbose
        As in :class:`~recsys_helpers.models.bayes.BayesianMF`.

    Attributes
    ----------
    user_drift_, day_bias_, item_bin_bias_ : ndarray
        Posterior means of ``α_u``, ``b_{u,t}`` and ``b_{i,k}`` (shapes as in
        ``TimeAwareMF``).
    user_drift_samples_ : ndarray (S, n_users)
    day_bias_samples_ : ndarray (S, n_user_days)
    item_bin_bias_samples_ : ndarray (S, n_cells)
        The kept samples' bin offsets at ``item_bin_cells_``.
    item_bin_cells_ : ndarray of int64 (n_cells,)
        ``i · n_bins + k`` of every (movie, bin) with training ratings, sorted.
    Plus those of ``BayesianMF`` and the time encodings of ``TimeAwareMF``.
    """

    _state_attributes = BayesianMF._state_attributes + TimeTerms._time_attributes
    _SAMPLE_ARRAYS = BayesianMF._SAMPLE_ARRAYS + (
        "user_drift_samples_",
        "day_bias_samples_",
        "item_bin_bias_samples_",
        "item_bin_cells_",
    )

    def __init__(
        self,
        *,
        time_effects: Sequence[str] = TIME_EFFECTS,
        reg_day: float = 10.0,
        reg_drift: float = 10000.0,
        reg_bin: float = 50.0,
        n_bins: int = 30,
        beta: float = 0.4,
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
        super().__init__(
            n_factors=n_factors,
            n_samples=n_samples,
            burn_in=burn_in,
            n_kept=n_kept,
            noise_precision=noise_precision,
            hyperprior=hyperprior,
            mean_precision_prior=mean_precision_prior,
            degrees_of_freedom_prior=degrees_of_freedom_prior,
            scale_prior=scale_prior,
            reg=reg,
            reg_bias=reg_bias,
            init_iter=init_iter,
            solver=solver,
            dtype=dtype,
            init_std=init_std,
            random_state=random_state,
            rating_range=rating_range,
            verbose=verbose,
        )
        self.time_effects = time_effects
        self.reg_day = reg_day
        self.reg_drift = reg_drift
        self.reg_bin = reg_bin
        self.n_bins = n_bins
        self.beta = beta

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("reg_day", "reg_drift", "reg_bin"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(
                    f"{name} is a prior precision and must be positive, got {getattr(self, name)!r}"
                )

    # ------------------------------------------------------------------ the chain
    def _initialise(self, data, rng) -> None:
        """Time encodings, the time-aware MAP start, and the cells that have bin offsets."""
        super()._initialise(data, rng)
        self.item_bin_cells_ = self._cells
        self._time_sums = {name: np.zeros(np.size(value)) for name, value in self._times().items()}

    def _times(self) -> dict[str, np.ndarray]:
        """The current time terms, bin offsets flat (``i · n_bins + k``)."""
        return {
            "user_drift": self.user_drift_,
            "day_bias": self.day_bias_,
            "item_bin_bias": self.item_bin_bias_.ravel(),
        }

    def _extra_prior(self) -> tuple[float, int]:
        """``(λ_α Σ α_u² + λ_d Σ b_{u,t}² + λ_bin Σ b_{i,k}², number of time terms)``."""
        count = len(self.day_bias_) + len(self.item_bin_cells_)
        if self._has("user_drift"):
            count += len(self.user_drift_)
        return self._extra_penalty(), count

    def _sample_side(self, data, side: str, kernels, sweep: int) -> None:
        """The side's rows (the plain draw), then its time block given them."""
        super()._sample_side(data, side, kernels, sweep)
        if not self._has_time_block(side):
            return
        _, factors = self._params(side)
        shift, bias_precision = posterior.first_given_rest(*self._hyper[side], factors)
        scale = 1.0 / np.sqrt(self._alpha)

        def noise(n_rows: int, n_columns: int, n_groups: int):
            return posterior.row_noise(
                self.random_state, sweep, f"{side}_time", n_rows, n_columns, scale, n_groups
            )

        self._time_step(data, side, bias_prior=(shift, bias_precision / self._alpha), noise=noise)

    def _current_draw(self) -> dict:
        return {**super()._current_draw(), **self._times()}

    def _draw_to_keep(self) -> dict:
        draw = self._current_draw()
        draw["item_bin_bias"] = draw["item_bin_bias"][self.item_bin_cells_]
        for name in ("user_drift", "day_bias", "item_bin_bias"):  # stored as the samples are
            draw[name] = draw[name].astype(self._dtype)
        return draw

    def _keep(self, sample: int) -> None:
        super()._keep(sample)
        for name, value in self._times().items():
            self._time_sums[name] += value

    def _finish(self, data) -> None:
        """Posterior means of the time terms too."""
        means = {name: total / self.n_samples for name, total in self._time_sums.items()}
        super()._finish(data)
        self.user_drift_ = means["user_drift"]
        self.day_bias_ = means["day_bias"]
        self.item_bin_bias_ = means["item_bin_bias"].reshape(-1, self.n_bins)
        del self._time_sums

    # ------------------------------------------------------------------ serving
    def _row_times(self, user_index, item_index, X) -> dict:
        return self._encode_rows(user_index, item_index, self._timestamps(X))

    def _draw_offsets(self, draw, user_index, rows) -> np.ndarray:
        terms = self._terms_of(
            rows, user_index, draw["user_drift"], draw["day_bias"], draw["item_bin_bias"]
        )
        return sum(terms.values())

    def _kept_draw(self, sample: int) -> dict:
        """A kept sample, its bin offsets spread back over every (movie, bin) cell."""
        bins = np.zeros(len(self.items_) * self.n_bins)
        bins[self.item_bin_cells_] = self.item_bin_bias_samples_[sample]
        return {
            **super()._kept_draw(sample),
            "user_drift": self.user_drift_samples_[sample],
            "day_bias": self.day_bias_samples_[sample],
            "item_bin_bias": bins,
        }

    def _present_item_bias_samples(self) -> np.ndarray:
        """``b_i + b_{i,Bin(t_end)}`` of each kept sample: the movies in the last bin."""
        item_bias = super()._present_item_bias_samples()
        last = self.item_bin_cells_ % self.n_bins == self.n_bins - 1
        item_bias[:, self.item_bin_cells_[last] // self.n_bins] += self.item_bin_bias_samples_[
            :, last
        ]
        return item_bias

    def _user_state(self, row: int):
        """A training user's kept samples at the end of the training span."""
        bias, factors = super()._user_state(row)
        return bias + self.user_drift_samples_[:, row] * self._drift_at_end([row])[0], factors

    # ------------------------------------------------------------------ persistence
    def _state_shapes(self) -> dict[str, tuple[int, ...]]:
        count = len(self.noise_precision_samples_)
        return {
            **super()._state_shapes(),
            "user_drift_samples_": (count, len(self.users_)),
            "day_bias_samples_": (count, len(self.day_bias_)),
            "item_bin_bias_samples_": (count, len(self.item_bin_cells_)),
        }

    def _set_state(self, meta: dict, arrays: dict) -> None:
        super()._set_state(meta, arrays)
        cells, n_cells = np.asarray(self.item_bin_cells_), len(self.items_) * self.n_bins
        if cells.size and (np.any(np.diff(cells) <= 0) or cells[0] < 0 or cells[-1] >= n_cells):
            raise ValueError(
                "item_bin_cells: the (movie, bin) cells are not sorted or lie outside the model"
            )
