"""Ranking scores, top-N selection and fold-in, alone and through BiasedMF."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.ranking import fold_in, ranking_scores, top_n


@pytest.fixture(scope="module")
def fitted():
    frame, _ = make_ratings(
        200, 80, 5_000, n_factors=3, noise_std=0.3, quantize=False, random_state=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BiasedMF(n_factors=3, reg=0.5, reg_bias=1.0, n_iter=40, dtype="float64")
        model.fit(frame)
    return frame, model


def test_ranking_scores_by_hand():
    item_bias = np.array([1.0, -1.0, 0.5])
    item_factors = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    scores = ranking_scores(3.0, 0.2, np.array([0.5, 1.0]), item_bias, item_factors)
    np.testing.assert_allclose(scores, [3.2 + 1.0 + 0.5, 3.2 - 1.0 + 2.0, 3.2 + 0.5 + 1.5])
    weighted = ranking_scores(
        3.0, 0.2, np.array([0.5, 1.0]), item_bias, item_factors, item_bias_weight=0.0
    )
    np.testing.assert_allclose(weighted, [3.2 + 0.5, 3.2 + 2.0, 3.2 + 1.5])
    floored = ranking_scores(
        3.0,
        0.2,
        np.array([0.5, 1.0]),
        item_bias,
        item_factors,
        item_counts=np.array([5, 1, 9]),
        min_ratings=5,
    )
    assert floored[1] == -np.inf and np.isfinite(floored[[0, 2]]).all()
    with pytest.raises(ValueError, match="min_ratings > 0 needs item_counts"):
        ranking_scores(3.0, 0.2, np.zeros(2), item_bias, item_factors, min_ratings=1)


def test_top_n_order_ties_and_exclusions():
    scores = np.array([1.0, 5.0, 3.0, 5.0, -np.inf, 2.0])
    chosen, values = top_n(scores, 3)
    assert chosen.tolist() == [1, 3, 2] and values.tolist() == [5.0, 5.0, 3.0]
    assert top_n(scores, 2, exclude=np.array([1]))[0].tolist() == [3, 2]
    assert top_n(scores, 10)[0].tolist() == [1, 3, 2, 5, 0]  # -inf never returned
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        top_n(scores, 0)


def test_top_n_agrees_with_a_full_sort():
    scores = np.random.default_rng(0).normal(size=500)
    expected = np.argsort(-scores, kind="stable")[:25]
    np.testing.assert_array_equal(top_n(scores, 25)[0], expected)


def test_fold_in_is_the_exact_ridge_solution():
    rng = np.random.default_rng(1)
    item_bias, item_factors = rng.normal(size=6), rng.normal(size=(6, 2))
    rated, ratings = np.array([0, 2, 5]), np.array([4.0, 2.5, 5.0])
    bias, vector = fold_in(rated, ratings, 3.5, item_bias, item_factors, 0.4, 2.0)
    design = np.column_stack([np.ones(3), item_factors[rated]])
    stacked = np.vstack([design, np.diag(np.sqrt([2.0, 0.4, 0.4]))])
    targets = np.concatenate([ratings - 3.5 - item_bias[rated], np.zeros(3)])
    expected = np.linalg.lstsq(stacked, targets, rcond=None)[0]
    np.testing.assert_allclose([bias, *vector], expected, atol=1e-12)
    assert fold_in(rated[:0], ratings[:0], 3.5, item_bias, item_factors, 0.4, 2.0)[0] == 0.0


def test_fold_in_of_a_training_user_reproduces_their_parameters(fitted):
    frame, model = fitted
    user = frame.userId.iloc[0]
    own = frame[frame.userId == user]
    bias, vector = model.fold_in(own[["movieId", "rating"]])
    row = model.users_.to_index([user])[0]
    # Exact at convergence; after 40 sweeps the movies still move by ~1e-4.
    assert bias == pytest.approx(model.user_bias_[row], abs=2e-3)
    np.testing.assert_allclose(vector, model.user_factors_[row], atol=2e-3)
    as_dict = model.fold_in(dict(zip(own.movieId, own.rating, strict=True)))
    np.testing.assert_allclose(as_dict[1], vector)


def test_recommend_ranks_unseen_movies_by_predicted_score(fitted):
    frame, model = fitted
    user = frame.userId.iloc[0]
    seen = set(frame.movieId[frame.userId == user])
    top = model.recommend(user, n=5)
    assert list(top.columns) == ["movieId", "score", "rank"] and top["rank"].tolist() == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert not seen & set(top.movieId)
    row = model.users_.to_index([user])[0]
    brute = {
        movie: model.global_mean_
        + model.user_bias_[row]
        + model.item_bias_[i]
        + model.user_factors_[row] @ model.item_factors_[i]
        for i, movie in enumerate(model.items_.ids)
        if movie not in seen
    }
    expected = sorted(brute, key=lambda movie: -brute[movie])[:5]
    assert top.movieId.tolist() == expected
    np.testing.assert_allclose(top.score, [brute[m] for m in expected])
    with_seen = model.recommend(user, n=len(model.items_), exclude_seen=False)
    assert len(with_seen) == len(model.items_)


def test_recommend_options_are_honoured(fitted):
    frame, model = fitted
    user = frame.userId.iloc[1]
    floor = int(np.median(model.item_counts_))
    popular = model.recommend(user, n=20, min_ratings=floor)
    counts = dict(zip(model.items_.ids, model.item_counts_, strict=True))
    assert all(counts[m] >= floor for m in popular.movieId)
    first = model.recommend(user, n=3).movieId.tolist()
    assert first[0] not in model.recommend(user, n=3, exclude=[first[0], -99]).movieId.tolist()
    plain = model.recommend(user, n=len(model.items_), item_bias_weight=0.0)
    row = model.users_.to_index([user])[0]
    index = model.items_.to_index(plain.movieId.to_numpy())
    np.testing.assert_allclose(
        plain.score,
        model.global_mean_
        + model.user_bias_[row]
        + model.item_factors_[index] @ model.user_factors_[row],
    )
    with pytest.raises(DataError, match="userId -1 is not in the training data"):
        model.recommend(-1)


def test_recommend_new_user(fitted):
    frame, model = fitted
    ratings = {frame.movieId.iloc[0]: 5.0, frame.movieId.iloc[1]: 1.0, 10**9: 4.0}
    top = model.recommend_new_user(ratings, n=4)
    assert len(top) == 4 and not set(ratings) & set(top.movieId)
    bias, vector = model.fold_in(ratings)  # the unknown movie is ignored
    known = {k: v for k, v in ratings.items() if k != 10**9}
    np.testing.assert_allclose(model.fold_in(known)[1], vector)
    with pytest.raises(DataError, match="rate a movie twice"):
        model.fold_in(pd.DataFrame({"movieId": [1, 1], "rating": [3.0, 4.0]}))
    with pytest.raises(DataError, match=r"missing column\(s\) \['rating'\]"):
        model.fold_in(pd.DataFrame({"movieId": [1]}))


def test_saved_model_recommends_the_same(fitted, tmp_path):
    frame, model = fitted
    loaded = BiasedMF.load(model.save(tmp_path / "m.npz"))
    user = frame.userId.iloc[3]
    pd.testing.assert_frame_equal(loaded.recommend(user, n=7), model.recommend(user, n=7))


def test_the_prior_list_ranks_by_the_movie_bias_and_is_the_same_for_everyone():
    """recommend_prior: nothing folded in, so s_i = μ + w b_i (b_u = 0, U_u = 0)."""
    ratings, _ = make_ratings(60, 40, 900, random_state=2)
    model = BiasedMF(n_factors=3, n_iter=4, tol=None).fit(ratings)
    listed = model.recommend_prior(n=5, item_bias_weight=0.5, exclude=[model.items_.ids[0]])
    scores = model.global_mean_ + 0.5 * model.item_bias_.astype(np.float64)
    scores[0] = -np.inf
    expected = model.items_.ids[np.argsort(-scores, kind="stable")[:5]]
    np.testing.assert_array_equal(listed["movieId"], expected)
    np.testing.assert_allclose(listed["score"], np.sort(scores)[::-1][:5])
    with pytest.raises(DataError, match="none of the movies"):
        model.recommend_new_user({})
