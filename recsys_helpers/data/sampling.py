"""How the synthetic generator draws which ratings exist: activity, popularity, times, ids.

Pure functions of a ``numpy.random.Generator`` used by
:func:`recsys_helpers.data.synthetic.make_ratings`: per-user rating counts with a heavy
(Lomax) tail and a minimum, heavy-tailed movie popularity, distinct (user, movie) pairs
drawn by popularity, Unix timestamps, and gapped raw ids.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = [
    "cover_items",
    "gapped_ids",
    "item_popularity",
    "keep_per_user",
    "lognormal_counts",
    "lognormal_popularity",
    "row_normalised",
    "sample_pairs",
    "share_reaching",
    "sorted_unique",
    "timestamps",
    "user_counts",
]

logger = logging.getLogger(__name__)


def user_counts(
    rng: np.random.Generator,
    n_users: int,
    n_ratings: int,
    minimum: int,
    cap: int,
    exponent: float,
) -> np.ndarray:
    """Ratings per user: ``minimum`` each plus a Lomax-weighted share, none above ``cap``."""
    weights = rng.pareto(exponent, size=n_users)
    counts = np.full(n_users, minimum, dtype=np.int64)
    counts += rng.multinomial(n_ratings - minimum * n_users, weights / weights.sum())
    for _ in range(100):
        excess = int(np.maximum(counts - cap, 0).sum())
        if excess == 0:
            break
        np.minimum(counts, cap, out=counts)
        room_weights = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(excess, room_weights / room_weights.sum())
    else:  # pragma: no cover - only when the Pareto draw is absurdly concentrated
        excess = int(np.maximum(counts - cap, 0).sum())
        np.minimum(counts, cap, out=counts)
        room = cap - counts
        fill = np.minimum(room, np.maximum(excess - np.concatenate(([0], np.cumsum(room)[:-1])), 0))
        counts += fill
    return counts


def item_popularity(
    rng: np.random.Generator, n_items: int, n_users: int, n_ratings: int, exponent: float
) -> np.ndarray:
    """Movie draw probabilities: Lomax weights, capped so no movie expects > half the users."""
    weights = rng.pareto(exponent, size=n_items)
    p = weights / weights.sum()
    cap = 0.5 * n_users / n_ratings
    if cap * n_items <= 1.0:
        return p
    for _ in range(100):
        over = p > cap
        if not over.any():
            break
        excess = float((p[over] - cap).sum())
        p[over] = cap
        under = p < cap
        p[under] += excess * p[under] / p[under].sum()
    return p / p.sum()


def sample_pairs(
    rng: np.random.Generator, counts: np.ndarray, popularity: np.ndarray, max_rounds: int = 8
) -> np.ndarray:
    """Sorted unique keys ``u · n_items + i``, exactly ``counts[u]`` of them per user."""
    n_users, n_items = counts.size, popularity.size
    n_items64 = np.int64(n_items)
    cdf = np.cumsum(popularity)
    cdf /= cdf[-1]

    def draw(per_user: np.ndarray) -> np.ndarray:
        users = np.repeat(np.arange(n_users, dtype=np.int64), per_user)
        items = np.searchsorted(cdf, rng.random(users.size), side="right")
        np.minimum(items, n_items - 1, out=items)
        return users * n_items64 + items

    keys = sorted_unique(draw(counts))
    for round_ in range(max_rounds):
        deficit = counts - np.bincount(keys // n_items64, minlength=n_users)
        if not deficit.any():
            return keys
        oversample = 1.5 * 2.0**round_
        candidates = sorted_unique(draw(np.ceil(deficit * oversample).astype(np.int64)))
        position = np.minimum(np.searchsorted(keys, candidates), keys.size - 1)
        candidates = candidates[keys[position] != candidates]
        kept = keep_per_user(rng, candidates, deficit, n_items)
        keys = np.sort(np.concatenate((keys, kept)), kind="stable")  # merges two sorted runs
    deficit = counts - np.bincount(keys // n_items64, minlength=n_users)
    short = np.flatnonzero(deficit)
    logger.debug("make_ratings: uniform top-up for %d users", short.size)
    extra = []
    for u in short:  # few heavy users whose popular movies are exhausted
        start, stop = np.searchsorted(keys, [u * n_items64, (u + 1) * n_items64])
        unrated = np.setdiff1d(np.arange(n_items), keys[start:stop] - u * n_items64)
        extra.append(u * n_items64 + rng.choice(unrated, size=deficit[u], replace=False))
    if extra:
        keys = np.sort(np.concatenate([keys, *extra]))
    return keys


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than ``np.unique`` on large int arrays)."""
    values = np.sort(values)
    if values.size:
        values = values[np.concatenate(([True], values[1:] != values[:-1]))]
    return values


def keep_per_user(
    rng: np.random.Generator, keys: np.ndarray, allowance: np.ndarray, n_items: int
) -> np.ndarray:
    """A random subset of ``keys`` with at most ``allowance[u]`` keys of each user ``u``."""
    users = keys // np.int64(n_items)
    order = np.lexsort((rng.random(keys.size), users))
    users_sorted = users[order]
    first = np.searchsorted(users_sorted, users_sorted, side="left")
    rank = np.arange(keys.size) - first
    return keys[order[rank < allowance[users_sorted]]]


def timestamps(
    rng: np.random.Generator, user_index: np.ndarray, n_users: int, start: int, end: int
) -> np.ndarray:
    """Unix seconds, uniform inside a per-user window ``[first, first + span]`` ⊆ [start, end]."""
    length = end - start
    span = np.minimum(rng.exponential(0.15, size=n_users), 1.0) * length
    first = start + rng.random(n_users) * (length - span)
    offset = rng.random(user_index.size) * span[user_index]
    return np.floor(first[user_index] + offset).astype(np.int64)


def gapped_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` sorted distinct ids from ``1 … 3n`` (gaps like a real id space)."""
    return np.sort(rng.choice(np.arange(1, 3 * n + 1), size=n, replace=False)).astype(np.int32)


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    row_sums = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, row_sums, out=np.zeros_like(matrix), where=row_sums > 0)


def lognormal_counts(
    rng: np.random.Generator,
    n: int,
    total: int,
    minimum: int,
    median: float,
    sigma: float,
    maximum: int,
) -> np.ndarray:
    """Integer counts summing to ``total``: ``minimum`` each plus a lognormal share.

    The shares above the minimum are weights ``w ~ LogNormal(ln(median − minimum), σ)``
    normalised and dealt out multinomially; the largest weight is set so that the largest
    count is about ``maximum`` (the busiest user of a real release), and no count exceeds
    ``maximum``.

    Parameters
    ----------
    n : int
        How many counts.
    total : int
        Their sum, ``>= n · minimum``.
    minimum : int
        Every count is at least this.
    median : float
        Median of the counts (before the multinomial noise), ``> minimum``.
    sigma : float
        Log-scale spread of the lognormal tail.
    maximum : int
        The largest count, about (and at most).

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    extra = total - minimum * n
    weights = rng.lognormal(np.log(max(median - minimum, 1.0)), sigma, size=n)
    top = int(np.argmax(weights))
    others = weights.sum() - weights[top]
    share = min(max(maximum - minimum, 0) / max(extra, 1), 0.999)
    weights[top] = share * others / (1.0 - share)
    counts = np.full(n, minimum, dtype=np.int64) + rng.multinomial(extra, weights / weights.sum())
    return _cap(rng, counts, weights, maximum)


def _cap(rng: np.random.Generator, counts: np.ndarray, weights: np.ndarray, cap: int) -> np.ndarray:
    """Move whatever exceeds ``cap`` to rows below it, in proportion to their weights."""
    for _ in range(100):
        excess = int(np.maximum(counts - cap, 0).sum())
        if excess == 0:
            return counts
        np.minimum(counts, cap, out=counts)
        room = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(excess, room / room.sum())
    raise ValueError(f"cannot keep every count at or below {cap}")  # pragma: no cover


def lognormal_popularity(
    rng: np.random.Generator, n_items: int, sigma: float, top_share: float
) -> np.ndarray:
    """Movie draw probabilities: lognormal weights whose largest is ``top_share``.

    Parameters
    ----------
    n_items : int
    sigma : float
        Log-scale spread: larger gives a longer tail of rarely rated movies.
    top_share : float
        Probability of the most popular movie (its expected share of all ratings).

    Returns
    -------
    ndarray of float64, shape (n_items,), summing to 1
    """
    weights = rng.lognormal(0.0, sigma, size=n_items)
    p = weights / weights.sum()
    for _ in range(100):  # cap at the top share, spreading the excess over the rest
        over = p > top_share
        if not over.any():
            break
        excess = float((p[over] - top_share).sum())
        p[over] = top_share
        under = ~over
        p[under] += excess * p[under] / p[under].sum()
    return p / p.sum()


def share_reaching(counts: np.ndarray, fraction: float) -> float:
    """The draw probability ``p`` with which a movie is rated by ``fraction`` of the users.

    A user drawing ``c`` movies rates one of probability ``p`` with probability
    ``1 − (1 − p)^c``; ``p`` solves ``mean_u [1 − (1 − p)^{c_u}] = fraction`` (bisection).

    Parameters
    ----------
    counts : ndarray of int, shape (n_users,)
        Ratings per user.
    fraction : float in (0, 1)
    """
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        reached = float(np.mean(-np.expm1(counts * np.log1p(-middle))))
        low, high = (middle, high) if reached < fraction else (low, middle)
    return 0.5 * (low + high)


def cover_items(rng: np.random.Generator, keys: np.ndarray, n_items: int) -> np.ndarray:
    """Give every movie at least one rating, keeping each user's count.

    Each movie without a key takes over one key of a distinct randomly drawn entry of the
    most rated movies (a user keeps their count, a popular movie loses one of thousands).

    Parameters
    ----------
    keys : ndarray of int64, sorted unique ``u · n_items + i``
    n_items : int

    Returns
    -------
    ndarray of int64, sorted unique keys, same length
    """
    n_items64 = np.int64(n_items)
    items = keys % n_items64
    per_item = np.bincount(items, minlength=n_items)
    missing = np.flatnonzero(per_item == 0)
    if missing.size == 0:
        return keys
    popular = np.flatnonzero(per_item >= np.sort(per_item)[-max(1, n_items // 100)])
    donors = np.flatnonzero(np.isin(items, popular))
    if donors.size < missing.size:
        raise ValueError(f"too few ratings to give each of {n_items} movies one")
    chosen = rng.choice(donors, size=missing.size, replace=False)
    keys = keys.copy()
    keys[chosen] = (keys[chosen] // n_items64) * n_items64 + missing
    return np.sort(keys)
