"""LensKit (lkpy) adapter: bias model and explicit-feedback ALS (``BiasedMFScorer``).

Predictions go through ``lenskit.pipeline.predict_pipeline(scorer, fallback=False)``: the
raw scorer, without LensKit's optional bias fallback, so that the protocol sees (and fills)
the rows the model itself cannot score. ``BiasedMFScorer`` returns NaN when the user or the
movie is absent from training; ``BiasScorer`` predicts every row (μ plus whichever biases
are known).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

UNKNOWN_POLICY = {
    "bias": "μ + known biases (never NaN)",
    "als": "NaN when the user or the movie is unseen",
}

ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = {
    "bias": {"damping": [0.0, 5.0, 25.0]},
    "als": {"features": [50, 100], "reg": [0.05, 0.1, 0.3], "epochs": [10]},
}


def _dataset(frame: pd.DataFrame):
    from lenskit.data import from_interactions_df

    return from_interactions_df(
        frame[["userId", "movieId", "rating"]].copy(),
        user_col="userId",
        item_col="movieId",
        rating_col="rating",
    )


class LensKitModel:
    """One LensKit rating predictor behind ``fit``/``predict``.

    Parameters
    ----------
    kind : {"bias", "als"}
        ``BiasScorer`` or ``BiasedMFScorer``.
    **params
        ``damping`` for ``bias``; ``features``, ``reg``, ``epochs``, ``damping`` for ``als``.
    """

    def __init__(self, kind: str, seed: int = 0, **params: Any):
        self.kind = kind
        self.seed = seed
        self.params = params

    def _scorer(self):
        if self.kind == "bias":
            from lenskit.basic import BiasScorer

            return BiasScorer(damping=self.params.get("damping", 0.0))
        if self.kind == "als":
            from lenskit.als import BiasedMFScorer

            return BiasedMFScorer(
                features=self.params.get("features", 50),
                regularization=self.params.get("reg", 0.1),
                epochs=self.params.get("epochs", 10),
                damping=self.params.get("damping", 5.0),
            )
        raise ValueError(f"kind must be 'bias' or 'als', got {self.kind!r}")

    def fit(self, train: pd.DataFrame) -> LensKitModel:
        from lenskit.pipeline import predict_pipeline
        from lenskit.training import TrainingOptions

        self.pipeline_ = predict_pipeline(self._scorer(), fallback=False)
        self.pipeline_.train(_dataset(train), TrainingOptions(rng=self.seed))
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted stars per row of ``pairs`` (float64, NaN where LensKit has none)."""
        from lenskit.batch import predict
        from lenskit.data import ItemListCollection

        query = pairs[["userId", "movieId"]].rename(
            columns={"userId": "user_id", "movieId": "item_id"}
        )
        queries = ItemListCollection.from_df(query, "user_id")
        results = predict(self.pipeline_, queries, n_jobs=1).to_df()
        results = results.rename(columns={"user_id": "userId", "item_id": "movieId"})
        merged = pairs[["userId", "movieId"]].merge(
            results[["userId", "movieId", "score"]], on=["userId", "movieId"], how="left"
        )
        return merged["score"].to_numpy(np.float64)


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> LensKitModel``."""

    def make(**params: Any) -> LensKitModel:
        return LensKitModel(kind, **params)

    return make


def epoch_seconds(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    *,
    n_factors: int,
    n_epochs: int,
    reg: float = 0.1,
    seed: int = 0,
) -> dict[str, Any]:
    """Seconds of each ``BiasedMFScorer`` training epoch on the given ratings.

    Parameters
    ----------
    users, items : numpy.ndarray
        Integer ids, shape (n,).
    ratings : numpy.ndarray
        Stars, shape (n,).

    Returns
    -------
    dict
        ``setup_seconds`` (dataset build + bias model + matrices) and ``epoch_seconds``
        (list of ``n_epochs`` floats).
    """
    from lenskit.als import BiasedMFScorer
    from lenskit.data import from_interactions_df
    from lenskit.training import TrainingOptions

    start = time.perf_counter()
    frame = pd.DataFrame({"userId": users, "movieId": items, "rating": ratings})
    data = from_interactions_df(frame, user_col="userId", item_col="movieId", rating_col="rating")
    scorer = BiasedMFScorer(features=n_factors, regularization=reg, epochs=n_epochs)
    trainer = scorer.create_trainer(data, TrainingOptions(rng=seed))
    setup = time.perf_counter() - start
    seconds = []
    for _ in range(n_epochs):
        start = time.perf_counter()
        trainer.train_epoch()
        seconds.append(time.perf_counter() - start)
    trainer.finalize()
    return {"setup_seconds": setup, "epoch_seconds": seconds}
