"""recsys_helpers: MovieLens ratings and matrix-factorisation recommenders, in layers.

``data`` (releases, parsers, user files, the rating structure, splits, synthetic data) →
``models`` (one estimator life-cycle, kernels, ALS, hybrid, Bayesian PMF, content baseline) →
``evaluation`` (metrics, tuning, experiments) → ``analysis`` and ``plots`` → ``report`` →
``cli``. A layer imports only from the layers before it.

The names most programs need are available from here; each is imported on first use, so
``import recsys_helpers`` itself stays cheap::

    from recsys_helpers import BiasedMF, load_ratings, random_split, rmse
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    # data
    "DATASETS": "recsys_helpers.data.releases",
    "IdIndex": "recsys_helpers.data.ratings",
    "RatingMatrix": "recsys_helpers.data.ratings",
    "fetch": "recsys_helpers.data.fetch",
    "load": "recsys_helpers.data.movielens",
    "load_movies": "recsys_helpers.data.movielens",
    "load_ratings": "recsys_helpers.data.movielens",
    "read_ratings_file": "recsys_helpers.data.userfiles",
    "random_split": "recsys_helpers.data.split",
    "per_user_split": "recsys_helpers.data.split",
    "temporal_split": "recsys_helpers.data.split",
    "last_k_split": "recsys_helpers.data.split",
    "item_holdout_split": "recsys_helpers.data.split",
    "kfold": "recsys_helpers.data.split",
    "make_ratings": "recsys_helpers.data.synthetic",
    # models
    "FactorModel": "recsys_helpers.models.base",
    "BiasedMF": "recsys_helpers.models.als",
    "BiasOnly": "recsys_helpers.models.als",
    "HybridMF": "recsys_helpers.models.hybrid",
    "TimeAwareMF": "recsys_helpers.models.temporal",
    "BayesianMF": "recsys_helpers.models.bayes",
    "ContentBaseline": "recsys_helpers.models.content",
    "load_model": "recsys_helpers.models.persistence",
    # evaluation
    "rmse": "recsys_helpers.evaluation.metrics",
    "mae": "recsys_helpers.evaluation.metrics",
    "evaluate_topn": "recsys_helpers.evaluation.metrics",
    "grid_search": "recsys_helpers.evaluation.tuning",
    # errors
    "RecsysError": "recsys_helpers.errors",
    "DataError": "recsys_helpers.errors",
    "DownloadError": "recsys_helpers.errors",
    "NumericalError": "recsys_helpers.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recsys_helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
