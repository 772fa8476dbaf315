"""Notebook 09's tables and figures: ratings per day, movie biases over time, day offsets."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from temporal_planted import DAY, START, planted_ratings  # helper beside this file

from recsys_helpers.analysis import temporal as timeline
from recsys_helpers.data.split import random_split
from recsys_helpers.evaluation.temporal import ablation_by_day, time_effects_ablation
from recsys_helpers.models.temporal import TimeAwareMF
from recsys_helpers.plots import temporal as temporal_plots

matplotlib.use("Agg")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    frame, _ = planted_ratings(n_users=40, n_items=80, n_factors=1, seed=5)
    model = TimeAwareMF(n_factors=1, n_bins=5, n_iter=4, dtype="float64").fit(frame)
    return model, frame


def test_rating_days_counts_ratings_per_user_and_utc_day():
    midnight = START // DAY * DAY  # days start at 00:00 UTC
    ratings = pd.DataFrame(
        {
            "userId": [1, 1, 1, 2, 2],
            "timestamp": [midnight, midnight + DAY - 1, midnight + DAY, START, START + 5 * DAY],
        }
    )
    days = timeline.rating_days(ratings)
    first = START // DAY
    assert days.to_numpy().tolist() == [
        [1, first, 2],
        [1, first + 1, 1],
        [2, first, 1],
        [2, first + 5, 1],
    ]
    summary = timeline.rating_days_summary(ratings, large=2)
    assert summary["n_user_days"] == 4 and summary["max_per_day"] == 2
    assert summary["share_on_large_days"] == pytest.approx(2 / 5)
    assert summary["share_one_day_users"] == 0.0 and summary["median_days_per_user"] == 2.0
    assert summary["first"] == pd.Timestamp(midnight, unit="s").date()


def test_movies_across_time_prefers_coverage_then_counts():
    edges = np.array([0.0, 10, 20, 30])
    ratings = pd.DataFrame(
        {
            "movieId": [7] * 9 + [8] * 20 + [9] * 6,
            "timestamp": [1, 2, 3, 11, 12, 13, 21, 22, 23] + [5] * 20 + [1, 2, 3, 11, 12, 13],
        }
    )
    assert timeline.movies_across_time(ratings, edges, n=3) == [7, 9, 8]
    assert timeline.movies_across_time(ratings, edges, n=1, min_per_bin=4) == [8]


def test_movie_bias_over_time_adds_the_bin_offsets(fitted):
    model, frame = fitted
    movies = frame["movieId"].value_counts().index[:2].tolist()
    table = timeline.movie_bias_over_time(model, frame, movies)
    assert len(table) == 2 * model.n_bins
    for movie in movies:
        row = model.items_.to_index([movie])[0]
        part = table[table["movieId"] == movie]
        np.testing.assert_allclose(part["bias"], model.item_bias_[row] + model.item_bin_bias_[row])
        bins = np.minimum(
            (
                (frame.loc[frame.movieId == movie, "timestamp"] - model.bin_edges_[0])
                // (model.bin_edges_[1] - model.bin_edges_[0])
            ).astype(int),
            model.n_bins - 1,
        )
        expected = np.bincount(bins, minlength=model.n_bins)
        np.testing.assert_array_equal(part["n_ratings"], expected)
    with pytest.raises(KeyError, match="unknown to the model"):
        timeline.movie_bias_over_time(model, frame, [123_456])


def test_day_offsets_and_user_timeline_decompose_the_prediction(fitted):
    model, frame = fitted
    offsets = timeline.day_offsets(model, frame)
    assert len(offsets) == len(model.day_bias_) and offsets["n_ratings"].sum() == len(frame)
    assert offsets.groupby("userId")["first_day"].sum().eq(1).all()
    user = int(frame["userId"].iloc[0])
    story = timeline.user_timeline(model, frame, user)
    mine = frame[frame.userId == user].sort_values("timestamp")
    unclipped = model._predict_index(
        model.users_.to_index(mine.userId), model.items_.to_index(mine.movieId), mine
    )
    # rest − user_term is the residual r − r̂; drift_term + day offset is the user term
    np.testing.assert_allclose(
        story["rest"] - story["user_term"], mine.rating.to_numpy() - unclipped, atol=1e-10
    )
    assert story["time"].is_monotonic_increasing
    with pytest.raises(KeyError, match="no ratings"):
        timeline.user_timeline(model, frame, 99_999)


def test_ablation_by_day_splits_the_test_ratings(fitted):
    _, frame = fitted
    train, test = random_split(frame, 0.2, random_state=3)
    seen = set(zip(train.userId, train.timestamp // DAY, strict=True))
    new_days = sum(key not in seen for key in zip(test.userId, test.timestamp // DAY, strict=True))
    assert 0 < new_days < len(test)
    variants = {"none": (), "all": ("user_day", "user_drift", "item_bins")}
    _, models = time_effects_ablation(train, test, variants=variants, n_factors=1, n_iter=3)
    table = ablation_by_day(models, train, test).set_index("subset")
    assert table.loc["new day", "n_test"] == new_days
    assert table.loc["training day", "n_test"] + new_days == table.loc["all", "n_test"] == len(test)
    assert table.loc["all", "all"] == pytest.approx(-models["all"].score(test))


def test_figures(fitted):
    model, frame = fitted
    days = timeline.rating_days(frame)
    movies = frame["movieId"].value_counts().index[:2].tolist()
    train, test = random_split(frame, 0.2, random_state=0)
    tables = {
        "random": pd.DataFrame({"variant": ["none", "user_day", "all"], "gain": [0, 0.01, 0.02]}),
        "last": pd.DataFrame({"variant": ["none", "user_day", "all"], "gain": [0, -0.01, 0.0]}),
    }
    figures = [
        temporal_plots.ratings_per_day(days),
        temporal_plots.ablation_gains(tables),
        temporal_plots.movie_bias_over_time(
            timeline.movie_bias_over_time(model, frame, movies), {movies[0]: "A film (1999)"}
        ),
        temporal_plots.day_offsets_by_size(timeline.day_offsets(model, frame)),
        temporal_plots.user_timeline(
            timeline.user_timeline(model, frame, int(frame.userId.iloc[0])), "a user"
        ),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    labels = [t.get_text() for t in figures[1].axes[0].get_xticklabels()]
    assert labels == ["user-day", "all"]
    legend = [t.get_text() for t in figures[2].axes[0].get_legend().get_texts()]
    assert legend == ["A film (1999)", str(movies[1])]


def test_day_offsets_figure_draws_a_seeded_sample_of_many_days():
    rng = np.random.default_rng(2)
    offsets = pd.DataFrame(
        {
            "n_ratings": rng.integers(1, 50, 3_000),
            "offset": rng.normal(0, 0.3, 3_000),
            "first_day": rng.random(3_000) < 0.2,
        }
    )
    fig = temporal_plots.day_offsets_by_size(offsets, max_points=500)
    ax = fig.axes[0]
    drawn = sum(len(collection.get_offsets()) for collection in ax.collections)
    assert drawn == 500
    assert ax.get_title() == "day offsets by the size of the day (a random 500 of 3,000)"
    assert all(collection.get_rasterized() for collection in ax.collections)
    again = temporal_plots.day_offsets_by_size(offsets, max_points=500).axes[0].collections
    np.testing.assert_array_equal(again[0].get_offsets(), ax.collections[0].get_offsets())
    full = temporal_plots.day_offsets_by_size(offsets).axes[0]
    assert sum(len(c.get_offsets()) for c in full.collections) == 3_000
    assert full.get_title() == "day offsets by the size of the day"
