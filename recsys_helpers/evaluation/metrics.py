r"""Accuracy of predicted ratings and of top-N lists.

Rating metrics compare aligned arrays and refuse misaligned input (different lengths, NaN,
empty) instead of silently dropping rows:

.. math:: \mathrm{RMSE} = \sqrt{\tfrac1n \sum (r - \hat r)^2}, \qquad
          \mathrm{MAE} = \tfrac1n \sum |r - \hat r| .

Top-N metrics score one ranked list ``L`` (best first) against a set ``R`` of relevant
movies, cut at ``k``:

* precision@k = ``|L_k ∩ R| / k``;
* recall@k = ``|L_k ∩ R| / |R|``;
* AP@k = ``(1 / min(|R|, k)) Σ_{j≤k} P@j · rel_j``; MAP@k is its mean over users;
* nDCG@k = ``DCG / IDCG`` with ``DCG = Σ_{j≤k} rel_j / log2(j + 1)`` (binary gains) and
  ``IDCG`` the DCG of the ideal list (all relevant movies first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "average_precision_at_k",
    "dcg_discounts",
    "evaluate_topn",
    "map_at_k",
    "mae",
    "ndcg_within_users",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]


def _aligned(truth, predicted) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64).ravel()
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    if truth.size != predicted.size:
        raise ValueError(
            f"truth and predictions differ in length: {truth.size} != {predicted.size}"
        )
    if truth.size == 0:
        raise ValueError("truth and predictions are empty")
    for name, values in (("truth", truth), ("predictions", predicted)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{name} hold {int(bad.sum())} NaN/inf value(s), first at position "
                f"{int(np.flatnonzero(bad)[0])}"
            )
    return truth, predicted


def rmse(truth, predicted) -> float:
    """Root mean squared error ``sqrt(mean((r − r̂)²))``.

    Parameters
    ----------
    truth, predicted : array_like of float, shape (n,)
        Aligned ratings and predictions (same units, stars).

    Returns
    -------
    float
    """
    truth, predicted = _aligned(truth, predicted)
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def mae(truth, predicted) -> float:
    """Mean absolute error ``mean(|r − r̂|)``.

    Parameters
    ----------
    truth, predicted : array_like of float, shape (n,)

    Returns
    -------
    float
    """
    truth, predicted = _aligned(truth, predicted)
    return float(np.mean(np.abs(truth - predicted)))


def _hits(ranked: Sequence, relevant: Iterable, k: int) -> tuple[np.ndarray, int]:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    relevant = set(relevant)
    top = list(ranked)[:k]
    if len(set(top)) != len(top):
        raise ValueError("ranked list holds duplicate movies")
    return np.array([item in relevant for item in top], dtype=bool), len(relevant)


def precision_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """``|L_k ∩ R| / k`` (a list shorter than ``k`` still divides by ``k``).

    Parameters
    ----------
    ranked : sequence of ids, best first
    relevant : iterable of ids
    k : int >= 1

    Returns
    -------
    float in [0, 1]
    """
    hits, _ = _hits(ranked, relevant, k)
    return float(hits.sum() / k)


def recall_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """``|L_k ∩ R| / |R|``; NaN when ``R`` is empty (undefined, not zero).

    Parameters
    ----------
    ranked : sequence of ids, best first
    relevant : iterable of ids
    k : int >= 1

    Returns
    -------
    float in [0, 1] or NaN
    """
    hits, n_relevant = _hits(ranked, relevant, k)
    return float(hits.sum() / n_relevant) if n_relevant else float("nan")


def average_precision_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """AP@k ``= (1 / min(|R|, k)) Σ_{j≤k} P@j · rel_j``; NaN when ``R`` is empty.

    Parameters
    ----------
    ranked : sequence of ids, best first
    relevant : iterable of ids
    k : int >= 1

    Returns
    -------
    float in [0, 1] or NaN
    """
    hits, n_relevant = _hits(ranked, relevant, k)
    if n_relevant == 0:
        return float("nan")
    precision_at_j = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision_at_j * hits).sum() / min(n_relevant, k))


def map_at_k(ranked_lists: Sequence[Sequence], relevant_sets: Sequence[Iterable], k: int) -> float:
    """Mean of AP@k over users whose relevant set is not empty.

    Parameters
    ----------
    ranked_lists : sequence of ranked id sequences, one per user
    relevant_sets : sequence of id iterables, aligned with ``ranked_lists``
    k : int >= 1

    Returns
    -------
    float in [0, 1]
    """
    if len(ranked_lists) != len(relevant_sets):
        raise ValueError(
            f"ranked lists and relevant sets differ in length: "
            f"{len(ranked_lists)} != {len(relevant_sets)}"
        )
    scores = [
        average_precision_at_k(r, s, k) for r, s in zip(ranked_lists, relevant_sets, strict=True)
    ]
    scores = [s for s in scores if not np.isnan(s)]
    if not scores:
        raise ValueError("no user has a relevant movie: MAP is undefined")
    return float(np.mean(scores))


def dcg_discounts(k: int) -> np.ndarray:
    """``1 / log2(j + 1)`` for ranks ``j = 1 … k``: the DCG weight of each position."""
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """``DCG@k / IDCG@k`` with binary gains and ``log2(j + 1)`` discounts; NaN if ``R = ∅``.

    Parameters
    ----------
    ranked : sequence of ids, best first
    relevant : iterable of ids
    k : int >= 1

    Returns
    -------
    float in [0, 1] or NaN
    """
    hits, n_relevant = _hits(ranked, relevant, k)
    if n_relevant == 0:
        return float("nan")
    discounts = dcg_discounts(k)
    dcg = float(discounts[: len(hits)][hits].sum())
    ideal = float(discounts[: min(n_relevant, k)].sum())
    return dcg / ideal


def evaluate_topn(
    model,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    threshold: float = 4.0,
    **recommend_options,
) -> dict[str, float]:
    """Top-N accuracy of ``model.recommend`` averaged over test users.

    A test movie is relevant to a user when its test rating is ``>= threshold`` (stars).
    The user's ``train`` movies (and those the model was trained on) are excluded from the
    ranking; users without any relevant test movie, or unknown to the model, are skipped
    (counted in ``n_skipped``).

    Parameters
    ----------
    model : fitted estimator with ``users_`` and ``recommend(user_id, n, exclude_seen=...,
        exclude=..., **options)`` returning a frame with a ``movieId`` column, best first.
    train, test : DataFrame with ``userId``, ``movieId``, ``rating``
    k : int, default 10
    threshold : float, default 4.0
    **recommend_options
        Passed to ``model.recommend`` (e.g. ``item_bias_weight``, ``min_ratings``).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``ndcg``, ``map`` (means over evaluated users),
        ``n_users`` evaluated and ``n_skipped``.
    """
    for name, frame in (("train", train), ("test", test)):
        missing = {"userId", "movieId", "rating"} - set(frame.columns)
        if missing:
            raise ValueError(f"{name} lacks column(s) {sorted(missing)}")
    relevant = test[test["rating"] >= threshold].groupby("userId")["movieId"].agg(set)
    seen = train.groupby("userId")["movieId"].agg(list)
    known = model.users_.to_index(relevant.index.to_numpy()) >= 0
    lists, sets = [], []
    for user_id, items in relevant[known].items():
        ranked = model.recommend(
            user_id, n=k, exclude_seen=True, exclude=seen.get(user_id, []), **recommend_options
        )
        lists.append(ranked["movieId"].tolist())
        sets.append(items)
    if not lists:
        raise ValueError(f"no test user known to the model has a rating >= {threshold}")
    return {
        "precision": float(
            np.mean([precision_at_k(r, s, k) for r, s in zip(lists, sets, strict=True)])
        ),
        "recall": float(np.mean([recall_at_k(r, s, k) for r, s in zip(lists, sets, strict=True)])),
        "ndcg": float(np.mean([ndcg_at_k(r, s, k) for r, s in zip(lists, sets, strict=True)])),
        "map": map_at_k(lists, sets, k),
        "n_users": len(lists),
        "n_skipped": int(test["userId"].nunique() - len(lists)),
    }


def ndcg_within_users(
    user_ids: np.ndarray, relevance: np.ndarray, scores: np.ndarray, k: int = 10
) -> float:
    """Mean NDCG@k of each user's test items ranked by score, gain = true rating.

    For user ``u`` with test items sorted by descending score (ties by input order),
    ``DCG@k = Σ_{p≤k} rel_p / log2(p + 1)`` and ``NDCG@k = DCG@k / IDCG@k`` (IDCG: the same
    sum over the items sorted by relevance). Users with fewer than two test items carry no
    ranking information and are left out.

    Parameters
    ----------
    user_ids, relevance, scores : ndarray, shape (n,)
        Aligned rows; ``relevance`` non-negative (ratings).
    k : int

    Returns
    -------
    float
        Mean over users with at least two test items; NaN when there are none.
    """
    user_ids, relevance, scores = (np.asarray(a) for a in (user_ids, relevance, scores))
    if not len(user_ids) == len(relevance) == len(scores):
        raise ValueError("user_ids, relevance and scores must have the same length")
    if np.isnan(scores).any() or np.isnan(relevance).any():
        raise ValueError("relevance and scores must not contain NaN")
    frame = pd.DataFrame({"user": user_ids, "rel": relevance, "score": scores})
    frame["pos"] = frame.groupby("user").cumcount()
    discount = dcg_discounts(k)

    def dcg(order_by: str) -> pd.Series:
        ranked = frame.sort_values(["user", order_by, "pos"], ascending=[True, False, True])
        rank = ranked.groupby("user").cumcount().to_numpy()
        keep = rank < k
        gains = ranked["rel"].to_numpy()[keep] * discount[rank[keep]]
        return pd.Series(gains).groupby(ranked["user"].to_numpy()[keep]).sum()

    sizes = frame.groupby("user").size()
    users = sizes.index[sizes >= 2]
    ideal = dcg("rel").reindex(users)
    actual = dcg("score").reindex(users)
    valid = ideal > 0
    if not valid.any():
        return float("nan")
    return float((actual[valid] / ideal[valid]).mean())
