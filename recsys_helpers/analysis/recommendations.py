r"""Recommendation lists made readable, and how popular the recommended movies are.

Notebook 07 ranks movies for existing and new users under several ranking rules (the
keyword options ``item_bias_weight`` and ``min_ratings`` of
:meth:`~recsys_helpers.models.base.FactorModel.recommend` and
:meth:`~recsys_helpers.models.base.FactorModel.recommend_new_user`, whose score is
:math:`s_{ui} = \mu + b_u + w\, b_i + U_u \cdot V_i`,
:func:`recsys_helpers.models.ranking.ranking_scores`). The functions here put titles and
rating counts on those lists (:func:`with_titles`), find a movie by its title
(:func:`movie_id`), lay the lists of several rules side by side (:func:`side_by_side`)
and summarise how many ratings the recommended movies have (:func:`popularity`): a list
full of movies rated once or twice is the symptom of a large, poorly supported movie
bias :math:`b_i`.

A model here is any fitted estimator with those two methods, each returning a frame with
``movieId``, ``score`` and ``rank`` (1 = best), best first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from recsys_helpers.errors import DataError

__all__ = ["movie_id", "popularity", "side_by_side", "with_titles"]

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
