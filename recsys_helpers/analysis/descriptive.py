r"""Descriptive statistics of a ratings table: degrees, heavy tails, sparsity, time.

The heavy-tail fits follow Clauset, Shalizi and Newman (2009), *Power-law distributions
in empirical data*, SIAM Review 51(4): a discrete power law

.. math:: p(x) = \frac{x^{-\alpha}}{\zeta(\alpha, x_{\min})}, \qquad x \ge x_{\min},

with :math:`\zeta(\alpha, x_{\min}) = \sum_{n=0}^{\infty} (n + x_{\min})^{-\alpha}` the
Hurwitz zeta function, fitted by maximum likelihood, :math:`x_{\min}` chosen to minimise
the Kolmogorov-Smirnov distance between the data above it and the fit, and the fit tested
against a lognormal by a likelihood ratio. The ``powerlaw`` package (Alstott, Bullmore and
Plenz 2014, PLoS ONE 9(1): e85777) does the fitting (:func:`fit_power_law`); Zipf's
rank-frequency line is a least-squares fit in log-log space (:func:`fit_zipf`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from recsys_helpers.errors import DataError

__all__ = [
    "ALPHA_RANGE",
    "PowerLawFit",
    "ZipfFit",
    "ccdf",
    "dataset_summary",
    "degrees",
    "fit_power_law",
    "fit_zipf",
    "power_law_ccdf",
    "ratings_per_period",
]

logger = logging.getLogger(__name__)

ALPHA_RANGE: tuple[float, float] = (1.0, 10.0)
"""Exponents :func:`fit_power_law` searches (open interval)."""

_PERIODS = {"YS": "Y", "QS": "Q", "MS": "M"}  # ratings_per_period's freq -> period alias


@dataclass(frozen=True)
class PowerLawFit:
    """A discrete power law fitted by maximum likelihood (see :func:`fit_power_law`).

    Attributes
    ----------
    alpha : float
        Exponent :math:`\\alpha` of :math:`p(x) \\propto x^{-\\alpha}`.
    xmin : int
        Smallest value the power law describes.
    n_tail : int
        Number of observations :math:`x \\ge x_{\\min}` used in the fit.
    n_total : int
        Number of observations given.
    alpha_stderr : float
        Asymptotic standard error :math:`(\\alpha - 1) / \\sqrt{n_{tail}}`.
    ks_distance : float
        Largest gap between the empirical and fitted CCDF over the tail.
    lognormal_ratio : float
        Log-likelihood ratio :math:`R` of the power law against a lognormal fitted to the
        same tail (natural log, summed over the tail); positive favours the power law.
    lognormal_p : float
        Significance of the sign of :math:`R` (two-sided, normal approximation); a small
        value means the sign is not due to chance.
    """

    alpha: float
    xmin: int
    n_tail: int
    n_total: int
    alpha_stderr: float
    ks_distance: float
    lognormal_ratio: float
    lognormal_p: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain-dict copy (JSON-serialisable)."""
        return asdict(self)


@dataclass(frozen=True)
class ZipfFit:
    """A rank-frequency line :math:`f(r) = C r^{-s}` fitted in log-log space (:func:`fit_zipf`).

    Attributes
    ----------
    exponent : float
        Zipf exponent :math:`s` (minus the slope of :math:`\\log f` against :math:`\\log r`).
    constant : float
        :math:`C`, the fitted frequency at rank 1.
    r_squared : float
        Coefficient of determination of the log-log least-squares line.
    min_rank, max_rank : int
        Range of ranks (1-based, inclusive) the line was fitted on.
    """

    exponent: float
    constant: float
    r_squared: float
    min_rank: int
    max_rank: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain-dict copy (JSON-serialisable)."""
        return asdict(self)


def _positive_integers(values, parameter: str) -> np.ndarray:
    """Validate a 1-D array of integers >= 1 and return it as int64."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"{parameter}: expected a 1-D array, got shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{parameter}: empty array")
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise DataError(f"{parameter}: values must be finite numbers")
    if np.any(array != np.round(array)):
        raise DataError(f"{parameter}: values must be whole numbers (counts)")
    if array.min() < 1:
        raise DataError(f"{parameter}: values must be >= 1, found {array.min()}")
    return array.astype(np.int64)


def degrees(ratings: pd.DataFrame, by: str) -> np.ndarray:
    """Number of ratings per user or per movie.

    Parameters
    ----------
    ratings : pandas.DataFrame
        One row per rating with at least the column ``by``.
    by : {"userId", "movieId"}
        Column whose values are counted.

    Returns
    -------
    numpy.ndarray of int64, shape (n_distinct,)
        :math:`|\\Omega_u|` for each user (``by="userId"``) or :math:`|\\Omega_i|` for each
        movie, in descending order.
    """
    if by not in ratings.columns:
        raise DataError(f"degrees: ratings has no column {by!r} (columns: {list(ratings.columns)})")
    counts = ratings[by].value_counts(sort=True).to_numpy(dtype=np.int64)
    return counts


def ccdf(values) -> tuple[np.ndarray, np.ndarray]:
    """Empirical complementary CDF :math:`\\hat P(X \\ge x)` at each distinct value.

    Parameters
    ----------
    values : array-like, shape (n,)
        Observations (any real numbers).

    Returns
    -------
    x : numpy.ndarray, shape (k,)
        The ``k`` distinct values, ascending.
    p : numpy.ndarray of float64, shape (k,)
        Fraction of observations greater than or equal to each ``x``; ``p[0] == 1``.
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise DataError("ccdf: values is empty")
    x, counts = np.unique(array, return_counts=True)
    at_least = np.cumsum(counts[::-1])[::-1]
    return x, at_least / array.size


def power_law_ccdf(x, alpha: float, xmin: int) -> np.ndarray:
    r"""CCDF of the discrete power law, evaluated by the ``powerlaw`` package.

    .. math:: P(X \ge x) = \zeta(\alpha, x) / \zeta(\alpha, x_{\min}), \qquad x \ge x_{\min},

    with :math:`\zeta(\alpha, x) = \sum_{k \ge 0} (k + x)^{-\alpha}` the Hurwitz zeta
    function (``powerlaw.Power_Law(discrete=True).ccdf``, the distribution
    :func:`fit_power_law` fits).

    Parameters
    ----------
    x : array-like of int, shape (m,)
        Values ``>= xmin``.
    alpha : float
        Exponent, inside :data:`ALPHA_RANGE`.
    xmin : int
        Lower cut-off, >= 1.

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        :math:`P(X \ge x)` for each ``x``; 1 at ``x = xmin``.
    """
    import powerlaw

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise DataError(f"power_law_ccdf: x must be a non-empty 1-D array, got shape {x.shape}")
    if np.any(x < xmin):
        raise DataError(f"power_law_ccdf: x must be >= xmin={xmin}, found {x.min()}")
    distribution = powerlaw.Power_Law(
        xmin=float(xmin),
        parameters=[float(alpha)],
        parameter_ranges={"alpha": list(ALPHA_RANGE)},
        discrete=True,
        verbose=0,
    )
    return np.asarray(distribution.ccdf(x), dtype=np.float64)


@contextmanager
def _quiet_powerlaw() -> Iterator[None]:
    """Silence the warnings the ``powerlaw`` package gives on every trial fit.

    Its x_min search reads a deprecated attribute of each trial fit and warns about
    optimiser details; :class:`PowerLawFit` reports the quality of the chosen fit instead
    (Kolmogorov-Smirnov distance, likelihood ratio against a lognormal).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"powerlaw\b")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"powerlaw\b")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"powerlaw\b")
        yield


def _largest_xmin(data: np.ndarray, min_tail: int) -> tuple[int, int]:
    """The largest cut-off leaving ``min_tail`` observations and the next distinct value.

    Raises :class:`DataError` when no value below the maximum leaves ``min_tail``
    observations at or above it.
    """
    distinct = np.unique(data)
    tail_sizes = data.size - np.searchsorted(np.sort(data), distinct, side="left")
    enough = distinct[(tail_sizes >= min_tail) & (distinct < distinct.max())]
    if enough.size == 0:
        raise DataError(
            f"fit_power_law: no xmin leaves {min_tail} observations and two distinct "
            f"values in the tail (n={data.size}); pass xmin or a smaller min_tail"
        )
    largest = int(enough.max())
    return largest, int(distinct[distinct > largest].min())


def _log_spaced(candidates: np.ndarray, count: int) -> np.ndarray:
    """At most ``count`` of the sorted ``candidates``, nearest to points evenly spaced in log x."""
    targets = np.geomspace(candidates[0], candidates[-1], count)
    nearest = np.clip(np.searchsorted(candidates, targets), 1, candidates.size - 1)
    below_closer = targets - candidates[nearest - 1] < candidates[nearest] - targets
    return np.unique(np.where(below_closer, candidates[nearest - 1], candidates[nearest]))


def _best_xmin(data: np.ndarray, candidates: np.ndarray) -> int:
    """The candidate cut-off whose maximum-likelihood fit has the smallest KS distance."""
    import powerlaw

    distances = []
    with _quiet_powerlaw():
        for candidate in candidates:
            trial = powerlaw.Fit(
                data,
                discrete=True,
                xmin=float(candidate),
                estimate_discrete=False,
                parameter_ranges={"alpha": list(ALPHA_RANGE)},
                verbose=0,
            )
            distances.append(trial.power_law.D)
    return int(candidates[int(np.nanargmin(distances))])


def fit_power_law(
    values, *, xmin: int | None = None, min_tail: int = 50, max_candidates: int = 250
) -> PowerLawFit:
    r"""Fit a discrete power law above a cut-off, and test it against a lognormal.

    The model (Clauset, Shalizi and Newman 2009) is

    .. math:: p(x) = \frac{x^{-\alpha}}{\zeta(\alpha, x_{\min})}, \qquad x \ge x_{\min},

    and :math:`\hat\alpha` maximises the log-likelihood of the :math:`n` observations
    :math:`x_j \ge x_{\min}`,

    .. math:: \ell(\alpha) = -n \ln \zeta(\alpha, x_{\min}) - \alpha \sum_{j=1}^{n} \ln x_j .

    When ``xmin`` is None, every distinct value that leaves at least ``min_tail``
    observations in the tail is tried and the one minimising the Kolmogorov-Smirnov
    distance :math:`D = \max_{x \ge x_{\min}} |\hat S(x) - S_{\hat\alpha}(x)|` between the
    empirical CCDF and :func:`power_law_ccdf` is kept. Each trial is a numerical fit
    (about 10 ms), so when there are more than ``max_candidates`` such values (ML-25M's
    users have about 2,300) only ``max_candidates`` of them, spread evenly in
    :math:`\log x`, are tried. The tail is then compared with a
    (discretised) lognormal fitted to the same observations by the log-likelihood ratio
    :math:`R = \sum_j [\ln p_{\mathrm{PL}}(x_j) - \ln p_{\mathrm{LN}}(x_j)]`; :math:`R > 0`
    favours the power law, and ``p`` (Vuong's normal approximation) says whether the sign
    of :math:`R` is significant.

    All of it is computed by the ``powerlaw`` package (Alstott, Bullmore and Plenz 2014):
    ``powerlaw.Fit(values, discrete=True, estimate_discrete=False, ...)`` for the exact
    discrete maximum-likelihood fit and the x_min search, and
    ``Fit.distribution_compare("power_law", "lognormal")`` for ``(R, p)``.

    Parameters
    ----------
    values : array-like of int, shape (n,)
        Observations, whole numbers >= 1 (e.g. ratings per user, from :func:`degrees`).
    xmin : int, optional
        Fixed lower cut-off; chosen by the Kolmogorov-Smirnov criterion when omitted.
    min_tail : int, default 50
        Candidates for ``xmin`` must leave at least this many observations in the tail.
    max_candidates : int, default 250
        Most cut-offs tried when ``xmin`` is None (at least 2).

    Returns
    -------
    PowerLawFit

    Raises
    ------
    DataError
        If ``values`` is empty, not whole numbers >= 1, or the tail above ``xmin`` holds
        fewer than two distinct values.
    """
    import powerlaw

    data = _positive_integers(values, "fit_power_law: values")
    if xmin is not None:
        if int(xmin) < 1:
            raise DataError(f"fit_power_law: xmin must be >= 1, got {xmin}")
        xmin = int(xmin)
        tail = data[data >= xmin]
        if np.unique(tail).size < 2:
            raise DataError(
                f"fit_power_law: fewer than two distinct values >= xmin={xmin} "
                f"({tail.size} observations)"
            )
        cut_off: float | tuple[float, float] = float(xmin)
    else:
        if int(max_candidates) < 2:
            raise DataError(f"fit_power_law: max_candidates must be >= 2, got {max_candidates}")
        largest, following = _largest_xmin(data, min_tail)
        candidates = np.unique(data)
        candidates = candidates[candidates <= largest]
        if largest == data.min():  # a single candidate: nothing to choose
            cut_off = float(largest)
        elif candidates.size > max_candidates:
            cut_off = float(_best_xmin(data, _log_spaced(candidates, int(max_candidates))))
        else:
            # powerlaw tries the distinct values in [low, high) except the last one found
            # there, so the range ends just past the value after the largest candidate.
            cut_off = (float(data.min()), following + 0.5)
    with _quiet_powerlaw():
        fit = powerlaw.Fit(
            data,
            discrete=True,
            xmin=cut_off,
            estimate_discrete=False,
            parameter_ranges={"alpha": list(ALPHA_RANGE)},
            verbose=0,
        )
        law = fit.power_law
        ratio, p_value = fit.distribution_compare("power_law", "lognormal")
    n_tail = int(np.count_nonzero(data >= fit.xmin))
    alpha = float(law.alpha)
    result = PowerLawFit(
        alpha=alpha,
        xmin=int(fit.xmin),
        n_tail=n_tail,
        n_total=int(data.size),
        alpha_stderr=float((alpha - 1.0) / np.sqrt(n_tail)),
        ks_distance=float(law.D),
        lognormal_ratio=float(ratio),
        lognormal_p=float(p_value),
    )
    if law.noise_flag or getattr(fit, "noise_flag", False):
        logger.warning("power-law fit flagged as unreliable by powerlaw: %s", result)
    logger.debug("power-law fit: %s", result)
    return result


def fit_zipf(counts, *, min_rank: int = 1, max_rank: int | None = None) -> ZipfFit:
    r"""Fit Zipf's law :math:`f(r) = C r^{-s}` to counts ranked in descending order.

    Least squares on :math:`\log f(r) = \log C - s \log r` over ranks
    ``min_rank..max_rank``. Ranks deep in the tail, where many items share the
    count 1 or 2, form flat steps that bend the line; ``max_rank`` excludes them.

    Parameters
    ----------
    counts : array-like of int, shape (n,)
        Frequencies (e.g. ratings per movie), any order, all >= 1.
    min_rank : int, default 1
        First rank used (1 is the most frequent item).
    max_rank : int, optional
        Last rank used; defaults to ``n``.

    Returns
    -------
    ZipfFit
    """
    data = np.sort(_positive_integers(counts, "fit_zipf: counts"))[::-1]
    max_rank = data.size if max_rank is None else int(max_rank)
    if not 1 <= min_rank < max_rank <= data.size:
        raise DataError(
            f"fit_zipf: need 1 <= min_rank < max_rank <= {data.size}, "
            f"got min_rank={min_rank}, max_rank={max_rank}"
        )
    ranks = np.arange(min_rank, max_rank + 1, dtype=np.float64)
    log_r = np.log(ranks)
    log_f = np.log(data[min_rank - 1 : max_rank].astype(np.float64))
    slope, intercept = np.polyfit(log_r, log_f, deg=1)
    residual = log_f - (intercept + slope * log_r)
    total = log_f - log_f.mean()
    total_ss = float(total @ total)
    r_squared = 1.0 - float(residual @ residual) / total_ss if total_ss > 0 else 1.0
    return ZipfFit(
        exponent=float(-slope),
        constant=float(np.exp(intercept)),
        r_squared=r_squared,
        min_rank=int(min_rank),
        max_rank=int(max_rank),
    )


def dataset_summary(ratings: pd.DataFrame) -> dict[str, float | int | str]:
    r"""Headline counts of a ratings table.

    Density is :math:`|\Omega| / (m n)` for ``m`` users, ``n`` movies and
    :math:`|\Omega|` observed ratings; sparsity is ``1 - density``.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Columns ``userId``, ``movieId``, ``rating`` and ``timestamp`` (Unix seconds, UTC).

    Returns
    -------
    dict
        ``n_ratings``, ``n_users``, ``n_movies``, ``density``, ``sparsity``,
        ``mean_rating``, ``median_ratings_per_user``, ``median_ratings_per_movie``,
        ``first_rating`` and ``last_rating`` (ISO dates).
    """
    missing = {"userId", "movieId", "rating", "timestamp"} - set(ratings.columns)
    if missing:
        raise DataError(f"dataset_summary: ratings lacks columns {sorted(missing)}")
    if ratings.empty:
        raise DataError("dataset_summary: ratings is empty")
    n_users = int(ratings["userId"].nunique())
    n_movies = int(ratings["movieId"].nunique())
    density = len(ratings) / (n_users * n_movies)
    times = pd.to_datetime(ratings["timestamp"], unit="s", utc=True)
    return {
        "n_ratings": len(ratings),
        "n_users": n_users,
        "n_movies": n_movies,
        "density": density,
        "sparsity": 1.0 - density,
        "mean_rating": float(ratings["rating"].mean()),
        "median_ratings_per_user": float(np.median(degrees(ratings, "userId"))),
        "median_ratings_per_movie": float(np.median(degrees(ratings, "movieId"))),
        "first_rating": times.min().date().isoformat(),
        "last_rating": times.max().date().isoformat(),
    }


def release_summary(ml, scale: tuple[float, float, float]) -> dict:
    """Headline figures of a loaded release (``python -m recsys_helpers info``).

    Parameters
    ----------
    ml : recsys_helpers.data.movielens.MovieLens
    scale : (min, max, step)
        The release's rating scale; every step gets a histogram entry.

    Returns
    -------
    dict
        ``name``, ``n_ratings``, ``n_users``, ``n_rated_movies``, ``n_listed_movies``,
        ``n_tags`` (None without a tags file), ``density`` = |Ω| / (n_users · n_rated_movies),
        ``sparsity`` = 1 − density, ``mean_rating``, ``rating_histogram`` (rating value as
        text -> count, every step of the scale present) and ``first_rating`` /
        ``last_rating`` (ISO dates, UTC).
    """
    counts = dataset_summary(ml.ratings)
    low, high, step = scale
    levels = np.round(np.arange(low, high + step / 2, step), 6)
    observed = ml.ratings["rating"].value_counts()
    histogram = {f"{level:g}": int(observed.get(level, 0)) for level in levels}
    return {
        "name": ml.name,
        "n_ratings": counts["n_ratings"],
        "n_users": counts["n_users"],
        "n_rated_movies": counts["n_movies"],
        "n_listed_movies": ml.n_movies,
        "n_tags": None if ml.tags is None else len(ml.tags),
        "density": counts["density"],
        "sparsity": counts["sparsity"],
        "mean_rating": counts["mean_rating"],
        "rating_histogram": histogram,
        "first_rating": counts["first_rating"],
        "last_rating": counts["last_rating"],
    }


def ratings_per_period(ratings: pd.DataFrame, freq: str = "YS") -> pd.DataFrame:
    """Number of ratings, distinct active users and mean rating per calendar period.

    Ratings are grouped by calendar period (``Series.dt.to_period``), not resampled on a
    time index: on 25 M ratings that is 3 s instead of 30 s.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Columns ``userId``, ``rating`` and ``timestamp`` (Unix seconds, UTC).
    freq : {"YS", "QS", "MS"}, default "YS"
        Calendar years, quarters or months, labelled by their first day.

    Returns
    -------
    pandas.DataFrame
        Indexed by period start (UTC), every period from the first rating's to the last
        rating's, columns ``n_ratings`` (int), ``n_users`` (int) and ``mean_rating``
        (float; NaN for a period without ratings).
    """
    missing = {"userId", "rating", "timestamp"} - set(ratings.columns)
    if missing:
        raise DataError(f"ratings_per_period: ratings lacks columns {sorted(missing)}")
    if freq not in _PERIODS:
        raise DataError(f"ratings_per_period: freq must be one of {list(_PERIODS)}, got {freq!r}")
    period = pd.to_datetime(ratings["timestamp"], unit="s").dt.to_period(_PERIODS[freq])
    grouped = ratings.groupby(period.array)
    table = pd.DataFrame(
        {
            "n_ratings": grouped.size(),
            "n_users": grouped["userId"].nunique(),
            "mean_rating": grouped["rating"].mean().astype(np.float64),
        }
    )
    if len(table):  # every period in the span, those without ratings included
        table = table.reindex(pd.period_range(table.index.min(), table.index.max()))
    counts = ["n_ratings", "n_users"]
    table[counts] = table[counts].fillna(0).astype(np.int64)
    table.index = pd.DatetimeIndex(
        table.index.to_timestamp(how="start") if len(table) else [], tz="UTC", name="period"
    )
    return table
