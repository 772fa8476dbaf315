"""Spark MLlib adapter: ``pyspark.ml.recommendation.ALS`` on a local session.

Spark's explicit ALS has no bias terms: r̂_ui = U_u·V_i, with the regularisation λ scaled by
each row's rating count (ALS-WR). With ``coldStartStrategy="nan"`` it returns NaN for every
row whose user *or* movie is absent from training; the protocol fills those rows.

The session runs on ``$BENCH_SPARK_MASTER`` (default ``local[2]``) with the driver memory
``$SPARK_DRIVER_MEMORY`` (default 4g; use 16g at ML-25M scale), or the arguments of
:func:`session` when it is first called.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers.timing import epochs_by_difference

UNKNOWN_POLICY = {"als": "NaN when the user or the movie is unseen (coldStartStrategy='nan')"}

ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = {
    "als": {"rank": [10, 50], "reg": [0.1, 0.15, 0.2], "max_iter": [15]},
}

_SESSION = None


def session(master: str | None = None, driver_memory: str | None = None):
    """The shared local ``SparkSession`` (created on first use, quiet logging)."""
    global _SESSION
    if _SESSION is None:
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        master = master or os.environ.get("BENCH_SPARK_MASTER", "local[2]")
        memory = driver_memory or os.environ.get("SPARK_DRIVER_MEMORY", "4g")
        _SESSION = (
            SparkSession.builder.master(master)
            .appName("movielens-als-bench")
            .config("spark.driver.memory", memory)
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def stop() -> None:
    """Stop the shared session (the JVM exits with the Python process anyway)."""
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def _spark_frame(frame: pd.DataFrame):
    columns = {
        "userId": frame["userId"].to_numpy(np.int32),
        "movieId": frame["movieId"].to_numpy(np.int32),
    }
    if "rating" in frame:
        columns["rating"] = frame["rating"].to_numpy(np.float32)
    return session().createDataFrame(pd.DataFrame(columns))


def _als(rank: int, reg: float, max_iter: int, seed: int):
    from pyspark.ml.recommendation import ALS

    session()  # ALS needs a running SparkContext
    return ALS(
        rank=rank,
        regParam=reg,
        maxIter=max_iter,
        userCol="userId",
        itemCol="movieId",
        ratingCol="rating",
        coldStartStrategy="nan",
        nonnegative=False,
        seed=seed,
    )


class SparkALSModel:
    """Spark ALS behind ``fit``/``predict``.

    Parameters
    ----------
    rank : int
        K, the number of latent factors.
    reg : float
        ``regParam`` (λ, scaled by the row's rating count inside Spark).
    max_iter : int
        ALS iterations.
    seed : int
        Spark's random seed for the initial factors.
    """

    def __init__(self, rank: int = 10, reg: float = 0.1, max_iter: int = 10, seed: int = 0):
        self.rank = rank
        self.reg = reg
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, train: pd.DataFrame) -> SparkALSModel:
        self.model_ = _als(self.rank, self.reg, self.max_iter, self.seed).fit(_spark_frame(train))
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted stars per row of ``pairs`` (float64, NaN for unseen users or movies)."""
        keyed = pairs[["userId", "movieId"]].reset_index(drop=True)
        keyed = keyed.assign(row=np.arange(len(keyed), dtype=np.int64))
        frame = session().createDataFrame(keyed.astype({"userId": np.int32, "movieId": np.int32}))
        result = self.model_.transform(frame).select("row", "prediction").toPandas()
        predicted = np.full(len(keyed), np.nan)
        predicted[result["row"].to_numpy()] = result["prediction"].to_numpy(np.float64)
        return predicted


def make_model(kind: str = "als"):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> SparkALSModel``."""
    if kind != "als":
        raise ValueError(f"kind must be 'als', got {kind!r}")

    def make(**params: Any) -> SparkALSModel:
        return SparkALSModel(**params)

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
    """Seconds per ALS iteration, from fits of 1 and 1 + ``n_epochs`` iterations.

    Spark has no per-iteration hook, so the time of one iteration is
    (T(1 + n) − T(1)) / n: the difference cancels the work every fit repeats (blocking the
    ratings, shuffles, materialising the factors). The ratings are written to parquet, read
    and cached before timing.

    Returns
    -------
    dict
        ``setup_seconds`` (load and cache), ``fit_1_seconds``, ``fit_n_seconds`` and
        ``epoch_seconds`` (the mean per-iteration time repeated ``n_epochs`` times).
    """
    spark = session()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as folder:
        path = Path(folder) / "ratings.parquet"
        pd.DataFrame(
            {
                "userId": np.asarray(users, np.int32),
                "movieId": np.asarray(items, np.int32),
                "rating": np.asarray(ratings, np.float32),
            }
        ).to_parquet(path, index=False)
        frame = spark.read.parquet(str(path)).cache()
        frame.count()
        setup = time.perf_counter() - start
        timing = epochs_by_difference(lambda n: _als(n_factors, reg, n, seed).fit(frame), n_epochs)
        frame.unpersist()
    return {"setup_seconds": setup, **timing}
