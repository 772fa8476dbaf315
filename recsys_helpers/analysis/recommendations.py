r"""Recommendation lists made readable, and how popular the recommended movies are.

Notebook 07 ranks movies for existing and new users under several ranking rules (the
keyword options ``item_bias_weight`` and ``min_ratings`` of
:meth:`~recsys_helpers.models.base.FactorModel.recommend` and
:meth:`~recsys_helpers.models.base.FactorModel.recommend_new_user`, whose score is
:math:`s_{ui} = \mu + b_u + w\, b_i + U_u \cdot V_i`,
:func:`recsys_helpers.models.ranking.ranking_scores`). The functions here put titles and
rating counts on those lists (:func:`with_titles`), find a movie by its title
(:func:`movie_id`), choose example movies that every release has (:func:`example_movies`,
:func:`franchise`), lay the lists of several rules side by side (:func:`side_by_side`),
summarise how many ratings the recommended movies have (:func:`popularity`) and split a
listed movie's score into its bias and vector terms (:func:`score_parts`): a list full of
movies rated once or twice is the symptom of a large, poorly supported movie bias
:math:`b_i` or of a barely regularised vector :math:`V_i`, and the split tells which.

A model here is any fitted estimator with those two methods, each returning a frame with
``movieId``, ``score`` and ``rank`` (1 = best), best first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from recsys_helpers.errors import DataError

__all__ = [
    "NEWCOMER_TASTE",
    "ExampleSlot",
    "example_movies",
    "franchise",
    "listed_score_parts",
    "movie_id",
    "popularity",
    "score_parts",
    "side_by_side",
    "with_titles",
]

LIST_COLUMNS = ("rank", "title", "n_ratings", "score")
"""Columns of :func:`with_titles`' result, in order."""


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def with_titles(ranked: pd.DataFrame, titles: pd.Series, n_ratings: pd.Series) -> pd.DataFrame:
    """A ranked list with each movie's title and number of ratings.

    Parameters
    ----------
    ranked : DataFrame, one row per recommended movie
        ``movieId``, ``score`` and ``rank``, as ``recommend`` returns them.
    titles : Series of str, indexed by movieId
        Title of each movie (e.g. ``movies.set_index("movieId")["title"]``); a movie
        missing from it gets a missing title.
    n_ratings : Series of int, indexed by movieId
        Ratings per movie (e.g. ``ratings["movieId"].value_counts()``); a movie missing
        from it has 0.

    Returns
    -------
    DataFrame, same rows and order as ``ranked``
        Columns ``rank``, ``title``, ``n_ratings`` (int64) and ``score`` (:data:`LIST_COLUMNS`).

    Raises
    ------
    DataError
        ``ranked`` lacks one of its three columns.
    """
    _require_columns(ranked, ("movieId", "score", "rank"), "ranked")
    return ranked.assign(
        title=ranked["movieId"].map(titles),
        n_ratings=ranked["movieId"].map(n_ratings).fillna(0).astype(np.int64),
    )[list(LIST_COLUMNS)]


def movie_id(movies: pd.DataFrame, title: str) -> int:
    """The ``movieId`` of the first movie whose title is exactly ``title``.

    Parameters
    ----------
    movies : DataFrame
        ``movieId`` and ``title`` (the release's titles, without the year).
    title : str
        Exact title, e.g. ``"Matrix, The"``.

    Returns
    -------
    int

    Raises
    ------
    DataError
        No movie has that title, or ``movies`` lacks a column.
    """
    _require_columns(movies, ("movieId", "title"), "movies")
    matches = movies.loc[movies["title"] == title, "movieId"]
    if matches.empty:
        raise DataError(f"movie_id: no movie titled {title!r}")
    return int(matches.iloc[0])


class ExampleSlot(NamedTuple):
    """One movie of an example user's ratings (:func:`example_movies`).

    Attributes
    ----------
    titles : tuple of str
        Preferred titles, as the releases write them (without the year), first found wins.
    genre : str
        Fall-back: the most rated movie of this genre not chosen yet.
    rating : float
        The stars the example user gives it.
    """

    titles: tuple[str, ...]
    genre: str
    rating: float


NEWCOMER_TASTE: tuple[ExampleSlot, ...] = (
    ExampleSlot(("Lord of the Rings: The Fellowship of the Ring, The",), "Fantasy", 5.0),
    ExampleSlot(("Star Wars: Episode IV - A New Hope", "Star Wars"), "Sci-Fi", 5.0),
    ExampleSlot(("Matrix, The",), "Sci-Fi", 4.5),
    ExampleSlot(("Alien",), "Horror", 4.0),
    ExampleSlot(("Notebook, The",), "Romance", 1.0),
    ExampleSlot(("Titanic",), "Romance", 1.5),
)
"""A newcomer who loves fantasy and science fiction and dislikes romance (notebook 07).

ml-100k names Star Wars without its episode and predates the later titles; the genre
fall-backs stand in for any title a release lacks."""


def example_movies(
    movies: pd.DataFrame,
    n_ratings: pd.Series,
    slots: Sequence[ExampleSlot] = NEWCOMER_TASTE,
    *,
    min_ratings: int = 1,
) -> pd.DataFrame:
    """Movies for an example user's ratings, found in any release.

    Each slot takes, among the movies with at least ``min_ratings`` ratings not chosen by
    an earlier slot: the most rated movie bearing one of its titles (the first title
    present wins; a title shared by several movies, like *Titanic*, means the most rated
    of them); else the most rated movie of its genre; else the most rated movie left.
    Ties go to the smaller ``movieId``.

    Parameters
    ----------
    movies : DataFrame
        ``movieId``, ``title`` and ``genres`` (list of str per movie).
    n_ratings : Series of int, indexed by movieId
        Ratings per movie in the data the example is folded into.
    slots : sequence of ExampleSlot, default :data:`NEWCOMER_TASTE`
    min_ratings : int, default 1
        Movies with fewer ratings are never chosen (a model knows nothing of them).

    Returns
    -------
    DataFrame, one row per slot, in slot order
        ``movieId`` (int), ``title``, ``rating`` (the slot's stars), ``n_ratings`` and
        ``chosen_by`` (``"title"``, ``"genre"`` or ``"popularity"``).

    Raises
    ------
    DataError
        ``movies`` lacks a column, or fewer eligible movies than slots.
    """
    _require_columns(movies, ("movieId", "title", "genres"), "movies")
    counts = movies["movieId"].map(n_ratings).fillna(0).astype(np.int64)
    pool = movies.assign(n_ratings=counts)[counts >= min_ratings]
    pool = pool.sort_values(["n_ratings", "movieId"], ascending=[False, True])
    if len(pool) < len(slots):
        raise DataError(
            f"example_movies: {len(slots)} slots but only {len(pool)} movies with at least "
            f"{min_ratings} ratings"
        )
    chosen, rows = set(), []
    for slot in slots:
        free = pool[~pool["movieId"].isin(chosen)]
        by_title = [free[free["title"] == title] for title in slot.titles]
        by_title = [found for found in by_title if not found.empty]
        if by_title:
            pick, how = by_title[0].iloc[0], "title"
        else:
            in_genre = free[[slot.genre in (g if g is not None else ()) for g in free["genres"]]]
            pick, how = (
                (in_genre.iloc[0], "genre") if len(in_genre) else (free.iloc[0], "popularity")
            )
        chosen.add(pick["movieId"])
        rows.append(
            {
                "movieId": int(pick["movieId"]),
                "title": pick["title"],
                "rating": float(slot.rating),
                "n_ratings": int(pick["n_ratings"]),
                "chosen_by": how,
            }
        )
    return pd.DataFrame(rows)


_TRAILING_ARTICLE = re.compile(r",\s+(The|A|An)$")


def franchise(title: str) -> str:
    """The part of a title its sequels share: before the first colon, article dropped.

    >>> franchise("Lord of the Rings: The Fellowship of the Ring, The")
    'Lord of the Rings'
    >>> franchise("Matrix, The")
    'Matrix'
    """
    return _TRAILING_ARTICLE.sub("", title.split(":", 1)[0]).strip()


def _labels(listed: pd.DataFrame) -> list[str]:
    """``"title (n_ratings)"`` for each row of a :func:`with_titles` frame."""
    return [
        f"{title} ({count})"
        for title, count in zip(listed["title"], listed["n_ratings"], strict=True)
    ]


def side_by_side(
    model,
    user_ratings: Mapping[int, float],
    rules: Mapping[str, Mapping[str, object]],
    *,
    titles: pd.Series,
    n_ratings: pd.Series,
    n: int = 10,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A new user's top-``n`` list under each ranking rule, and the lists as one table.

    Parameters
    ----------
    model : fitted estimator
        With ``recommend_new_user(ratings, n=..., **options)`` (fold-in, no retraining).
    user_ratings : mapping of movieId to rating (stars)
        The new user's ratings.
    rules : mapping of str to mapping
        Rule name to the keyword options of ``recommend_new_user`` (``item_bias_weight``,
        ``min_ratings``; an empty mapping for the model's defaults), in display order.
    titles, n_ratings : Series indexed by movieId
        As in :func:`with_titles`.
    n : int, default 10
        Length of each list.

    Returns
    -------
    lists : dict of str to DataFrame
        Each rule's list from :func:`with_titles`, in the order of ``rules``.
    table : DataFrame, shape (n, len(rules))
        One column per rule holding ``"title (n_ratings)"``; index ``rank`` from 1. A
        rule that yields fewer than ``n`` movies leaves missing cells.
    """
    lists = {
        name: with_titles(model.recommend_new_user(user_ratings, n=n, **options), titles, n_ratings)
        for name, options in rules.items()
    }
    table = pd.DataFrame({name: pd.Series(_labels(listed)) for name, listed in lists.items()})
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return lists, table


def popularity(
    model,
    options: Mapping[str, object],
    *,
    new_user: Mapping[int, float],
    users: Iterable,
    n_ratings: pd.Series,
    n: int = 10,
    obscure: int = 5,
) -> dict[str, float]:
    r"""How many ratings the movies recommended under one ranking rule have.

    With :math:`L_u` the top-``n`` list of user :math:`u` and :math:`|\Omega_i|` the
    ratings of movie :math:`i`, it reports the median of :math:`|\Omega_i|` over the new
    user's list, the median over the pooled lists of ``users`` (a movie counted once per
    list it is in), and the share of pooled entries with
    :math:`|\Omega_i| \le` ``obscure``.

    Parameters
    ----------
    model : fitted estimator
        With ``recommend(user_id, n=..., **options)`` and
        ``recommend_new_user(ratings, n=..., **options)``.
    options : mapping
        Keyword options of both methods (the ranking rule); empty for the defaults.
    new_user : mapping of movieId to rating (stars)
        A new user's ratings, folded in.
    users : iterable of user ids
        Existing users whose lists are pooled; at least one.
    n_ratings : Series of int, indexed by movieId
        Ratings per movie; movies missing from it count 0.
    n : int, default 10
        Length of each list.
    obscure : int, default 5
        A movie with at most this many ratings counts as obscure.

    Returns
    -------
    dict
        ``"newcomer: median ratings"``, ``"users: median ratings"`` and
        ``"users: share with ≤ {obscure} ratings"`` (a fraction in [0, 1]).

    Raises
    ------
    DataError
        ``users`` is empty.
    """
    users = list(users)
    if not users:
        raise DataError("popularity: users is empty; pass at least one user id")
    newcomer = model.recommend_new_user(new_user, n=n, **options)["movieId"]
    pooled = pd.concat([model.recommend(user, n=n, **options)["movieId"] for user in users])
    newcomer_counts = newcomer.map(n_ratings).fillna(0)
    pooled_counts = pooled.map(n_ratings).fillna(0)
    return {
        "newcomer: median ratings": newcomer_counts.median(),
        "users: median ratings": pooled_counts.median(),
        f"users: share with ≤ {obscure} ratings": (pooled_counts <= obscure).mean(),
    }


def score_parts(
    model, user_vector: np.ndarray, movie_ids: Iterable, *, item_bias_weight: float = 1.0
) -> pd.DataFrame:
    r"""The two terms of each movie's ranking score for one user: bias and vector.

    The ranking score (:func:`recsys_helpers.models.ranking.ranking_scores`) of movie
    :math:`i` for user :math:`u` is :math:`\mu + b_u + w\, b_i + U_u \cdot V_i`; only
    :math:`w\, b_i` and :math:`U_u \cdot V_i` differ between movies, and which of them is
    large says why a movie is on the list.

    Parameters
    ----------
    model : fitted estimator
        With ``items_`` (an :class:`~recsys_helpers.data.ratings.IdIndex`),
        ``item_bias_`` and ``item_factors_``.
    user_vector : ndarray, shape (K,)
        :math:`U_u` (``user_factors_`` row, or the vector ``fold_in`` returns).
    movie_ids : iterable of movieId
        Movies known to the model.
    item_bias_weight : float, default 1.0
        :math:`w`.

    Returns
    -------
    DataFrame, one row per movie, in input order
        ``movieId``, ``bias_term`` (:math:`w\, b_i`) and ``vector_term``
        (:math:`U_u \cdot V_i`), in stars.

    Raises
    ------
    DataError
        A movie unknown to the model, or a vector of the wrong length.
    """
    ids = np.asarray(list(movie_ids))
    index = model.items_.to_index(ids)
    if (index < 0).any():
        raise DataError(f"score_parts: movies {ids[index < 0].tolist()} are unknown to the model")
    vector = np.asarray(user_vector, dtype=np.float64)
    factors = np.asarray(model.item_factors_, dtype=np.float64)[index]
    if vector.shape != (factors.shape[1],):
        raise DataError(
            f"score_parts: user_vector has shape {vector.shape}; the model has K = "
            f"{factors.shape[1]}"
        )
    return pd.DataFrame(
        {
            "movieId": ids,
            "bias_term": item_bias_weight * np.asarray(model.item_bias_, np.float64)[index],
            "vector_term": factors @ vector,
        }
    )


def listed_score_parts(
    model, users: Iterable, *, n_ratings: pd.Series, n: int = 10, **options
) -> pd.DataFrame:
    """The bias and vector terms (:func:`score_parts`) of every movie on users' top-``n`` lists.

    Parameters
    ----------
    model : fitted estimator
        With ``recommend(user_id, n=..., **options)``, ``users_``, ``user_factors_`` and
        what :func:`score_parts` needs.
    users : iterable of user ids
        Training users.
    n_ratings : Series of int, indexed by movieId
        Ratings per movie; movies missing from it count 0.
    n : int, default 10
        Length of each list.
    **options
        The ranking rule (``item_bias_weight``, ``min_ratings``); the bias term uses the
        same ``item_bias_weight``.

    Returns
    -------
    DataFrame, one row per list entry
        ``userId``, ``rank``, ``movieId``, ``n_ratings``, ``bias_term`` and ``vector_term``.
    """
    weight = float(options.get("item_bias_weight", 1.0))
    frames = []
    for user in users:
        listed = model.recommend(user, n=n, **options)
        vector = model.user_factors_[model.users_.to_index([user])[0]]
        parts = score_parts(model, vector, listed["movieId"], item_bias_weight=weight)
        frames.append(
            parts.assign(
                userId=user,
                rank=listed["rank"].to_numpy(),
                n_ratings=parts["movieId"].map(n_ratings).fillna(0).astype(np.int64),
            )
        )
    columns = ["userId", "rank", "movieId", "n_ratings", "bias_term", "vector_term"]
    return pd.concat(frames, ignore_index=True)[columns]
