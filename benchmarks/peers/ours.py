"""Our estimators behind the same adapter interface: ``BiasedMF``, ``BayesianMF``,
``TimeAwareMF`` and ``BayesianTimeMF`` (``recsys_helpers.models``).

``BiasedMF.predict`` never returns NaN: an unseen user or movie gets μ plus whichever bias
is known, so the protocol's fills never apply. ``kind="bias"`` is the model with K = 0;
``kind="bayes"`` is ``BayesianMF`` with its defaults (the CLI's ``--model bayes``), not tuned
(an unseen user or movie is integrated out under its side's prior), ``kind="bayes_shared"`` the same
with ``hyperprior="shared-diagonal"`` (``--hyperprior shared-diagonal``); ``kind="time"`` and
``kind="bayes_time"`` are ``TimeAwareMF`` and ``BayesianTimeMF`` with their defaults (the CLI's
``--time-effects all``, with ``--model bayes`` for the second), fitted and scored with the
ratings' timestamps.
The tuning grids are built around ``BiasedMF()``'s defaults (K and 2K; λ/2, λ, 2λ; λ_b/4,
λ_b, 4λ_b for the bias-only model), so they stay meaningful when the defaults move.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

UNKNOWN_POLICY = {
    "bias": "μ + known biases (never NaN)",
    "als": "μ + known biases, no dot product (never NaN)",
    "bayes": "unseen side at its prior mean in each sample (never NaN)",
    "bayes_shared": "unseen side at the prior mean in each sample (never NaN)",
    "time": "μ + known biases and time terms, no dot product (never NaN)",
    "bayes_time": "unseen side at its prior mean in each sample, known time terms (never NaN)",
}

#: The estimator (in ``recsys_helpers.models``) behind each kind.
ESTIMATORS = {
    "bias": "BiasedMF",
    "als": "BiasedMF",
    "bayes": "BayesianMF",
    "bayes_shared": "BayesianMF",
    "time": "TimeAwareMF",
    "bayes_time": "BayesianTimeMF",
}


def _grids() -> dict[str, dict[str, list[Any]]]:
    """Grids centred on the estimator's own defaults, so they follow the package."""
    from recsys_helpers.models.als import BiasedMF

    default = BiasedMF().get_params()
    reg, reg_bias, n_factors = default["reg"], default["reg_bias"], default["n_factors"]
    return {
        "bias": {
            "n_factors": [0],
            "reg_bias": [reg_bias / 4, reg_bias, reg_bias * 4],
            "scale_reg": [default["scale_reg"]],
            "n_iter": [10],
        },
        "als": {
            "n_factors": [n_factors, 2 * n_factors],
            "reg": [reg / 2, reg, reg * 2],
            "reg_bias": [reg_bias],
            "scale_reg": [default["scale_reg"]],
            "n_iter": [default["n_iter"]],
        },
        "bayes": {},
        "bayes_shared": {"hyperprior": ["shared-diagonal"]},
        "time": {},
        "bayes_time": {},
    }


ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = _grids()


class OursModel:
    """``estimator(**params)`` (a class name of ``recsys_helpers.models``) behind
    ``fit``/``predict``; time-aware estimators get the ``timestamp`` column too."""

    def __init__(self, seed: int = 0, estimator: str = "BiasedMF", **params: Any):
        self.seed = seed
        self.estimator = estimator
        self.params = params

    def _columns(self, *names: str) -> list[str]:
        """``names`` plus the per-rating columns the estimator needs (``_rating_columns``)."""
        from recsys_helpers import models

        return [*names, *getattr(models, self.estimator)._rating_columns]

    def fit(self, train: pd.DataFrame) -> OursModel:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        from recsys_helpers import models

        estimator = getattr(models, self.estimator)
        with warnings.catch_warnings():
            # the grids fix n_iter; a still-moving objective is part of what is compared
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_ = estimator(random_state=self.seed, **self.params).fit(
                train[self._columns("userId", "movieId", "rating")]
            )
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted stars per row of ``pairs`` (float64, never NaN)."""
        frame = pairs[self._columns("userId", "movieId")]
        return np.asarray(self.model_.predict(frame), dtype=np.float64)


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> OursModel``."""
    if kind not in UNKNOWN_POLICY:
        raise ValueError(f"kind must be one of {', '.join(UNKNOWN_POLICY)}, got {kind!r}")

    def make(**params: Any) -> OursModel:
        return OursModel(estimator=ESTIMATORS[kind], **params)

    return make
