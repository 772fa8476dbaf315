"""Synthetic MovieLens-shaped data: shape, skew, determinism and the planted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.data.synthetic import (
    DEFAULT_GENRES,
    ML25M_SHAPE,
    PlantedModel,
    make_movies,
    make_ratings,
)


@pytest.fixture(scope="module")
def default_data() -> tuple[pd.DataFrame, PlantedModel]:
    return make_ratings(random_state=0)


def test_shape_dtypes_and_uniqueness(default_data):
    ratings, planted = default_data
    assert ratings.columns.tolist() == ["userId", "movieId", "rating", "timestamp"]
    assert ratings.dtypes.astype(str).tolist() == ["int32", "int32", "float32", "int64"]
    assert len(ratings) == 50_000
    assert not ratings.duplicated(["userId", "movieId"]).any()
    assert ratings["userId"].nunique() == 1000 == planted.n_users
    assert planted.n_items == 500 and planted.n_factors == 8
    assert ratings.index.equals(pd.RangeIndex(len(ratings)))
    sorted_frame = ratings.sort_values(["userId", "movieId"], kind="stable")
    assert sorted_frame.index.equals(ratings.index)


def test_raw_ids_are_not_indices(default_data):
    ratings, planted = default_data
    assert set(ratings["userId"]) <= set(planted.user_ids.tolist())
    assert set(ratings["movieId"]) <= set(planted.item_ids.tolist())
    assert not np.array_equal(np.sort(planted.user_ids), np.arange(planted.n_users))
    assert not np.all(np.diff(planted.user_ids) > 0), "planted order should not be id order"
    assert not np.all(np.diff(planted.item_ids) > 0)


def test_half_stars_and_scale(default_data):
    ratings, _ = default_data
    stars = ratings["rating"].to_numpy()
    assert stars.min() >= 0.5 and stars.max() <= 5.0
    np.testing.assert_array_equal(stars * 2, np.round(stars * 2))
    assert 3.2 < stars.mean() < 3.8
    assert 0.7 < stars.std() < 1.3
    assert len(np.unique(stars)) == 10


def test_activity_and_popularity_are_skewed(default_data):
    ratings, _ = default_data
    per_user = ratings["userId"].value_counts()
    per_movie = ratings["movieId"].value_counts().sort_values(ascending=False)
    assert per_user.min() >= 20
    assert per_user.max() >= 4 * per_user.median()
    assert per_user.max() <= 250  # max_user_fraction = 0.5 of 500 movies
    top_tenth = per_movie.iloc[: len(per_movie) // 10].sum() / len(ratings)
    assert top_tenth > 0.3
    assert per_movie.max() >= 5 * per_movie.median()  # uniform draws would give about 1.5


def test_timestamps_in_range(default_data):
    ratings, _ = default_data
    start = pd.Timestamp("1995-01-09", tz="UTC").timestamp()
    end = pd.Timestamp("2019-11-21", tz="UTC").timestamp()
    assert start <= ratings["timestamp"].min() and ratings["timestamp"].max() <= end
    custom, _ = make_ratings(50, 40, 1000, start=1_000, end="1970-01-01 01:00:00")
    assert custom["timestamp"].between(1_000, 3_600).all()
    spans = ratings.groupby("userId")["timestamp"].agg(lambda t: t.max() - t.min())
    assert spans.median() < (end - start) / 2, "each user should rate inside a window"


def test_deterministic_given_seed():
    first, planted = make_ratings(100, 60, 2500, random_state=7)
    again, planted_again = make_ratings(100, 60, 2500, random_state=7)
    pd.testing.assert_frame_equal(first, again)
    np.testing.assert_array_equal(planted.user_factors, planted_again.user_factors)
    other, _ = make_ratings(100, 60, 2500, random_state=8)
    assert not first.equals(other)


def test_planted_model_reproduces_noiseless_ratings():
    ratings, planted = make_ratings(300, 120, 9000, noise_std=0.0, quantize=False, random_state=2)
    predicted = planted.predict_ids(ratings["userId"], ratings["movieId"])
    np.testing.assert_allclose(ratings["rating"], predicted, rtol=0, atol=1e-5)
    # an independent evaluation of μ + b_u + b_i + U_u·V_i for one rating
    row = ratings.iloc[123]
    u = int(np.flatnonzero(planted.user_ids == row["userId"])[0])
    i = int(np.flatnonzero(planted.item_ids == row["movieId"])[0])
    by_hand = (
        planted.global_mean
        + planted.user_bias[u]
        + planted.item_bias[i]
        + sum(planted.user_factors[u, k] * planted.item_factors[i, k] for k in range(8))
    )
    assert row["rating"] == pytest.approx(by_hand, abs=1e-5)


def test_noise_level_and_default_factor_scale():
    ratings, planted = make_ratings(400, 200, 40_000, noise_std=0.3, quantize=False, random_state=4)
    residual = ratings["rating"] - planted.predict_ids(ratings["userId"], ratings["movieId"])
    assert abs(residual.mean()) < 0.01
    assert residual.std() == pytest.approx(0.3, rel=0.03)
    interaction = np.sum(planted.user_factors[:, None, :] * planted.item_factors[None], axis=-1)
    assert interaction.std() == pytest.approx(0.6, rel=0.15)
    assert planted.user_bias.std() == pytest.approx(0.4, rel=0.15)
    assert planted.item_bias.std() == pytest.approx(0.5, rel=0.2)


def test_predict_broadcasts_and_rejects_unknown_ids(default_data):
    _, planted = default_data
    grid = planted.predict(np.arange(3)[:, None], np.arange(4)[None, :])
    assert grid.shape == (3, 4)
    assert grid[2, 1] == pytest.approx(planted.predict(2, 1))
    with pytest.raises(KeyError, match="userId not planted"):
        planted.user_index([-5])


def test_dense_problem_is_filled_exactly():
    # 95% of all pairs: the popularity draws saturate and the uniform top-up must finish
    ratings, _ = make_ratings(40, 30, 1140, random_state=1, min_user_ratings=25)
    assert len(ratings) == 1140
    assert not ratings.duplicated(["userId", "movieId"]).any()
    assert ratings["userId"].value_counts().min() >= 25
    full, _ = make_ratings(10, 7, 70, random_state=1)
    assert len(full) == 70 and not full.duplicated(["userId", "movieId"]).any()


def test_bad_parameters():
    with pytest.raises(ValueError, match="n_ratings=101 exceeds n_users \\* n_items = 100"):
        make_ratings(10, 10, 101)
    with pytest.raises(ValueError, match="min_user_ratings=20 is impossible"):
        make_ratings(100, 50, 1000, min_user_ratings=20)
    with pytest.raises(ValueError, match="noise_std must be >= 0, got -1"):
        make_ratings(noise_std=-1)
    with pytest.raises(ValueError, match="n_users must be an integer >= 1, got 0"):
        make_ratings(0)
    with pytest.raises(ValueError, match="item_popularity_exponent must be > 0"):
        make_ratings(item_popularity_exponent=0)
    with pytest.raises(ValueError, match="start .* must be before end"):
        make_ratings(start="2020-01-01", end="2019-01-01")
    with pytest.raises(ValueError, match="n_items=10 but movies has 20 rows"):
        make_ratings(n_items=10, movies=make_movies(20))


def test_make_movies():
    movies = make_movies(300, random_state=5)
    assert movies.columns.tolist() == ["movieId", "title", "year", "genres"]
    assert len(movies) == 300
    ids = movies["movieId"].to_numpy()
    assert ids.dtype == np.int32 and np.all(np.diff(ids) > 0) and ids.max() > 300
    assert movies["year"].between(1920, 2019).all()
    assert all(
        title.endswith(f"({year})")
        for title, year in zip(movies["title"], movies["year"], strict=True)
    )
    sizes = movies["genres"].map(len)
    assert sizes.min() >= 1 and 1.5 < sizes.mean() < 2.1
    assert all(set(g) <= set(DEFAULT_GENRES) and len(set(g)) == len(g) for g in movies["genres"])
    counts = movies["genres"].explode().value_counts()
    assert counts.index[0] == "Drama", "the first genre is drawn most often"
    pd.testing.assert_frame_equal(movies, make_movies(300, random_state=5))
    custom = make_movies(20, genres=["A", "B"], mean_genres=1.0, random_state=0)
    assert custom["genres"].map(len).eq(1).all()
    with pytest.raises(ValueError, match="genres must be a non-empty sequence of distinct names"):
        make_movies(5, genres=["A", "A"])


def test_planted_genre_effects_are_recoverable():
    movies = make_movies(3000, random_state=1)
    ratings, planted = make_ratings(
        200, n_ratings=8000, movies=movies, genre_bias_std=0.5, bias_std=(0.4, 0.2), random_state=1
    )
    np.testing.assert_array_equal(planted.item_ids, movies["movieId"].to_numpy())
    assert set(ratings["movieId"]) <= set(movies["movieId"])
    names = sorted(set(movies["genres"].explode()))
    assert list(planted.genre_names) == names
    drama = names.index("Drama")
    np.testing.assert_array_equal(
        planted.item_genres[:, drama], movies["genres"].map(lambda g: "Drama" in g)
    )
    weights = planted.item_genre_weights
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    # b_i = b_i⁰ + w_i·β with b_i⁰ ~ N(0, 0.2²): least squares on w recovers β
    recovered, *_ = np.linalg.lstsq(weights, planted.item_bias, rcond=None)
    common = planted.item_genres.sum(axis=0) >= 100
    np.testing.assert_allclose(recovered[common], planted.genre_bias[common], atol=0.12)
    # the same for each factor column: V_i = V_i⁰ + w_i·W
    recovered_w, *_ = np.linalg.lstsq(weights, planted.item_factors, rcond=None)
    error = recovered_w[common] - planted.genre_factors[common]
    assert np.abs(error).max() < 0.5 * np.abs(planted.genre_factors[common]).max() + 0.1
    plain, plain_planted = make_ratings(200, 3000, 8000, random_state=1)
    assert plain_planted.genre_names == () and plain_planted.item_genres.size == 0


def test_ml25m_shape_constant():
    assert ML25M_SHAPE == {"n_users": 162_541, "n_items": 59_047, "n_ratings": 25_000_095}
