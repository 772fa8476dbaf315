"""Tests for recsys_helpers.plots: save_figure and the figures of notebook 01."""

from __future__ import annotations

import os

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from recsys_helpers import config, plots
from recsys_helpers.analysis import descriptive
from recsys_helpers.plots import eda


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def simple_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [2, 0, 1])
    return fig


@pytest.fixture
def toy_ratings() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 2_000
    users = rng.zipf(2.0, size=n) % 200 + 1
    movies = rng.zipf(1.8, size=n) % 500 + 1
    frame = pd.DataFrame(
        {
            "userId": users.astype(np.int32),
            "movieId": movies.astype(np.int32),
            "rating": rng.choice(np.arange(1, 11) / 2, size=n).astype(np.float32),
            "timestamp": rng.integers(8.3e8, 1.5e9, size=n).astype(np.int64),
        }
    )
    return frame.drop_duplicates(["userId", "movieId"])


def test_save_figure_writes_png_and_svg_under_the_stable_name(simple_figure):
    paths = plots.save_figure(simple_figure, "01_demo")
    folder = config.figures_dir()
    assert paths == [folder / "01_demo.png", folder / "01_demo.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:2000]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".01_demo")) == []


def test_save_figure_is_reproducible_and_overwrites_in_place(simple_figure, tmp_path):
    first = [p.read_bytes() for p in plots.save_figure(simple_figure, "same", folder=tmp_path)]
    second = [p.read_bytes() for p in plots.save_figure(simple_figure, "same", folder=tmp_path)]
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.png", "same.svg"]


def test_save_figure_honours_formats_and_file_mode(simple_figure, tmp_path):
    paths = plots.save_figure(simple_figure, "vector", formats=("pdf",), folder=tmp_path)
    assert paths == [tmp_path / "vector.pdf"]
    assert paths[0].read_bytes()[:5] == b"%PDF-"
    umask = os.umask(0)
    os.umask(umask)
    assert paths[0].stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_figure_leaves_the_old_file_when_writing_fails(simple_figure, tmp_path, monkeypatch):
    (path,) = plots.save_figure(simple_figure, "kept", formats=("png",), folder=tmp_path)
    before = path.read_bytes()

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(simple_figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.save_figure(simple_figure, "kept", formats=("png",), folder=tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kept.png"]


@pytest.mark.parametrize("name", ["", "Has Caps", "with.png", "../escape", "-leading"])
def test_save_figure_rejects_unstable_names(simple_figure, name):
    with pytest.raises(ValueError, match=r"save_figure: name=.* must match"):
        plots.save_figure(simple_figure, name)


def test_save_figure_rejects_unknown_formats(simple_figure):
    with pytest.raises(ValueError, match=r"save_figure: formats=\['bmpx'\] not supported"):
        plots.save_figure(simple_figure, "x", formats=("png", "bmpx"))
    with pytest.raises(ValueError, match="at least one format"):
        plots.save_figure(simple_figure, "x", formats=())


def test_set_style_applies_the_shared_settings():
    with matplotlib.rc_context():
        plots.set_style()
        assert matplotlib.rcParams["svg.hashsalt"] == plots.STYLE["svg.hashsalt"]
        assert matplotlib.rcParams["axes.spines.top"] is False


def test_rating_histogram_shows_shares_per_star_value(toy_ratings):
    fig = eda.rating_histogram(toy_ratings)
    (ax,) = fig.axes
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 10
    assert sum(heights) == pytest.approx(100.0)
    assert ax.get_xlabel() == "rating (stars)"
    assert ax.get_ylabel() == "share of ratings (%)"
    mean_line = ax.get_lines()[0]
    assert mean_line.get_xdata()[0] == pytest.approx(toy_ratings["rating"].mean())


def test_degree_ccdf_plots_the_empirical_ccdf_and_the_fit(toy_ratings):
    degrees = descriptive.degrees(toy_ratings, "movieId")
    fit = descriptive.fit_power_law(degrees, min_tail=10)
    fig = eda.degree_ccdf(degrees, fit, entity="movie")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "ratings per movie, x"
    data_line, fit_line = ax.get_lines()[:2]
    x, p = descriptive.ccdf(degrees)
    np.testing.assert_allclose(data_line.get_ydata(), p)
    # The fitted curve starts where the data's tail starts.
    assert fit_line.get_xdata()[0] == fit.xmin
    assert fit_line.get_ydata()[0] == pytest.approx(fit.n_tail / fit.n_total)
    assert f"α = {fit.alpha:.2f}" in ax.get_legend().get_texts()[1].get_text()


def test_degree_ccdf_without_fit_draws_only_the_data(toy_ratings):
    fig = eda.degree_ccdf(descriptive.degrees(toy_ratings, "userId"))
    assert len(fig.axes[0].get_lines()) == 1


def test_zipf_plot_ranks_counts_in_descending_order(toy_ratings):
    counts = descriptive.degrees(toy_ratings, "movieId")
    fit = descriptive.fit_zipf(counts, max_rank=50)
    fig = eda.zipf_plot(np.random.default_rng(0).permutation(counts), fit)
    (ax,) = fig.axes
    data_line, fit_line = ax.get_lines()
    np.testing.assert_array_equal(data_line.get_ydata(), np.sort(counts)[::-1])
    assert fit_line.get_xdata()[-1] == pytest.approx(50)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_ratings_over_time_has_counts_and_mean_axes(toy_ratings):
    table = descriptive.ratings_per_period(toy_ratings)
    fig = eda.ratings_over_time(table)
    left, right = fig.axes
    assert sum(p.get_height() for p in left.patches) == len(toy_ratings)
    assert right.get_ylabel() == "mean rating (stars)"


def test_sparsity_pattern_marks_rated_pairs(toy_ratings):
    fig = eda.sparsity_pattern(toy_ratings, max_users=20, max_movies=30)
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (20, 30)
    top_user = toy_ratings["userId"].value_counts().index[0]
    top_movies = toy_ratings["movieId"].value_counts().index[:30]
    rated = toy_ratings.loc[toy_ratings["userId"] == top_user, "movieId"].isin(top_movies).sum()
    assert image[0].sum() == rated
