"""report.setup: the one call that replaces the notebooks' prologue (no mirror needed)."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from recsys_helpers import report
from recsys_helpers.data.movielens import MovieLens
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.hybrid import HybridMF
from recsys_helpers.report import notebook


@pytest.fixture
def release(monkeypatch) -> MovieLens:
    """A synthetic release with 300 users, served by setup's loader."""
    ratings, _ = make_ratings(300, 120, 6_000, random_state=3)
    ids = np.union1d(ratings["movieId"].unique(), np.arange(1_000, 1_030))  # 30 never rated
    movies = pd.DataFrame(
        {"movieId": ids, "title": [f"Movie {k}" for k in ids], "genres": [["Drama"]] * len(ids)}
    )
    fake = MovieLens("fake", ratings, movies)
    monkeypatch.setattr(notebook.movielens, "load", lambda name, **options: fake)
    with matplotlib.rc_context():
        yield fake


def test_full_data_and_package_defaults(release):
    study = report.setup("fake", n_factors=None, reg=5.0)
    assert study.ratings is release.ratings and not study.smoke
    assert study.params == {**BiasedMF().get_params(), "reg": 5.0, "random_state": 0}
    assert study.movies is release.movies
    assert study.n_ratings.sum() == len(release.ratings)
    train, test = study.split()
    assert len(train) + len(test) == len(release.ratings)


def test_smoke_subsample_is_the_seeded_draw_of_users(release):
    study = report.setup("fake", smoke=True, random_state=4)
    assert study.ratings["userId"].nunique() == notebook.SMOKE_USERS
    expected = report.smoke_subsample(release.ratings, 4)
    pd.testing.assert_frame_equal(study.ratings, expected)
    assert study.params["random_state"] == 4


def test_keep_users_appends_a_user_the_subsample_dropped(release):
    subsample = report.smoke_subsample(release.ratings, 0)
    dropped = int(np.setdiff1d(release.ratings["userId"].unique(), subsample["userId"])[0])
    study = report.setup("fake", smoke=True, keep_users=[dropped])
    theirs = release.ratings[release.ratings["userId"] == dropped]
    pd.testing.assert_frame_equal(study.ratings.iloc[: len(subsample)], subsample)
    pd.testing.assert_frame_equal(study.ratings.iloc[len(subsample) :], theirs)
    kept = int(subsample["userId"].iloc[0])  # already there: nothing added
    assert len(report.setup("fake", smoke=True, keep_users=[kept]).ratings) == len(subsample)
    with pytest.raises(DataError, match=r"keep_users \[99999\] have no ratings"):
        report.setup("fake", smoke=True, keep_users=[99999])


def test_rated_movies_only_applies_to_the_smoke_subsample(release):
    smoke = report.setup("fake", smoke=True, rated_movies_only=True)
    assert set(smoke.movies["movieId"]) == set(smoke.ratings["movieId"])
    full = report.setup("fake", rated_movies_only=True)
    assert full.movies is release.movies  # the whole table, unrated movies included
    assert len(full.movies) > full.ratings["movieId"].nunique()


def test_another_estimator_and_json_ready_parameters(release, tmp_path):
    study = report.setup("fake", random_state=2, estimator=HybridMF, feature_reg=1.0, n_iter=None)
    assert study.params["n_factors"] == HybridMF().get_params()["n_factors"]
    assert study.params["feature_reg"] == 1.0
    assert study.parameters["feature_kinds"] == "genres,year,tags"
    assert study.parameters["random_state"] == 2 and study.parameters["dataset"] == "fake"
    path = report.record_metrics("07_x", {"m": 1.0}, parameters=study.parameters, folder=tmp_path)
    assert json.loads(path.read_text())["parameters"]["feature_kinds"] == "genres,year,tags"


def test_a_notebook_without_a_model(release):
    study = report.setup("fake", random_state=5, estimator=None)
    assert study.params == {"random_state": 5}
    assert study.parameters == {"dataset": "fake", "smoke": False, "random_state": 5}
    with pytest.raises(TypeError, match="n_factors are not parameters of a notebook without"):
        report.setup("fake", estimator=None, n_factors=8)
    with pytest.raises(TypeError, match="factors are not parameters of BiasedMF"):
        report.setup("fake", factors=8)


def test_setup_parses_only_the_files_notebooks_read(release, monkeypatch):
    calls = []

    def load(name, **options):
        calls.append(options)
        return release

    monkeypatch.setattr(notebook.movielens, "load", load)
    report.setup("fake")
    report.setup("fake", tags=True)
    assert calls == [
        {"genome": False, "links": False, "tags": False},
        {"genome": False, "links": False, "tags": True},
    ]


@pytest.mark.parametrize(
    ("grid", "n_ratings", "smoke", "size"),
    [
        ("auto", 100_836, False, "full"),
        ("auto", 1_000_209, False, "full"),
        ("auto", notebook.FULL_GRID_MAX_RATINGS + 1, False, "small"),
        ("auto", 25_000_095, True, "smoke"),
        ("small", 100, False, "small"),
        ("full", 25_000_095, False, "full"),
    ],
)
def test_grid_size_scales_with_the_data(grid, n_ratings, smoke, size):
    assert report.grid_size(grid, n_ratings, smoke) == size


def test_setup_resolves_the_grid_and_refuses_unknown_sizes(release, monkeypatch):
    assert report.setup("fake").grid == "full"
    assert report.setup("fake", smoke=True).grid == "smoke"
    assert report.setup("fake", grid="small").grid == "small"
    monkeypatch.setattr(notebook.movielens, "load", lambda *a, **k: pytest.fail("loaded"))
    with pytest.raises(ValueError, match="grid must be 'auto' or one of smoke, small, full"):
        report.setup("fake", grid="huge")


def test_user_sample_keeps_whole_users_up_to_the_limit(release):
    ratings = release.ratings
    sample = report.user_sample(ratings, 2_000, random_state=1)
    per_user = ratings["userId"].value_counts()
    kept = sample["userId"].unique()
    assert len(sample) <= 2_000 and len(sample) == per_user[kept].sum()  # whole users
    # the users come in the seeded order: the next one would have passed the limit
    users = ratings["userId"].unique()
    order = users[np.random.default_rng(1).permutation(len(users))]
    assert set(kept) == set(order[: len(kept)])
    assert len(sample) + per_user[order[len(kept)]] > 2_000
    assert sample.index.is_monotonic_increasing  # rows keep their order
    assert report.user_sample(ratings, 2_000, random_state=1).equals(sample)


@pytest.mark.parametrize(
    ("max_ratings", "n_ratings", "limit"),
    [
        ("auto", 100_836, None),
        ("auto", notebook.FULL_GRID_MAX_RATINGS + 1, notebook.SAMPLE_MAX_RATINGS),
        (0, 25_000_095, None),
        (None, 25_000_095, None),
        (500_000, 100_836, None),  # a limit at or above the release's size: every rating
        (100_836, 100_836, None),
        (50_000, 100_836, 50_000),
    ],
)
def test_sample_limit(max_ratings, n_ratings, limit):
    assert notebook.sample_limit(max_ratings, n_ratings) == limit


def test_setup_studies_a_user_sample_of_a_large_release(release, monkeypatch):
    study = report.setup("fake", max_ratings=2_000, rated_movies_only=True, random_state=2)
    assert study.ratings.equals(report.user_sample(release.ratings, 2_000, random_state=2))
    assert study.max_ratings == 2_000 and study.grid == "full"  # the grid follows the release
    assert set(study.movies["movieId"]) == set(study.ratings["movieId"])
    n_users = study.ratings["userId"].nunique()
    assert study.scope.startswith(f"This notebook studies a seeded sample of {n_users:,} of ")
    assert f"{len(study.ratings):,} of its {len(release.ratings):,} ratings" in study.scope
    everything = report.setup("fake", max_ratings=len(release.ratings))
    assert everything.ratings is release.ratings and everything.scope == ""
    assert report.setup("fake", max_ratings="auto").scope == ""  # only releases above 2 M
    monkeypatch.setattr(notebook, "FULL_GRID_MAX_RATINGS", 1_000)
    monkeypatch.setattr(notebook, "SAMPLE_MAX_RATINGS", 3_000)
    auto = report.setup("fake", max_ratings="auto")
    assert auto.grid == "small" and auto.max_ratings == 3_000 and len(auto.ratings) <= 3_000
    assert report.setup("fake").ratings is release.ratings  # by default every rating
    monkeypatch.setattr(notebook.movielens, "load", lambda *a, **k: pytest.fail("loaded"))
    with pytest.raises(ValueError, match="max_ratings must be 'auto', None or an integer"):
        report.setup("fake", max_ratings="most")
