"""What the time terms of :class:`~recsys_helpers.models.temporal.TimeAwareMF` buy.

:func:`time_effects_ablation` fits the model with no time term, with each term alone and
with all of them on one train/test split, and scores each on the test part;
:func:`on_training_days` and :func:`shared_user_days` tell which and how many test ratings
the day offsets can reach at all (a test rating whose user rated nothing in training that
day gets no offset); :func:`ablation_by_day` splits the ablation's test errors by it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recsys_helpers.data.checks import require_columns
from recsys_helpers.evaluation.metrics import mae, rmse
from recsys_helpers.models.temporal import TIME_EFFECTS, TimeAwareMF
from recsys_helpers.models.time_effects import day_number

__all__ = [
    "ABLATION",
    "ablation_by_day",
    "on_training_days",
    "shared_user_days",
    "time_effects_ablation",
]

logger = logging.getLogger(__name__)

ABLATION: dict[str, tuple[str, ...]] = {
    "none": (),
    **{effect: (effect,) for effect in TIME_EFFECTS},
    "all": TIME_EFFECTS,
}
"""The variants of :func:`time_effects_ablation`: name -> ``time_effects``."""


def on_training_days(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Whether each test rating's user has training ratings on the same (UTC) day.

    Only these ratings get a day offset ``b_{u,t}``; the others fall back to the user's
    drift term.

    Parameters
    ----------
    train, test : DataFrame
        ``userId`` and ``timestamp`` (Unix seconds).

    Returns
    -------
    ndarray of bool, shape (len(test),)
    """
    require_columns(train, ("userId", "timestamp"), "train")
    require_columns(test, ("userId", "timestamp"), "test")
    seen = pd.MultiIndex.from_arrays(
        [train["userId"].to_numpy(), day_number(train["timestamp"].to_numpy())]
    ).unique()
    asked = pd.MultiIndex.from_arrays(
        [test["userId"].to_numpy(), day_number(test["timestamp"].to_numpy())]
    )
    return np.asarray(asked.isin(seen))


def shared_user_days(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Share of test ratings whose user has training ratings on the same day (see
    :func:`on_training_days`), in [0, 1]."""
    if len(test) == 0:
        raise ValueError("shared_user_days: no test ratings")
    return float(on_training_days(train, test).mean())


def time_effects_ablation(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    variants: Mapping[str, Sequence[str]] | None = None,
    **params,
) -> tuple[pd.DataFrame, dict[str, TimeAwareMF]]:
    """Test errors of the time-aware model without, with each and with all time terms.

    Parameters
    ----------
    train, test : DataFrame
        ``userId``, ``movieId``, ``rating``, ``timestamp``.
    variants : mapping of name -> time_effects, default :data:`ABLATION`
        Must include ``"none"``, the reference of the gains.
    **params
        Further parameters of :class:`~recsys_helpers.models.temporal.TimeAwareMF` (its
        defaults otherwise), the same for every variant.

    Returns
    -------
    table : DataFrame
        One row per variant: ``variant``, ``rmse``, ``mae``, ``gain`` (RMSE of ``"none"``
        minus this RMSE: positive is better), ``train_rmse``, ``fit_seconds``,
        ``sweep_seconds`` (median seconds of one sweep) and ``sweeps``.
    models : dict of name -> fitted TimeAwareMF
    """
    variants = dict(ABLATION if variants is None else variants)
    if "none" not in variants:
        raise ValueError("variants: needs a 'none' variant, the reference of the gains")
    truth = test["rating"].to_numpy(dtype=np.float64)
    rows, models = [], {}
    for name, effects in variants.items():
        model = TimeAwareMF(**{**params, "time_effects": tuple(effects)})
        started = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - started
        predicted = model.predict(test)
        rows.append(
            {
                "variant": name,
                "rmse": rmse(truth, predicted),
                "mae": mae(truth, predicted),
                "train_rmse": float(model.history_["train_rmse"].iloc[-1]),
                "fit_seconds": seconds,
                "sweep_seconds": float(model.history_["seconds"].median()),
                "sweeps": int(model.n_iter_),
            }
        )
        models[name] = model
        logger.info("time effects %s: test RMSE %.4f", name, rows[-1]["rmse"])
    table = pd.DataFrame(rows)
    reference = float(table.loc[table["variant"] == "none", "rmse"].iloc[0])
    table.insert(3, "gain", reference - table["rmse"])
    return table, models


def ablation_by_day(models: Mapping[str, TimeAwareMF], train, test) -> pd.DataFrame:
    """Test RMSE of each fitted variant on the test ratings that do and do not share a
    (user, day) with training (:func:`on_training_days`).

    Parameters
    ----------
    models : mapping name -> fitted TimeAwareMF
        E.g. the models of :func:`time_effects_ablation`.
    train, test : DataFrame
        The split they were fitted and are scored on.

    Returns
    -------
    DataFrame
        Rows ``"training day"``, ``"new day"`` and ``"all"``; columns ``n_test`` and one RMSE
        column per model (NaN for an empty subset).
    """
    reached = on_training_days(train, test)
    truth = test["rating"].to_numpy(dtype=np.float64)
    predicted = {name: model.predict(test) for name, model in models.items()}
    rows = []
    for subset, mask in (
        ("training day", reached),
        ("new day", ~reached),
        ("all", np.ones_like(reached)),
    ):
        row = {"subset": subset, "n_test": int(mask.sum())}
        for name, values in predicted.items():
            row[name] = rmse(truth[mask], values[mask]) if mask.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
