"""cmfrec adapter: explicit-feedback matrix factorisation with biases by ALS (``cmfrec.CMF``).

``CMF(method="als", user_bias=True, item_bias=True)`` fits ``r̂ = μ + b_u + b_i + U_u·V_i``
with an unscaled ridge penalty ``λ`` on every parameter, as our ``BiasedMF``; ``kind="als"``
solves each row exactly (Cholesky), ``kind="als_cg"`` takes a few conjugate-gradient steps
per row (``use_cg=True``). For a user or movie absent from training ``predict`` returns the
global mean plus whichever bias is known (never NaN), as our models do.
"""

from __future__ import annotations

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


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> CMFModel``."""
    if kind not in UNKNOWN_POLICY:
        raise ValueError(f"kind must be 'als' or 'als_cg', got {kind!r}")

    def make(**params: Any) -> CMFModel:
        return CMFModel(kind, **params)

    return make
