"""Tidy frames of a MovieLens release: ratings (cached as parquet), movies, tags, links.

:func:`load` returns every table of a release as a :class:`MovieLens`; :func:`load_ratings`
and :func:`load_movies` one table each. Files come from :func:`recsys_helpers.data.fetch.fetch`
(extracted copy, mirror or download, each checked against GroupLens's checksums, see
:mod:`recsys_helpers.data.provenance`) and are parsed by :mod:`recsys_helpers.data.formats`.

Parsed ratings are cached as parquet under ``data_dir/cache`` keyed by release and parser
version. The cache records where its ratings came from (the parquet key-value metadata
``recsys_helpers.source``: origin, status, checksum, the origin's size and time). A
verified cache is used without reading the source again; an unverified or synthetic one
only while its source is unchanged: when the source changed or moved it is rebuilt, and
when the source is gone it is used with a warning. A cache without that record (or
unreadable, or of another schema) is rebuilt.

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

import json
import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_helpers import atomic, config
from recsys_helpers.data import formats, movie_formats, provenance
from recsys_helpers.data.fetch import data_root, fetch, fetch_release, locate
from recsys_helpers.data.formats import validate_ratings
from recsys_helpers.data.provenance import Provenance
from recsys_helpers.data.releases import DATASETS, Release, get_release
from recsys_helpers.errors import DataError, UnverifiedDataWarning

logger = logging.getLogger(__name__)

__all__ = [
    "DATASETS",
    "display_titles",
    "MovieLens",
    "Release",
    "fetch",
    "fetch_release",
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


_SOURCE_KEY = b"recsys_helpers.source"
"""Parquet key-value metadata entry holding the cache's :class:`Provenance` as JSON."""


def _read_cached_ratings(path: Path) -> tuple[pd.DataFrame, Provenance | None] | None:
    """The cached frame and its recorded source, or None when absent or unusable."""
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        frame = pd.read_parquet(path, engine="pyarrow")
        metadata = pq.read_schema(path).metadata or {}
    except Exception as exc:  # any unreadable cache is rebuilt, whatever the reason
        logger.warning("ignoring unreadable cache %s (%s)", path, exc)
        path.unlink(missing_ok=True)
        return None
    if {c: frame[c].dtype for c in frame.columns} != _RATINGS_DTYPES:
        logger.warning("ignoring cache %s with an unexpected schema", path)
        path.unlink(missing_ok=True)
        return None
    try:
        source = Provenance.from_dict(json.loads(metadata[_SOURCE_KEY]))
    except (KeyError, ValueError, TypeError):
        source = None
    return frame, source


def _write_parquet(frame: pd.DataFrame, path: Path, source: Provenance) -> None:
    """Write the ratings cache with ``source`` in the parquet key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[_SOURCE_KEY] = json.dumps(source.to_dict()).encode("utf-8")
    with atomic.atomic_path(path) as temporary:
        pq.write_table(table.replace_schema_metadata(metadata), temporary)


def _identity(source: Provenance | None) -> tuple | None:
    return None if source is None else (source.origin, source.origin_size, source.origin_mtime_ns)


def _cache_is_current(cache: Path, cached: Provenance | None, now: Provenance | None) -> bool:
    """Whether a cache recorded as coming from ``cached`` may serve a source ``now``.

    Verified ratings are GroupLens's whatever the copy; others are trusted only while their
    source is unchanged, and used with a warning when their source is gone.
    """
    if cached is None:
        logger.warning("%s records no source; rebuilding it", cache)
        return False
    if cached.status == provenance.VERIFIED:
        return True
    if now is None:
        message = (
            f"{cache}: the source of these {cached.status} ratings, {cached.origin}, is no "
            "longer there; using the cache (delete it to fetch the release again)"
        )
        if cached.status == provenance.UNVERIFIED:
            warnings.warn(message, UnverifiedDataWarning, stacklevel=3)
        else:
            logger.warning(message)
        return True
    if _identity(now) != _identity(cached):
        logger.warning(
            "%s came from %s, which changed or moved; rebuilding it", cache, cached.origin
        )
        return False
    provenance.announce(cached, stacklevel=4)
    return True


def load_ratings(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """All ratings of a release, from the parquet cache when there is a current one.

    Parameters are those of :func:`fetch`.

    Returns
    -------
    pandas.DataFrame, shape (n_ratings, 4)
        ``userId`` int32, ``movieId`` int32, ``rating`` float32 on the release's scale,
        ``timestamp`` int64 (Unix seconds), in file order.

    Raises
    ------
    DataError
        As :func:`~recsys_helpers.data.fetch.fetch_release`; nothing is cached then.
    """
    release = get_release(name)
    root = data_root(data_dir)
    cache = _cache_path(release, root, "ratings")
    cached = _read_cached_ratings(cache)
    if cached is not None:
        frame, source = cached
        try:
            now = None if source is None else locate(release, mirror=mirror, data_dir=root)
        except DataError:  # e.g. a mirror folder that is gone
            now = None
        if _cache_is_current(cache, source, now):
            logger.info("ratings of %s from the cache %s", release.name, cache)
            return frame
    fetched = fetch_release(release, mirror=mirror, data_dir=root, progress=progress)
    path = fetched.folder / release.files["ratings"]
    ratings = fetched.ratings
    if ratings is None:
        ratings = formats.parse_ratings(path, layout=release.layout, scale=release.scale)
    source = fetched.source
    if source.checksum is None:  # unverified or synthetic: the parsed file's own MD5
        source = replace(source, checksum=f"md5:{provenance.file_digest(path)}")
    try:
        _write_parquet(ratings, cache, source)
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
    source: Provenance | None = None

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
    fetched = fetch_release(release, mirror=mirror, data_dir=data_dir, progress=progress)
    folder, files = fetched.folder, release.files
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
    return MovieLens(
        release.name, ratings, movies, applied, link_table, scores, genome_tags, fetched.source
    )


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
