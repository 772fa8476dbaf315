"""What the web app and the notebook panel answer, without any web framework.

:class:`Recommender` holds a fitted model and its movie titles and answers in plain JSON
values (dicts, lists, numbers, strings, None). Every number comes from the package's
own code: the fold-in and ranking of
:meth:`~recsys_helpers.models.base.FactorModel.recommend_new_user` and
:meth:`~recsys_helpers.models.base.FactorModel.recommend`, the neighbours of
:mod:`recsys_helpers.models.similarity` and the title search of
:mod:`recsys_helpers.data.titles`. Nothing a caller sends is kept.

Each recommended item carries

* ``score``: the ranking score ``s_ui = μ + b_u + b_i + U_u·V_i``
  (:func:`recsys_helpers.models.ranking.ranking_scores`, ``w = 1``), i.e. ``r̂_ui``;
* ``predicted``: that score clipped to the model's rating scale (``rating_range_``), the
  stars shown;
* ``std``: the predictive spread when the model reports one (a ``std`` column of its
  ranked lists), else None;
* ``because``: the rated movie whose vector is closest by cosine
  (:func:`recsys_helpers.models.similarity.closest_rated`), among the movies rated at or
  above the training mean ``μ`` when their stars are known (explaining a recommendation by
  a movie the person disliked would mislead; all rated movies when none is), or None.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from recsys_helpers.data.titles import TitleSearch, movie_catalogue
from recsys_helpers.errors import DataError
from recsys_helpers.models import similarity

__all__ = ["InputError", "Limits", "Recommender"]

logger = logging.getLogger(__name__)

SPREAD_COLUMN = "std"
"""Column of a model's ranked list holding the predictive spread, passed through."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for.

    Attributes
    ----------
    max_ratings : int
        Ratings a new user may give.
    max_n : int
        Longest list returned.
    max_exclude : int
        Movies a request may exclude.
    max_query : int
        Characters of a title query.
    max_search : int
        Most search results.
    max_history : int
        Ratings of an existing user shown.
    max_body_bytes : int
        Size of a request body (enforced by the server).
    """

    max_ratings: int = 500
    max_n: int = 100
    max_exclude: int = 1000
    max_query: int = 200
    max_search: int = 50
    max_history: int = 50
    max_body_bytes: int = 64 * 1024


class InputError(DataError):
    """A request refused for its content; ``location`` names the offending field.

    Parameters
    ----------
    location : tuple of str or int
        Path to the field, e.g. ``("body", "ratings", "99999")`` or ``("path", "movieId")``.
    message : str
    not_found : bool, default False
        True when the request names a user or movie that does not exist (HTTP 404);
        otherwise the content is invalid (HTTP 422).
    """

    def __init__(self, location: Sequence, message: str, *, not_found: bool = False) -> None:
        super().__init__(f"{'.'.join(map(str, location))}: {message}")
        self.location = tuple(location)
        self.message = message
        self.not_found = not_found


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _liked(rated_ids: np.ndarray, stars: Mapping[int, float], mean: float) -> np.ndarray:
    """The movies that may explain a recommendation: those rated at or above ``mean``
    (the training mean ``μ``) when their stars are known, for a movie the person disliked
    explains nothing; every rated movie when none qualifies or stars are unknown."""
    if len(rated_ids) == 0 or any(int(m) not in stars for m in rated_ids):
        return rated_ids
    liked = np.array([stars[int(m)] >= mean for m in rated_ids])
    return rated_ids[liked] if liked.any() else rated_ids


class Recommender:
    """A fitted factor model and its movie titles, answering as the app needs.

    Parameters
    ----------
    model : fitted :class:`~recsys_helpers.models.base.FactorModel`
        Anything with ``recommend``, ``recommend_new_user``, ``seen_items``, ``items_``,
        ``item_counts_``, ``item_factors_`` and ``rating_range_``.
    movies : DataFrame
        ``movieId`` and ``title`` (optionally ``year`` and ``genres``), see
        :func:`recsys_helpers.data.titles.movie_catalogue`. Only the movies the model
        knows can be searched and rated.
    ratings : DataFrame, optional
        ``userId``, ``movieId``, ``rating``: the stars shown in an existing user's history
        (without it the history lists the movies without stars).
    dataset : str, optional
        Where the titles come from, reported by :meth:`health`.
    limits : Limits, optional

    Raises
    ------
    DataError
        ``model`` is not a fitted factor model, or ``movies`` lacks a column.
    """

    def __init__(
        self,
        model,
        movies: pd.DataFrame,
        *,
        ratings: pd.DataFrame | None = None,
        dataset: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        needed = ("recommend_new_user", "seen_items", "item_factors_", "rating_range_")
        missing = [name for name in needed if not hasattr(model, name)]
        if missing:
            raise DataError(
                f"{type(model).__name__} cannot be served: it lacks {', '.join(missing)} "
                "(serve a fitted BiasedMF, BiasOnly or HybridMF)"
            )
        self.model = model
        self.limits = limits or Limits()
        self.dataset = dataset
        self.low, self.high = (float(v) for v in model.rating_range_)
        self._known = model.items_.ids
        counts = pd.Series(np.asarray(model.item_counts_, dtype=np.int64), index=self._known)
        catalogue = movie_catalogue(movies)
        titled = catalogue["movieId"].isin(self._known).to_numpy()
        self.titles = TitleSearch(catalogue[titled], counts)
        self._movies = self._records(catalogue, counts)
        self._ratings = self._ratings_index(ratings)

    # ------------------------------------------------------------------ look-ups
    def _records(self, catalogue: pd.DataFrame, counts: pd.Series) -> dict[int, dict]:
        """movieId -> the movie's JSON record, for every movie the model knows (movies
        without a title get ``None`` and no genres)."""
        known = catalogue.set_index("movieId").reindex(counts.index)
        records = {}
        columns = (known["title"], known["year"], known["genres"])
        for movie_id, count, title, year, genres in zip(
            counts.index, counts, *columns, strict=True
        ):
            titled = isinstance(title, str)
            records[int(movie_id)] = {
                "movieId": int(movie_id),
                "title": title if titled else None,
                "year": None if pd.isna(year) else int(year),
                "genres": list(genres) if titled else [],
                "n_ratings": int(count),
            }
        return records

    @staticmethod
    def _ratings_index(ratings: pd.DataFrame | None):
        if ratings is None:
            return None
        frame = ratings[["userId", "movieId", "rating"]]
        return frame.set_index(["userId", "movieId"])["rating"].sort_index()

    def movie(self, movie_id: int) -> dict:
        """The record of a movie the model knows (``movieId``, ``title``, ``year``,
        ``genres``, ``n_ratings``); :class:`InputError` (not found) otherwise."""
        record = self._movies.get(int(movie_id))
        if record is None:
            raise InputError(
                ("path", "movieId"), f"movie {movie_id} is not in the model", not_found=True
            )
        return dict(record)

    # ------------------------------------------------------------------ answers
    def health(self) -> dict:
        """Model class, ``K``, counts, rating scale, dataset and request limits."""
        model = self.model
        return {
            "status": "ok",
            "model": type(model).__name__,
            "n_factors": int(np.asarray(model.item_factors_).shape[1]),
            "n_users": len(model.users_),
            "n_movies": len(self._known),
            "n_titles": len(self.titles),
            "n_ratings": int(np.sum(model.item_counts_)),
            "rating_range": [self.low, self.high],
            "user_ids": [int(model.users_.ids.min()), int(model.users_.ids.max())],
            "dataset": self.dataset,
            "limits": asdict(self.limits),
        }

    def search(self, query: str, limit: int = 10) -> list[dict]:
        """Movies whose titles match ``query`` (:meth:`TitleSearch.search`), best first."""
        found = self.titles.search(query, limit)
        pairs = zip(found["movieId"], found["match"], strict=True)
        return [dict(self._movies[int(movie_id)], match=tier) for movie_id, tier in pairs]

    def check_ratings(self, ratings: Mapping[int, float]) -> dict[int, float]:
        """``ratings`` as ``{movieId: stars}``, refusing unknown movies and stars off the scale.

        Raises
        ------
        InputError
            Naming the first offending movie (``("body", "ratings", movieId)``), or too
            many ratings.
        """
        if len(ratings) > self.limits.max_ratings:
            raise InputError(
                ("body", "ratings"),
                f"{len(ratings)} ratings; at most {self.limits.max_ratings} are accepted",
            )
        checked = {}
        for movie_id, stars in ratings.items():
            if int(movie_id) not in self._movies:
                raise InputError(
                    ("body", "ratings", str(movie_id)), f"movie {movie_id} is not in the model"
                )
            if not (math.isfinite(stars) and self.low <= stars <= self.high):
                raise InputError(
                    ("body", "ratings", str(movie_id)),
                    f"{stars} stars is outside the scale {self.low:g} to {self.high:g}",
                )
            checked[int(movie_id)] = float(stars)
        return checked

    def _items(self, ranked: pd.DataFrame, rated_ids, stars: Mapping[int, float]) -> list[dict]:
        """JSON items of a ranked list, each with its closest rated movie."""
        movie_ids = ranked["movieId"].to_numpy()
        rated_ids = _liked(
            np.asarray(list(rated_ids), dtype=np.int64), stars, float(self.model.global_mean_)
        )
        model = self.model
        position, cosine = similarity.closest_rated(
            model.item_factors_,
            model.items_.to_index(movie_ids),
            model.items_.to_index(rated_ids),
        )
        scores = ranked["score"].to_numpy(dtype=np.float64)
        predicted = np.clip(scores, self.low, self.high)
        spread = ranked[SPREAD_COLUMN].to_numpy() if SPREAD_COLUMN in ranked else None
        items = []
        for k, movie_id in enumerate(movie_ids):
            because = None
            if position[k] >= 0:
                source = int(rated_ids[position[k]])
                because = {key: self._movies[source][key] for key in ("movieId", "title", "year")}
                because["similarity"] = float(cosine[k])
                because["rating"] = stars.get(source)
            items.append(
                dict(
                    self._movies[int(movie_id)],
                    rank=k + 1,
                    score=float(scores[k]),
                    predicted=float(predicted[k]),
                    std=None if spread is None else _finite(spread[k]),
                    because=because,
                )
            )
        return items

    def recommend_new_user(
        self,
        ratings: Mapping[int, float],
        *,
        n: int = 10,
        min_ratings: int = 0,
        exclude: Sequence[int] = (),
    ) -> dict:
        """Top-``n`` for a person described by ``{movieId: stars}``, folded in, not stored.

        Parameters
        ----------
        ratings : mapping of movieId to stars
            Movies the model knows, stars within ``rating_range_``; may be empty (then
            the list is ``μ + b_i``, the same for everyone).
        n : int, default 10
        min_ratings : int, default 0
            Popularity floor (training ratings per movie).
        exclude : sequence of movieId
            Further movies to leave out; ids the model does not know are ignored.

        Returns
        -------
        dict
            ``items`` (see the module docstring) and ``n_rated``.
        """
        checked = self.check_ratings(ratings)
        if checked:
            ranked = self.model.recommend_new_user(
                checked, n=n, min_ratings=min_ratings, exclude=list(exclude)
            )
        else:  # nothing rated yet: the prior-mean user's list, the same for everyone
            ranked = self.model.recommend_prior(n=n, min_ratings=min_ratings, exclude=list(exclude))
        return {"items": self._items(ranked, checked.keys(), checked), "n_rated": len(checked)}

    def _check_user(self, user_id: int) -> None:
        if self.model.users_.to_index(np.asarray([user_id]))[0] < 0:
            raise InputError(
                ("path", "userId"), f"user {user_id} is not in the model", not_found=True
            )

    def _stars_of(self, user_id: int) -> dict[int, float]:
        """``{movieId: stars}`` of a user in ``ratings`` (empty without ``ratings``)."""
        if self._ratings is None:
            return {}
        try:
            given = self._ratings.loc[user_id]
        except KeyError:
            return {}
        return {int(m): float(r) for m, r in given.items()}

    def recommend_user(self, user_id: int, *, n: int = 10, min_ratings: int = 0) -> dict:
        """Top-``n`` for a user of the training data, with the movies they rated.

        Returns
        -------
        dict
            ``userId``; ``items``, each explained by the closest movie the user rated in
            training; ``history``, those movies (records with ``rating``, the stars from
            ``ratings`` or None), best rated first, at most ``max_history``; and
            ``n_history``, how many there are.
        """
        self._check_user(user_id)
        seen = self.model.seen_items(user_id)
        stars = self._stars_of(user_id)
        history = sorted(
            (dict(self._movies[int(m)], rating=stars.get(int(m))) for m in seen),
            key=lambda h: (-(h["rating"] or -math.inf), h["title"] or "", h["movieId"]),
        )
        ranked = self.model.recommend(user_id, n=n, min_ratings=min_ratings)
        return {
            "userId": int(user_id),
            "items": self._items(ranked, seen, stars),
            "history": history[: self.limits.max_history],
            "n_history": len(seen),
        }

    def similar(self, movie_id: int, *, n: int = 10, min_ratings: int = 0) -> dict:
        """The ``n`` movies nearest to ``movie_id`` by cosine of their vectors.

        Returns
        -------
        dict
            ``movie`` (its record) and ``items`` (records with ``rank`` and
            ``similarity``); no items when the movie's vector is zero.
        """
        movie = self.movie(movie_id)
        model = self.model
        row = int(model.items_.to_index(np.asarray([movie_id]))[0])
        rows, cosines = similarity.nearest_items(
            model.item_factors_,
            row,
            n,
            item_counts=model.item_counts_,
            min_ratings=min_ratings,
        )
        items = [
            dict(self._movies[int(m)], rank=k + 1, similarity=float(c))
            for k, (m, c) in enumerate(zip(model.items_.to_ids(rows), cosines, strict=True))
        ]
        return {"movie": movie, "items": items}
