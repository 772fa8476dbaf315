"""``rating_range``, the one name of a rating scale's ends: checked once per rating structure
(data/ratings ``RatingMatrix.from_frame``), in user files (data/userfiles) and in fold-in,
with one rule (data/checks ``require_in_range``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.data.checks import check_rating_range, integer_ids, require_in_range
from recsys_helpers.data.ratings import RatingMatrix
from recsys_helpers.data.userfiles import read_ratings_file
from recsys_helpers.errors import DataError


def test_rating_range_is_two_finite_increasing_numbers():
    assert check_rating_range(None) is None
    assert check_rating_range([1, 10]) == (1.0, 10.0)
    for bad in [(5, 1), (1, 1), (1,), (0, float("inf")), "ab", 3, ("a", "b")]:
        with pytest.raises(ValueError, match=r"^--rating-range must be None or \(low, high\)"):
            check_rating_range(bad, "--rating-range")


def test_range_check_counts_and_names_the_first_rating_outside():
    ratings = np.array([1.0, 5.0, 0.5, 5.5, 7.0, 3.0])
    with pytest.raises(DataError, match=r"^item 2: rating 0.5 is outside the rating range 1 to 5"):
        require_in_range(ratings, (1.0, 5.0), lambda k: f"item {k}")
    with pytest.raises(DataError, match=r"\(3 such rating\(s\)\)$"):
        require_in_range(ratings, (1.0, 5.0), str)
    require_in_range(ratings, (0.5, 7.0), str)  # the ends are on the scale
    require_in_range(ratings, None, str)


@pytest.mark.parametrize("stars", [7.0, -1.0, 500.0])
def test_rating_matrix_refuses_ratings_outside_the_range_naming_the_row(stars):
    frame = pd.DataFrame(
        {"userId": [4, 4, 9], "movieId": [1, 2, 1], "rating": [3.0, stars, 4.5]},
        index=[10, 11, 12],
    )
    with pytest.raises(
        DataError,
        match=rf"^column 'rating': row 11 \(userId 4, movieId 2\): rating {stars:g} is outside "
        r"the rating range 0.5 to 5 \(1 such rating\(s\)\)$",
    ):
        RatingMatrix.from_frame(frame, rating_range=(0.5, 5.0))
    assert RatingMatrix.from_frame(frame).nnz == 3  # no range given, nothing checked


def test_user_file_rating_outside_the_range_names_line_or_row(tmp_path):
    frame = pd.DataFrame({"userId": [1, 1, 2], "movieId": [5, 6, 5], "rating": [4.0, 10.0, 2.0]})
    csv, parquet = tmp_path / "r.csv", tmp_path / "r.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    with pytest.raises(DataError, match=rf"^{csv}: line 3: rating 10 is outside the rating range"):
        read_ratings_file(csv, rating_range=(0.5, 5))
    with pytest.raises(DataError, match=rf"^{parquet}: row 2: rating 10 is outside"):
        read_ratings_file(parquet, rating_range=(0.5, 5))
    assert read_ratings_file(csv, rating_range=(1, 10))["rating"].tolist() == [4.0, 10.0, 2.0]
    assert len(read_ratings_file(csv)) == 3


def test_integer_ids_accepts_whole_numbers_and_names_anything_else():
    assert integer_ids(np.array([3, 1]), "x").tolist() == [3, 1]
    assert integer_ids(np.array([3.0, 1.0]), "x").tolist() == [3, 1]
    assert integer_ids(np.array(["3", "1"], dtype=object), "x").tolist() == [3, 1]
    for bad, shown in [(["a"], "'a'"), ([2.5], "2.5"), ([np.nan], "nan"), ([True], "True")]:
        with pytest.raises(DataError, match=rf"^movieId: row 0: {shown} is not an integer id$"):
            integer_ids(np.array(bad), "movieId")
