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

from benchmarks.peers.timing import epochs_by_difference

UNKNOWN_POLICY = {
    "als": "μ + known biases (never NaN)",
    "als_cg": "μ + known biases (never NaN)",
}

_GRID = {"k": [32, 64], "lambda_": [5.0, 10.0, 20.0], "niter": [15]}
ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = {"als": dict(_GRID), "als_cg": dict(_GRID)}


def _cmf(k: int, lambda_: float, use_cg: bool, niter: int, seed: int = 0):
    """``cmfrec.CMF``: explicit ALS with user and movie biases, exact or CG row solves."""
    from cmfrec import CMF

    return CMF(
        k=k,
        lambda_=lambda_,
        method="als",
        use_cg=use_cg,
        user_bias=True,
        item_bias=True,
        niter=niter,
        verbose=False,
        random_state=seed,
    )


class CMFModel:
    """``cmfrec.CMF`` with biases, exact or conjugate-gradient ALS."""

    def __init__(self, kind: str = "als", k: int = 50, lambda_: float = 10.0, niter: int = 15):
        self.kind = kind
        self.k = k
        self.lambda_ = lambda_
        self.niter = niter

    def fit(self, train: pd.DataFrame) -> CMFModel:
        self.model_ = _cmf(self.k, self.lambda_, self.kind == "als_cg", self.niter)
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
    (T(1 + n) − T(1)) / n (:func:`~benchmarks.peers.timing.epochs_by_difference`): the
    difference cancels what every fit repeats (copying the ratings into its sparse layout,
    initialisation, the precomputations for prediction).

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
        ``setup_seconds`` (the data frame), ``fit_1_seconds``, ``fit_n_seconds``,
        ``epoch_seconds`` (the mean per-iteration time repeated ``n_epochs`` times) and
        ``threads`` (cmfrec's worker threads).
    """
    start = time.perf_counter()
    frame = pd.DataFrame({"UserId": users, "ItemId": items, "Rating": ratings})
    setup = time.perf_counter() - start
    fitted = []
    timing = epochs_by_difference(
        lambda n: fitted.append(_cmf(n_factors, reg, use_cg, n, seed).fit(frame)), n_epochs
    )
    return {"setup_seconds": setup, **timing, "threads": fitted[-1].nthreads}


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> CMFModel``."""
    if kind not in UNKNOWN_POLICY:
        raise ValueError(f"kind must be 'als' or 'als_cg', got {kind!r}")

    def make(**params: Any) -> CMFModel:
        return CMFModel(kind, **params)

    return make
