"""Rating and top-N metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.evaluation.metrics import (
    average_precision_at_k,
    evaluate_topn,
    mae,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    rmse,
)


def test_rmse_and_mae_by_hand():
    truth, predicted = [1.0, 2.0, 4.0], [2.0, 2.0, 2.0]
    assert rmse(truth, predicted) == pytest.approx(math.sqrt(5 / 3))
    assert mae(truth, predicted) == pytest.approx(1.0)


@pytest.mark.parametrize("metric", [rmse, mae])
def test_misaligned_inputs_are_refused(metric):
    with pytest.raises(ValueError, match="differ in length: 2 != 3"):
        metric([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        metric([], [])
    with pytest.raises(
        ValueError, match=r"predictions hold 1 NaN/inf value\(s\), first at position 1"
    ):
        metric([1, 2, 3], [1, np.nan, 3])
    with pytest.raises(ValueError, match="truth hold 2 NaN/inf"):
        metric([np.inf, np.nan], [1, 2])


def test_precision_recall_by_hand():
    ranked, relevant = [5, 3, 9, 1], {3, 1, 7}
    assert precision_at_k(ranked, relevant, 2) == pytest.approx(1 / 2)
    assert precision_at_k(ranked, relevant, 4) == pytest.approx(2 / 4)
    assert precision_at_k(ranked[:1], relevant, 4) == 0.0  # short list still divides by k
    assert recall_at_k(ranked, relevant, 4) == pytest.approx(2 / 3)
    assert math.isnan(recall_at_k(ranked, set(), 4))


def test_average_precision_and_map_by_hand():
    # hits at ranks 2 and 4: (1/2 + 2/4) / min(3, 4) = 1/3
    assert average_precision_at_k([5, 3, 9, 1], {3, 1, 7}, 4) == pytest.approx(1 / 3)
    # all relevant first: AP = 1
    assert average_precision_at_k([1, 2, 9], {1, 2}, 3) == pytest.approx(1.0)
    value = map_at_k([[5, 3, 9, 1], [1, 2, 9], [4]], [{3, 1, 7}, {1, 2}, set()], 4)
    assert value == pytest.approx((1 / 3 + 1) / 2)  # the user without relevant movies skipped
    with pytest.raises(ValueError, match="differ in length: 1 != 2"):
        map_at_k([[1]], [{1}, {2}], 3)


def test_ndcg_by_hand():
    # hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5)
    # IDCG (3 relevant, k=4) = 1 + 1/log2(3) + 1/2
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k([5, 3, 9, 1], {3, 1, 7}, 4) == pytest.approx(expected)
    assert ndcg_at_k([3, 1, 7], {3, 1, 7}, 3) == pytest.approx(1.0)
    assert ndcg_at_k([8, 9], {3}, 2) == 0.0


def test_topn_input_errors():
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        precision_at_k([1], {1}, 0)
    with pytest.raises(ValueError, match="duplicate movies"):
        ndcg_at_k([1, 1], {1}, 2)


class FixedRanking:
    """A model stub that always ranks movies 10, 20, 30, 40 minus the excluded ones."""

    def __init__(self):
        from recsys_helpers.data.ratings import IdIndex

        self.users_ = IdIndex.from_ids([1, 2])
        self.calls = []

    def recommend(self, user_id, n, *, exclude_seen, exclude, **options):
        self.calls.append((user_id, sorted(exclude), options))
        ranked = [m for m in (10, 20, 30, 40) if m not in set(exclude)][:n]
        return pd.DataFrame({"movieId": ranked})


def test_evaluate_topn_by_hand():
    train = pd.DataFrame({"userId": [1, 2], "movieId": [10, 30], "rating": [5.0, 5.0]})
    test = pd.DataFrame(
        {
            "userId": [1, 1, 2, 2, 3],
            "movieId": [20, 40, 10, 20, 10],
            "rating": [4.0, 3.5, 2.0, 4.5, 5.0],
        }
    )
    model = FixedRanking()
    result = evaluate_topn(model, train, test, k=2, threshold=4.0, min_ratings=3)
    # user 1 (train 10 excluded): [20, 30] vs {20}: P=1/2, R=1, AP=1, nDCG=1
    # user 2 (train 30 excluded): [10, 20] vs {20}: P=1/2, R=1, AP=1/2, nDCG=1/log2(3)
    # user 3 is unknown to the model: skipped
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(1.0)
    assert result["map"] == pytest.approx(0.75)
    assert result["ndcg"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert (result["n_users"], result["n_skipped"]) == (2, 1)
    assert model.calls == [(1, [10], {"min_ratings": 3}), (2, [30], {"min_ratings": 3})]
