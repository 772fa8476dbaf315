"""Cosine neighbours in the latent space, against plain loops over pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys_helpers.models.similarity import closest_rated, cosine_similarities, nearest_items


def cosine(a, b) -> float:
    """The textbook cosine, NaN for a zero vector."""
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    if na == 0 or nb == 0:
        return math.nan
    return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)


@pytest.fixture
def factors() -> np.ndarray:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 5)).astype(np.float32)
    vectors[7] = 0.0  # a movie without a direction
    return vectors


def test_cosine_similarities_match_the_textbook_formula(factors):
    query = factors[3]
    got = cosine_similarities(factors, query)
    expected = [cosine(row, query) for row in factors.astype(np.float64)]
    np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[7])
    assert got[3] == pytest.approx(1.0)
    assert np.isnan(cosine_similarities(factors, np.zeros(5))).all()


def test_nearest_items_are_the_largest_cosines_but_itself(factors):
    rows, sims = nearest_items(factors, 3, 5)
    order = sorted(
        (i for i in range(len(factors)) if i not in (3, 7)),
        key=lambda i: -cosine(factors[i], factors[3]),
    )
    assert rows.tolist() == order[:5]
    np.testing.assert_allclose(sims, [cosine(factors[i], factors[3]) for i in order[:5]], rtol=1e-6)
    assert np.all(np.diff(sims) <= 0)


def test_nearest_items_honour_exclusions_and_the_popularity_floor(factors):
    counts = np.arange(len(factors))
    best = nearest_items(factors, 3, 3)[0]
    rows, _ = nearest_items(factors, 3, 3, exclude=best[:1])
    assert best[0] not in rows
    rows, _ = nearest_items(factors, 3, 40, item_counts=counts, min_ratings=30)
    assert rows.size and (counts[rows] >= 30).all()
    assert 7 not in nearest_items(factors, 3, 40)[0]  # a zero vector is nobody's neighbour
    assert nearest_items(factors, 7, 5)[0].size == 0  # and has no neighbours


def test_closest_rated_is_the_argmax_of_cosines(factors):
    items = np.array([0, 1, 2, 7])
    rated = np.array([10, 11, 12, 13, 7])
    position, similarity = closest_rated(factors, items, rated)
    for k, item in enumerate(items[:3]):
        candidates = [cosine(factors[item], factors[j]) for j in rated]
        best = int(np.nanargmax(candidates))
        assert position[k] == best
        assert similarity[k] == pytest.approx(candidates[best], rel=1e-6)
    assert position[3] == -1 and np.isnan(similarity[3])  # a zero vector explains nothing


def test_closest_rated_with_nothing_rated_or_ties():
    vectors = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    position, similarity = closest_rated(vectors, np.array([0]), np.array([3, 1, 2]))
    assert position.tolist() == [1]  # 1 and 2 point the same way: the first listed wins
    assert similarity[0] == pytest.approx(1.0)
    position, similarity = closest_rated(vectors, np.array([0, 1]), np.array([], dtype=int))
    assert position.tolist() == [-1, -1] and np.isnan(similarity).all()
