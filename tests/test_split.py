"""Splits: partitions of the rows with the guarantees each docstring states."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.data.split import (
    item_holdout_split,
    kfold,
    last_k_split,
    per_user_split,
    random_split,
    temporal_split,
)
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    frame, _ = make_ratings(200, 150, 6000, random_state=11)
    # a non-default index, so that splits must keep labels rather than positions
    frame.index = pd.RangeIndex(1000, 1000 + len(frame) * 3, 3)
    return frame


def assert_partition(ratings: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Disjoint, union is everything, original order and columns kept."""
    assert len(train) + len(test) == len(ratings)
    assert not set(train.index) & set(test.index)
    assert set(train.index) | set(test.index) == set(ratings.index)
    position = pd.Series(np.arange(len(ratings)), index=ratings.index)
    for part in (train, test):
        assert part.columns.tolist() == ratings.columns.tolist()
        assert position[part.index].is_monotonic_increasing
        pd.testing.assert_frame_equal(part, ratings.loc[part.index])


def test_random_split(ratings):
    train, test = random_split(ratings, 0.2, random_state=5)
    assert_partition(ratings, train, test)
    assert len(test) == round(0.2 * len(ratings))
    again_train, again_test = random_split(ratings, 0.2, random_state=5)
    assert test.index.equals(again_test.index) and train.index.equals(again_train.index)
    assert not test.index.equals(random_split(ratings, 0.2, random_state=6)[1].index)


def test_random_split_bad_parameters(ratings):
    for bad in (0, 1, -0.1, 1.5, True):
        with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\)"):
            random_split(ratings, bad)
    with pytest.raises(ValueError, match="gives 0 test rows; both parts must be non-empty"):
        random_split(ratings.head(3), 0.1)


@pytest.mark.parametrize("min_train", [1, 4])
def test_per_user_split_k(ratings, min_train):
    train, test = per_user_split(ratings, k=3, random_state=2, min_train=min_train)
    assert_partition(ratings, train, test)
    n_user = ratings["userId"].value_counts()
    n_test = test["userId"].value_counts().reindex(n_user.index, fill_value=0)
    expected = np.clip(np.minimum(3, n_user - min_train), 0, None)
    pd.testing.assert_series_equal(n_test, expected, check_names=False)
    n_train = train["userId"].value_counts()
    assert set(test["userId"]) <= set(train["userId"])
    assert (n_train[test["userId"].unique()] >= min_train).all()


def test_per_user_split_fraction_and_small_users():
    frame = pd.DataFrame(
        {
            "userId": [1] * 10 + [2] * 2 + [3],
            "movieId": list(range(10)) + [0, 1] + [0],
            "rating": 3.0,
            "timestamp": 0,
        }
    )
    train, test = per_user_split(frame, test_fraction=0.3, random_state=0)
    assert_partition(frame, train, test)
    # user 1: round(3.0) = 3; user 2: round(0.6) = 1; user 3 must keep its only rating
    assert test["userId"].value_counts().to_dict() == {1: 3, 2: 1}
    same = per_user_split(frame, test_fraction=0.3, random_state=0)[1]
    assert same.index.equals(test.index)


def test_per_user_split_bad_parameters(ratings):
    with pytest.raises(ValueError, match="give exactly one of test_fraction= and k="):
        per_user_split(ratings)
    with pytest.raises(ValueError, match="give exactly one of test_fraction= and k="):
        per_user_split(ratings, k=1, test_fraction=0.1)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        per_user_split(ratings, k=0)
    with pytest.raises(ValueError, match="min_train must be an integer >= 0, got -1"):
        per_user_split(ratings, k=1, min_train=-1)
    with pytest.raises(ValueError, match="no user has more than min_train=1000 ratings"):
        per_user_split(ratings, k=1, min_train=1000)
    with pytest.raises(DataError, match=r"missing column\(s\) \['userId'\]"):
        per_user_split(ratings.drop(columns="userId"), k=1)


def test_temporal_split_cutoff_forms_agree(ratings):
    stamp = pd.Timestamp("2010-06-01", tz="UTC")
    seconds = int(stamp.timestamp())
    train, test = temporal_split(ratings, cutoff=seconds)
    assert_partition(ratings, train, test)
    assert train["timestamp"].max() < seconds <= test["timestamp"].min()
    forms = ("2010-06-01", stamp, stamp.tz_convert(None), stamp.to_pydatetime(), float(seconds))
    for form in forms:
        assert temporal_split(ratings, cutoff=form)[1].index.equals(test.index)


def test_temporal_split_quantile(ratings):
    train, test = temporal_split(ratings, cutoff_quantile=0.8)
    assert_partition(ratings, train, test)
    assert train["timestamp"].max() < test["timestamp"].min()
    assert len(train) / len(ratings) == pytest.approx(0.8, abs=1 / len(ratings) + 1e-9)


def test_temporal_split_bad_parameters(ratings):
    with pytest.raises(ValueError, match="give exactly one of cutoff= and cutoff_quantile="):
        temporal_split(ratings)
    with pytest.raises(ValueError, match="cutoff_quantile must be in \\(0, 1\\), got 1"):
        temporal_split(ratings, cutoff_quantile=1)
    with pytest.raises(ValueError, match="is after every rating, leaving a part empty"):
        temporal_split(ratings, cutoff="2100-01-01")
    with pytest.raises(ValueError, match="is before every rating"):
        temporal_split(ratings, cutoff=0)
    with pytest.raises(ValueError, match="cutoff: cannot read 'soon' as a time"):
        temporal_split(ratings, cutoff="soon")
    with pytest.raises(DataError, match=r"missing column\(s\) \['timestamp'\]"):
        temporal_split(ratings.drop(columns="timestamp"), cutoff=0)


def test_last_k_split_takes_latest(ratings):
    train, test = last_k_split(ratings, k=2)
    assert_partition(ratings, train, test)
    assert (test["userId"].value_counts() == 2).all()
    latest_train = train.groupby("userId")["timestamp"].max()
    earliest_test = test.groupby("userId")["timestamp"].min()
    assert (earliest_test >= latest_train[earliest_test.index]).all()


def test_last_k_split_ties_are_deterministic():
    frame = pd.DataFrame(
        {
            "userId": [1, 1, 1, 2, 2, 3],
            "movieId": [9, 4, 7, 1, 2, 5],
            "rating": 4.0,
            "timestamp": [50, 100, 100, 10, 10, 1],
        },
        index=list("abcdef"),
    )
    train, test = last_k_split(frame, k=1)
    assert_partition(frame, train, test)
    # user 1: movies 4 and 7 tie at t=100, the larger movieId counts as later;
    # user 3 has a single rating and keeps it for training
    assert test.index.tolist() == ["c", "e"]
    assert last_k_split(frame, k=5, min_train=0)[1].index.tolist() == list("abcdef")


def test_kfold_partitions(ratings):
    folds = list(kfold(ratings, 4, random_state=1))
    assert len(folds) == 4
    seen = pd.concat([test for _, test in folds])
    assert sorted(seen.index) == sorted(ratings.index)
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, test in folds:
        assert_partition(ratings, train, test)
    again = [test.index for _, test in kfold(ratings, 4, random_state=1)]
    assert all(a.equals(test.index) for a, (_, test) in zip(again, folds, strict=True))


def test_kfold_bad_parameters(ratings):
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2, got 1"):
        kfold(ratings, 1)
    with pytest.raises(ValueError, match="n_splits=4 exceeds the 3 ratings"):
        kfold(ratings.head(3), 4)


def test_item_holdout_split(ratings):
    train, test = item_holdout_split(ratings, 0.2, random_state=4)
    assert_partition(ratings, train, test)
    assert not set(train["movieId"]) & set(test["movieId"])
    n_movies = ratings["movieId"].nunique()
    assert test["movieId"].nunique() == round(0.2 * n_movies)
    assert item_holdout_split(ratings, 0.2, random_state=4)[1].index.equals(test.index)
    with pytest.raises(ValueError, match="holds out all of them"):
        item_holdout_split(ratings.head(1), 0.5)
    with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\)"):
        item_holdout_split(ratings, 1.0)


def test_splits_on_the_small_release(mirror):
    path = mirror / "ml-latest-small" / "ratings.csv"
    if not path.is_file():
        pytest.skip(f"{path} not in the mirror")
    real = pd.read_csv(path, dtype={"userId": np.int32, "movieId": np.int32})
    train, test = per_user_split(real, test_fraction=0.2, random_state=0)
    assert_partition(real, train, test)
    assert set(test["userId"]) == set(real["userId"])  # every user has >= 20 ratings
    assert set(train["userId"]) == set(real["userId"])
    train, test = temporal_split(real, cutoff="2015-01-01")
    assert train["timestamp"].max() < 1_420_070_400 <= test["timestamp"].min()
    train, test = last_k_split(real, k=5)
    assert len(test) == 5 * 610
    folds = [test for _, test in kfold(real, 5, random_state=0)]
    assert sorted(len(f) for f in folds) == [20_167] * 4 + [20_168]
