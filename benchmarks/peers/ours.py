"""Our estimators behind the same adapter interface: ``recsys_helpers.models.als.BiasedMF`` and
``recsys_helpers.models.bayes.BayesianMF``.

``BiasedMF.predict`` never returns NaN: an unseen user or movie gets μ plus whichever bias
is known, so the protocol's fills never apply. ``kind="bias"`` is the model with K = 0;
``kind="bayes"`` is ``BayesianMF`` with its defaults (the CLI's ``--model bayes``), not tuned
(an unseen user or movie is a draw from its side's prior).
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
    "bayes": "prior draw of the unseen side in each sample (never NaN)",
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
    }


ACCURACY_GRIDS: dict[str, dict[str, list[Any]]] = _grids()


class OursModel:
    """``BiasedMF(**params)`` (or ``BayesianMF(**params)``) behind ``fit``/``predict``."""

    def __init__(self, seed: int = 0, bayes: bool = False, **params: Any):
        self.seed = seed
        self.bayes = bayes
        self.params = params

    def fit(self, train: pd.DataFrame) -> OursModel:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        from recsys_helpers.models.als import BiasedMF
        from recsys_helpers.models.bayes import BayesianMF

        estimator = BayesianMF if self.bayes else BiasedMF
        with warnings.catch_warnings():
            # the grids fix n_iter; a still-moving objective is part of what is compared
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_ = estimator(random_state=self.seed, **self.params).fit(
                train[["userId", "movieId", "rating"]]
            )
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted stars per row of ``pairs`` (float64, never NaN)."""
        return np.asarray(self.model_.predict(pairs[["userId", "movieId"]]), dtype=np.float64)


def make_model(kind: str):
    """Factory for :func:`benchmarks.protocol.evaluate`: ``make(**params) -> OursModel``."""
    if kind not in UNKNOWN_POLICY:
        raise ValueError(f"kind must be 'bias', 'als' or 'bayes', got {kind!r}")

    def make(**params: Any) -> OursModel:
        return OursModel(bayes=kind == "bayes", **params)

    return make
