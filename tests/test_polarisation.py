"""Polarisation measures: per-movie rating spread, latent vector length, rankings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.analysis.polarisation import (
    compare_rankings,
    extremes,
    polarisation_table,
    rating_spread,
    vector_norms,
)
from recsys_helpers.errors import DataError


def _ratings(rows: dict[int, list[float]]) -> pd.DataFrame:
    movie_ids = [movie for movie, stars in rows.items() for _ in stars]
    stars = [star for values in rows.values() for star in values]
    return pd.DataFrame(
        {
            "userId": np.arange(len(stars), dtype=np.int32),
            "movieId": np.asarray(movie_ids, dtype=np.int32),
            "rating": np.asarray(stars, dtype=np.float32),
        }
    )


def test_rating_spread_matches_a_per_movie_loop():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "movieId": rng.integers(0, 30, size=500),
            "rating": rng.integers(1, 11, size=500) / 2.0,
        }
    )
    spread = rating_spread(frame)
    for movie_id, group in frame.groupby("movieId"):
        stars = group["rating"].to_numpy()
        assert spread.loc[movie_id, "n_ratings"] == len(stars)
        assert spread.loc[movie_id, "mean_rating"] == pytest.approx(stars.mean())
        expected_std = stars.std(ddof=1) if len(stars) > 1 else np.nan
        np.testing.assert_allclose(spread.loc[movie_id, "rating_std"], expected_std)


def test_rating_spread_closed_form_for_a_split_audience():
    spread = rating_spread(_ratings({7: [1.0, 5.0, 1.0, 5.0], 8: [3.0, 3.0]}))
    # mean 3, squared deviations 4 each: variance 16 / 3.
    assert spread.loc[7, "rating_std"] == pytest.approx(np.sqrt(16 / 3))
    assert spread.loc[8, "rating_std"] == 0.0


def test_rating_spread_names_the_missing_column():
    with pytest.raises(DataError, match=r"ratings lacks column\(s\) \['rating'\]"):
        rating_spread(pd.DataFrame({"movieId": [1]}))
    with pytest.raises(DataError, match="ratings is empty"):
        rating_spread(pd.DataFrame({"movieId": [], "rating": []}))


def test_vector_norms_are_euclidean_lengths():
    norms = vector_norms(np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(norms, [5.0, 0.0, 1.0])
    np.testing.assert_array_equal(vector_norms(np.zeros((4, 0))), np.zeros(4))
    with pytest.raises(DataError, match=r"item_factors must be 2-D .* got shape \(3,\)"):
        vector_norms(np.ones(3))


def test_polarisation_table_filters_ranks_and_adds_titles():
    ratings = _ratings(
        {
            10: [1.0, 5.0, 1.0, 5.0],  # split audience
            20: [4.0, 4.5, 4.0, 4.5],  # consensus
            30: [2.0, 3.0, 4.0, 3.0],
            40: [0.5, 5.0],  # very spread but only two ratings
            50: [3.0],  # one rating: no standard deviation
        }
    )
    ids = np.array([10, 20, 30, 40, 50, 60])
    factors = np.array([[2.0, 0.0], [0.1, 0.0], [0.0, 1.0], [3.0, 3.0], [9.0, 9.0], [0.0, 0.0]])
    movies = pd.DataFrame({"movieId": [10, 20, 30, 40], "title": ["Split", "Calm", "Mid", "Duo"]})

    table = polarisation_table(ratings, ids, factors, movies=movies, min_ratings=3)

    assert list(table["movieId"]) == [10, 30, 20]  # sorted by rating_std, floor applied
    assert list(table.columns[:2]) == ["movieId", "title"]
    assert list(table["title"]) == ["Split", "Mid", "Calm"]
    np.testing.assert_allclose(table["vector_norm"], [2.0, 1.0, 0.1])
    np.testing.assert_array_equal(table["std_rank"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(table["norm_rank"], [1.0, 2.0, 3.0])

    unfiltered = polarisation_table(ratings, ids, factors)
    assert set(unfiltered["movieId"]) == {10, 20, 30, 40}  # 50 has no std, 60 no ratings
    assert unfiltered.loc[0, "movieId"] == 40


def test_polarisation_table_rejects_misaligned_or_empty_input():
    ratings = _ratings({1: [1.0, 2.0], 2: [3.0, 4.0]})
    with pytest.raises(DataError, match=r"item_ids has shape \(3,\) but item_factors has 2 rows"):
        polarisation_table(ratings, [1, 2, 3], np.ones((2, 2)))
    with pytest.raises(DataError, match="min_ratings must be >= 1; got 0"):
        polarisation_table(ratings, [1, 2], np.ones((2, 2)), min_ratings=0)
    with pytest.raises(DataError, match="no movie has at least 5 ratings"):
        polarisation_table(ratings, [1, 2], np.ones((2, 2)), min_ratings=5)


def test_extremes_orders_from_the_extreme_and_checks_the_measure():
    table = pd.DataFrame(
        {
            "movieId": [1, 2, 3, 4],
            "rating_std": [0.5, 2.0, 1.0, 1.0],
            "vector_norm": [0.3, 0.1, 0.2, 0.4],
        }
    )
    assert list(extremes(table, "rating_std", 3)["movieId"]) == [2, 3, 4]
    assert list(extremes(table, "rating_std", 2, most=False)["movieId"]) == [1, 3]
    assert list(extremes(table, "vector_norm", 10)["movieId"]) == [4, 1, 3, 2]
    with pytest.raises(DataError, match="by must be one of"):
        extremes(table, "mean_rating")


def test_compare_rankings_recovers_planted_agreement_and_disagreement():
    rng = np.random.default_rng(0)
    spread = rng.uniform(0.2, 2.0, size=200)
    agreeing = pd.DataFrame(
        {"movieId": np.arange(200), "rating_std": spread, "vector_norm": 3.0 * spread**2}
    )
    result = compare_rankings(agreeing, n=20)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["top_overlap"] == 1.0
    assert result["bottom_overlap"] == 1.0
    assert result["n_movies"] == 200

    reversed_ = agreeing.assign(vector_norm=1.0 / spread)
    result = compare_rankings(reversed_, n=20)
    assert result["spearman"] == pytest.approx(-1.0)
    assert result["top_overlap"] == 0.0

    with pytest.raises(DataError, match="need at least 3 movies"):
        compare_rankings(agreeing.head(2))


@pytest.mark.mirror
def test_without_a_floor_the_shortest_vectors_are_the_rarely_rated_movies(mirror):
    from recsys_helpers.data import movielens
    from recsys_helpers.models.als import BiasedMF

    ratings = movielens.load("ml-latest-small", mirror=mirror).ratings
    model = BiasedMF(n_factors=16, n_iter=5, tol=None).fit(ratings)

    unfiltered = polarisation_table(ratings, model.items_.ids, model.item_factors_, min_ratings=2)
    shortest = extremes(unfiltered, "vector_norm", 20, most=False)
    assert shortest["n_ratings"].median() <= 3 < unfiltered["n_ratings"].quantile(0.75)

    floored = polarisation_table(ratings, model.items_.ids, model.item_factors_, min_ratings=50)
    assert floored["n_ratings"].min() >= 50
    assert compare_rankings(floored)["spearman"] > 0.2  # both measure disagreement
