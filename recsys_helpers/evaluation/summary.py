"""What one fit scored: errors on the training and test ratings, sizes and cold-start counts.

:func:`fit_summary` is what ``python -m recsys_helpers fit`` prints (as a table, or as JSON
with ``--json``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_helpers.evaluation.metrics import mae, rmse
from recsys_helpers.serialise import json_safe

__all__ = ["fit_summary"]


def _errors(model, frame: pd.DataFrame) -> tuple[float, float]:
    truth = frame["rating"].to_numpy(dtype=np.float64)
    predicted = np.asarray(model.predict(frame), dtype=np.float64)
    return rmse(truth, predicted), mae(truth, predicted)


def fit_summary(model, train: pd.DataFrame, test: pd.DataFrame | None, fit_seconds: float) -> dict:
    """Figures of one fit, as plain JSON values.

    Parameters
    ----------
    model : fitted model (``predict``, ``get_params``, ``n_iter_``)
    train : DataFrame
        The training ratings.
    test : DataFrame or None
        Held-out ratings, scored when given.
    fit_seconds : float
        Wall time of ``fit``.

    Returns
    -------
    dict
        ``model`` (class name), ``rmse``, ``mae`` (test; None without a test set),
        ``train_rmse``, ``train_mae``, ``n_train``, ``n_test``, ``n_users``, ``n_items`` (in
        training), ``n_cold_users``, ``n_cold_items`` (distinct test users / movies absent
        from training), ``n_cold_ratings`` (test rows with either), ``fit_seconds``,
        ``sweeps`` (run, ``n_iter_``), ``sweep_seconds_median`` (median seconds of one sweep,
        or one Gibbs sample, from ``history_``: set-up and monitoring excluded),
        ``setup_seconds`` (``fit``'s time before the first sweep; None for a loaded
        model), then every parameter of ``get_params()`` under its own name
        (``n_factors``, ``reg``, ...) and all of them again as ``params``.
    """
    params = model.get_params(deep=False)
    train_rmse, train_mae = _errors(model, train)
    summary = {
        "model": type(model).__name__,
        "rmse": None,
        "mae": None,
        "train_rmse": train_rmse,
        "train_mae": train_mae,
        "n_train": len(train),
        "n_test": 0 if test is None else len(test),
        "n_users": int(train["userId"].nunique()),
        "n_items": int(train["movieId"].nunique()),
        "n_cold_users": None,
        "n_cold_items": None,
        "n_cold_ratings": None,
        "fit_seconds": fit_seconds,
        "sweeps": int(model.n_iter_),
        "sweep_seconds_median": float(np.median(model.history_["seconds"])),
        "setup_seconds": getattr(model, "setup_seconds_", None),
    }
    if test is not None:
        summary["rmse"], summary["mae"] = _errors(model, test)
        cold_user = ~test["userId"].isin(train["userId"]).to_numpy()
        cold_item = ~test["movieId"].isin(train["movieId"]).to_numpy()
        summary["n_cold_users"] = int(test.loc[cold_user, "userId"].nunique())
        summary["n_cold_items"] = int(test.loc[cold_item, "movieId"].nunique())
        summary["n_cold_ratings"] = int((cold_user | cold_item).sum())
    summary.update({name: value for name, value in params.items() if name not in summary})
    summary["params"] = params
    return json_safe(summary)
