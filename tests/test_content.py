"""Tests of the movie feature builder and the content-based baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from recsys_helpers.errors import DataError
from recsys_helpers.models.content import ContentBaseline, _row_outer_products, item_features


@pytest.fixture
def movies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "movieId": [10, 20, 30, 40],
            "title": ["A (1995)", "B (2001)", "C", "D (1999)"],
            "genres": ["Comedy|Drama", "Action", "(no genres listed)", "Drama"],
        }
    )


def test_item_features_genres_years_tags(movies):
    tags = pd.DataFrame(
        {"movieId": [10, 20, 20, 40, 40], "tag": ["Funny", "funny ", "dark", "funny", "x"]}
    )
    matrix, names = item_features(movies, tags, min_tag_movies=2)
    assert names == [
        "genre=Action",
        "genre=Comedy",
        "genre=Drama",
        "year=1990",
        "year=2000",
        "tag=funny",
    ]
    expected = np.array(
        [
            [0, 1, 1, 1, 0, 1],
            [1, 0, 0, 0, 1, 1],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 1, 1, 0, 1],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(matrix.toarray(), expected)


def test_item_features_accepts_genre_lists_and_year_column():
    movies = pd.DataFrame(
        {"movieId": [1, 2], "genres": [["Drama"], []], "year": pd.array([1987, None], "Int16")}
    )
    matrix, names = item_features(movies, feature_kinds=("year", "genres"), year_bucket=5)
    assert names == ["year=1985", "genre=Drama"]
    np.testing.assert_array_equal(matrix.toarray(), [[1, 1], [0, 0]])


def test_item_features_max_tags_keeps_most_used():
    movies = pd.DataFrame({"movieId": [1, 2, 3], "genres": ["", "", ""]})
    tags = pd.DataFrame({"movieId": [1, 2, 3, 1, 2, 1], "tag": ["a", "a", "a", "b", "b", "c"]})
    _, names = item_features(movies, tags, feature_kinds=("tags",), min_tag_movies=1, max_tags=2)
    assert names == ["tag=a", "tag=b"]


def test_item_features_bad_input(movies):
    with pytest.raises(ValueError, match="kinds: unknown feature kind"):
        item_features(movies, feature_kinds=("genres", "cast"))
    with pytest.raises(ValueError, match="year_bucket must be a positive"):
        item_features(movies, year_bucket=0)
    with pytest.raises(DataError, match="needs a 'genres' column"):
        item_features(movies.drop(columns="genres"))
    with pytest.raises(DataError, match=r"tags: missing column\(s\) \['tag'\]"):
        item_features(movies, pd.DataFrame({"movieId": [10]}))


def test_row_outer_products_match_dense():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(5, 4)) * (rng.random((5, 4)) < 0.5)
    import scipy.sparse as sp

    outer = _row_outer_products(sp.csr_matrix(dense)).toarray()
    np.testing.assert_allclose(outer, np.einsum("ia,ib->iab", dense, dense).reshape(5, 16))


def _toy_ratings(rng, n_users=6, n_movies=40):
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance"]
    movies = pd.DataFrame(
        {
            "movieId": np.arange(100, 100 + n_movies),
            "genres": [
                "|".join(rng.choice(genres, size=rng.integers(1, 4), replace=False))
                for _ in range(n_movies)
            ],
            "year": rng.integers(1960, 2020, size=n_movies),
        }
    )
    rows = []
    for u in range(n_users):
        rated = rng.choice(movies["movieId"], size=rng.integers(5, 25), replace=False)
        rows += [(u, m, float(rng.integers(1, 11)) / 2) for m in rated]
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return ratings, movies


def test_profiles_equal_sklearn_ridge_per_user():
    rng = np.random.default_rng(3)
    ratings, movies = _toy_ratings(rng)
    model = ContentBaseline(alpha=2.5, feature_kinds=("genres", "year")).fit(ratings, movies)
    features, _ = item_features(movies, feature_kinds=("genres", "year"))
    features = features.toarray()
    row_of = {m: r for r, m in enumerate(movies["movieId"])}
    for u, group in ratings.groupby("userId"):
        x = features[[row_of[m] for m in group["movieId"]]]
        ridge = Ridge(alpha=2.5).fit(x, group["rating"])
        k = model.users_.to_index([u])[0]
        np.testing.assert_allclose(model.coef_[k], ridge.coef_, atol=1e-10)
        np.testing.assert_allclose(model.intercept_[k], ridge.intercept_, atol=1e-10)
        np.testing.assert_allclose(
            model.predict(group), np.clip(ridge.predict(x), 0.5, 5.0), atol=1e-10
        )


def test_planted_genre_taste_is_ranked_first():
    movies = pd.DataFrame(
        {"movieId": np.arange(60), "genres": ["Horror"] * 30 + ["Comedy"] * 30, "year": 2000}
    )
    seen = list(range(0, 20)) + list(range(30, 50))
    ratings = pd.DataFrame(
        {"userId": 7, "movieId": seen, "rating": [5.0] * 20 + [1.0] * 20}  # loves horror
    )
    model = ContentBaseline(alpha=1.0).fit(ratings, movies)
    top = model.recommend(7, n=10)
    assert set(top["movieId"]) == set(range(20, 30))  # the unseen horror films
    assert top["rank"].tolist() == list(range(1, 11))
    assert not set(top["movieId"]) & set(seen)


def test_unknown_users_and_movies_never_nan():
    rng = np.random.default_rng(1)
    ratings, movies = _toy_ratings(rng)
    model = ContentBaseline().fit(ratings, movies)
    query = pd.DataFrame({"userId": [999, 0, 0], "movieId": [100, 12345, 100]})
    predicted = model.predict(query)
    assert np.isfinite(predicted).all()
    assert predicted[0] == pytest.approx(ratings["rating"].mean())
    user0 = ratings[ratings["userId"] == 0]["rating"].mean()
    assert predicted[1] == pytest.approx(user0)
    with pytest.raises(KeyError, match="user 999 has no training ratings"):
        model.recommend(999)


def test_fit_rejects_bad_input(movies):
    with pytest.raises(DataError, match=r"ratings: missing column\(s\) \['rating'\]"):
        ContentBaseline().fit(pd.DataFrame({"userId": [1], "movieId": [10]}), movies)
    good = pd.DataFrame({"userId": [1], "movieId": [10], "rating": [4.0]})
    with pytest.raises(ValueError, match="alpha must be positive"):
        ContentBaseline(alpha=0).fit(good, movies)
