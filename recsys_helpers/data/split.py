"""Train/test splits of a ratings frame.

Every function takes a ratings frame (``userId``, ``movieId``, ``rating``, ``timestamp``;
extra columns ride along) and returns row subsets of it:

* the two parts are disjoint and together are every row, exactly once;
* each part keeps the original index and the original row order;
* the same arguments (including ``random_state``) give the same split, on any machine, because
  all randomness comes from ``np.random.default_rng(random_state)`` applied in row order.

Which function answers which question:

==========================  ====================================================
:func:`random_split`        rating prediction on ratings like the training ones
:func:`per_user_split`      every test user also has training ratings
:func:`temporal_split`      train on the past, test on the future (global cut-off)
:func:`last_k_split`        each user's latest ratings (next-item style)
:func:`kfold`               cross-validation: each rating tested exactly once
:func:`item_holdout_split`  cold-start movies: all of a movie's ratings in test
==========================  ====================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_helpers.data.checks import check_count, require_columns, unix_seconds

__all__ = [
    "SPLIT_KINDS",
    "SplitSpec",
    "item_holdout_split",
    "kfold",
    "last_k_split",
    "per_user_split",
    "parse_split",
    "random_split",
    "temporal_split",
]

logger = logging.getLogger(__name__)

Split = tuple[pd.DataFrame, pd.DataFrame]


def random_split(
    ratings: pd.DataFrame, test_fraction: float = 0.1, *, random_state: int = 0
) -> Split:
    """Seeded random holdout of individual ratings.

    Exactly ``round(test_fraction · n)`` rows go to test: the first ones of
    ``np.random.default_rng(random_state).permutation(n)``.

    Parameters
    ----------
    ratings : DataFrame, n rows
    test_fraction : float in (0, 1), default 0.1
    random_state : int, default 0

    Returns
    -------
    train, test : DataFrame
        Disjoint row subsets whose union is ``ratings``, original index and order kept.
        Users and movies that appear only in test are cold start for a model trained on
        ``train``; see :func:`per_user_split` to rule out cold users.

    Raises
    ------
    ValueError
        When ``test_fraction`` is outside (0, 1) or leaves a part empty.
    """
    _check_fraction(test_fraction)
    n = len(ratings)
    n_test = round(test_fraction * n)
    if not 0 < n_test < n:
        raise ValueError(
            f"test_fraction={test_fraction} of {n} ratings gives {n_test} test rows; "
            "both parts must be non-empty"
        )
    is_test = np.zeros(n, dtype=bool)
    is_test[np.random.default_rng(random_state).permutation(n)[:n_test]] = True
    return _parts(ratings, is_test)


def per_user_split(
    ratings: pd.DataFrame,
    *,
    test_fraction: float | None = None,
    k: int | None = None,
    random_state: int = 0,
    min_train: int = 1,
    user_col: str = "userId",
) -> Split:
    """Hold out, for each user, a random fraction or a fixed number of their ratings.

    User ``u`` with ``n_u`` ratings puts ``t_u = min(k, n_u − min_train)`` (or
    ``round(test_fraction · n_u)`` capped the same way, never below 0) randomly chosen
    ratings in test.

    Parameters
    ----------
    ratings : DataFrame
    test_fraction : float in (0, 1), optional
        Share of each user's ratings to hold out. Give exactly one of ``test_fraction``
        and ``k``.
    k : int >= 1, optional
        Number of ratings to hold out per user.
    random_state : int, default 0
    min_train : int >= 0, default 1
        Every user keeps at least this many training ratings; users with ``n_u <=
        min_train`` have no test rating. With ``min_train >= 1`` every test user is in
        train (no cold-start users).
    user_col : str, default "userId"

    Returns
    -------
    train, test : DataFrame
        Disjoint row subsets whose union is ``ratings``, original index and order kept.

    Raises
    ------
    ValueError
        On a bad or missing ``test_fraction``/``k``/``min_train``, or an empty test set.
    DataError
        When ``user_col`` is missing.
    """
    if (test_fraction is None) == (k is None):
        raise ValueError("per_user_split: give exactly one of test_fraction= and k=")
    if test_fraction is not None:
        _check_fraction(test_fraction)
    else:
        check_count("k", k, 1)
    check_count("min_train", min_train, 0)
    _require(ratings, user_col)
    codes, group_size = _group_codes(ratings[user_col].to_numpy())
    n_per_user = group_size[codes]
    wanted = np.full(len(ratings), k) if k is not None else np.round(test_fraction * n_per_user)
    n_test = np.clip(np.minimum(wanted, n_per_user - min_train), 0, None)
    rank = _rank_within(codes, np.random.default_rng(random_state).random(len(ratings)))
    is_test = rank < n_test
    if not is_test.any():
        raise ValueError(
            f"per_user_split: no user has more than min_train={min_train} ratings to hold out"
        )
    return _parts(ratings, is_test)


def temporal_split(
    ratings: pd.DataFrame,
    *,
    cutoff: int | str | pd.Timestamp | dt.datetime | None = None,
    cutoff_quantile: float | None = None,
    time_col: str = "timestamp",
) -> Split:
    """Train on ratings before a global time cut-off, test on those at or after it.

    Parameters
    ----------
    ratings : DataFrame
        ``time_col`` holds Unix seconds.
    cutoff : int or float (Unix seconds), str, datetime or Timestamp, optional
        The first instant of the test period. Strings and naive times are read as UTC
        (``"2015-01-01"``). Give exactly one of ``cutoff`` and ``cutoff_quantile``.
    cutoff_quantile : float in (0, 1), optional
        Use the timestamp at this quantile of all ratings (the lowest timestamp with at
        least this share of ratings at or below it) as the cut-off: about the earliest
        ``cutoff_quantile`` of the ratings train, fewer when many share that timestamp.
    time_col : str, default "timestamp"

    Returns
    -------
    train, test : DataFrame
        ``train[time_col] < cutoff <= test[time_col]``; every training rating is earlier
        than every test rating. Original index and order kept.

    Raises
    ------
    ValueError
        On a bad cut-off, or one that leaves either part empty.
    DataError
        When ``time_col`` is missing.
    """
    if (cutoff is None) == (cutoff_quantile is None):
        raise ValueError("temporal_split: give exactly one of cutoff= and cutoff_quantile=")
    _require(ratings, time_col)
    times = ratings[time_col].to_numpy()
    if cutoff_quantile is not None:
        if not 0 < cutoff_quantile < 1:
            raise ValueError(f"cutoff_quantile must be in (0, 1), got {cutoff_quantile!r}")
        if times.size == 0:
            raise ValueError("temporal_split: no ratings to split")
        seconds = int(np.quantile(times, cutoff_quantile, method="inverted_cdf"))
    else:
        seconds = unix_seconds(cutoff, "cutoff")
    is_test = times >= seconds
    if is_test.all() or not is_test.any():
        where = "before" if is_test.all() else "after"
        raise ValueError(
            f"temporal_split: cutoff {pd.Timestamp(seconds, unit='s')} is {where} every "
            "rating, leaving a part empty"
        )
    logger.debug("temporal_split at %s: %d test rows", seconds, int(is_test.sum()))
    return _parts(ratings, is_test)


def last_k_split(
    ratings: pd.DataFrame,
    k: int = 1,
    *,
    min_train: int = 1,
    user_col: str = "userId",
    item_col: str = "movieId",
    time_col: str = "timestamp",
) -> Split:
    """Each user's ``k`` most recent ratings go to test.

    Ties in time are broken deterministically: a larger ``item_col`` counts as later,
    then a later row position.

    Parameters
    ----------
    ratings : DataFrame
    k : int >= 1, default 1
    min_train : int >= 0, default 1
        Users keep at least this many training ratings: a user with ``n_u`` ratings
        gives ``min(k, n_u − min_train)`` (at least 0) to test, their latest.
    user_col, item_col, time_col : str

    Returns
    -------
    train, test : DataFrame
        For every user, each of their test ratings is at least as late as each of their
        training ratings. Original index and order kept.

    Raises
    ------
    ValueError
        On a bad ``k``/``min_train`` or an empty test set.
    DataError
        When a column is missing.
    """
    check_count("k", k, 1)
    check_count("min_train", min_train, 0)
    _require(ratings, user_col, item_col, time_col)
    codes, group_size = _group_codes(ratings[user_col].to_numpy())
    n = len(ratings)
    # Latest first within each user: sort by descending (time, item, position).
    order = np.lexsort(
        (
            -np.arange(n),
            -ratings[item_col].to_numpy().astype(np.int64),
            -ratings[time_col].to_numpy().astype(np.int64),
            codes,
        )
    )
    rank = np.empty(n, dtype=np.int64)
    sorted_codes = codes[order]
    rank[order] = np.arange(n) - np.searchsorted(sorted_codes, sorted_codes, side="left")
    n_test = np.clip(np.minimum(k, group_size[codes] - min_train), 0, None)
    is_test = rank < n_test
    if not is_test.any():
        raise ValueError(
            f"last_k_split: no user has more than min_train={min_train} ratings to hold out"
        )
    return _parts(ratings, is_test)


def kfold(ratings: pd.DataFrame, n_splits: int = 5, *, random_state: int = 0) -> Iterator[Split]:
    """K-fold cross-validation over individual ratings.

    A seeded permutation deals the rows into ``n_splits`` folds of sizes differing by at
    most one; fold ``f`` is the test set of the ``f``-th pair.

    Parameters
    ----------
    ratings : DataFrame, n rows
    n_splits : int, 2 <= n_splits <= n, default 5
    random_state : int, default 0

    Yields
    ------
    train, test : DataFrame
        ``n_splits`` pairs; every row is in exactly one test fold and in the training
        part of every other pair. Original index and order kept.

    Raises
    ------
    ValueError
        When ``n_splits`` is out of range (raised on the call, not on first iteration).
    """
    check_count("n_splits", n_splits, 2)
    n = len(ratings)
    if n_splits > n:
        raise ValueError(f"n_splits={n_splits} exceeds the {n} ratings")
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(random_state).permutation(n)] = np.arange(n) % n_splits

    def pairs() -> Iterator[Split]:
        for f in range(n_splits):
            yield _parts(ratings, fold == f)

    return pairs()


def item_holdout_split(
    ratings: pd.DataFrame,
    test_fraction: float = 0.1,
    *,
    random_state: int = 0,
    item_col: str = "movieId",
) -> Split:
    """Every rating of a seeded random share of the movies goes to test (cold-start movies).

    ``max(1, round(test_fraction · m))`` of the ``m`` distinct movies are drawn with
    ``np.random.default_rng(random_state).choice(sorted_ids, size, replace=False)``.

    Parameters
    ----------
    ratings : DataFrame
    test_fraction : float in (0, 1), default 0.1
        Share of the rated movies (not of the ratings) to hold out.
    random_state : int, default 0
    item_col : str, default "movieId"

    Returns
    -------
    train, test : DataFrame
        No movie has ratings in both parts. Original index and order kept.

    Raises
    ------
    ValueError
        When ``test_fraction`` is outside (0, 1) or would hold out every movie.
    DataError
        When ``item_col`` is missing.
    """
    _check_fraction(test_fraction)
    _require(ratings, item_col)
    items = ratings[item_col].to_numpy()
    distinct = np.unique(items)
    n_cold = max(1, round(test_fraction * distinct.size))
    if n_cold >= distinct.size:
        raise ValueError(
            f"test_fraction={test_fraction} of {distinct.size} movies holds out all of them"
        )
    cold = np.random.default_rng(random_state).choice(distinct, size=n_cold, replace=False)
    return _parts(ratings, np.isin(items, cold))


def _parts(ratings: pd.DataFrame, is_test: np.ndarray) -> Split:
    return ratings[~is_test], ratings[is_test]


def _group_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense code of each value (sorted order) and the size of each group."""
    _, codes, counts = np.unique(values, return_inverse=True, return_counts=True)
    return codes.reshape(-1), counts


def _rank_within(codes: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group, by increasing ``priority``."""
    order = np.lexsort((priority, codes))
    sorted_codes = codes[order]
    rank = np.empty(codes.size, dtype=np.int64)
    rank[order] = np.arange(codes.size) - np.searchsorted(sorted_codes, sorted_codes, "left")
    return rank


def _require(ratings: pd.DataFrame, *columns: str) -> None:
    require_columns(ratings, columns, "ratings")


def _check_fraction(test_fraction) -> None:
    if isinstance(test_fraction, bool) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")


SPLIT_KINDS = ("random", "peruser", "temporal", "item")
"""Split strategies a :class:`SplitSpec` names."""


@dataclass(frozen=True)
class SplitSpec:
    """A split written as text, ``KIND:TRAIN_FRACTION[:RANDOM_STATE]`` (``fit --split``).

    Attributes
    ----------
    kind : str
        ``"random"`` (:func:`random_split`), ``"peruser"`` (:func:`per_user_split`),
        ``"temporal"`` (:func:`temporal_split`, global cut-off at the ``train_fraction``
        quantile of the timestamps) or ``"item"`` (:func:`item_holdout_split`, every rating of
        a random ``1 − train_fraction`` of the movies held out).
    train_fraction : float
        Share kept for training, in (0, 1).
    random_state : int
        Seed of the random splits (``temporal`` has none).
    """

    kind: str
    train_fraction: float
    random_state: int = 0

    @property
    def test_fraction(self) -> float:
        """``1 − train_fraction``, rounded to remove binary noise (0.9 -> 0.1, not 0.0999…)."""
        return round(1.0 - self.train_fraction, 12)

    def __str__(self) -> str:
        if self.kind == "temporal":
            return f"{self.kind}:{self.train_fraction:g}"
        return f"{self.kind}:{self.train_fraction:g}:{self.random_state}"

    def apply(self, ratings: pd.DataFrame) -> Split:
        """``(train, test)`` of ``ratings`` by this split."""
        if self.kind == "random":
            return random_split(ratings, self.test_fraction, random_state=self.random_state)
        if self.kind == "peruser":
            return per_user_split(
                ratings, test_fraction=self.test_fraction, random_state=self.random_state
            )
        if self.kind == "item":
            return item_holdout_split(ratings, self.test_fraction, random_state=self.random_state)
        return temporal_split(ratings, cutoff_quantile=self.train_fraction)


def parse_split(text: str) -> SplitSpec:
    """Read ``random:0.9:SEED``, ``peruser:0.9:SEED``, ``item:0.9:SEED`` or ``temporal:0.9``.

    Raises
    ------
    ValueError
        Unknown kind, fraction outside (0, 1), a non-integer or negative seed, or a seed
        given to ``temporal``.
    """
    parts = text.strip().split(":")
    kind = parts[0].lower()
    if kind not in SPLIT_KINDS:
        raise ValueError(
            f"unknown split {parts[0]!r}: use random:0.9:SEED, peruser:0.9:SEED, "
            "item:0.9:SEED or temporal:0.9"
        )
    max_parts = 2 if kind == "temporal" else 3
    if not 2 <= len(parts) <= max_parts:
        form = "temporal:TRAIN_FRACTION" if kind == "temporal" else f"{kind}:TRAIN_FRACTION:SEED"
        raise ValueError(f"split {text!r} must look like {form}")
    try:
        fraction = float(parts[1])
    except ValueError:
        raise ValueError(
            f"split {text!r}: training fraction {parts[1]!r} is not a number"
        ) from None
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"split {text!r}: training fraction must be strictly between 0 and 1")
    seed = 0
    if len(parts) == 3:
        try:
            seed = int(parts[2])
        except ValueError:
            raise ValueError(f"split {text!r}: seed {parts[2]!r} is not an integer") from None
        if seed < 0:
            raise ValueError(f"split {text!r}: seed must be >= 0, got {seed}")
    return SplitSpec(kind, fraction, seed)
