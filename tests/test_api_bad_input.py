"""Bad input to the estimators' Python API (models/base, models/serving): a clear error naming
the parameter, column or row, never a bare TypeError or a raw numpy message, and the same
refusals as the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.cli import main
from recsys_helpers.errors import DataError
from recsys_helpers.models import ContentBaseline, HybridMF
from recsys_helpers.models.als import BiasedMF

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    pairs = [(u, m) for u in range(1, 11) for m in (3, 5, 7, 9, 11, 13) if rng.random() < 0.7]
    users, movies = zip(*pairs, strict=True)
    return pd.DataFrame(
        {"userId": users, "movieId": movies, "rating": rng.integers(1, 11, len(pairs)) / 2}
    )


@pytest.fixture(scope="module")
def model(ratings) -> BiasedMF:
    return BiasedMF(n_factors=2, n_iter=3, rating_range=(0.5, 5.0)).fit(ratings)


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"userId": [1, "a"], "movieId": [3, 5]}, r"^userId: row 1: 'a' is not an integer id$"),
        ({"userId": [1, 2], "movieId": ["x", 5]}, r"^movieId: row 0: 'x' is not an integer id$"),
        ({"userId": [1.5], "movieId": [3]}, r"^userId: row 0: 1.5 is not an integer id$"),
    ],
    ids=["word-user", "word-movie", "fractional-user"],
)
def test_predict_refuses_ids_that_are_not_integers(model, frame, message):
    with pytest.raises(DataError, match=message):
        model.predict(pd.DataFrame(frame))


def test_predict_refuses_word_ids_in_an_array_too(model):
    with pytest.raises(DataError, match=r"^userId: row 0: 'a' is not an integer id$"):
        model.predict(np.array([["a", "3"]]))
    assert np.isfinite(model.predict(np.array([[1, 3], [999, 999]]))).all()  # unknown: μ


def test_content_baseline_predict_refuses_word_ids(ratings):
    movies = pd.DataFrame({"movieId": [3, 5, 7, 9, 11, 13], "title": list("abcdef")})
    movies["genres"] = [["Drama"], ["Comedy"], ["Drama"], ["Action"], ["Comedy"], ["Drama"]]
    baseline = ContentBaseline(feature_kinds=("genres",)).fit(ratings, movies=movies)
    with pytest.raises(DataError, match=r"^movieId: row 0: 'x' is not an integer id$"):
        baseline.predict(pd.DataFrame({"userId": [1], "movieId": ["x"]}))


def test_recommend_refuses_word_ids(model):
    with pytest.raises(DataError, match=r"recommend: user_id: row 0: 'a' is not an integer id"):
        model.recommend("a")
    with pytest.raises(DataError, match=r"^exclude: row 1: 'x' is not an integer id$"):
        model.recommend(1, exclude=[3, "x"])


# --------------------------------------------------------------------------- a new user


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"abc": 4.0}, r"new user's ratings: movieId: row 0: 'abc' is not an integer id"),
        ({3: "good"}, r"new user's ratings: movieId 3: rating 'good' is not a finite number"),
        ({3: np.nan}, r"new user's ratings: movieId 3: rating nan is not a finite number"),
        (
            {3: 4.0, 5: 9.0},
            r"new user's ratings: movieId 5: rating 9 is outside the rating range 0.5 to 5 "
            r"of this model \(1 such rating\(s\)\)",
        ),
        ({3: -1.0}, r"movieId 3: rating -1 is outside the rating range 0.5 to 5"),
        ({}, r"new user's ratings: none of the movies \(none given\) is known to the model"),
        ({99: 4.0, 98: 3.0}, r"none of the movies \(99, 98\) is known to the model; rate movies"),
    ],
    ids=["word-id", "word-rating", "nan", "above-scale", "below-scale", "empty", "all-unknown"],
)
def test_new_user_bad_ratings_are_refused(model, given, message):
    with pytest.raises(DataError, match=message):
        model.recommend_new_user(given)
    with pytest.raises(DataError, match=message):
        model.fold_in(given)


def test_command_line_refuses_a_new_user_of_unknown_movies_too(model, tmp_path, capsys):
    path = model.save(tmp_path / "m.npz")
    assert main(["recommend", "--model", str(path), "--rate", "99=4", "98=3"]) == 1
    assert "none of the movies 98, 99 is in the model" in capsys.readouterr().err


def test_new_user_with_some_unknown_movies_is_folded_in_on_the_known_ones(model):
    both = model.recommend_new_user({3: 5.0, 99: 1.0}, n=3)
    known = model.recommend_new_user({3: 5.0}, n=3)
    pd.testing.assert_frame_equal(both, known)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"item_bias_weight": float("nan")}, r"item_bias_weight must be a finite number, got nan"),
        ({"item_bias_weight": "1"}, r"item_bias_weight must be a finite number, got '1'"),
        ({"n": 0}, r"n must be an integer >= 1, got 0"),
        ({"min_ratings": -1}, r"min_ratings must be an integer >= 0, got -1"),
    ],
)
def test_ranking_options_are_checked(model, options, message):
    with pytest.raises(ValueError, match=message):
        model.recommend(1, **options)
    with pytest.raises(ValueError, match=message):
        model.recommend_new_user({3: 4.0}, **options)


# --------------------------------------------------------------------------- fitting


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"random_state": -1}, r"^random_state must be an integer >= 0, got -1$"),
        ({"random_state": None}, r"^random_state must be an integer >= 0, got None$"),
        ({"reg": "abc"}, r"^reg must be a finite number >= 0, got 'abc'$"),
        ({"reg_bias": -2.0}, r"^reg_bias must be a finite number >= 0, got -2.0$"),
        ({"n_factors": 2.5}, r"^n_factors must be an integer >= 0, got 2.5$"),
        ({"dtype": "abc"}, r"^dtype must be float32 or float64, got 'abc'$"),
        ({"rating_range": (5, 1)}, r"^rating_range must be None or \(low, high\)"),
        ({"rating_range": "ab"}, r"^rating_range must be None or \(low, high\).*got 'ab'$"),
    ],
    ids=lambda value: str(value) if not isinstance(value, dict) else "-".join(map(str, value)),
)
def test_bad_parameters_are_named(ratings, params, message):
    with pytest.raises(ValueError, match=message):
        BiasedMF(**params).fit(ratings)


def test_bad_hybrid_feature_penalty_is_named(ratings):
    movies = pd.DataFrame({"movieId": [3, 5, 7], "title": ["a", "b", "c"], "genres": ["A"] * 3})
    with pytest.raises(ValueError, match=r"^feature_reg must be a finite number >= 0, got 'abc'"):
        HybridMF(feature_reg="abc", feature_kinds=("genres",)).fit(ratings, movies=movies)


def test_non_numeric_rating_in_a_frame_names_the_row(ratings):
    bad = ratings.astype({"rating": object})
    bad.loc[4, "rating"] = "four"
    user, movie = bad.loc[4, ["userId", "movieId"]]
    with pytest.raises(
        DataError,
        match=rf"^column 'rating': row 4 \(userId {user}, movieId {movie}\): 'four' is not a "
        "number$",
    ):
        BiasedMF(n_factors=1).fit(bad)


def test_rating_outside_the_declared_range_names_the_row(ratings):
    bad = ratings.copy()
    bad.loc[2, "rating"] = 7.0
    with pytest.raises(DataError, match=r"row 2 \(userId \d+, movieId \d+\): rating 7 is outside"):
        BiasedMF(n_factors=1, rating_range=(0.5, 5.0)).fit(bad)
    doubled = ratings.assign(rating=ratings["rating"] * 2)  # a scale of 1 to 10
    doubled.loc[2, "rating"] = 7.0
    model = BiasedMF(n_factors=1, n_iter=2, rating_range=(1, 10)).fit(doubled)
    assert model.rating_range_ == (1.0, 10.0)
    predictions = model.predict(doubled)
    assert predictions.min() >= 1.0 and predictions.max() <= 10.0
