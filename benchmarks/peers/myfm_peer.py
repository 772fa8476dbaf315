"""myFM adapter: Gibbs-sampled Bayesian factorisation machine (``myfm.MyFMRegressor``).

With one-hot user and movie columns the factorisation machine is
``r̂ = w_0 + w_u + w_i + v_u · v_i``: Bayesian PMF with biases and Gaussian priors whose mean
and precision (one per factor) are sampled, like the noise precision. The grid tries both
of myFM's prior layouts: ``grouping="per side"`` gives users and movies their own prior (two
feature groups, ``group_shapes``, as BPMF does), ``"shared"`` one prior for both (myFM's
default when no groups are given). The prediction is the mean over the kept samples (myFM
keeps every sample but the first five). A user or movie absent from training has an
all-zero one-hot row, so myFM predicts ``w_0`` plus whatever is known (never NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

UNKNOWN_POLICY = {"bpmf": "w_0 + known biases and no interaction (zero one-hot row; never NaN)"}

ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = {
    "bpmf": {"rank": [10, 32], "grouping": ["per side", "shared"], "n_iter": [1000]},
}


class MyFMModel:
    """``MyFMRegressor(rank)`` fitted by ``n_iter`` Gibbs sweeps on one-hot users and movies.

    ``grouping`` is ``"per side"`` (a prior for users and one for movies) or ``"shared"``.
    """

    GROUPINGS = ("per side", "shared")

    def __init__(
        self, rank: int = 10, grouping: str = "per side", n_iter: int = 1000, seed: int = 42
    ):
        if grouping not in self.GROUPINGS:
            raise ValueError(f"grouping must be one of {self.GROUPINGS}, got {grouping!r}")
        self.rank = rank
        self.grouping = grouping
        self.n_iter = n_iter
        self.seed = seed

    def _design(self, pairs: pd.DataFrame) -> sp.csr_matrix:
        users = pd.Index(self.users_).get_indexer(pairs["userId"].to_numpy())
        items = pd.Index(self.items_).get_indexer(pairs["movieId"].to_numpy())
        n, n_users = len(pairs), len(self.users_)
        rows = np.concatenate([np.arange(n)[users >= 0], np.arange(n)[items >= 0]])
        columns = np.concatenate([users[users >= 0], n_users + items[items >= 0]])
        return sp.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(n, n_users + len(self.items_))
        )

    def fit(self, train: pd.DataFrame) -> MyFMModel:
        import myfm

        self.users_ = np.unique(train["userId"].to_numpy())
        self.items_ = np.unique(train["movieId"].to_numpy())
        self.model_ = myfm.MyFMRegressor(rank=self.rank, random_seed=self.seed)
        groups = [len(self.users_), len(self.items_)] if self.grouping == "per side" else None
        self.model_.fit(
            self._design(train),
            train["rating"].to_numpy(np.float64),
            n_iter=self.n_iter,
            group_shapes=groups,
        )
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Posterior-mean stars per row of ``pairs`` (float64, never NaN)."""
        return np.asarray(self.model_.predict(self._design(pairs)), dtype=np.float64)


def make_model(kind: str = "bpmf"):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> MyFMModel``."""
    if kind != "bpmf":
        raise ValueError(f"kind must be 'bpmf', got {kind!r}")

    def make(**params: Any) -> MyFMModel:
        return MyFMModel(**params)

    return make
