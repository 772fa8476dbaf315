"""MovieLens-shaped synthetic ratings drawn from a known (planted) biased MF model.

The generator plants the model the project fits,

    r_ui = μ + b_u + b_i + U_u · V_i + ε_ui,    ε_ui ~ N(0, noise_std²),

and samples *which* (user, movie) pairs are observed the way MovieLens looks: a heavy
(Pareto-type, Lomax) tail of user activity with every user having at least ``min_user_ratings``
ratings (MovieLens keeps only users with 20 or more), and a heavy tail of movie
popularity. Each pair occurs once. With ``quantize=True`` the ratings are clipped to
[0.5, 5] and rounded to half stars like the real data; with ``quantize=False`` they are
the raw Gaussian values, so a test can check that ALS recovers the planted model down to
the noise level.

Raw ids are deliberately not ``0 … n−1``: user ids are a shuffled, gapped set and movie
ids gapped, so code that confuses raw ids with indices fails on synthetic data too.
:class:`PlantedModel` keeps ``user_ids``/``item_ids`` to translate.

Genre effects for hybrid models: pass ``movies=make_movies(n_items)`` to
:func:`make_ratings` and each movie's planted bias and vector get a component shared by
its genres,

    b_i = b_i⁰ + Σ_g w_ig β_g,    V_i = V_i⁰ + Σ_g w_ig W_g,    w_ig = x_ig / Σ_h x_ih,

with ``x_ig`` = 1 when movie ``i`` has genre ``g``. ``β`` (``genre_bias``) and ``W``
(``genre_factors``) are returned in the :class:`PlantedModel`, so a model that learns
from genres can be checked against them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_helpers.data import sampling
from recsys_helpers.data.checks import check_count, unix_seconds
from recsys_helpers.data.planted import PlantedModel, plant_model

__all__ = [
    "DEFAULT_GENRES",
    "ML25M_SHAPE",
    "ML25M_SKEW",
    "Skew",
    "PlantedModel",
    "make_movies",
    "make_ratings",
]

logger = logging.getLogger(__name__)

ML25M_SHAPE = {"n_users": 162_541, "n_items": 59_047, "n_ratings": 25_000_095}
"""Users, movies and ratings of the ML-25M release, for benchmarks at full scale."""

DEFAULT_GENRES = (
    "Drama",
    "Comedy",
    "Thriller",
    "Romance",
    "Action",
    "Horror",
    "Documentary",
    "Crime",
    "Adventure",
    "Sci-Fi",
    "Children",
    "Animation",
    "Mystery",
    "Fantasy",
    "War",
    "Western",
    "Musical",
    "Film-Noir",
    "IMAX",
)
"""MovieLens genre names, most common first (the order sets how often each is drawn)."""

DEFAULT_START = "1995-01-09"
DEFAULT_END = "2019-11-21"
_MOVIELENS_MIN_USER_RATINGS = 20
_CHUNK = 1 << 20  # ratings per block when evaluating the planted model (bounds memory)


@dataclass(frozen=True)
class Skew:
    """How unevenly the ratings spread over users and movies, as in a real release.

    Ratings per user are ``min_user_ratings`` plus a lognormal share (median
    ``user_median``, log-spread ``user_sigma``), the busiest user rating about
    ``user_max_fraction`` of the movies; movie popularity is lognormal with log-spread
    ``item_sigma``, the most rated movie rated by about ``item_max_fraction`` of the users;
    every movie gets at least one rating. The defaults reproduce ML-25M: users from 20 to
    about 32,000 ratings (median 71), movies from 1 to about 81,000 (median about 8).
    """

    user_median: float = 71.0
    user_sigma: float = 1.39
    user_max_fraction: float = 0.545
    item_sigma: float = 3.15
    item_max_fraction: float = 0.475


ML25M_SKEW = Skew()
"""ML-25M's skew: 162,541 users from 20 to 32,202 ratings, 59,047 movies up to 81,491."""


def make_movies(
    n_items: int = 500,
    *,
    genres: Sequence[str] = DEFAULT_GENRES,
    mean_genres: float = 1.8,
    first_year: int = 1920,
    last_year: int = 2019,
    random_state: int = 0,
) -> pd.DataFrame:
    """A movies table shaped like MovieLens's ``movies.csv`` (parsed).

    Parameters
    ----------
    n_items : int, default 500
        Number of movies.
    genres : sequence of str
        Genre names; earlier ones are drawn more often (weight ``1 / rank``).
    mean_genres : float, default 1.8
        Mean number of genres per movie (each movie has at least one, at most
        ``len(genres)``; ``1 + Poisson(mean_genres − 1)``).
    first_year, last_year : int
        Range of release years, skewed towards recent years like the catalogue.
    random_state : int
        Seed of ``np.random.default_rng``.

    Returns
    -------
    DataFrame, n_items rows sorted by ``movieId``
        ``movieId`` (int32, gapped increasing ids, not ``0 … n−1``), ``title`` (str,
        ``"Synthetic Movie <id> (<year>)"``), ``year`` (int32) and ``genres`` (list of
        str, in the order of ``genres``). Pass it to :func:`make_ratings` as ``movies=``
        to plant genre effects.
    """
    check_count("n_items", n_items, 1)
    genres = tuple(genres)
    if not genres or len(set(genres)) != len(genres):
        raise ValueError(f"genres must be a non-empty sequence of distinct names, got {genres!r}")
    if not mean_genres >= 1:
        raise ValueError(f"mean_genres must be at least 1, got {mean_genres}")
    if first_year > last_year:
        raise ValueError(f"first_year ({first_year}) must not be after last_year ({last_year})")
    rng = np.random.default_rng(random_state)
    movie_ids = sampling.gapped_ids(rng, n_items)
    n_genres = rng.poisson(mean_genres - 1.0, size=n_items) + 1
    n_genres = np.minimum(n_genres, len(genres))
    # Gumbel top-k: each movie's genres are a weighted sample without replacement.
    log_weight = -np.log(np.arange(1, len(genres) + 1))
    priority = log_weight + rng.gumbel(size=(n_items, len(genres)))
    ranked = np.argsort(-priority, axis=1)
    chosen = np.arange(len(genres)) < n_genres[:, None]
    has_genre = np.zeros((n_items, len(genres)), dtype=bool)
    np.put_along_axis(has_genre, ranked, chosen, axis=1)
    names = np.asarray(genres, dtype=object)
    genre_lists = [names[row].tolist() for row in has_genre]
    years = first_year + np.floor(
        (last_year - first_year + 1) * rng.beta(3.0, 1.2, size=n_items)
    ).astype(np.int32)
    years = np.minimum(years, last_year).astype(np.int32)
    titles = [
        f"Synthetic Movie {m} ({y})"
        for m, y in zip(movie_ids.tolist(), years.tolist(), strict=True)
    ]
    return pd.DataFrame(
        {"movieId": movie_ids, "title": titles, "year": years, "genres": genre_lists}
    )


def make_ratings(
    n_users: int = 1000,
    n_items: int | None = None,
    n_ratings: int = 50_000,
    *,
    n_factors: int = 8,
    noise_std: float = 0.5,
    global_mean: float = 3.5,
    bias_std: tuple[float, float] = (0.4, 0.5),
    factor_std: float | None = None,
    user_activity_exponent: float = 1.5,
    item_popularity_exponent: float = 0.8,
    min_user_ratings: int | None = None,
    max_user_fraction: float = 0.5,
    quantize: bool = True,
    movies: pd.DataFrame | None = None,
    genre_bias_std: float = 0.3,
    skew: Skew | None = None,
    random_state: int = 0,
    start: int | str | pd.Timestamp = DEFAULT_START,
    end: int | str | pd.Timestamp = DEFAULT_END,
) -> tuple[pd.DataFrame, PlantedModel]:
    """Draw MovieLens-shaped ratings from a planted biased matrix-factorisation model.

    Parameters
    ----------
    n_users : int, default 1000
        Number of users; every one has ratings.
    n_items : int, optional
        Number of movies (default 500, or ``len(movies)``). Unpopular movies may end up
        with no rating, as in a real catalogue.
    n_ratings : int, default 50_000
        Exact number of ratings (distinct (user, movie) pairs).
    n_factors : int, default 8
        ``K``, the planted rank.
    noise_std : float, default 0.5
        Standard deviation of the Gaussian noise ``ε``, in stars.
    global_mean : float, default 3.5
        ``μ``.
    bias_std : (float, float), default (0.4, 0.5)
        Standard deviations of ``b_u`` and ``b_i`` (Gaussian, mean 0).
    factor_std : float, optional
        Standard deviation of each entry of ``U`` and ``V``. Default ``(0.6/√K)^½``,
        which makes ``U_u · V_i`` have standard deviation 0.6 stars.
    user_activity_exponent : float, default 1.5
        Tail index ``α`` of the Lomax (Pareto II) weights of user activity,
        ``P(w > x) = (1 + x)^−α``: smaller is more skewed. Ratings beyond the minimum
        are shared in proportion to the weights.
    item_popularity_exponent : float, default 0.8
        Tail index of the Lomax popularity weights of movies; the default gives
        ML-25M's median of about 6 ratings per movie at full scale.
    min_user_ratings : int, optional
        Ratings every user has at least. Default ``min(20, n_ratings // n_users,
        n_items)``: MovieLens's 20 where the sizes allow.
    max_user_fraction : float, default 0.5
        No user rates more than this fraction of the movies (unless the sizes force it).
    quantize : bool, default True
        Clip to [0.5, 5] and round to half stars; False keeps the raw Gaussian values.
    movies : DataFrame, optional
        From :func:`make_movies` (``movieId`` and ``genres``): its rows become the movies,
        in order, and genre effects are planted (see the module docstring).
    genre_bias_std : float, default 0.3
        Standard deviation of the genre biases ``β_g`` (genre vectors ``W_g`` use
        ``factor_std``). Used only with ``movies``.
    skew : Skew, optional
        Draw user activity and movie popularity with a real release's skew (lognormal
        tails, every movie rated, see :class:`Skew`; :data:`ML25M_SKEW` for ML-25M)
        instead of the Lomax weights of ``user_activity_exponent`` /
        ``item_popularity_exponent`` and ``max_user_fraction``.
    random_state : int, default 0
        Seed of ``np.random.default_rng``; same arguments, same output.
    start, end : int (Unix seconds), str or Timestamp
        Range of the timestamps. Each user rates during a window inside it.

    Returns
    -------
    ratings : DataFrame, n_ratings rows sorted by (userId, movieId)
        ``userId`` (int32), ``movieId`` (int32), ``rating`` (float32) and ``timestamp``
        (int64, Unix seconds).
    planted : PlantedModel
        The model the ratings come from; ``planted.predict_ids(ratings.userId,
        ratings.movieId)`` equals ``ratings.rating`` when ``noise_std=0`` and
        ``quantize=False``.

    Raises
    ------
    ValueError
        On a parameter out of range (named in the message) or incompatible sizes.

    Notes
    -----
    Pairs are drawn for all users at once: movie draws by popularity, deduplicated with
    ``np.unique`` of ``u · n_items + i``, then topped up for the users left short, a
    few rounds of ever larger redraws, and finally by a uniform draw among a user's
    unrated movies. 25 million ratings take a few tens of seconds and a few GiB.
    """
    if movies is not None:
        if "movieId" not in movies.columns or "genres" not in movies.columns:
            raise ValueError("movies must have columns 'movieId' and 'genres' (see make_movies)")
        if n_items is not None and n_items != len(movies):
            raise ValueError(f"n_items={n_items} but movies has {len(movies)} rows")
        n_items = len(movies)
    n_items = 500 if n_items is None else n_items
    check_count("n_users", n_users, 1)
    check_count("n_items", n_items, 1)
    check_count("n_ratings", n_ratings, 1)
    check_count("n_factors", n_factors, 0)
    if n_ratings > n_users * n_items:
        raise ValueError(
            f"n_ratings={n_ratings} exceeds n_users * n_items = {n_users * n_items} pairs"
        )
    if min_user_ratings is None:
        min_user_ratings = max(1, min(_MOVIELENS_MIN_USER_RATINGS, n_ratings // n_users, n_items))
    check_count("min_user_ratings", min_user_ratings, 1)
    if min_user_ratings > n_items or min_user_ratings * n_users > n_ratings:
        raise ValueError(
            f"min_user_ratings={min_user_ratings} is impossible with n_users={n_users}, "
            f"n_items={n_items}, n_ratings={n_ratings}"
        )
    for name, value in (
        ("noise_std", noise_std),
        ("genre_bias_std", genre_bias_std),
        ("bias_std[0]", bias_std[0]),
        ("bias_std[1]", bias_std[1]),
    ):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    for name, value in (
        ("user_activity_exponent", user_activity_exponent),
        ("item_popularity_exponent", item_popularity_exponent),
    ):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    if not 0 < max_user_fraction <= 1:
        raise ValueError(f"max_user_fraction must be in (0, 1], got {max_user_fraction}")
    if factor_std is None:
        factor_std = (0.6 / np.sqrt(n_factors)) ** 0.5 if n_factors else 0.0
    if not factor_std >= 0:
        raise ValueError(f"factor_std must be >= 0, got {factor_std}")
    start_s, end_s = unix_seconds(start, "start"), unix_seconds(end, "end")
    if start_s >= end_s:
        raise ValueError(f"start ({start}) must be before end ({end})")

    rng = np.random.default_rng(random_state)
    planted = plant_model(
        rng,
        n_users,
        n_items,
        n_factors=n_factors,
        noise_std=float(noise_std),
        global_mean=float(global_mean),
        bias_std=bias_std,
        factor_std=float(factor_std),
        movies=movies,
        genre_bias_std=float(genre_bias_std),
    )
    if skew is None:
        user_cap = max(min_user_ratings, int(max_user_fraction * n_items))
        if user_cap * n_users < n_ratings:
            user_cap = n_items
        counts = sampling.user_counts(
            rng, n_users, n_ratings, min_user_ratings, user_cap, user_activity_exponent
        )
        popularity = sampling.item_popularity(
            rng, n_items, n_users, n_ratings, item_popularity_exponent
        )
    else:
        if n_ratings < n_items:
            raise ValueError(f"skew rates every movie: n_ratings={n_ratings} < n_items={n_items}")
        user_max = max(min_user_ratings, int(skew.user_max_fraction * n_items))
        counts = sampling.lognormal_counts(
            rng,
            n_users,
            n_ratings,
            min_user_ratings,
            max(skew.user_median, min_user_ratings + 1),
            skew.user_sigma,
            max(user_max, -(-n_ratings // n_users)),
        )
        top_share = sampling.share_reaching(counts, skew.item_max_fraction)
        popularity = sampling.lognormal_popularity(
            rng, n_items, skew.item_sigma, max(top_share, 1.0 / n_items)
        )
    # Pairs are drawn in raw-id rank order, so the keys come out sorted by (userId, movieId).
    keys = sampling.sample_pairs(rng, counts, popularity)
    if skew is not None:
        keys = sampling.cover_items(rng, keys, n_items)
    user_rank = keys // np.int64(n_items)
    item_rank = keys % np.int64(n_items)
    del keys
    user_index = np.argsort(planted.user_ids)[user_rank]
    item_index = np.argsort(planted.item_ids)[item_rank]
    del user_rank, item_rank

    values = np.empty(user_index.size, dtype=np.float32)
    for begin in range(0, user_index.size, _CHUNK):
        stop = begin + _CHUNK
        chunk = planted.predict(user_index[begin:stop], item_index[begin:stop])
        if noise_std > 0:
            chunk += rng.normal(0.0, noise_std, size=chunk.size)
        if quantize:
            chunk = np.clip(np.round(chunk * 2.0) / 2.0, 0.5, 5.0)
        values[begin:stop] = chunk
    ratings = pd.DataFrame(
        {
            "userId": planted.user_ids[user_index],
            "movieId": planted.item_ids[item_index],
            "rating": values,
            "timestamp": sampling.timestamps(rng, user_index, n_users, start_s, end_s),
        }
    )
    logger.debug(
        "make_ratings: %d users, %d movies (%d rated), %d ratings",
        n_users,
        n_items,
        ratings["movieId"].nunique(),
        len(ratings),
    )
    return ratings, planted
