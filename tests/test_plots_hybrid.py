"""Figures of notebook 08: genre-vector projection and RMSE by a movie's rating count."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from recsys_helpers.plots import hybrid

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_projection_matches_a_covariance_eigen_decomposition():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(9, 5))
    names = [f"genre=G{k}" for k in range(6)] + ["year=1990", "year=2000", "tag=twist"]
    coordinates, explained = hybrid.genre_vector_projection(weights, names)
    assert coordinates["genre"].tolist() == [f"G{k}" for k in range(6)]
    genres = weights[:6] - weights[:6].mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(genres.T @ genres)
    top = eigenvectors[:, ::-1][:, :2]
    for column, k in (("pc1", 0), ("pc2", 1)):
        oracle = genres @ top[:, k]
        oracle *= np.sign(oracle[np.abs(oracle).argmax()])  # the documented sign rule
        np.testing.assert_allclose(coordinates[column], oracle, atol=1e-10)
    np.testing.assert_allclose(explained, eigenvalues[::-1][:2] / eigenvalues.sum(), rtol=1e-10)
    np.testing.assert_allclose(coordinates["norm"], np.linalg.norm(weights[:6], axis=1))


def test_projection_recovers_planted_clusters():
    # two groups of genres along one direction: the first component separates them
    direction = np.array([1.0, -2.0, 0.5, 0.0])
    rng = np.random.default_rng(1)
    weights = np.vstack(
        [direction + 0.01 * rng.normal(size=4) for _ in range(3)]
        + [-direction + 0.01 * rng.normal(size=4) for _ in range(3)]
    )
    coordinates, explained = hybrid.genre_vector_projection(
        weights, [f"genre={g}" for g in "abcdef"]
    )
    first = coordinates["pc1"].to_numpy()
    assert np.all(np.sign(first[:3]) == -np.sign(first[3:]))
    assert explained[0] > 0.99


def test_projection_of_identical_genre_vectors_is_the_origin():
    weights = np.tile([0.5, -1.0, 2.0], (4, 1))
    coordinates, explained = hybrid.genre_vector_projection(weights, [f"genre={g}" for g in "abcd"])
    np.testing.assert_array_equal(coordinates[["pc1", "pc2"]].to_numpy(), np.zeros((4, 2)))
    np.testing.assert_array_equal(explained, [0.0, 0.0])
    np.testing.assert_allclose(coordinates["norm"], np.linalg.norm(weights, axis=1))


@pytest.mark.parametrize(
    "weights, names, message",
    [
        (np.zeros((3, 2)), ["genre=a", "genre=b"], "has shape"),
        (np.zeros((3, 2)), ["genre=a", "genre=b", "year=1990"], "at least 3 features"),
        (np.zeros((3, 1)), ["genre=a", "genre=b", "genre=c"], "K >= 2"),
    ],
)
def test_projection_errors(weights, names, message):
    with pytest.raises(ValueError, match=message):
        hybrid.genre_vector_projection(weights, names)


def test_genre_vector_map_places_every_label():
    coordinates = pd.DataFrame(
        {
            "genre": ["Drama", "Horror", "Comedy"],
            "pc1": [1.0, -2.0, 0.5],
            "pc2": [0.0, 1.0, -1.0],
            "norm": [1.0, 2.0, 0.5],
        }
    )
    fig = hybrid.genre_vector_map(coordinates, explained=[0.6, 0.25])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), coordinates[["pc1", "pc2"]])
    texts = {t.get_text(): t.xy for t in ax.texts}
    assert texts == {"Drama": (1.0, 0.0), "Horror": (-2.0, 1.0), "Comedy": (0.5, -1.0)}
    assert "60% of variance" in ax.get_xlabel() and "25% of variance" in ax.get_ylabel()


def test_rmse_by_rating_count_against_a_loop():
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 80, size=400)
    truth = rng.uniform(0.5, 5.0, size=400)
    plain, prior = truth + rng.normal(0, 1.0, 400), truth + rng.normal(0, 0.5, 400)
    table = hybrid.rmse_by_rating_count(counts, truth, {"plain": plain, "hybrid": prior})
    edges = [*hybrid.COUNT_BIN_EDGES, np.inf]
    expected = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        members = [j for j in range(400) if low <= counts[j] < high]
        if members:
            expected.append(
                (
                    len(members),
                    np.sqrt(np.mean([(plain[j] - truth[j]) ** 2 for j in members])),
                    np.sqrt(np.mean([(prior[j] - truth[j]) ** 2 for j in members])),
                )
            )
    assert table["n_test"].tolist() == [e[0] for e in expected]
    np.testing.assert_allclose(table["plain"], [e[1] for e in expected], rtol=1e-12)
    np.testing.assert_allclose(table["hybrid"], [e[2] for e in expected], rtol=1e-12)
    assert table["bin"].tolist() == ["0", "1–2", "3–5", "6–10", "11–20", "21–50", "51+"]
    assert table["high"].iloc[-1] == -1


def test_rmse_by_rating_count_skips_empty_bins_and_checks_input():
    table = hybrid.rmse_by_rating_count(
        np.array([0, 0, 7]),
        np.array([3.0, 4.0, 2.0]),
        {"m": np.array([4.0, 4.0, 2.5])},
        edges=(0, 5, 10),
    )
    assert table["bin"].tolist() == ["0–4", "5–9"]
    np.testing.assert_allclose(table["m"], [np.sqrt(0.5), 0.5])
    with pytest.raises(ValueError, match="edges must increase strictly from 0"):
        hybrid.rmse_by_rating_count(np.array([1]), np.array([1.0]), {}, edges=(1, 5))
    with pytest.raises(ValueError, match=r"predictions\['m'\] has shape"):
        hybrid.rmse_by_rating_count(np.array([1]), np.array([1.0]), {"m": np.zeros(2)})
    with pytest.raises(ValueError, match="non-negative"):
        hybrid.rmse_by_rating_count(np.array([-1]), np.array([1.0]), {})


def test_error_by_rating_count_draws_each_model():
    table = pd.DataFrame(
        {"bin": ["0", "1–2"], "n_test": [10, 40], "als": [1.0, 0.9], "hybrid": [0.9, 0.88]}
    )
    fig = hybrid.error_by_rating_count(table, ["als", "hybrid"])
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["als", "hybrid"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.9, 0.88])
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['content'\]"):
        hybrid.error_by_rating_count(table, ["content"])


def test_genre_vector_map_keeps_labels_of_close_points_apart():
    # a tight cluster of four points far from a fifth: labels must not overlap each other
    coordinates = pd.DataFrame(
        {
            "genre": ["Crime", "Mystery", "Drama", "Thriller", "IMAX"],
            "pc1": [0.0, 0.02, 0.0, 0.02, 1.0],
            "pc2": [0.0, 0.0, 0.02, 0.02, 0.5],
        }
    )
    fig = hybrid.genre_vector_map(coordinates)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 5
    for a in range(5):
        for b in range(a + 1, 5):
            assert not boxes[a].overlaps(boxes[b]), (a, b)
