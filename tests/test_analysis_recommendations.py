"""Tests for recsys_helpers.analysis.recommendations: titled lists, rules, popularity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from recsys_helpers.analysis import recommendations
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError
from recsys_helpers.models.als import BiasedMF


@pytest.fixture(scope="module")
def fitted():
    """A small model on planted data, its ratings, titles and rating counts."""
    frame, _ = make_ratings(150, 60, 4_000, n_factors=3, noise_std=0.3, random_state=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BiasedMF(n_factors=3, reg=1.0, reg_bias=1.0, n_iter=20, dtype="float64")
        model.fit(frame)
    movie_ids = np.sort(frame["movieId"].unique())
    titles = pd.Series([f"Movie {m}" for m in movie_ids], index=movie_ids)
    return model, frame, titles, frame["movieId"].value_counts()


class ListModel:
    """A stand-in model whose lists are fixed: each user id (and "new") maps to movieIds."""

    def __init__(self, lists: dict):
        self.lists = lists
        self.calls: list[tuple] = []

    def _frame(self, key, n, options):
        self.calls.append((key, n, dict(options)))
        ids = self.lists[key][:n]
        return pd.DataFrame(
            {
                "movieId": ids,
                "score": np.linspace(1.0, 0.0, len(ids)),
                "rank": range(1, len(ids) + 1),
            }
        )

    def recommend(self, user_id, n=10, **options):
        return self._frame(user_id, n, options)

    def recommend_new_user(self, ratings, n=10, **options):
        return self._frame("new", n, options)


def test_with_titles_adds_title_and_count_in_the_list_order():
    ranked = pd.DataFrame({"movieId": [30, 10, 99], "score": [2.5, 2.0, 1.0], "rank": [1, 2, 3]})
    titles = pd.Series({10: "Alien", 30: "Heat"})
    counts = pd.Series({10: 7, 30: 2})
    listed = recommendations.with_titles(ranked, titles, counts)
    assert list(listed.columns) == ["rank", "title", "n_ratings", "score"]
    assert listed["title"].tolist()[:2] == ["Heat", "Alien"]
    assert pd.isna(listed["title"].iloc[2])  # unknown title stays missing
    assert listed["n_ratings"].tolist() == [2, 7, 0]  # unknown count is 0
    assert listed["n_ratings"].dtype == np.int64
    assert listed["score"].tolist() == [2.5, 2.0, 1.0]


def test_with_titles_refuses_a_frame_without_scores():
    with pytest.raises(DataError, match=r"ranked lacks column\(s\) \['score'\]"):
        recommendations.with_titles(
            pd.DataFrame({"movieId": [1], "rank": [1]}), pd.Series(dtype=str), pd.Series()
        )


def test_movie_id_matches_exact_titles_only():
    movies = pd.DataFrame(
        {"movieId": [5, 8, 13], "title": ["Matrix, The", "Matrix Reloaded, The", "Matrix, The"]}
    )
    assert recommendations.movie_id(movies, "Matrix, The") == 5  # the first of duplicates
    assert recommendations.movie_id(movies, "Matrix Reloaded, The") == 8
    assert isinstance(recommendations.movie_id(movies, "Matrix, The"), int)
    with pytest.raises(DataError, match="no movie titled 'Matrix'"):
        recommendations.movie_id(movies, "Matrix")


def test_side_by_side_lists_each_rule_as_the_model_ranks_it(fitted):
    model, frame, titles, counts = fitted
    newcomer = {int(counts.index[0]): 5.0, int(counts.index[1]): 1.0}
    rules = {
        "full": {"item_bias_weight": 1.0, "min_ratings": 0},
        "no bias": {"item_bias_weight": 0.0},
        "floor": {"min_ratings": 75},
        "default": {},
    }
    lists, table = recommendations.side_by_side(
        model, newcomer, rules, titles=titles, n_ratings=counts, n=5
    )
    assert list(lists) == list(rules) and list(table.columns) == list(rules)
    assert table.index.tolist() == [1, 2, 3, 4, 5] and table.index.name == "rank"
    for name, options in rules.items():
        expected = model.recommend_new_user(newcomer, n=5, **options)
        assert lists[name]["title"].tolist() == [titles[m] for m in expected["movieId"]]
        assert lists[name]["n_ratings"].tolist() == [counts[m] for m in expected["movieId"]]
        assert table[name].tolist() == [f"{titles[m]} ({counts[m]})" for m in expected["movieId"]]
    assert (lists["floor"]["n_ratings"] >= 75).all()
    assert (lists["full"]["n_ratings"] < 75).any()  # so the floor did change the list
    rated = {titles[m] for m in newcomer}  # the newcomer's own movies are never recommended
    assert not rated & set(lists["full"]["title"])


def test_side_by_side_leaves_short_lists_blank():
    model = ListModel({"new": [1, 2, 3]})
    titles = pd.Series({1: "A", 2: "B", 3: "C"})
    counts = pd.Series({1: 4, 2: 1, 3: 9})
    lists, table = recommendations.side_by_side(
        model, {9: 5.0}, {"all": {}, "two": {"min_ratings": 2}}, titles=titles, n_ratings=counts
    )
    assert table["all"].tolist() == ["A (4)", "B (1)", "C (9)"]
    assert model.calls == [("new", 10, {}), ("new", 10, {"min_ratings": 2})]
    assert len(lists["two"]) == 3


def test_popularity_by_hand():
    model = ListModel({"new": [1, 2, 3], 7: [1, 4, 5], 8: [2, 4, 6]})
    counts = pd.Series({1: 100, 2: 3, 3: 50, 4: 5, 5: 2})  # movie 6 was never rated: 0
    summary = recommendations.popularity(
        model, {"item_bias_weight": 0.5}, new_user={9: 4.0}, users=[7, 8], n_ratings=counts, n=3
    )
    assert summary == {
        "newcomer: median ratings": 50.0,  # 100, 3, 50
        "users: median ratings": 4.0,  # 100, 5, 2, 3, 5, 0
        "users: share with ≤ 5 ratings": pytest.approx(5 / 6),
    }
    assert all(options == {"item_bias_weight": 0.5} for _, _, options in model.calls)
    relaxed = recommendations.popularity(
        model, {}, new_user={9: 4.0}, users=[7, 8], n_ratings=counts, n=3, obscure=2
    )
    assert relaxed["users: share with ≤ 2 ratings"] == pytest.approx(2 / 6)


def test_popularity_agrees_with_the_model_lists(fitted):
    model, frame, titles, counts = fitted
    users = np.sort(frame["userId"].unique())[:5]
    newcomer = {int(counts.index[0]): 5.0}
    floored, free = (
        recommendations.popularity(
            model, options, new_user=newcomer, users=users, n_ratings=counts, n=4, obscure=74
        )
        for options in ({"min_ratings": 75}, {})
    )
    pooled = np.concatenate(
        [counts[model.recommend(u, n=4, min_ratings=75)["movieId"]].to_numpy() for u in users]
    )
    assert floored["users: median ratings"] == np.median(pooled)
    assert floored["users: share with ≤ 74 ratings"] == 0.0  # the floor keeps them out
    assert free["users: share with ≤ 74 ratings"] > 0.0
    assert floored["newcomer: median ratings"] >= 75


def test_popularity_needs_users():
    with pytest.raises(DataError, match="users is empty"):
        recommendations.popularity(
            ListModel({"new": [1]}), {}, new_user={1: 5.0}, users=[], n_ratings=pd.Series()
        )


def _movies(rows):
    return pd.DataFrame(rows, columns=["movieId", "title", "genres"])


def test_example_movies_prefer_titles_then_genre_then_popularity():
    movies = _movies(
        [
            (1, "Titanic", ["Drama"]),  # the 1953 film: fewer ratings
            (2, "Titanic", ["Romance"]),
            (3, "Star Wars", ["Sci-Fi"]),
            (4, "Love Story", ["Romance"]),
            (5, "Space Opera", ["Sci-Fi"]),
            (6, "Crowd Pleaser", ["Comedy"]),
            (7, "Unrated", ["Horror"]),
        ]
    )
    counts = pd.Series({1: 3, 2: 9, 3: 5, 4: 8, 5: 7, 6: 20})  # movie 7 has no rating
    slots = [
        recommendations.ExampleSlot(("Star Wars: Episode IV - A New Hope", "Star Wars"), "X", 5),
        recommendations.ExampleSlot(("Titanic",), "Romance", 1.5),
        recommendations.ExampleSlot(("Notebook, The",), "Romance", 1.0),
        recommendations.ExampleSlot(("Alien",), "Horror", 4.0),
    ]
    chosen = recommendations.example_movies(movies, counts, slots)
    assert chosen["movieId"].tolist() == [3, 2, 4, 6]
    assert chosen["chosen_by"].tolist() == ["title", "title", "genre", "popularity"]
    assert chosen["rating"].tolist() == [5.0, 1.5, 1.0, 4.0]
    assert chosen["n_ratings"].tolist() == [5, 9, 8, 20]
    with pytest.raises(DataError, match="5 slots but only 4 movies with at least 6 ratings"):
        recommendations.example_movies(movies, counts, [slots[0]] * 5, min_ratings=6)


def test_newcomer_taste_is_found_in_any_release():
    movies = _movies([(k, f"Movie {k}", ["Drama"]) for k in range(1, 9)])
    counts = pd.Series({k: k for k in range(1, 9)})
    chosen = recommendations.example_movies(movies, counts)
    assert len(chosen) == len(recommendations.NEWCOMER_TASTE)
    assert chosen["movieId"].tolist() == [8, 7, 6, 5, 4, 3]  # by popularity, no repeats
    assert set(chosen["chosen_by"]) == {"popularity"}


@pytest.mark.parametrize(
    ("title", "series"),
    [
        ("Lord of the Rings: The Fellowship of the Ring, The", "Lord of the Rings"),
        ("Matrix, The", "Matrix"),
        ("Fish Called Wanda, A", "Fish Called Wanda"),
        ("Toy Story", "Toy Story"),
    ],
)
def test_franchise_is_the_title_before_its_subtitle(title, series):
    assert recommendations.franchise(title) == series


def test_score_parts_split_the_ranking_score(fitted):
    model, frame, _, counts = fitted
    user = int(frame["userId"].iloc[0])
    ranked = model.recommend(user, n=5, item_bias_weight=0.5)
    vector = model.user_factors_[model.users_.to_index([user])[0]]
    parts = recommendations.score_parts(model, vector, ranked["movieId"], item_bias_weight=0.5)
    offset = model.global_mean_ + model.user_bias_[model.users_.to_index([user])[0]]
    np.testing.assert_allclose(
        offset + parts["bias_term"] + parts["vector_term"], ranked["score"], rtol=1e-5
    )
    listed = recommendations.listed_score_parts(
        model, [user], n_ratings=counts, n=5, item_bias_weight=0.5
    )
    np.testing.assert_allclose(listed["vector_term"], parts["vector_term"])
    assert listed["n_ratings"].tolist() == counts.reindex(ranked["movieId"]).tolist()
    with pytest.raises(DataError, match=r"movies \[-5\] are unknown to the model"):
        recommendations.score_parts(model, vector, [-5])
    with pytest.raises(DataError, match=r"user_vector has shape \(2,\); the model has K = 3"):
        recommendations.score_parts(model, vector[:2], ranked["movieId"])
