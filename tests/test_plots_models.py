"""Figures of notebooks 02, 03 and 05-07: curves, sweeps, polarisation, maps, recommendations."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from recsys_helpers import plots
from recsys_helpers.analysis.embeddings import OTHER_GENRE
from recsys_helpers.plots import items, training


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "iteration": [1, 2, 3],
            "objective": [900.0, 500.0, 480.0],
            "train_rmse": [0.95, 0.80, 0.78],
            "valid_rmse": [1.00, 0.90, 0.89],
            "seconds": [0.1, 0.1, 0.1],
        }
    )


def test_training_curves_draw_the_history(history):
    fig = training.training_curves(history, title="bias only")
    objective_ax, rmse_ax = fig.axes
    np.testing.assert_array_equal(objective_ax.lines[0].get_ydata(), history["objective"])
    assert objective_ax.get_yscale() == "linear"  # spans less than a factor of 10
    assert objective_ax.yaxis.get_major_formatter()(1234.0, 0) == "1,234"
    steep = training.training_curves(history.assign(objective=[9000.0, 500.0, 480.0]))
    assert steep.axes[0].get_yscale() == "log"
    assert [line.get_label() for line in rmse_ax.lines] == ["train", "validation"]
    np.testing.assert_array_equal(rmse_ax.lines[1].get_ydata(), history["valid_rmse"])
    assert rmse_ax.get_ylabel() == "RMSE (stars)"
    assert fig._suptitle.get_text() == "bias only"


def test_training_curves_without_validation_draws_train_only(history):
    fig = training.training_curves(history.assign(valid_rmse=np.nan))
    assert [line.get_label() for line in fig.axes[1].lines] == ["train"]
    with pytest.raises(ValueError, match=r"history lacks column\(s\) \['objective'\]"):
        training.training_curves(history.drop(columns="objective"))


def test_validation_curves_one_line_per_run(history):
    fig = training.validation_curves({"λ = 0": history, "λ = 1": history.assign(valid_rmse=0.5)})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["λ = 0", "λ = 1"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="histories is empty"):
        training.validation_curves({})


def test_regularisation_sweep_marks_the_best_strength():
    sweep = pd.DataFrame(
        {
            "reg_bias": [10.0, 0.0, 1.0, 100.0],
            "train_rmse": [0.85, 0.80, 0.82, 0.90],
            "test_rmse": [0.88, 0.95, 0.90, 0.93],
        }
    )
    fig = training.regularisation_sweep(sweep, baseline=1.05)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0.0, 1.0, 10.0, 100.0])
    best = next(line for line in ax.lines if line.get_label().startswith("best"))
    assert best.get_label() == "best: 10"
    assert tuple(best.get_ydata()) == (0.88,)
    assert ax.get_xscale() == "symlog"
    assert any(line.get_label() == "global mean" for line in ax.lines)


def test_rmse_heatmap_annotates_every_cell_and_boxes_the_minimum():
    grid = pd.DataFrame(
        [(k, reg, 0.9 - 0.01 * k + (reg - 1.0) ** 2) for k in (8, 2) for reg in (10.0, 0.1, 1.0)],
        columns=["n_factors", "reg", "valid_rmse"],
    )
    fig = training.rmse_heatmap(grid)
    ax = fig.axes[0]
    texts = [text.get_text() for text in ax.texts]
    assert len(texts) == 6
    assert "0.820" in texts  # K = 8, λ = 1
    box = next(patch for patch in ax.patches if isinstance(patch, Rectangle) and not patch.fill)
    assert box.get_xy() == (1, 1)  # column λ = 1, row K = 8 (parameters sorted ascending)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["2", "8"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["0.1", "1", "10"]
    assert fig.axes[1].get_ylabel() == "validation RMSE (stars)"  # the colour bar
    with pytest.raises(ValueError, match="repeated"):
        training.rmse_heatmap(pd.concat([grid, grid.head(1)]))


def test_model_comparison_bars_in_table_order():
    table = pd.DataFrame(
        {"model": ["global mean", "bias only", "bias + latent"], "test_rmse": [1.05, 0.87, 0.85]}
    )
    fig = training.model_comparison(table)
    ax = fig.axes[0]
    widths = [patch.get_width() for patch in ax.patches]
    np.testing.assert_allclose(widths, [1.05, 0.87, 0.85])
    ticks = zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    labels = {tick: label.get_text() for tick, label in ticks}
    assert labels == {2: "global mean", 1: "bias only", 0: "bias + latent"}  # first row on top
    assert ax.get_xlim()[0] < 0.85


def test_polarisation_bars_label_titles_with_counts():
    rows = pd.DataFrame(
        {"title": ["A very long title " * 3, "Short"], "n_ratings": [40, 7], "rating_std": [2, 1]}
    )
    fig = items.polarisation_bars({"most": rows, "least": rows.iloc[::-1]})
    most_ax, least_ax = fig.axes
    assert most_ax.get_title() == "most"
    labels = [label.get_text() for label in most_ax.get_yticklabels()]
    assert labels[1] == "Short (n = 7)"
    assert labels[0].endswith("… (n = 40)")
    np.testing.assert_allclose([patch.get_width() for patch in least_ax.patches], [1, 2])
    with pytest.raises(ValueError, match=r"panel 'x' lacks column\(s\) \['n_ratings'\]"):
        items.polarisation_bars({"x": rows.drop(columns="n_ratings")})


def test_polarisation_scatter_places_each_movie():
    table = pd.DataFrame(
        {
            "title": ["A", "B", "C"],
            "rating_std": [0.5, 1.0, 1.5],
            "vector_norm": [0.1, 0.2, 0.4],
            "n_ratings": [10, 100, 1000],
        }
    )
    fig = items.polarisation_scatter(table, label=table.head(1), spearman=1.0)
    ax = fig.axes[0]
    np.testing.assert_array_equal(
        ax.collections[0].get_offsets(), table[["rating_std", "vector_norm"]]
    )
    np.testing.assert_allclose(ax.collections[0].get_array(), [1.0, 2.0, 3.0])
    assert [text.get_text() for text in ax.texts] == ["A"]
    assert "ρ = 1.00" in ax.get_title()


def test_embedding_scatter_colours_by_genre_with_counts_in_the_legend():
    frame = pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0, 3.0],
            "y": [0.0, 1.0, 0.0, 1.0],
            "genre": ["Horror", "Horror", OTHER_GENRE, "Comedy"],
            "title": ["Alien", "Halloween", "Heat", "Airplane!"],
        }
    )
    fig = items.embedding_scatter(frame, label=frame.head(1), title="K = 2")
    ax = fig.axes[0]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["Other (1)", "Horror (2)", "Comedy (1)"]
    colours = items.genre_colours()
    horror = ax.collections[1]
    np.testing.assert_allclose(
        horror.get_facecolors()[0][:3], matplotlib.colors.to_rgb(colours["Horror"])
    )
    assert [text.get_text() for text in ax.texts] == ["Alien"]
    assert ax.get_title() == "K = 2"


def test_recommendation_popularity_one_strip_per_rule_and_saves(tmp_path):
    lists = {
        "full item bias": pd.DataFrame({"n_ratings": [1, 1, 2]}),
        "floor": pd.DataFrame({"n_ratings": [50, 80, 300]}),
    }
    fig = items.recommendation_popularity(lists)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [label.get_text() for label in ax.get_xticklabels()] == list(lists)
    long = items.recommendation_popularity(
        {"a rule with a name too long for one line": lists["floor"]}
    )
    assert (
        long.axes[0].get_xticklabels()[0].get_text() == "a rule with a name\ntoo long for one\nline"
    )
    medians = [
        collection for collection in ax.collections if isinstance(collection, LineCollection)
    ]
    assert len(medians) == 2
    paths = plots.save_figure(fig, "07_recommendation_popularity", folder=tmp_path)
    assert [path.name for path in paths] == [
        "07_recommendation_popularity.png",
        "07_recommendation_popularity.svg",
    ]
    assert all(path.stat().st_size > 0 for path in paths)
