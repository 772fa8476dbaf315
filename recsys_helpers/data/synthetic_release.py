"""Synthetic stand-ins for the MovieLens releases, written in each release's own files.

``python -m recsys_helpers synthetic --like ml-25m --out DIR`` writes ``DIR/ml-25m/`` with
``ratings.csv``, ``movies.csv``, ``tags.csv`` and ``links.csv`` shaped like the real
ML-25M (162,541 users with at least 20 ratings each, 59,047 rated movies among 62,423
listed, 25,000,095 ratings, the busiest user near 32,000 ratings, the most rated movie near
81,000, a long tail of movies with a handful), drawn from a planted biased low-rank model
(:func:`recsys_helpers.data.synthetic.make_ratings` with :data:`~recsys_helpers.data.
synthetic.ML25M_SKEW`). Any release name works: its size, file layout (csv, ``::``-separated
``.dat``, ml-100k's ``u.data``/``u.item``), rating scale and date range are used, with
ML-25M's skew. ``scale`` shrinks every count for quick runs. The folder carries a marker
file saying it is synthetic, so nobody mistakes it for GroupLens data.

Then ``make report DATASET=ml-25m MIRROR=DIR`` runs the whole report at that size.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers import atomic
from recsys_helpers.data import provenance, writers
from recsys_helpers.data.releases import get_release
from recsys_helpers.data.synthetic import ML25M_SKEW, make_movies, make_ratings
from recsys_helpers.errors import DataError

__all__ = ["MARKER", "RELEASE_SHAPES", "ReleaseShape", "write_release_like"]

logger = logging.getLogger(__name__)

MARKER = provenance.SYNTHETIC_MARKER
"""File in a synthetic release's folder recording that, and how, it was generated."""


@dataclass(frozen=True)
class ReleaseShape:
    """Sizes and date range of a MovieLens release (from GroupLens's descriptions)."""

    n_users: int
    n_rated_movies: int
    n_listed_movies: int
    n_ratings: int
    n_tags: int
    start: str
    end: str


RELEASE_SHAPES = {
    "ml-latest-small": ReleaseShape(610, 9_724, 9_742, 100_836, 3_683, "1996-03-29", "2018-09-24"),
    "ml-100k": ReleaseShape(943, 1_682, 1_682, 100_000, 0, "1997-09-19", "1998-04-22"),
    "ml-1m": ReleaseShape(6_040, 3_706, 3_883, 1_000_209, 0, "2000-04-25", "2003-02-28"),
    "ml-10m": ReleaseShape(69_878, 10_677, 10_681, 10_000_054, 95_580, "1996-01-29", "2009-01-05"),
    "ml-20m": ReleaseShape(
        138_493, 26_744, 27_278, 20_000_263, 465_564, "1995-01-09", "2015-03-31"
    ),
    "ml-25m": ReleaseShape(
        162_541, 59_047, 62_423, 25_000_095, 1_093_360, "1995-01-09", "2019-11-21"
    ),
    "ml-32m": ReleaseShape(
        200_948, 84_432, 87_585, 32_000_204, 2_000_072, "1995-01-09", "2023-10-12"
    ),
}
"""Every release's users, rated and listed movies, ratings, tag applications and dates."""

_TAG_WORDS = (
    "atmospheric", "funny", "dark", "classic", "visually appealing", "thought-provoking",
    "twist ending", "quirky", "predictable", "based on a book", "violent", "romantic",
    "slow", "great soundtrack", "cult film", "overrated", "feel-good", "surreal",
    "dialogue", "satire", "nostalgic", "tearjerker", "stylized", "suspense", "family",
    "philosophical", "true story", "animation", "space", "time travel",
)  # fmt: skip


def _scaled(value: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(value * scale)))


def _tags(rng, ratings: pd.DataFrame, n_tags: int) -> pd.DataFrame:
    """Tag applications on rated pairs: popular words more often (Zipf weights)."""
    rows = rng.choice(len(ratings), size=min(n_tags, len(ratings)), replace=False)
    rows.sort()
    weights = 1.0 / np.arange(1, len(_TAG_WORDS) + 1)
    words = rng.choice(len(_TAG_WORDS), size=rows.size, p=weights / weights.sum())
    picked = ratings.iloc[rows]
    return pd.DataFrame(
        {
            "userId": picked["userId"].to_numpy(),
            "movieId": picked["movieId"].to_numpy(),
            "tag": np.asarray(_TAG_WORDS, dtype=object)[words],
            "timestamp": picked["timestamp"].to_numpy() + rng.integers(0, 86_400, rows.size),
        }
    )


def write_release_like(
    name: str,
    out: str | os.PathLike,
    *,
    scale: float = 1.0,
    n_factors: int = 8,
    random_state: int = 0,
) -> Path:
    """Write a synthetic release shaped and formatted like ``name`` into ``out/name/``.

    Parameters
    ----------
    name : str
        A release of :data:`recsys_helpers.data.releases.DATASETS` (e.g. ``"ml-25m"``).
    out : path-like
        Folder to create the release folder in (a mirror: ``MIRROR=out``).
    scale : float in (0, 1], default 1.0
        Fraction of the release's users, movies, ratings and tags.
    n_factors : int, default 8
        Rank of the planted model.
    random_state : int, default 0
        Seed; the same arguments write the same bytes.

    Returns
    -------
    Path
        ``out/name``, written atomically (a temporary folder renamed when complete).

    Raises
    ------
    DataError
        An unknown release, a scale outside (0, 1], or an existing ``out/name`` (a
        ``ValueError``, so the command line reports it in one line).
    """
    release = get_release(name)
    if not 0.0 < scale <= 1.0:
        raise DataError(f"scale must be in (0, 1], got {scale}")
    shape = RELEASE_SHAPES[release.name]
    target = Path(out) / release.name
    if target.exists():
        raise DataError(f"{target} exists; remove it or choose another --out")
    rng = np.random.default_rng(random_state)
    n_users = _scaled(shape.n_users, scale)
    n_rated = _scaled(shape.n_rated_movies, scale)
    n_listed = max(n_rated, _scaled(shape.n_listed_movies, scale))
    n_ratings = max(20 * n_users, n_rated, _scaled(shape.n_ratings, scale))
    n_ratings = min(n_ratings, n_users * n_rated)
    movies = make_movies(n_listed, last_year=int(shape.end[:4]), random_state=random_state)
    movies["title"] = movies["title"].str.replace(r" \(\d{4}\)$", "", regex=True)
    rated = np.sort(rng.choice(n_listed, size=n_rated, replace=False))
    ratings, _ = make_ratings(
        n_users,
        n_ratings=n_ratings,
        n_factors=n_factors,
        movies=movies.iloc[rated].reset_index(drop=True),
        skew=ML25M_SKEW,
        random_state=random_state,
        start=shape.start,
        end=shape.end,
    )
    low, high, step = release.scale
    if step == 1.0:
        ratings["rating"] = np.clip(np.round(ratings["rating"]), low, high).astype(np.float32)
    with atomic.atomic_path(target) as folder:
        folder.mkdir()
        layout = release.layout
        writers.write_ratings(ratings, folder / release.files["ratings"], layout)
        writers.write_movies(movies, folder, layout, encoding=release.encoding)
        if "tags" in release.files and shape.n_tags:
            tags = _tags(rng, ratings, _scaled(shape.n_tags, scale))
            writers.write_tags(tags, folder / release.files["tags"], layout)
        if "links" in release.files:
            links = pd.DataFrame(
                {
                    "movieId": movies["movieId"].to_numpy(),
                    "imdbId": 100_000 + np.arange(len(movies)),
                    "tmdbId": 1_000 + np.arange(len(movies)),
                }
            )
            links.to_csv(folder / release.files["links"], index=False, lineterminator="\r\n")
        drawn = {
            "scale": scale,
            "n_factors": n_factors,
            "random_state": random_state,
            "n_users": n_users,
            "n_ratings": int(len(ratings)),
            "n_rated_movies": int(ratings["movieId"].nunique()),
            "n_listed_movies": int(len(movies)),
        }
        provenance.write_synthetic_marker(
            folder,
            generator="recsys_helpers.data.synthetic_release.write_release_like",
            like=release.name,
            parameters=drawn,
        )
    logger.info("wrote a synthetic %s (%d ratings) to %s", release.name, len(ratings), target)
    return target
