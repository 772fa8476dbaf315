r"""Bayesian PMF beyond the rows: hyperparameter conditionals, random streams, predictive summaries.

Pure functions of arrays used by :class:`~recsys_helpers.models.bayes.BayesianMF` (symbols in
``NOTATION.md``; the rows' own conditional is the half-step kernel
:func:`recsys_helpers.models.kernels.sample_side`):

* :func:`sample_normal_wishart`: ``(m, Λ)`` of one side given its rows ``θ_1 … θ_N``
  (Salakhutdinov & Mnih 2008, eq. 14);
* :func:`sample_normal_gamma`: ``(m, Λ)`` with a diagonal ``Λ`` given the rows of one or
  more sides (one hyperprior shared by users and movies);
* :func:`sample_noise_precision`: ``α`` given the squared training error;
* :func:`generator`, :func:`row_noise`: random streams keyed by ``(random_state, sweep,
  stream)``, so every row's draw is fixed by the keys and never by the thread count;
* :func:`mixture_quantiles`: quantiles of the predictive distribution, a mixture over the
  kept samples of ``N(r̂^{(s)}, 1/α^{(s)})``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special
from scipy.stats import wishart

__all__ = [
    "STREAMS",
    "DiagonalHyperPrior",
    "HyperPrior",
    "first_given_rest",
    "generator",
    "mixture_quantiles",
    "normal_gamma_posterior",
    "row_noise",
    "sample_noise_precision",
    "sample_normal_gamma",
    "sample_normal_wishart",
]

#: Independent random streams of one sweep (and of serving), by name. The numbers are part
#: of every draw's key: a stream keeps its number for good (3 is retired).
STREAMS = {
    "hyper": 0,
    "user": 1,
    "item": 2,
    "fold_in": 4,
    "user_time": 5,
    "item_time": 6,
}


def generator(random_state: int, sweep: int, stream: str) -> np.random.Generator:
    """The generator of one stream of one sweep: ``default_rng([random_state, sweep, stream])``.

    NumPy's ``SeedSequence`` hashes the three keys, so streams of different sweeps, streams or
    seeds are independent, and any of them can be regenerated on its own.

    Parameters
    ----------
    random_state : int >= 0
    sweep : int >= 0
        The Gibbs sweep (or the kept sample, when serving).
    stream : str
        A key of :data:`STREAMS`.
    """
    return np.random.default_rng([int(random_state), int(sweep), STREAMS[stream]])


def row_noise(
    random_state: int,
    sweep: int,
    stream: str,
    n_rows: int,
    width: int,
    scale: float,
    n_entries: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``z = ε/√α`` for a side's half-step draw: one row of normals per row, then one per
    rating of the rows drawn in the dual, i.i.d. ``N(0, scale²)``, keyed by the sweep (for a
    time block of the time-aware model: one row per row's coefficients, then one per offset).

    Row ``r`` holds the ``r``-th ``width`` normals of the stream's generator, and the
    entry noise the ``n_entries`` after all rows, so every row's noise is fixed by
    ``(random_state, sweep, stream, r)``, whatever the kernel's thread count.

    Returns
    -------
    noise : ndarray of float64, shape (n_rows, width)
    entry_noise : ndarray of float64, shape (n_entries,)
        See :func:`recsys_helpers.models.kernels.dual_offsets`.
    """
    rng = generator(random_state, sweep, stream)
    noise = rng.standard_normal((n_rows, width))
    entry_noise = rng.standard_normal(n_entries)
    noise *= scale
    entry_noise *= scale
    return noise, entry_noise


@dataclass(frozen=True)
class HyperPrior:
    r"""Normal–Wishart hyperprior ``p(m, Λ) = N(m | μ₀, (β₀Λ)⁻¹) W(Λ | W₀, ν₀)`` of one side.

    The BPMF paper's defaults are ``μ₀ = 0``, ``β₀ = 2``, ``ν₀ = D`` and ``W₀ = I`` with
    ``D = K + 1`` (bias and vector).

    Attributes
    ----------
    mean : ndarray (D,)
        ``μ₀``.
    mean_precision : float
        ``β₀ > 0``.
    degrees_of_freedom : float
        ``ν₀ > D − 1``.
    scale : ndarray (D, D)
        ``W₀``, symmetric positive definite (``E[Λ] = ν₀ W₀``).
    """

    mean: np.ndarray
    mean_precision: float
    degrees_of_freedom: float
    scale: np.ndarray

    @classmethod
    def default(
        cls,
        width: int,
        mean_precision: float = 2.0,
        degrees_of_freedom: float | None = None,
        scale: float = 1.0,
    ) -> HyperPrior:
        """``μ₀ = 0``, ``β₀``, ``ν₀`` (``D`` when None) and ``W₀ = scale · I`` for ``D = width``."""
        return cls(
            mean=np.zeros(width),
            mean_precision=float(mean_precision),
            degrees_of_freedom=float(width if degrees_of_freedom is None else degrees_of_freedom),
            scale=float(scale) * np.eye(width),
        )


def normal_wishart_posterior(rows: np.ndarray, prior: HyperPrior) -> HyperPrior:
    r"""The Normal–Wishart conditional of ``(m, Λ)`` given ``N`` rows ``θ_n`` (BPMF eq. 14).

    .. math::

        β^* = β_0 + N, \quad ν^* = ν_0 + N, \quad
        μ^* = \frac{β_0 μ_0 + N \bar θ}{β_0 + N}, \quad
        (W^*)^{-1} = W_0^{-1} + N \bar S + \frac{β_0 N}{β_0 + N}(μ_0 - \bar θ)(μ_0 - \bar θ)^T

    with ``θ̄`` the rows' mean and ``S̄ = (1/N) Σ (θ_n − θ̄)(θ_n − θ̄)ᵀ``.

    Parameters
    ----------
    rows : ndarray, shape (N, D)
        ``θ_n = [b_n, F_n]``.
    prior : HyperPrior

    Returns
    -------
    HyperPrior
        ``(μ*, β*, ν*, W*)``.
    """
    rows = np.asarray(rows, dtype=np.float64)
    count = len(rows)
    beta0 = prior.mean_precision
    if count == 0:
        return prior
    average = rows.mean(axis=0)
    # N S̄ = Σ θ θᵀ − N θ̄ θ̄ᵀ: no centred copy of the rows (float64, |θ̄| of order 1)
    scatter = rows.T @ rows - count * np.outer(average, average)
    offset = prior.mean - average
    inverse_scale = (
        np.linalg.inv(prior.scale)
        + scatter
        + (beta0 * count / (beta0 + count)) * np.outer(offset, offset)
    )
    scale = np.linalg.inv(inverse_scale)
    return HyperPrior(
        mean=(beta0 * prior.mean + count * average) / (beta0 + count),
        mean_precision=beta0 + count,
        degrees_of_freedom=prior.degrees_of_freedom + count,
        scale=(scale + scale.T) / 2,
    )


def sample_normal_wishart(
    rows: np.ndarray, prior: HyperPrior, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``(m, Λ)`` of one side from its conditional given the rows.

    ``Λ ~ W(W*, ν*)`` (:class:`scipy.stats.wishart`), then ``m ~ N(μ*, (β*Λ)⁻¹)`` drawn as
    ``μ* + C⁻ᵀ z/√β*`` with ``Λ = C Cᵀ`` (see :func:`normal_wishart_posterior`).

    Parameters
    ----------
    rows : ndarray, shape (N, D)
    prior : HyperPrior
    rng : numpy.random.Generator

    Returns
    -------
    mean : ndarray of float64, shape (D,)
        ``m``.
    precision : ndarray of float64, shape (D, D)
        ``Λ``.
    """
    posterior = normal_wishart_posterior(rows, prior)
    precision = np.atleast_2d(
        wishart(df=posterior.degrees_of_freedom, scale=posterior.scale).rvs(random_state=rng)
    )
    lower = np.linalg.cholesky(precision)
    z = rng.standard_normal(len(posterior.mean)) / np.sqrt(posterior.mean_precision)
    mean = posterior.mean + linalg.solve_triangular(lower, z, lower=True, trans="T")
    return mean, precision


@dataclass(frozen=True)
class DiagonalHyperPrior:
    r"""Normal–Gamma hyperprior of ``(m, Λ)`` with ``Λ = diag(λ_1 … λ_D)``, one coordinate at a
    time: ``λ_d ~ Gamma(a₀, b₀)`` (shape, rate) and ``m_d | λ_d ~ N(μ₀, 1/(β₀ λ_d))``.

    The defaults, ``μ₀ = 0`` and ``β₀ = a₀ = b₀ = 1``, are vague next to the thousands of rows
    that inform each ``λ_d``. A one-dimensional Wishart ``W(w, ν)`` is ``Gamma(ν/2, 1/(2w))``,
    so each coordinate's conditional is the Normal–Wishart one of :func:`normal_wishart_posterior`
    with ``D = 1``.

    Attributes
    ----------
    mean : float
        ``μ₀``.
    mean_precision : float
        ``β₀ > 0``.
    shape, rate : float
        ``a₀ > 0``, ``b₀ > 0``.
    """

    mean: float = 0.0
    mean_precision: float = 1.0
    shape: float = 1.0
    rate: float = 1.0


def normal_gamma_posterior(
    blocks, prior: DiagonalHyperPrior
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The Normal–Gamma conditional of each coordinate's ``(m_d, λ_d)`` given ``N`` rows.

    .. math::

        β^* = β_0 + N, \quad μ^*_d = \frac{β_0 μ_0 + N \bar θ_d}{β_0 + N}, \quad
        a^* = a_0 + \frac N2, \quad
        b^*_d = b_0 + \frac12 \sum_n (θ_{nd} - \bar θ_d)^2
                + \frac{β_0 N}{2(β_0 + N)} (\bar θ_d - μ_0)^2

    Parameters
    ----------
    blocks : sequence of ndarray, each of shape (N_j, D)
        The rows, in blocks that are not copied together (users and movies for a shared
        hyperprior); ``N = Σ N_j``.
    prior : DiagonalHyperPrior

    Returns
    -------
    mean : ndarray of float64, shape (D,)
        ``μ*``.
    mean_precision : ndarray of float64, shape (D,)
        ``β*`` (the same for every coordinate).
    shape : ndarray of float64, shape (D,)
        ``a*``.
    rate : ndarray of float64, shape (D,)
        ``b*``.
    """
    blocks = [np.asarray(block, dtype=np.float64) for block in blocks]
    width = blocks[0].shape[1]
    count = sum(len(block) for block in blocks)
    total = sum((block.sum(axis=0) for block in blocks), np.zeros(width))
    squares = sum((np.einsum("nd,nd->d", block, block) for block in blocks), np.zeros(width))
    beta0, mu0 = prior.mean_precision, prior.mean
    average = total / max(count, 1)
    scatter = np.maximum(squares - count * average**2, 0.0)  # Σ (θ − θ̄)², no centred copy
    beta = beta0 + count
    return (
        (beta0 * mu0 + total) / beta,
        np.full(width, beta),
        np.full(width, prior.shape + count / 2.0),
        prior.rate + scatter / 2.0 + beta0 * count * (average - mu0) ** 2 / (2.0 * beta),
    )


def sample_normal_gamma(
    blocks, prior: DiagonalHyperPrior, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``(m, Λ)``, ``Λ`` diagonal, from the Normal–Gamma conditional given the rows.

    ``λ_d ~ Gamma(a*, b*_d)``, then ``m_d ~ N(μ*_d, 1/(β* λ_d))``
    (:func:`normal_gamma_posterior`).

    Parameters
    ----------
    blocks : sequence of ndarray, each of shape (N_j, D)
    prior : DiagonalHyperPrior
    rng : numpy.random.Generator

    Returns
    -------
    mean : ndarray of float64, shape (D,)
        ``m``.
    precision : ndarray of float64, shape (D, D)
        ``Λ = diag(λ)``.
    """
    mean, beta, shape, rate = normal_gamma_posterior(blocks, prior)
    precisions = rng.gamma(shape, 1.0 / rate)
    mean = mean + rng.standard_normal(len(mean)) / np.sqrt(beta * precisions)
    return mean, np.diag(precisions)


def first_given_rest(mean: np.ndarray, precision: np.ndarray, rest: np.ndarray):
    r"""Prior of each row's first coordinate given its others, under ``θ ~ N(m, Λ⁻¹)``.

    For ``θ = [b, F]`` (a bias and a vector) the conditional is Gaussian with precision
    ``Λ_bb`` and mean

    .. math::

        c = m_b - Λ_{bF} (F - m_F) / Λ_{bb},

    the prior the time-aware Bayesian model's time block gives ``b`` given ``F``.

    Parameters
    ----------
    mean : ndarray (D,)
        ``m``.
    precision : ndarray (D, D)
        ``Λ``.
    rest : ndarray (n, D − 1)
        ``F`` of each row.

    Returns
    -------
    means : ndarray of float64, shape (n,)
        ``c`` of each row.
    precision : float
        ``Λ_bb``.
    """
    first = float(precision[0, 0])
    centred = np.asarray(rest, dtype=np.float64) - mean[1:]
    return mean[0] - centred @ precision[1:, 0] / first, first


def sample_noise_precision(
    squared_error: float,
    n_ratings: int,
    rng: np.random.Generator,
    *,
    shape: float = 1.0,
    rate: float = 1.0,
) -> float:
    r"""Draw the noise precision ``α`` from its Gamma conditional.

    With the prior ``α ~ Gamma(a₀, b₀)`` (shape, rate) and ``n`` Gaussian residuals ``e``:

    .. math::

        α \mid R, Θ \sim \mathrm{Gamma}\big(a_0 + n/2,\; b_0 + \tfrac12 \textstyle\sum e^2\big).

    Parameters
    ----------
    squared_error : float
        ``Σ (r_ui − r̂_ui)²`` over the training ratings.
    n_ratings : int
        ``n``.
    rng : numpy.random.Generator
    shape, rate : float, default 1.0
        ``a₀`` and ``b₀``.

    Returns
    -------
    float
    """
    return float(rng.gamma(shape + n_ratings / 2.0, 1.0 / (rate + squared_error / 2.0)))


def mixture_quantiles(
    means: np.ndarray, variances: np.ndarray, probabilities, *, tol: float = 1e-4
) -> np.ndarray:
    r"""Quantiles of equal-weight Gaussian mixtures, one mixture per column.

    Column ``j`` is the predictive distribution ``(1/S) Σ_s N(means[s, j], variances[s, j])``;
    its ``q``-quantile solves ``(1/S) Σ_s Φ((x − means[s, j]) / sqrt(variances[s, j])) = q``,
    found by bisection to ``tol`` (the mixture CDF is increasing).

    Parameters
    ----------
    means : ndarray, shape (S, n)
    variances : ndarray, shape (S,) or (S, n)
        Positive; shape (S,) is one variance per component, the same in every column.
    probabilities : sequence of float in (0, 1), length m
    tol : float
        Absolute tolerance in the quantile's units.

    Returns
    -------
    ndarray of float64, shape (m, n)
    """
    means = np.asarray(means, dtype=np.float64)
    stds = np.sqrt(np.asarray(variances, dtype=np.float64))
    if stds.ndim == 1:
        stds = stds[:, None]
    probabilities = np.atleast_1d(np.asarray(probabilities, dtype=np.float64))
    if not ((probabilities > 0) & (probabilities < 1)).all():
        raise ValueError(f"probabilities must lie in (0, 1), got {probabilities.tolist()}")
    out = np.empty((len(probabilities), means.shape[1]))
    spread = 10.0 * stds.max(axis=0)
    for position, probability in enumerate(probabilities):
        low, high = means.min(axis=0) - spread, means.max(axis=0) + spread
        while np.max(high - low) > tol:
            middle = (low + high) / 2
            below = special.ndtr((middle - means) / stds).mean(axis=0) < probability
            low = np.where(below, middle, low)
            high = np.where(below, high, middle)
        out[position] = (low + high) / 2
    return out
