"""The web API through FastAPI's test client: every endpoint, every kind of bad request.

The answers are checked against the model's own methods (``recommend_new_user``,
``recommend``) and plain cosine loops, so the app cannot drift into maths of its own.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from _app_fixtures import fitted, movie_id
from fastapi.testclient import TestClient

from recsys_helpers.app.server import STATIC_DIR, create_app
from recsys_helpers.app.service import Limits
from recsys_helpers.errors import DataError
from recsys_helpers.models import BiasedMF, BiasOnly


@pytest.fixture(scope="module")
def served():
    model, movies, ratings = fitted()
    app = create_app(
        model, movies, ratings=ratings, dataset="synthetic", limits=Limits(max_ratings=20)
    )
    return TestClient(app), model, movies, ratings


@pytest.fixture(scope="module")
def client(served):
    return served[0]


def the_error(response, status: int) -> dict:
    """The single error entry of a refused request (checking the shape of the body)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and len(body["detail"]) >= 1
    entry = body["detail"][0]
    assert set(entry) == {"loc", "msg", "type"}
    return entry


def cos(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# ------------------------------------------------------------------------------ health
def test_health_reports_the_served_model(served):
    client, model, _, _ = served
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "BiasedMF"
    assert body["n_factors"] == 6
    assert body["n_users"] == len(model.users_)
    assert body["n_movies"] == len(model.items_)
    assert body["n_titles"] == len(model.items_)  # every rated movie has a title
    assert body["n_ratings"] == int(model.item_counts_.sum())
    assert body["rating_range"] == list(model.rating_range_)
    assert body["user_ids"] == [int(model.users_.ids.min()), int(model.users_.ids.max())]
    assert body["dataset"] == "synthetic"
    assert body["limits"]["max_ratings"] == 20


# ------------------------------------------------------------------------------ search
def test_search_finds_titles_in_any_case_with_or_without_accents(served):
    client, _, movies, _ = served
    amelie = movie_id(movies, "Amélie (Fabuleux destin d'Amélie Poulain, Le)")
    for q in ("amelie", "AMÉLIE", "amél"):
        items = client.get("/api/movies", params={"q": q}).json()["items"]
        assert [i["movieId"] for i in items] == [amelie], q
    item = items[0]
    assert item["year"] == 2001 and isinstance(item["genres"], list)
    assert item["n_ratings"] > 0 and item["match"] == "prefix"


def test_search_year_is_optional_and_narrows(served):
    client, _, movies, _ = served
    both = client.get("/api/movies", params={"q": "heat"}).json()["items"]
    assert {(i["title"], i["year"]) for i in both} == {("Heat", 1995), ("Heat", 1986)}
    assert [i["n_ratings"] for i in both] == sorted((i["n_ratings"] for i in both), reverse=True)
    one = client.get("/api/movies", params={"q": "heat 1986"}).json()["items"]
    assert [i["movieId"] for i in one] == [movie_id(movies, "Heat", 1986)]


def test_search_leaves_out_movies_the_model_does_not_know(client):
    assert client.get("/api/movies", params={"q": "never rated"}).json()["items"] == []


def test_search_limit(client):
    assert (
        len(client.get("/api/movies", params={"q": "synthetic", "limit": 3}).json()["items"]) == 3
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "heat", "limit": 0}, "limit"),
        ({"q": "heat", "limit": 51}, "limit"),
        ({"q": "heat", "limit": "many"}, "limit"),
    ],
)
def test_search_refuses_bad_queries_naming_the_field(client, params, field):
    entry = the_error(client.get("/api/movies", params=params), 422)
    assert entry["loc"] == ["query", field]


# ------------------------------------------------------------------------------ new user
def test_recommendations_are_the_models_fold_in_and_ranking(served):
    client, model, movies, _ = served
    rated = {movie_id(movies, "Matrix, The"): 5.0, movie_id(movies, "Heat", 1995): 1.5}
    body = client.post(
        "/api/recommendations",
        json={"ratings": {str(k): v for k, v in rated.items()}, "n": 7},
    ).json()
    expected = model.recommend_new_user(rated, n=7)
    items = body["items"]
    assert body["n_rated"] == 2
    assert [i["movieId"] for i in items] == expected["movieId"].tolist()
    np.testing.assert_allclose([i["score"] for i in items], expected["score"])
    assert [i["rank"] for i in items] == list(range(1, 8))
    low, high = model.rating_range_
    for item in items:
        assert item["predicted"] == pytest.approx(min(max(item["score"], low), high))
        assert item["std"] is None
        assert item["movieId"] not in rated
        assert {"title", "year", "genres", "n_ratings"} <= set(item)


def test_because_is_the_closest_liked_rated_movie(served):
    client, model, movies, _ = served
    rated = {
        movie_id(movies, "Matrix, The"): 5.0,
        movie_id(movies, "Toy Story"): 4.5,
        movie_id(movies, "Spider-Man"): 4.0,
        movie_id(movies, "Heat", 1995): 0.5,  # below μ: never an explanation
    }
    body = client.post(
        "/api/recommendations", json={"ratings": {str(k): v for k, v in rated.items()}}
    ).json()
    liked = [m for m, s in rated.items() if s >= model.global_mean_]
    vectors = {m: model.item_factors_[model.items_.to_index(np.array([m]))[0]] for m in liked}
    for item in body["items"]:
        v = model.item_factors_[model.items_.to_index(np.array([item["movieId"]]))[0]]
        sims = {m: cos(v, w) for m, w in vectors.items()}
        best = max(sims, key=sims.get)
        assert item["because"]["movieId"] == best
        assert item["because"]["similarity"] == pytest.approx(sims[best], rel=1e-5)
        assert item["because"]["rating"] == rated[best]


def test_popularity_floor_exclusions_and_no_ratings(served):
    client, model, _, _ = served
    floor = int(np.percentile(model.item_counts_, 75))
    body = client.post("/api/recommendations", json={"min_ratings": floor, "n": 20}).json()
    assert body["n_rated"] == 0
    assert all(i["n_ratings"] >= floor and i["because"] is None for i in body["items"])
    expected = model.recommend_prior(n=20, min_ratings=floor)
    assert [i["movieId"] for i in body["items"]] == expected["movieId"].tolist()
    first = body["items"][0]["movieId"]
    again = client.post(
        "/api/recommendations", json={"min_ratings": floor, "exclude": [first, 123456789]}
    ).json()
    assert first not in [i["movieId"] for i in again["items"]]


def test_a_models_predictive_spread_is_passed_through(served):
    _, _, movies, ratings = served

    class WithSpread(BiasedMF):
        def _item_scores(self, state, item_bias_weight):
            scores, extra = super()._item_scores(state, item_bias_weight)
            return scores, {**extra, "std": 0.1 + np.arange(len(scores)) / len(scores)}

    model = WithSpread(n_factors=3, n_iter=5, tol=None).fit(ratings)
    client = TestClient(create_app(model, movies))
    rated = {str(movie_id(movies, "Matrix, The")): 4.0}
    items = client.post("/api/recommendations", json={"ratings": rated, "n": 5}).json()["items"]
    expected = model.recommend_new_user({int(k): v for k, v in rated.items()}, n=5)
    np.testing.assert_allclose([i["std"] for i in items], expected["std"])


# ------------------------------------------------------------------------------ bad bodies
@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"ratings": {"123456789": 4}}, ["body", "ratings", "123456789"], "value_error"),
        (
            {"ratings": {"9000001": 4}},
            ["body", "ratings", "9000001"],
            "value_error",
        ),  # titled, unrated
        ({"ratings": {"MATRIX": 5}}, ["body", "ratings", "MATRIX", "[key]"], "int_parsing"),
        ({"n": 0}, ["body", "n"], "greater_than_equal"),
        ({"n": 101}, ["body", "n"], "less_than_equal"),
        ({"n": "5"}, ["body", "n"], "int_type"),
        ({"n": 2.5}, ["body", "n"], "int_type"),
        ({"n": True}, ["body", "n"], "int_type"),
        ({"min_ratings": -1}, ["body", "min_ratings"], "greater_than_equal"),
        ({"exclude": ["a"]}, ["body", "exclude", 0], "int_type"),
        ({"exclude": list(range(1001))}, ["body", "exclude"], "too_long"),
        ({"rating": {}}, ["body", "rating"], "extra_forbidden"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(client, body, loc, kind):
    entry = the_error(client.post("/api/recommendations", json=body), 422)
    assert entry["loc"] == loc
    assert entry["type"] == kind


def test_stars_off_the_scale_are_refused(served):
    client, model, movies, _ = served
    low, high = model.rating_range_
    key = str(movie_id(movies, "Matrix, The"))
    for stars, kind in ((high + 0.5, "less_than_equal"), (low - 0.5, "greater_than_equal")):
        entry = the_error(client.post("/api/recommendations", json={"ratings": {key: stars}}), 422)
        assert entry["loc"] == ["body", "ratings", key] and entry["type"] == kind
    for stars in ("4", None, [4]):
        entry = the_error(client.post("/api/recommendations", json={"ratings": {key: stars}}), 422)
        assert entry["loc"][:3] == ["body", "ratings", key]
    nan = client.post(
        "/api/recommendations",
        content=f'{{"ratings": {{"{key}": NaN}}}}',
        headers={"content-type": "application/json"},
    )
    assert the_error(nan, 422)["loc"] == ["body", "ratings", key]


def test_too_many_ratings_are_refused(served):
    client, model, _, _ = served
    many = {str(m): 3.0 for m in model.items_.ids[:21]}
    entry = the_error(client.post("/api/recommendations", json={"ratings": many}), 422)
    assert entry["loc"] == ["body", "ratings"] and entry["type"] == "too_long"


@pytest.mark.parametrize(
    "content", [b"{", b"not json", b'{"ratings": {"1": 5}', b"", b"[1, 2]", b'"text"']
)
def test_malformed_json_is_refused(client, content):
    response = client.post(
        "/api/recommendations", content=content, headers={"content-type": "application/json"}
    )
    entry = the_error(response, 422)
    assert entry["loc"][0] == "body"


def test_request_size_is_bounded(client):
    big = b'{"ratings": {}, "exclude": [' + b"1, " * 30_000 + b"1]}"
    declared = client.post(
        "/api/recommendations", content=big, headers={"content-type": "application/json"}
    )
    assert the_error(declared, 413)["loc"] == ["body"]

    def chunks():  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = client.post(
        "/api/recommendations", content=chunks(), headers={"content-type": "application/json"}
    )
    assert the_error(streamed, 413)["loc"] == ["body"]
    assert client.get("/api/health").status_code == 200


def test_nothing_a_client_sends_is_stored(served):
    client, model, movies, _ = served
    before = {
        name: getattr(model, name).copy()
        for name in ("item_factors_", "user_factors_", "item_bias_")
    }
    first = client.post("/api/recommendations", json={}).json()
    key = str(movie_id(movies, "Matrix, The"))
    client.post("/api/recommendations", json={"ratings": {key: 5.0}})
    assert client.post("/api/recommendations", json={}).json() == first
    for name, array in before.items():
        np.testing.assert_array_equal(getattr(model, name), array)
    assert len(model.users_) == client.get("/api/health").json()["n_users"]


# ------------------------------------------------------------------------------ users
def test_a_training_users_list_and_history(served):
    client, model, _, ratings = served
    user = int(model.users_.ids[3])
    body = client.get(
        f"/api/users/{user}/recommendations", params={"n": 5, "min_ratings": 2}
    ).json()
    expected = model.recommend(user, n=5, min_ratings=2)
    assert body["userId"] == user
    assert [i["movieId"] for i in body["items"]] == expected["movieId"].tolist()
    np.testing.assert_allclose([i["score"] for i in body["items"]], expected["score"])
    mine = ratings[ratings["userId"] == user].set_index("movieId")["rating"]
    assert body["n_history"] == len(mine)
    assert {h["movieId"] for h in body["history"]} <= set(mine.index)
    stars = [h["rating"] for h in body["history"]]
    assert stars == sorted(stars, reverse=True)
    for h in body["history"]:
        assert h["rating"] == pytest.approx(mine[h["movieId"]])
    seen = set(mine.index)
    assert all(i["because"]["movieId"] in seen for i in body["items"] if i["because"])


@pytest.mark.parametrize(
    ("path", "status", "loc"),
    [
        ("/api/users/987654321/recommendations", 404, ["path", "userId"]),
        ("/api/users/abc/recommendations", 422, ["path", "userId"]),
        ("/api/users/{user}/recommendations?n=0", 422, ["query", "n"]),
        ("/api/users/{user}/recommendations?n=101", 422, ["query", "n"]),
        ("/api/users/{user}/recommendations?min_ratings=-2", 422, ["query", "min_ratings"]),
    ],
)
def test_bad_user_requests(served, path, status, loc):
    client, model, _, _ = served
    response = client.get(path.format(user=int(model.users_.ids[0])))
    assert the_error(response, status)["loc"] == loc


# ------------------------------------------------------------------------------ similar
def test_similar_movies_are_the_nearest_by_cosine(served):
    client, model, movies, _ = served
    target = movie_id(movies, "Matrix, The")
    body = client.get(f"/api/movies/{target}/similar", params={"n": 4}).json()
    assert body["movie"]["movieId"] == target and body["movie"]["title"] == "Matrix, The"
    row = model.items_.to_index(np.array([target]))[0]
    v = model.item_factors_[row]
    sims = {
        int(m): cos(v, w)
        for m, w in zip(model.items_.ids, model.item_factors_, strict=True)
        if m != target
    }
    best = sorted(sims, key=lambda m: -sims[m])[:4]
    assert [i["movieId"] for i in body["items"]] == best
    assert [i["similarity"] for i in body["items"]] == pytest.approx(
        [sims[m] for m in best], rel=1e-5
    )


def test_similar_movies_of_an_unknown_movie_and_bad_n(client):
    assert the_error(client.get("/api/movies/123456789/similar"), 404)["loc"] == ["path", "movieId"]
    assert the_error(client.get("/api/movies/1.5/similar"), 422)["loc"] == ["path", "movieId"]
    assert the_error(client.get("/api/movies/1/similar?n=-1"), 422)["loc"] == ["query", "n"]


def test_a_model_without_vectors_serves_lists_without_neighbours(served):
    _, _, movies, ratings = served
    model = BiasOnly().fit(ratings)
    client = TestClient(create_app(model, movies))
    assert client.get("/api/health").json()["n_factors"] == 0
    key = movie_id(movies, "Matrix, The")
    items = client.post("/api/recommendations", json={"ratings": {str(key): 5}}).json()["items"]
    assert len(items) == 10 and all(i["because"] is None for i in items)
    assert client.get(f"/api/movies/{key}/similar").json()["items"] == []


# ------------------------------------------------------------------------------ the rest
def test_the_page_and_its_files_are_served_and_fetch_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<label for="search">' in page.text
    for name in ("index.html", "style.css", "app.js"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), name
        if name != "index.html":
            assert client.get(f"/static/{name}").status_code == 200


def test_openapi_page_is_served_locally_and_documents_every_endpoint(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    scripts = re.findall(r'src="([^"]+)"', docs.text)
    assert scripts and all(s.startswith("/") for s in scripts)
    assert all(client.get(s).status_code == 200 for s in scripts)
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/health",
        "/api/movies",
        "/api/recommendations",
        "/api/users/{userId}/recommendations",
        "/api/movies/{movieId}/similar",
    }
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RecommendationRequest"]
    assert schema["properties"]["n"]["maximum"] == 100


def test_an_unexpected_error_is_a_500_and_the_server_goes_on(served, monkeypatch):
    _, model, movies, _ = served
    app = create_app(model, movies)

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.recommender, "health", broken)
    client = TestClient(app, raise_server_exceptions=False)
    entry = the_error(client.get("/api/health"), 500)
    assert "boom" not in entry["msg"]
    assert client.get("/api/movies", params={"q": "heat"}).status_code == 200


def test_a_refusal_by_the_model_itself_is_a_422(served, monkeypatch):
    _, model, movies, _ = served
    app = create_app(model, movies)

    def refuse(*args, **kwargs):
        raise DataError("the model refuses this")

    monkeypatch.setattr(app.state.recommender.model, "recommend_new_user", refuse)
    rated = {str(int(model.items_.ids[0])): 4.0}
    response = TestClient(app).post("/api/recommendations", json={"ratings": rated})
    entry = the_error(response, 422)
    assert entry == {"loc": ["body"], "msg": "the model refuses this", "type": "value_error"}


def test_unknown_routes_answer_404_json(client):
    assert the_error(client.get("/api/nothing"), 404)["loc"] == ["path"]


def test_serving_something_that_is_not_a_factor_model_is_refused(served):
    _, _, movies, _ = served
    with pytest.raises(ValueError, match="cannot be served"):
        create_app(object(), movies)


def test_no_titles_still_serves_ids(served):
    _, model, _, _ = served
    client = TestClient(create_app(model, pd.DataFrame({"movieId": [], "title": []})))
    items = client.post("/api/recommendations", json={}).json()["items"]
    assert items and all(i["title"] is None for i in items)
    assert math.isfinite(items[0]["score"])
