"""cmfrec adapter: explicit-feedback matrix factorisation with biases by ALS (``cmfrec.CMF``).

``CMF(method="als", user_bias=True, item_bias=True)`` fits ``r̂ = μ + b_u + b_i + U_u·V_i``
with an unscaled ridge penalty ``λ`` on every parameter, as our ``BiasedMF``; ``kind="als"``
solves each row exactly (Cholesky), ``kind="als_cg"`` takes a few conjugate-gradient steps
per row (``use_cg=True``). For a user or movie absent from training ``predict`` returns the
global mean plus whichever bias is known (never NaN), as our models do.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

UNKNOWN_POLICY = {
    "als": "μ + known biases (never NaN)",
    "als_cg": "μ + known biases (never NaN)",
}

_GRID = {"k": [32, 64], "lambda_": [5.0, 10.0, 20.0], "niter": [15]}
ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = {"als": dict(_GRID), "als_cg": dict(_GRID)}


class CMFModel:
    """``cmfrec.CMF`` with biases, exact or conjugate-gradient ALS."""

    def __init__(self, kind: str = "als", k: int = 50, lambda_: float = 10.0, niter: int = 15):
        self.kind = kind
        self.k = k
        self.lambda_ = lambda_
        self.niter = niter

    def fit(self, train: pd.DataFrame) -> CMFModel:
        from cmfrec import CMF

        self.model_ = CMF(
            k=self.k,
            lambda_=self.lambda_,
            method="als",
            use_cg=self.kind == "als_cg",
            user_bias=True,
            item_bias=True,
            niter=self.niter,
            verbose=False,
            random_state=0,
        )
        frame = train.rename(columns={"userId": "UserId", "movieId": "ItemId", "rating": "Rating"})
        self.model_.fit(frame[["UserId", "ItemId", "Rating"]])
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted stars per row of ``pairs`` (float64, never NaN)."""
        predicted = self.model_.predict(
            user=pairs["userId"].to_numpy(), item=pairs["movieId"].to_numpy()
        )
        return np.asarray(predicted, dtype=np.float64)


def epoch_seconds(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    *,
    n_factors: int,
    n_epochs: int,
    reg: float = 10.0,
    seed: int = 0,
    use_cg: bool = False,
) -> dict[str, Any]:
    """Seconds per ALS iteration of ``cmfrec.CMF``, from fits of 1 and 1 + ``n_epochs``.

    cmfrec runs its iterations inside one C call, so, as for Spark, one iteration is
    (T(1 + n) − T(1)) / n: the difference cancels what every fit repeats (copying the
    ratings into its sparse layout, initialisation, the precomputations for prediction).

    Parameters
    ----------
    users, items : numpy.ndarray
        Integer ids, shape (n,).
    ratings : numpy.ndarray
        Stars, shape (n,).
    use_cg : bool, default False
        Conjugate-gradient row solves (``use_cg=True``) instead of exact Cholesky solves.

    Returns
    -------
    dict
        ``setup_seconds`` (the data frame), ``fit_1_seconds``, ``fit_n_seconds`` and
        ``epoch_seconds`` (the mean per-iteration time repeated ``n_epochs`` times).
    """
    from cmfrec import CMF

    start = time.perf_counter()
    frame = pd.DataFrame({"UserId": users, "ItemId": items, "Rating": ratings})
    setup = time.perf_counter() - start
    fits = {}
    for n in (1, 1 + n_epochs):
        model = CMF(
            k=n_factors,
            lambda_=reg,
            method="als",
            use_cg=use_cg,
            user_bias=True,
            item_bias=True,
            niter=n,
            verbose=False,
            random_state=seed,
        )
        start = time.perf_counter()
        model.fit(frame)
        fits[n] = time.perf_counter() - start
    per_iteration = (fits[1 + n_epochs] - fits[1]) / n_epochs
    return {
        "setup_seconds": setup,
        "fit_1_seconds": fits[1],
        "fit_n_seconds": fits[1 + n_epochs],
        "epoch_seconds": [per_iteration] * n_epochs,
        "threads": model.nthreads,
    }


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> CMFModel``."""
    if kind not in UNKNOWN_POLICY:
        raise ValueError(f"kind must be 'als' or 'als_cg', got {kind!r}")

    def make(**params: Any) -> CMFModel:
        return CMFModel(kind, **params)

    return make
