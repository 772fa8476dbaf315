"""Measuring models: rating and top-N metrics, hyperparameter search, comparison protocols."""

from recsys_helpers.evaluation.metrics import (
    evaluate_topn,
    mae,
    map_at_k,
    ndcg_at_k,
    ndcg_within_users,
    precision_at_k,
    recall_at_k,
    rmse,
)
from recsys_helpers.evaluation.tuning import best_params, grid_search, validation_splits

__all__ = [
    "best_params",
    "evaluate_topn",
    "grid_search",
    "mae",
    "map_at_k",
    "ndcg_at_k",
    "ndcg_within_users",
    "precision_at_k",
    "recall_at_k",
    "rmse",
    "validation_splits",
]
