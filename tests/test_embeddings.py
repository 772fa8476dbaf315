"""2-D projections of latent vectors and the genre / label helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist

from recsys_helpers.analysis.embeddings import (
    OTHER_GENRE,
    display_genre,
    embedding_frame,
    neighbour_genre_agreement,
    pca_projection,
    pick_labels,
    project,
    tsne_projection,
)
from recsys_helpers.errors import DataError


def test_pca_keeps_every_distance_of_points_on_a_plane():
    rng = np.random.default_rng(1)
    plane = rng.normal(size=(40, 2)) * [3.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(6, 2)))  # an orthonormal 2-D basis of R^6
    vectors = plane @ basis.T + rng.normal(size=6)  # planted plane, shifted off the origin

    coords, explained = pca_projection(vectors)

    assert coords.shape == (40, 2)
    np.testing.assert_allclose(pdist(coords), pdist(vectors), rtol=1e-9)
    assert explained.sum() == pytest.approx(1.0)
    assert explained[0] > explained[1]
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-12)


def test_tsne_keeps_planted_clusters_apart_and_is_seeded():
    rng = np.random.default_rng(2)
    centres = np.zeros((2, 8))
    centres[1, 0] = 20.0
    labels = np.repeat([0, 1], 25)
    vectors = centres[labels] + rng.normal(size=(50, 8))

    coords = tsne_projection(vectors, perplexity=10, max_iter=250, random_state=0)

    distances = np.linalg.norm(coords[:, None, :] - coords[None, :, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    assert (labels[nearest] == labels).all()
    again = project(vectors, "tsne", perplexity=10, max_iter=250, random_state=0)
    np.testing.assert_array_equal(coords, again)


def test_projection_rejects_bad_vectors_and_methods():
    with pytest.raises(DataError, match=r"need K >= 2 columns .* got K = 1"):
        pca_projection(np.ones((5, 1)))
    with pytest.raises(DataError, match=r"must be 2-D \(n_items, K\); got shape \(5,\)"):
        pca_projection(np.ones(5))
    with pytest.raises(DataError, match="NaN or infinite"):
        pca_projection(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(DataError, match="need at least 4 vectors"):
        tsne_projection(np.ones((3, 2)))
    with pytest.raises(DataError, match="method must be one of"):
        project(np.ones((5, 2)), "umap")


def test_display_genre_takes_the_first_priority_genre():
    labels = display_genre(
        [["Comedy", "Animation"], ["Drama"], ["Western"], [], ["Drama", "Horror"]],
        priority=("Animation", "Horror", "Comedy", "Drama"),
    )
    assert labels == ["Animation", "Drama", OTHER_GENRE, OTHER_GENRE, "Horror"]


def test_embedding_frame_joins_titles_genres_and_counts():
    movies = pd.DataFrame(
        {
            "movieId": [1, 2, 3],
            "title": ["Toy Story", "Heat", "Alien"],
            "genres": [["Animation", "Children"], ["Action", "Crime"], ["Horror", "Sci-Fi"]],
        }
    )
    coords = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])
    frame = embedding_frame(
        [3, 1, 2, 99], coords, movies, n_ratings=pd.Series({1: 215, 2: 102, 3: 146})
    )
    assert list(frame.columns) == ["movieId", "x", "y", "title", "genre", "n_ratings"]
    assert list(frame["title"]) == ["Alien", "Toy Story", "Heat", ""]
    assert list(frame["genre"]) == ["Horror", "Animation", "Action", OTHER_GENRE]
    assert list(frame["n_ratings"]) == [146, 215, 102, 0]
    np.testing.assert_array_equal(frame[["x", "y"]].to_numpy(), coords)

    with pytest.raises(DataError, match=r"coords must have shape \(4, 2\)"):
        embedding_frame([3, 1, 2, 99], coords[:3], movies)
    with pytest.raises(DataError, match=r"movies lacks column\(s\) \['genres'\]"):
        embedding_frame([1], coords[:1], movies.drop(columns="genres"))


def test_pick_labels_combines_named_and_popular_titles():
    frame = pd.DataFrame(
        {
            "movieId": [1, 2, 3, 4],
            "title": ["A", "B", "C", "D"],
            "n_ratings": [5, 50, 20, 50],
        }
    )
    assert list(pick_labels(frame, titles=["C", "Z"])["title"]) == ["C"]
    assert list(pick_labels(frame, titles=["A"], n_popular=2)["title"]) == ["A", "B", "D"]
    with pytest.raises(DataError, match="n_popular needs an n_ratings column"):
        pick_labels(frame.drop(columns="n_ratings"), n_popular=1)


def test_neighbour_genre_agreement_sees_planted_genre_clusters():
    rng = np.random.default_rng(4)
    genres = np.repeat(["Horror", "Comedy", "Drama"], [30, 20, 10])
    centres = {"Horror": [10.0, 0.0], "Comedy": [0.0, 10.0], "Drama": [-10.0, -10.0]}
    clustered = np.array([centres[g] for g in genres]) + rng.normal(size=(60, 2))

    observed, chance = neighbour_genre_agreement(clustered, list(genres), n_neighbours=5)

    assert observed == 1.0
    assert chance == pytest.approx((30 * 29 + 20 * 19 + 10 * 9) / (60 * 59))
    shuffled, _ = neighbour_genre_agreement(rng.normal(size=(60, 2)), list(genres))
    assert abs(shuffled - chance) < 0.15

    with pytest.raises(DataError, match="need one genre per vector"):
        neighbour_genre_agreement(clustered, list(genres[:5]))
    with pytest.raises(DataError, match="n_neighbours must be between 1 and n_items - 1 = 59"):
        neighbour_genre_agreement(clustered, list(genres), n_neighbours=60)
