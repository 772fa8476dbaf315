"""Synthetic releases: the writers round-trip through the parsers; releases load like real
ones, with each release's layout, scale and sizes; ML-25M's skew is reproduced."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.cli import main
from recsys_helpers.data import formats, movie_formats, movielens, writers
from recsys_helpers.data.synthetic import ML25M_SKEW, make_movies, make_ratings
from recsys_helpers.data.synthetic_release import MARKER, RELEASE_SHAPES, write_release_like


@pytest.mark.parametrize(
    ("layout", "name", "scale"),
    [
        ("csv", "ratings.csv", (0.5, 5.0, 0.5)),
        ("dat", "ratings.dat", (0.5, 5.0, 0.5)),
        ("100k", "u.data", (1.0, 5.0, 1.0)),
    ],
)
def test_ratings_written_in_a_layout_parse_back_unchanged(tmp_path, layout, name, scale):
    ratings, _ = make_ratings(40, 30, 600, random_state=3)
    if scale[2] == 1.0:
        ratings["rating"] = np.clip(np.round(ratings["rating"]), 1, 5).astype(np.float32)
    path = writers.write_ratings(ratings, tmp_path / name, layout)
    parsed = formats.parse_ratings(path, layout=layout, scale=scale)
    pd.testing.assert_frame_equal(parsed.reset_index(drop=True), ratings.reset_index(drop=True))


@pytest.mark.parametrize(("layout", "encoding"), [("csv", "utf-8"), ("dat", "latin-1")])
def test_movies_written_in_a_layout_parse_back_unchanged(tmp_path, layout, encoding):
    movies = make_movies(25, random_state=1)
    movies["title"] = movies["title"].str.replace(r" \(\d{4}\)$", "", regex=True)
    movies.loc[3, "title"] = "Heat, The"  # a comma: quoted in csv, free field in dat
    movies.loc[4, "genres"] = []  # no genres
    (path,) = writers.write_movies(movies, tmp_path, layout, encoding=encoding)
    parsed = movie_formats.parse_movies(path, layout=layout, encoding=encoding)
    assert parsed["movieId"].tolist() == movies["movieId"].tolist()
    assert parsed["title"].tolist() == movies["title"].tolist()
    assert parsed["year"].tolist() == movies["year"].tolist()
    assert parsed["genres"].tolist() == movies["genres"].tolist()


def test_ml100k_movies_keep_the_genres_it_has_flags_for(tmp_path):
    movies = make_movies(12, random_state=2)
    movies["genres"] = [["Comedy", "Drama"], ["Sci-Fi"], ["IMAX"]] + [["Horror"]] * 9
    paths = writers.write_movies(movies, tmp_path, "100k", encoding="latin-1")
    parsed = movie_formats.parse_movies(paths[0], layout="100k", encoding="latin-1")
    assert parsed["genres"].tolist()[:3] == [["Comedy", "Drama"], ["Sci-Fi"], []]
    assert parsed["year"].tolist() == movies["year"].tolist()


@pytest.mark.parametrize("name", ["ml-latest-small", "ml-100k", "ml-1m", "ml-10m", "ml-25m"])
def test_a_synthetic_release_loads_like_the_real_one(tmp_path, name):
    folder = write_release_like(name, tmp_path / "mirror", scale=0.02, random_state=5)
    marker = json.loads((folder / MARKER).read_text())
    assert marker["synthetic"] is True and marker["like"] == name
    release = movielens.load(name, mirror=tmp_path / "mirror", data_dir=tmp_path / "data")
    ratings = release.ratings
    assert len(ratings) == marker["n_ratings"]
    assert ratings["userId"].nunique() == marker["n_users"]
    assert len(release.movies) == marker["n_listed_movies"] >= ratings["movieId"].nunique()
    assert set(ratings["movieId"]) <= set(release.movies["movieId"])
    low, high, step = movielens.get_release(name).scale
    levels = np.round(np.arange(low, high + step / 2, step), 6)
    assert set(ratings["rating"].unique()) <= set(levels)
    per_user = ratings.groupby("userId").size()
    assert per_user.min() >= min(20, ratings["movieId"].nunique())
    shape = RELEASE_SHAPES[name]
    start, end = (pd.Timestamp(d, tz="UTC").timestamp() for d in (shape.start, shape.end))
    assert start <= ratings["timestamp"].min() and ratings["timestamp"].max() <= end + 86_400
    has_tags = shape.n_tags > 0 and "tags" in movielens.get_release(name).files
    assert (release.tags is not None) == has_tags


def test_the_same_seed_writes_the_same_bytes_and_refuses_to_overwrite(tmp_path):
    def digest(folder):
        return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    first = write_release_like("ml-latest-small", tmp_path / "a", scale=0.05, random_state=1)
    second = write_release_like("ml-latest-small", tmp_path / "b", scale=0.05, random_state=1)
    assert digest(first) == digest(second)
    with pytest.raises(ValueError, match="exists"):
        write_release_like("ml-latest-small", tmp_path / "a", scale=0.05)
    with pytest.raises(ValueError, match="scale must be in"):
        write_release_like("ml-latest-small", tmp_path / "c", scale=1.5)
    assert not (tmp_path / "c").exists()


def test_cli_writes_a_release(tmp_path, capsys):
    argv = ["synthetic", "--like", "ml-1m", "--out", str(tmp_path), "--scale", "0.01"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "ml-1m")
    assert (tmp_path / "ml-1m" / "ratings.dat").is_file()


def test_ml25m_skew_gives_a_long_tail_and_every_movie_rated():
    """2% of ML-25M's users and ratings over 8% of its movies: users from 20 ratings (median
    near 71), every movie rated, the median movie with a handful of ratings, a long tail,
    and the most rated movie reaching about half of the users (real ML-25M: median user 71,
    most rated movie 81,491 of 162,541 users, median movie about 8)."""
    n_users, n_items, n_ratings = 3_251, 5_000, 500_002
    ratings, _ = make_ratings(n_users, n_items, n_ratings, skew=ML25M_SKEW, random_state=0)
    per_user = ratings.groupby("userId").size()
    per_movie = ratings.groupby("movieId").size()
    assert len(ratings) == n_ratings and per_user.min() == 20
    assert 55 <= per_user.median() <= 90
    assert len(per_movie) == n_items and per_movie.min() >= 1
    assert per_movie.median() < 0.25 * per_movie.mean()  # a long tail
    assert (per_movie <= 5).mean() > 0.2
    assert 0.35 * n_users <= per_movie.max() <= 0.65 * n_users
    assert not ratings.duplicated(["userId", "movieId"]).any()
