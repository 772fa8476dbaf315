"""Tidy frames of a MovieLens release: ratings (cached as parquet), movies, tags, links.

:func:`load` returns every table of a release as a :class:`MovieLens`; :func:`load_ratings`
and :func:`load_movies` one table each. Files come from :func:`recsys_helpers.data.fetch.fetch`
(extracted copy, mirror or download) and are parsed by :mod:`recsys_helpers.data.formats`.
Parsed ratings are cached as parquet under ``data_dir/cache`` keyed by release and parser
version; a cache hit reads neither the mirror nor the archive.

Frames
------
ratings
    ``userId`` int32, ``movieId`` int32, ``rating`` float32, ``timestamp`` int64 (Unix
    seconds, UTC).
movies
    ``movieId`` int32, ``title`` str (year stripped), ``year`` Int16 (nullable),
    ``genres`` list of str (empty when the release lists none).
tags
    ``userId`` int32, ``movieId`` int32, ``tag`` str, ``timestamp`` int64.
links, genome_scores, genome_tags
    As in the release, with int32 ids (see :mod:`recsys_helpers.data.formats`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_helpers import atomic, config
from recsys_helpers.data import formats, movie_formats
from recsys_helpers.data.fetch import fetch
from recsys_helpers.data.formats import validate_ratings
from recsys_helpers.data.releases import DATASETS, Release, get_release
from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

__all__ = [
    "DATASETS",
    "display_titles",
    "MovieLens",
    "Release",
    "fetch",
    "genre_matrix",
    "get_release",
    "load",
    "load_movies",
    "load_ratings",
    "read_ratings",
    "validate_ratings",
]

PARSER_VERSION = 1
"""Bumped whenever parsing changes, so that older caches are rebuilt rather than trusted."""


def read_ratings(
    path: str | os.PathLike, *, scale: tuple[float, float, float] | None = None
) -> pd.DataFrame:
    """Parse one MovieLens ratings file of any supported format, validated.

    The format follows the file name: ``*.csv`` (header ``userId,movieId,rating,timestamp``),
    ``*.dat`` (``::``-separated, no header), anything else (``u.data``, ``u1.base``, ...)
    tab-separated as in ml-100k.

    Parameters
    ----------
    path : path
    scale : (min, max, step), optional
        Rating scale to enforce (see :func:`validate_ratings`).

    Returns
    -------
    pandas.DataFrame
        ``userId`` int32, ``movieId`` int32, ``rating`` float32, ``timestamp`` int64.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    layout = "csv" if suffix == ".csv" else "dat" if suffix == ".dat" else "100k"
    return formats.parse_ratings(path, layout=layout, scale=scale)


_RATINGS_DTYPES = {
    "userId": np.dtype(np.int32),
    "movieId": np.dtype(np.int32),
    "rating": np.dtype(np.float32),
    "timestamp": np.dtype(np.int64),
}


def _cache_path(release: Release, root: Path, table: str) -> Path:
    return root / "cache" / f"{release.name}.{table}.v{PARSER_VERSION}.parquet"


def _read_cached_ratings(path: Path) -> pd.DataFrame | None:
    """The cached frame, or None when absent or not exactly the ratings schema."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # any unreadable cache is rebuilt, whatever the reason
        logger.warning("ignoring unreadable cache %s (%s)", path, exc)
        path.unlink(missing_ok=True)
        return None
    if {c: frame[c].dtype for c in frame.columns} != _RATINGS_DTYPES:
        logger.warning("ignoring cache %s with an unexpected schema", path)
        path.unlink(missing_ok=True)
        return None
    return frame


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic.atomic_path(path) as temporary:
        frame.to_parquet(temporary, engine="pyarrow", index=False)


def load_ratings(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """All ratings of a release, from the parquet cache when there is one.

    Parameters are those of :func:`fetch`.

    Returns
    -------
    pandas.DataFrame, shape (n_ratings, 4)
        ``userId`` int32, ``movieId`` int32, ``rating`` float32 on the release's scale,
        ``timestamp`` int64 (Unix seconds), in file order.
    """
    release = get_release(name)
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    cache = _cache_path(release, root, "ratings")
    cached = _read_cached_ratings(cache)
    if cached is not None:
        logger.info("ratings of %s from the cache %s", release.name, cache)
        return cached
    folder = fetch(release, mirror=mirror, data_dir=root, progress=progress)
    ratings = formats.parse_ratings(
        folder / release.files["ratings"], layout=release.layout, scale=release.scale
    )
    try:
        _write_parquet(ratings, cache)
    except OSError as exc:
        logger.warning("could not write the cache %s (%s)", cache, exc)
    return ratings


def load_movies(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Every movie a release lists.

    Returns
    -------
    pandas.DataFrame, shape (n_movies, 4)
        ``movieId`` int32, ``title`` str without the ``(YYYY)`` suffix, ``year`` Int16
        (NA where the title has none), ``genres`` list of str (``[]`` for none).
    """
    release = get_release(name)
    folder = fetch(release, mirror=mirror, data_dir=data_dir, progress=progress)
    return movie_formats.parse_movies(
        folder / release.files["movies"], layout=release.layout, encoding=release.encoding
    )


def genre_matrix(movies: pd.DataFrame) -> tuple[sp.csr_matrix, list[str]]:
    """Multi-hot genre matrix G with ``G[i, g] = 1`` when movie i has genre g.

    Parameters
    ----------
    movies : pandas.DataFrame, shape (n_movies, ...)
        Must have a ``genres`` column of lists of str (as :func:`load_movies` returns).

    Returns
    -------
    G : scipy.sparse.csr_matrix, shape (n_movies, n_genres), float64
        Rows in the order of ``movies``.
    genres : list of str, length n_genres
        Column names, sorted alphabetically.
    """
    if "genres" not in movies.columns:
        raise DataError(
            f"movies: missing column genres; found {', '.join(map(str, movies.columns))}"
        )
    lists = movies["genres"].reset_index(drop=True)
    exploded = lists.explode().dropna()
    vocabulary = sorted(set(exploded.astype("str")))
    codes = pd.Categorical(exploded.astype("str"), categories=vocabulary).codes
    rows = exploded.index.to_numpy()
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, codes)), shape=(len(lists), len(vocabulary)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix, vocabulary


# --------------------------------------------------------------------------- everything


@dataclass
class MovieLens:
    """One release's tables.

    Attributes
    ----------
    name : str
    ratings : pandas.DataFrame
        See :func:`load_ratings`.
    movies : pandas.DataFrame
        See :func:`load_movies`.
    tags, links, genome_scores, genome_tags : pandas.DataFrame or None
        None where the release has no such file.
    """

    name: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    tags: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    genome_scores: pd.DataFrame | None = None
    genome_tags: pd.DataFrame | None = None

    @property
    def n_ratings(self) -> int:
        """|Ω|, the number of ratings."""
        return len(self.ratings)

    @property
    def n_users(self) -> int:
        """Users with at least one rating."""
        return int(self.ratings["userId"].nunique())

    @property
    def n_rated_movies(self) -> int:
        """Movies with at least one rating."""
        return int(self.ratings["movieId"].nunique())

    @property
    def n_movies(self) -> int:
        """Movies listed in the movies table (rated or not)."""
        return len(self.movies)

    @property
    def density(self) -> float:
        """|Ω| / (n_users · n_rated_movies): the observed fraction of the rating matrix."""
        cells = self.n_users * self.n_rated_movies
        return self.n_ratings / cells if cells else 0.0

    @property
    def genres(self) -> list[str]:
        """Every genre the movies table uses, sorted."""
        return genre_matrix(self.movies)[1]

    def genre_matrix(self) -> tuple[sp.csr_matrix, list[str]]:
        """:func:`genre_matrix` of :attr:`movies`."""
        return genre_matrix(self.movies)


def load(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
    genome: bool = True,
    tags: bool = True,
    links: bool = True,
) -> MovieLens:
    """Every table of a release.

    Parameters are those of :func:`fetch`; ``genome=False`` skips the tag genome (15
    million rows in ml-25m), ``tags=False`` the tag applications (1 million in ml-25m) and
    ``links=False`` the links file: those files are then not parsed, and the fields are None.
    """
    release = get_release(name)
    ratings = load_ratings(release, mirror=mirror, data_dir=data_dir, progress=progress)
    folder = fetch(release, mirror=mirror, data_dir=data_dir, progress=progress)
    files = release.files
    movies = movie_formats.parse_movies(
        folder / files["movies"], layout=release.layout, encoding=release.encoding
    )

    def optional(key, reader, **kwargs):
        path = folder / files[key] if key in files else None
        return reader(path, **kwargs) if path is not None and path.is_file() else None

    applied = (
        optional("tags", movie_formats.parse_tags, layout=release.layout, encoding=release.encoding)
        if tags
        else None
    )
    link_table = optional("links", movie_formats.parse_links) if links else None
    scores = optional("genome_scores", movie_formats.parse_genome_scores) if genome else None
    genome_tags = optional("genome_tags", movie_formats.parse_genome_tags) if genome else None
    return MovieLens(release.name, ratings, movies, applied, link_table, scores, genome_tags)


def display_titles(movies: pd.DataFrame) -> pd.Series:
    """``movieId -> "Title (YYYY)"`` as people know the movies.

    Release frames hold the title and the year apart (:func:`load_movies`); the year is put
    back where it is known. Frames without a ``year`` column (a user's movies file) keep
    their titles as written.

    Parameters
    ----------
    movies : DataFrame with ``movieId``, ``title`` and optionally ``year``

    Returns
    -------
    pandas.Series of str, indexed by movieId
    """
    titles = movies["title"].astype(str)
    if "year" in movies.columns:
        year = pd.to_numeric(movies["year"], errors="coerce")
        with_year = titles + " (" + year.astype("Int64").astype(str) + ")"
        titles = titles.where(year.isna(), with_year)
    return pd.Series(titles.to_numpy(), index=movies["movieId"].to_numpy(), name="title")
