"""Shared evaluation protocol for the peer benchmarks.

Every library is scored the same way on ml-latest-small:

1. a seeded random holdout puts ``test_fraction`` (10 %) of the ratings in the test part;
2. a second seeded holdout carves ``valid_fraction`` (10 %) of the training part out as a
   validation part;
3. each point of the library's small tuning grid is fitted on the rest of the training part
   and scored by RMSE on the validation part;
4. the best point is refitted on the whole training part and scored on the test part
   (RMSE and MAE, fit seconds).

Peers that return NaN for a user or movie absent from training are scored with two fills of
those rows: the global mean μ of the training part, and μ + b_u, where b_u is the damped user
bias of :func:`user_bias_fill` (μ when the user is unknown too). The number of filled rows is
reported beside the scores.

Data, splits and metrics come from ``recsys_helpers`` when the installed version provides
them, and from the local equivalents below otherwise, so the benchmarks run against any
version of the package.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

RATING_COLUMNS = ("userId", "movieId", "rating")


class RatingPredictor(Protocol):
    """What a peer adapter provides: fit on a ratings frame, predict (user, movie) rows."""

    def fit(self, train: pd.DataFrame) -> RatingPredictor: ...

    def predict(self, pairs: pd.DataFrame) -> np.ndarray: ...


# --------------------------------------------------------------------------------------------
# data, split and metrics (package versions when available)


def load_small_ratings(mirror: str | Path | None = None) -> pd.DataFrame:
    """Ratings of ml-latest-small.

    Parameters
    ----------
    mirror : str or Path, optional
        Folder holding ``ml-latest-small/ratings.csv``; defaults to ``$MOVIELENS_MIRROR``.

    Returns
    -------
    pandas.DataFrame
        Columns ``userId`` (int64), ``movieId`` (int64), ``rating`` (float64, stars) and
        ``timestamp`` (int64, Unix seconds; only the time-aware models read it), in file order
        (100,836 rows for the published release).
    """
    try:
        from recsys_helpers.data.movielens import load_ratings
    except ImportError:
        load_ratings = None
    if load_ratings is not None:
        frame = load_ratings("ml-latest-small", mirror=mirror, progress=False)
    else:
        from recsys_helpers import config
        from recsys_helpers.errors import DataError

        folder = Path(mirror) if mirror is not None else config.mirror_dir()
        if folder is None:
            raise DataError("no MovieLens mirror: set MOVIELENS_MIRROR or pass --mirror")
        path = Path(folder) / "ml-latest-small" / "ratings.csv"
        if not path.is_file():
            raise DataError(f"{path}: not found")
        frame = pd.read_csv(path)
    return pd.DataFrame(
        {
            "userId": frame["userId"].to_numpy(np.int64),
            "movieId": frame["movieId"].to_numpy(np.int64),
            "rating": frame["rating"].to_numpy(np.float64),
            "timestamp": frame["timestamp"].to_numpy(np.int64),
        }
    )


def random_split(
    ratings: pd.DataFrame, test_fraction: float, *, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded random holdout of ``round(test_fraction * len(ratings))`` rows.

    Uses ``recsys_helpers.data.split.random_split`` when present.

    Returns
    -------
    train, test : pandas.DataFrame
        Disjoint, together all rows, each in the original row order.
    """
    try:
        from recsys_helpers.data.split import random_split as package_split
    except ImportError:
        package_split = None
    if package_split is not None:
        return package_split(ratings, test_fraction, random_state=seed)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = round(test_fraction * len(ratings))
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(ratings), dtype=bool)
    is_test[rng.permutation(len(ratings))[:n_test]] = True
    return ratings[~is_test], ratings[is_test]


def _check_aligned(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError(f"shapes differ: truth {truth.shape}, predicted {predicted.shape}")
    if truth.size == 0:
        raise ValueError("empty inputs")
    if not (np.isfinite(truth).all() and np.isfinite(predicted).all()):
        raise ValueError("NaN or inf in the inputs; fill missing predictions first")
    return truth, predicted


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error sqrt(mean((r - r̂)²)) of aligned 1-D arrays (stars)."""
    truth, predicted = _check_aligned(truth, predicted)
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error mean(|r - r̂|) of aligned 1-D arrays (stars)."""
    truth, predicted = _check_aligned(truth, predicted)
    return float(np.mean(np.abs(truth - predicted)))


# --------------------------------------------------------------------------------------------
# fills for rows a peer cannot predict


def user_bias_fill(train: pd.DataFrame, pairs: pd.DataFrame, *, damping: float = 5.0) -> np.ndarray:
    """μ + b_u for each row of ``pairs``, the fallback for movies unseen in training.

    The biases are the damped means

        b_i = Σ_{u∈Ω_i} (r_ui − μ) / (|Ω_i| + d),
        b_u = Σ_{i∈Ω_u} (r_ui − μ − b_i) / (|Ω_u| + d),

    with d = ``damping``; an unknown user gets b_u = 0.

    Parameters
    ----------
    train : pandas.DataFrame
        Training ratings (``userId``, ``movieId``, ``rating``).
    pairs : pandas.DataFrame
        Rows to fill (``userId``), length n.

    Returns
    -------
    numpy.ndarray
        float64, shape (n,), stars.
    """
    mu = float(train["rating"].mean())
    residual = train["rating"].to_numpy(np.float64) - mu
    by_item = pd.Series(residual).groupby(train["movieId"].to_numpy())
    item_bias = by_item.sum() / (by_item.count() + damping)
    residual = residual - item_bias.reindex(train["movieId"].to_numpy()).to_numpy()
    by_user = pd.Series(residual).groupby(train["userId"].to_numpy())
    user_bias = by_user.sum() / (by_user.count() + damping)
    return mu + user_bias.reindex(pairs["userId"].to_numpy()).fillna(0.0).to_numpy()


def fills(train: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """The two fills for missing predictions: ``global_mean`` (μ) and ``user_bias`` (μ + b_u)."""
    mu = float(train["rating"].mean())
    return {
        "global_mean": np.full(len(pairs), mu),
        "user_bias": user_bias_fill(train, pairs),
    }


# --------------------------------------------------------------------------------------------
# tuning and scoring


def grid_points(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of a parameter grid, in the order of its keys."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


@dataclass(frozen=True)
class Protocol:
    """Split fractions and seed shared by every peer."""

    test_fraction: float = 0.1
    valid_fraction: float = 0.1
    seed: int = 42

    def splits(
        self, ratings: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(train, test, fit, valid)``: fit ∪ valid = train, train ∪ test = ratings."""
        train, test = random_split(ratings, self.test_fraction, seed=self.seed)
        fit, valid = random_split(train, self.valid_fraction, seed=self.seed + 1)
        return train, test, fit, valid


@dataclass
class PeerResult:
    """Scores of one model on the test part; ``scores`` maps a fill name to RMSE/MAE."""

    library: str
    model: str
    params: dict[str, Any]
    fit_seconds: float
    n_missing: int
    n_test: int
    unknown_policy: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    tuning: list[dict[str, Any]] = field(default_factory=list)


def score_predictions(
    train: pd.DataFrame, test: pd.DataFrame, predicted: np.ndarray
) -> tuple[int, dict[str, dict[str, float]]]:
    """RMSE and MAE of ``predicted`` on ``test`` under each fill of its NaN rows.

    Returns
    -------
    n_missing : int
        Rows that were NaN.
    scores : dict
        ``{fill: {"rmse": float, "mae": float}}``; a single ``"none"`` entry when nothing
        is missing.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    truth = test["rating"].to_numpy(np.float64)
    missing = np.isnan(predicted)
    if not missing.any():
        return 0, {"none": {"rmse": rmse(truth, predicted), "mae": mae(truth, predicted)}}
    scores = {}
    for name, fill in fills(train, test).items():
        filled = np.where(missing, fill, predicted)
        scores[name] = {"rmse": rmse(truth, filled), "mae": mae(truth, filled)}
    return int(missing.sum()), scores


def _validation_rmse(train: pd.DataFrame, valid: pd.DataFrame, predicted: np.ndarray) -> float:
    predicted = np.asarray(predicted, dtype=np.float64)
    missing = np.isnan(predicted)
    if missing.any():
        predicted = np.where(missing, float(train["rating"].mean()), predicted)
    return rmse(valid["rating"].to_numpy(np.float64), predicted)


def evaluate(
    library: str,
    model: str,
    make_model: Callable[..., RatingPredictor],
    grid: Mapping[str, Iterable[Any]],
    ratings: pd.DataFrame,
    protocol: Protocol,
    *,
    unknown_policy: str,
) -> PeerResult:
    """Tune ``make_model(**params)`` on the validation part, refit on train, score on test.

    During tuning, NaN predictions are filled with the global mean of the fitting part.

    Parameters
    ----------
    library, model : str
        Labels for the result table.
    make_model : callable
        ``make_model(**params)`` returns an unfitted :class:`RatingPredictor`.
    grid : mapping
        Parameter name to the values tried; a single point skips tuning.
    ratings : pandas.DataFrame
        All ratings (``userId``, ``movieId``, ``rating``).
    protocol : Protocol
        Split fractions and seed.
    unknown_policy : str
        What the model predicts for users/movies unseen in training (for the report).
    """
    train, test, fit_part, valid = protocol.splits(ratings)
    points = grid_points(grid)
    tuning = []
    if len(points) > 1:
        for params in points:
            start = time.perf_counter()
            predicted = make_model(**params).fit(fit_part).predict(valid)
            seconds = time.perf_counter() - start
            score = _validation_rmse(fit_part, valid, predicted)
            tuning.append({"params": params, "valid_rmse": score, "seconds": seconds})
            logger.info(
                "%s %s %s: valid RMSE %.4f (%.1f s)", library, model, params, score, seconds
            )
        best = min(tuning, key=lambda row: row["valid_rmse"])["params"]
    else:
        best = points[0]
    start = time.perf_counter()
    fitted = make_model(**best).fit(train)
    fit_seconds = time.perf_counter() - start
    n_missing, scores = score_predictions(train, test, fitted.predict(test))
    return PeerResult(
        library=library,
        model=model,
        params=best,
        fit_seconds=fit_seconds,
        n_missing=n_missing,
        n_test=len(test),
        unknown_policy=unknown_policy,
        scores=scores,
        tuning=tuning,
    )
