"""Small fitted models with made-up titles for the app's tests (no MovieLens data).

Ratings come from the package's planted-model generator; the most rated movies are given
titles that exercise the title search (articles filed at the end, accents, a year inside
the title, punctuation, two movies of the same name), the rest keep their synthetic names.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import numpy as np
import pandas as pd

from recsys_helpers.data.synthetic import make_movies, make_ratings
from recsys_helpers.models import BiasedMF

TITLES = [
    ("Matrix, The", 1999),
    ("Matrix Reloaded, The", 2003),
    ("Amélie (Fabuleux destin d'Amélie Poulain, Le)", 2001),
    ("2001: A Space Odyssey", 1968),
    ("Spider-Man", 2002),
    ("Heat", 1995),
    ("Heat", 1986),
    ("Café Society", 2016),
    ("Schindler's List", 1993),
    ("Toy Story", 1995),
]
"""Made-up catalogue entries given to the most rated movies, most rated first."""


def catalogue(n_items: int = 150, n_users: int = 120, n_ratings: int = 6000, seed: int = 0):
    """``(movies, ratings)``: synthetic ratings, the most rated movies titled from TITLES.

    ``movies`` lists two further movies nobody rated (they are unknown to a model).
    """
    movies = make_movies(n_items, random_state=seed)
    ratings, _ = make_ratings(
        n_users, n_ratings=n_ratings, movies=movies, n_factors=4, random_state=seed
    )
    popular = ratings["movieId"].value_counts().index[: len(TITLES)]
    movies = movies.set_index("movieId")
    for movie_id, (title, year) in zip(popular, TITLES, strict=True):
        movies.loc[movie_id, ["title", "year"]] = [title, year]
    movies = movies.reset_index()
    movies["title"] = [
        t.rsplit(" (", 1)[0] if t.startswith("Synthetic") else t for t in movies["title"]
    ]
    unrated = pd.DataFrame(
        {
            "movieId": [9_000_001, 9_000_002],
            "title": ["Never Rated", "Also Never Rated"],
            "year": [2020, 2021],
            "genres": [["Drama"], []],
        }
    )
    return pd.concat([movies, unrated], ignore_index=True), ratings


def fitted(n_factors: int = 6, seed: int = 0):
    """``(model, movies, ratings)`` with a BiasedMF fitted to convergence on :func:`catalogue`."""
    movies, ratings = catalogue(seed=seed)
    model = BiasedMF(n_factors=n_factors, reg=2.0, n_iter=40, tol=1e-6, random_state=seed)
    return model.fit(ratings), movies, ratings


def movie_id(movies: pd.DataFrame, title: str, year: int | None = None) -> int:
    """The movieId of a made-up title (and year)."""
    rows = movies[movies["title"] == title]
    if year is not None:
        rows = rows[rows["year"] == year]
    return int(np.asarray(rows["movieId"])[0])


@contextlib.contextmanager
def live_server(app, *, timeout: float = 30.0):
    """Serve ``app`` with uvicorn on 127.0.0.1 at a free port, in a thread; yields the URL.

    The socket is bound before the server starts (no race for the port); start and stop
    are each bounded by ``timeout`` seconds.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
