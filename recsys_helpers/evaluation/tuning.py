"""Hyperparameter search by validation RMSE.

:func:`grid_search` fits one estimator per combination of a parameter grid on training
ratings and scores it on held-out validation ratings carved from the same data (a
seeded random hold-out, k folds, or splits the caller supplies), returning one tidy row
per combination; :func:`best_params` picks the winner. Only the frame passed in is ever
used: give it the training part of a train/test split, so that the test part stays
untouched until the final evaluation.

:class:`recsys_helpers.models.als.BiasedMF` is a scikit-learn estimator, so
``sklearn.model_selection.GridSearchCV`` works as well (on ``X = ratings[["userId",
"movieId"]]``, ``y = ratings["rating"]``); this module exists because it speaks in
ratings frames, reports fit times and ALS sweeps, and handles cold-start validation
rows the way the estimator does (bias fallback) rather than through a generic scorer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import ParameterGrid

from recsys_helpers.models.als import BiasedMF

logger = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "valid_rmse",
    "valid_rmse_std",
    "valid_mae",
    "train_rmse",
    "fit_seconds",
    "n_iter",
    "n_folds",
    "rank",
)
"""Columns of :func:`grid_search`'s result that are not hyperparameters."""

Split = tuple[pd.DataFrame, pd.DataFrame]


def validation_splits(
    ratings: pd.DataFrame | Split,
    validation: float | int | Iterable[Split] = 0.1,
    *,
    random_state: int = 0,
) -> list[Split]:
    """The (train, valid) pairs a search scores on.

    Parameters
    ----------
    ratings : DataFrame or (DataFrame, DataFrame)
        Ratings (``userId``, ``movieId``, ``rating``), or an explicit (train, valid) pair,
        in which case ``validation`` is ignored.
    validation : float, int or iterable of (DataFrame, DataFrame)
        A float in (0, 1): one seeded random hold-out of that share of the ratings
        (:func:`recsys_helpers.data.split.random_split`); an int ``k >= 2``: k folds, each
        rating validated exactly once (:func:`recsys_helpers.data.split.kfold`); or the pairs
        themselves.
    random_state : int
        Seed of the random hold-out or folds.

    Raises
    ------
    ValueError
        ``validation`` is a float outside (0, 1), an int below 2, or yields no pair.
    """
    if isinstance(ratings, tuple):
        if len(ratings) != 2:
            raise ValueError(f"ratings: expected a frame or a (train, valid) pair, got {ratings!r}")
        return [(ratings[0], ratings[1])]
    from recsys_helpers.data import split

    if isinstance(validation, bool):
        raise ValueError(f"validation must be a fraction, a fold count or splits, not {validation}")
    if isinstance(validation, Integral):
        if validation < 2:
            raise ValueError(f"validation: a fold count must be at least 2, got {validation}")
        return list(split.kfold(ratings, n_splits=int(validation), random_state=random_state))
    if isinstance(validation, Real):
        if not 0.0 < float(validation) < 1.0:
            raise ValueError(
                f"validation: a hold-out fraction must be strictly between 0 and 1, "
                f"got {validation}"
            )
        return [split.random_split(ratings, float(validation), random_state=random_state)]
    pairs = [tuple(pair) for pair in validation]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError("validation: expected at least one (train, valid) pair of frames")
    return pairs


def _make_estimator(estimator, params: Mapping) -> BaseEstimator:
    if isinstance(estimator, type):
        return estimator(**params)
    return clone(estimator).set_params(**params)


def _check_grid(estimator, grid: ParameterGrid) -> None:
    template = estimator() if isinstance(estimator, type) else estimator
    known = set(template.get_params())
    for combination in grid:
        unknown = sorted(set(combination) - known)
        if unknown:
            raise ValueError(
                f"param_grid: unknown parameter(s) {', '.join(unknown)} for "
                f"{type(template).__name__}; known: {', '.join(sorted(known))}"
            )


def _rmse_mae(model, frame: pd.DataFrame) -> tuple[float, float]:
    from recsys_helpers.evaluation.metrics import mae, rmse

    truth = frame["rating"].to_numpy(dtype=np.float64)
    predicted = np.asarray(model.predict(frame), dtype=np.float64)
    return float(rmse(truth, predicted)), float(mae(truth, predicted))


def grid_search(
    ratings: pd.DataFrame | Split,
    param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
    *,
    estimator=BiasedMF,
    validation: float | int | Iterable[Split] = 0.1,
    random_state: int = 0,
    verbose: bool = False,
) -> pd.DataFrame:
    r"""Validation RMSE of every combination of a parameter grid.

    For each combination θ and each (train, valid) pair the estimator is fitted on
    train and scored on valid,

    .. math:: \mathrm{RMSE}_\theta = \sqrt{\tfrac{1}{|V|}\sum_{(u,i)\in V}
              (r_{ui} - \hat r_{ui}(\theta))^2},

    then averaged over the pairs. Validation rows whose user or movie is missing from
    that fold's training part are kept and predicted by the estimator's fallback.

    Parameters
    ----------
    ratings : DataFrame or (DataFrame, DataFrame)
        Training ratings only (``userId``, ``movieId``, ``rating``), or an explicit
        (train, valid) pair.
    param_grid : dict of str -> list, or list of such dicts
        As in scikit-learn's ``ParameterGrid``, e.g. ``{"n_factors": [16, 64],
        "reg": [0.05, 0.1]}``.
    estimator : class or estimator instance, default :class:`~recsys_helpers.models.als.BiasedMF`
        A class is instantiated with each combination (its other parameters at their
        defaults); an instance is cloned and ``set_params`` applied.
    validation : float, int or iterable of (DataFrame, DataFrame), default 0.1
        See :func:`validation_splits`.
    random_state : int, default 0
        Seed of the validation split(s); the estimator keeps its own ``random_state``.
    verbose : bool, default False
        Show a progress bar over the fits.

    Returns
    -------
    pandas.DataFrame
        One row per combination, in grid order: one column per parameter, then
        ``valid_rmse`` (mean over pairs), ``valid_rmse_std`` (sample standard deviation
        over pairs; NaN with one pair), ``valid_mae``, ``train_rmse``, ``fit_seconds``
        (mean wall time of one fit), ``n_iter`` (mean sweeps run, from ``n_iter_``),
        ``n_folds`` and ``rank`` (1 = lowest ``valid_rmse``). ``frame.attrs["params"]``
        lists the parameter columns.

    Raises
    ------
    ValueError
        An unknown parameter name, an empty grid, or a bad ``validation``.
    """
    from tqdm.auto import tqdm

    grid = ParameterGrid(param_grid)
    if len(grid) == 0:
        raise ValueError("param_grid: no combination to try")
    _check_grid(estimator, grid)
    pairs = validation_splits(ratings, validation, random_state=random_state)
    names = sorted({name for combination in grid for name in combination})
    rows = []
    with tqdm(total=len(grid) * len(pairs), desc="grid search", disable=not verbose) as bar:
        for combination in grid:
            scores = []
            for train, valid in pairs:
                model = _make_estimator(estimator, combination)
                started = time.perf_counter()
                model.fit(train)
                seconds = time.perf_counter() - started
                valid_rmse, valid_mae = _rmse_mae(model, valid)
                train_rmse, _ = _rmse_mae(model, train)
                sweeps = getattr(model, "n_iter_", np.nan)
                scores.append((valid_rmse, valid_mae, train_rmse, seconds, sweeps))
                bar.update()
            valid_rmse, valid_mae, train_rmse, seconds, sweeps = np.asarray(scores, float).T
            row = {name: combination.get(name) for name in names}
            row.update(
                valid_rmse=valid_rmse.mean(),
                valid_rmse_std=valid_rmse.std(ddof=1) if len(pairs) > 1 else np.nan,
                valid_mae=valid_mae.mean(),
                train_rmse=train_rmse.mean(),
                fit_seconds=seconds.mean(),
                n_iter=sweeps.mean(),
                n_folds=len(pairs),
            )
            logger.info("%s: valid RMSE %.4f", combination, row["valid_rmse"])
            rows.append(row)
    frame = pd.DataFrame(rows)
    for name in names:  # keep ints as ints where some combinations lack the parameter
        if frame[name].isna().any():
            frame[name] = pd.Series([row[name] for row in rows], dtype=object)
    frame["rank"] = frame["valid_rmse"].rank(method="min").astype(int)
    frame.attrs["params"] = names
    return frame


def best_params(frame: pd.DataFrame, *, metric: str = "valid_rmse") -> dict:
    """Parameters of the row with the smallest ``metric`` (first such row on ties).

    Parameters
    ----------
    frame : DataFrame
        A result of :func:`grid_search`.
    metric : str, default "valid_rmse"
        Column to minimise.

    Returns
    -------
    dict
        ``{parameter: value}`` with plain Python scalars, ready for ``BiasedMF(**best)``.
        Parameters absent from the winning combination (grids given as a list of dicts)
        are left out.

    Raises
    ------
    ValueError
        Empty frame, unknown metric, or all values of the metric missing.
    """
    if metric not in frame.columns:
        raise ValueError(f"best_params: no column {metric!r} in the frame")
    values = frame[metric].to_numpy(dtype=np.float64)
    if frame.empty or np.isnan(values).all():
        raise ValueError(f"best_params: no {metric} value to choose from")
    names = frame.attrs.get("params") or [c for c in frame.columns if c not in METRIC_COLUMNS]
    winner = int(np.nanargmin(values))
    best = {}
    for name in names:
        value = frame[name].iloc[winner]  # per column: a row Series would upcast ints
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        best[name] = value.item() if isinstance(value, np.generic) else value
    return best
