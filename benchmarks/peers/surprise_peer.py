"""scikit-surprise adapter: ``BaselineOnly`` (ALS baselines) and ``SVD`` (biased MF by SGD).

Surprise predicts every row: for a user or movie absent from training, ``BaselineOnly`` and
``SVD`` drop the unknown terms and predict μ plus whichever biases are known (``SVD`` also
drops the dot product). Predictions are clipped to the rating scale (0.5 to 5 stars).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

RATING_SCALE = (0.5, 5.0)

UNKNOWN_POLICY = {
    "baseline": "μ + known biases (never NaN)",
    "svd": "μ + known biases, no dot product (never NaN)",
}

ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = {
    "baseline": {"reg_u": [5, 15], "reg_i": [5, 10], "n_epochs": [10]},
    "svd": {
        "n_factors": [50, 150],
        "n_epochs": [20, 40],
        "lr_all": [0.005, 0.01],
        "reg_all": [0.05, 0.1],
    },
}


def _trainset(frame: pd.DataFrame):
    from surprise import Dataset, Reader

    data = Dataset.load_from_df(
        frame[["userId", "movieId", "rating"]], Reader(rating_scale=RATING_SCALE)
    )
    return data.build_full_trainset()


class SurpriseModel:
    """One Surprise algorithm behind ``fit``/``predict``.

    Parameters
    ----------
    kind : {"baseline", "svd"}
        ``BaselineOnly(bsl_options={"method": "als", ...})`` or ``SVD``.
    seed : int
        ``random_state`` of ``SVD``.
    **params
        ``reg_u``, ``reg_i``, ``n_epochs`` for ``baseline``; ``SVD`` keyword arguments for
        ``svd``.
    """

    def __init__(self, kind: str, seed: int = 0, **params: Any):
        self.kind = kind
        self.seed = seed
        self.params = params

    def _algorithm(self):
        from surprise import SVD, BaselineOnly

        if self.kind == "baseline":
            return BaselineOnly(bsl_options={"method": "als", **self.params}, verbose=False)
        if self.kind == "svd":
            return SVD(random_state=self.seed, **self.params)
        raise ValueError(f"kind must be 'baseline' or 'svd', got {self.kind!r}")

    def fit(self, train: pd.DataFrame) -> SurpriseModel:
        self.algorithm_ = self._algorithm().fit(_trainset(train))
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted stars per row of ``pairs`` (float64; Surprise never returns NaN)."""
        predict = self.algorithm_.predict
        users = pairs["userId"].to_numpy()
        items = pairs["movieId"].to_numpy()
        return np.fromiter(
            (predict(u, i).est for u, i in zip(users.tolist(), items.tolist(), strict=True)),
            dtype=np.float64,
            count=len(pairs),
        )


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> SurpriseModel``."""

    def make(**params: Any) -> SurpriseModel:
        return SurpriseModel(kind, **params)

    return make


def epoch_seconds(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    *,
    n_factors: int,
    n_epochs: int,
    reg: float = 0.02,
    seed: int = 0,
) -> dict[str, Any]:
    """Seconds per ``SVD`` SGD epoch: the fit time of ``n_epochs`` epochs divided by them.

    Surprise has no per-epoch hook, so the list repeats the mean. Building the trainset
    (Python dictionaries of every rating) is timed separately as ``setup_seconds``.
    """
    from surprise import SVD

    start = time.perf_counter()
    trainset = _trainset(pd.DataFrame({"userId": users, "movieId": items, "rating": ratings}))
    setup = time.perf_counter() - start
    start = time.perf_counter()
    SVD(n_factors=n_factors, n_epochs=n_epochs, reg_all=reg, random_state=seed).fit(trainset)
    per_epoch = (time.perf_counter() - start) / n_epochs
    return {"setup_seconds": setup, "epoch_seconds": [per_epoch] * n_epochs}
