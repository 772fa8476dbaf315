"""The MovieLens releases: where to find them, how to fetch them, and tidy frames of them.

A release is looked for, in order:

1. already extracted under ``data_dir`` (``config.data_dir()`` by default) as ``NAME/``;
2. in the mirror folder (``mirror`` argument or ``$MOVIELENS_MIRROR``), either as the
   extracted ``NAME/`` (or GroupLens's own folder name, e.g. ``ml-10M100K/``), used in
   place and never written to, or as ``NAME.zip``, which is extracted into ``data_dir``;
3. downloaded from GroupLens with pooch, its checksum verified against the pinned hash
   or, where none is pinned, the ``NAME.zip.md5`` GroupLens publishes beside the archive.

Every write goes to a temporary name in the destination folder first and is renamed into
place, so an interrupted download or extraction leaves nothing half-written. Parsed
ratings are cached as parquet under ``data_dir/cache`` keyed by release and parser
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
    As in the release, with int32 ids (see :mod:`recsys_helpers._movielens_formats`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_helpers import _movielens_formats as formats
from recsys_helpers import config
from recsys_helpers._movielens_formats import validate_ratings
from recsys_helpers.errors import DataError, DownloadError

logger = logging.getLogger(__name__)

__all__ = [
    "DATASETS",
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

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"

PARSER_VERSION = 1
"""Bumped whenever parsing changes, so that older caches are rebuilt rather than trusted."""

HALF_STARS = (0.5, 5.0, 0.5)
WHOLE_STARS = (1.0, 5.0, 1.0)

_FILES = {
    "csv": {
        "ratings": "ratings.csv",
        "movies": "movies.csv",
        "tags": "tags.csv",
        "links": "links.csv",
        "genome_scores": "genome-scores.csv",
        "genome_tags": "genome-tags.csv",
    },
    "dat": {"ratings": "ratings.dat", "movies": "movies.dat", "tags": "tags.dat"},
    "100k": {"ratings": "u.data", "movies": "u.item"},
}


@dataclass(frozen=True)
class Release:
    """One MovieLens release and how to get and read it.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"ml-25m"``; also the archive stem ``NAME.zip``.
    folder : str
        Folder the archive extracts to (``"ml-10M100K"`` for ml-10m).
    layout : {"csv", "dat", "100k"}
        File format family (see :mod:`recsys_helpers._movielens_formats`).
    scale : (min, max, step)
        Rating scale: ``(0.5, 5.0, 0.5)`` half stars or ``(1.0, 5.0, 1.0)`` whole stars.
    known_hash : str or None
        ``"md5:..."`` or ``"sha256:..."`` of the archive; None means the hash is read from
        :attr:`checksum_url` at download time.
    url : str
        Archive URL; GroupLens's by default.
    encoding : str
        Text encoding of the movies (and tags) file.
    """

    name: str
    folder: str
    layout: str
    scale: tuple[float, float, float] = HALF_STARS
    known_hash: str | None = None
    url: str = ""
    encoding: str = "utf-8"
    files: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.layout not in _FILES:
            raise ValueError(f"layout must be one of {', '.join(_FILES)}, got {self.layout!r}")
        if not self.url:
            object.__setattr__(self, "url", f"{GROUPLENS_URL}{self.name}.zip")
        if not self.files:
            object.__setattr__(self, "files", dict(_FILES[self.layout]))

    @property
    def archive(self) -> str:
        """File name of the archive, ``NAME.zip``."""
        return f"{self.name}.zip"

    @property
    def checksum_url(self) -> str:
        """Where the publisher's MD5 of the archive is (``URL.md5``)."""
        return f"{self.url}.md5"


DATASETS: dict[str, Release] = {
    release.name: release
    for release in (
        Release(
            "ml-latest-small",
            "ml-latest-small",
            "csv",
            known_hash="sha256:696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        ),
        Release("ml-25m", "ml-25m", "csv", known_hash="md5:6b51fb2759a8657d3bfcbfc42b592ada"),
        Release("ml-32m", "ml-32m", "csv"),
        Release("ml-20m", "ml-20m", "csv"),
        Release("ml-10m", "ml-10M100K", "dat"),
        Release(
            "ml-1m",
            "ml-1m",
            "dat",
            scale=WHOLE_STARS,
            known_hash="md5:c4d9eecfca2ab87c1945afe126590906",
            encoding="latin-1",
        ),
        Release(
            "ml-100k",
            "ml-100k",
            "100k",
            scale=WHOLE_STARS,
            known_hash="md5:0e33842e24a9c977be4e0107933c0723",
            encoding="latin-1",
        ),
    )
}
"""Every release known by name; ``ml-latest-small`` is the default everywhere."""


def get_release(name: str | Release) -> Release:
    """The :class:`Release` called ``name`` (a Release is returned as is).

    Raises
    ------
    DataError
        For an unknown name, listing the known ones.
    """
    if isinstance(name, Release):
        return name
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


# --------------------------------------------------------------------------- fetching


def _has_ratings(folder: Path, release: Release) -> bool:
    return (folder / release.files["ratings"]).is_file()


def _mirror_source(release: Release, mirror: Path | None) -> Path | None:
    """The extracted folder or the archive of ``release`` in the mirror, if any."""
    if mirror is None:
        return None
    if not mirror.is_dir():
        raise DataError(f"{mirror}: mirror folder does not exist")
    for folder in dict.fromkeys((release.name, release.folder)):
        if _has_ratings(mirror / folder, release):
            return mirror / folder
    archive = mirror / release.archive
    return archive if archive.is_file() else None


def _temporary_sibling(target: Path, suffix: str = "") -> Path:
    """A fresh temporary path in ``target``'s folder (so that the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f"{suffix}.tmp", dir=target.parent
    )
    os.close(handle)
    os.unlink(name)
    return Path(name)


def _archive_prefix(names: list[str], release: Release) -> str:
    """The folder inside the archive that holds the release files (``""`` for the root).

    GroupLens archives hold one top folder, ``release.folder``; a re-packed archive with
    another single top folder, or with the files at its root, is accepted too.
    """
    ratings = release.files["ratings"]
    candidates = [f"{release.folder}/", f"{release.name}/", ""]
    candidates += sorted({name.split("/", 1)[0] + "/" for name in names if "/" in name})
    for prefix in candidates:
        if f"{prefix}{ratings}" in names:
            return prefix
    return f"{release.folder}/"


def _extract(archive: Path, release: Release, destination: Path, *, progress: bool) -> Path:
    """Extract ``release``'s files from ``archive`` into ``destination`` atomically.

    The archive's top folder (``release.folder``) is dropped, so ``destination`` holds
    ``ratings.csv`` and friends directly.

    Raises
    ------
    DataError
        When the archive is truncated or corrupt, or lacks the ratings file; the partly
        extracted temporary folder is removed.
    """
    from tqdm.auto import tqdm

    temporary = _temporary_sibling(destination)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir()]
            prefix = _archive_prefix([m.filename for m in members], release)
            wanted = [m for m in members if m.filename.startswith(prefix)]
            names = {m.filename[len(prefix) :] for m in wanted}
            if release.files["ratings"] not in names:
                raise DataError(
                    f"{archive}: the archive has no {release.folder}/{release.files['ratings']}"
                )
            temporary.mkdir()
            for member in tqdm(wanted, desc=f"extracting {archive.name}", disable=not progress):
                relative = Path(member.filename[len(prefix) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise DataError(f"{archive}: unsafe member path {member.filename!r}")
                target = temporary / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, length=1 << 20)
        try:
            os.replace(temporary, destination)
        except OSError:
            if not _has_ratings(destination, release):
                raise
            logger.info("%s was extracted concurrently; keeping that copy", destination)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataError(f"{archive}: corrupt or truncated zip archive ({exc})") from exc
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return destination


def _published_md5(release: Release) -> str:
    """The MD5 hex digest published at ``release.checksum_url``."""
    try:
        with urllib.request.urlopen(release.checksum_url, timeout=60) as response:
            text = response.read(4096).decode("ascii", errors="replace")
    except OSError as exc:
        raise DownloadError(f"{release.checksum_url}: cannot fetch the checksum ({exc})") from exc
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if match is None:
        raise DownloadError(f"{release.checksum_url}: no MD5 digest found in {text[:80]!r}")
    return match.group(0).lower()


def _download(release: Release, destination: Path, *, progress: bool) -> Path:
    """Download ``release``'s archive to ``destination`` and verify its checksum.

    Raises
    ------
    DownloadError
        On a network failure or a checksum mismatch (expected and actual hash named; the
        bad file is deleted).
    """
    import pooch

    known_hash = release.known_hash or f"md5:{_published_md5(release)}"
    algorithm, expected = known_hash.split(":", 1)
    temporary = _temporary_sibling(destination, ".download")
    logger.info("downloading %s to %s", release.url, destination)
    try:
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=60)
        downloader(release.url, os.fspath(temporary), None)
        actual = pooch.file_hash(os.fspath(temporary), alg=algorithm)
        if actual != expected.lower():
            raise DownloadError(
                f"{release.url}: checksum mismatch: expected {algorithm} {expected}, got "
                f"{actual}; the downloaded file was deleted"
            )
        os.replace(temporary, destination)
    except DownloadError:
        raise
    except (OSError, ValueError) as exc:  # requests' errors are OSErrors
        raise DownloadError(f"{release.url}: download failed ({exc})") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return destination


def fetch(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Folder holding the extracted files of a release, fetching it when needed.

    Parameters
    ----------
    name : str or Release, default "ml-latest-small"
        A key of :data:`DATASETS`, or a :class:`Release` (e.g. one with another URL).
    mirror : path, optional
        Local folder with ``NAME.zip`` or ``NAME/``; default ``$MOVIELENS_MIRROR``.
    data_dir : path, optional
        Where archives are downloaded and extracted; default :func:`config.data_dir`.
    progress : bool, default True
        Show progress bars for the download and the extraction.

    Returns
    -------
    Path
        ``data_dir/NAME`` or, for an extracted mirror copy, the mirror's folder itself.

    Raises
    ------
    DataError
        Unknown name, missing mirror folder, corrupt archive.
    DownloadError
        Network failure or checksum mismatch.
    """
    release = get_release(name)
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    extracted = root / release.name
    if _has_ratings(extracted, release):
        return extracted
    source = _mirror_source(release, config.mirror_dir(mirror))
    if source is not None and source.is_dir():
        logger.info("using %s from the mirror %s", release.name, source)
        return source
    if source is not None:
        logger.info("extracting %s from the mirror", source)
        return _extract(source, release, extracted, progress=progress)
    archive = root / release.archive
    if not archive.is_file():
        _download(release, archive, progress=progress)
    try:
        return _extract(archive, release, extracted, progress=progress)
    except DataError:
        archive.unlink(missing_ok=True)  # a downloaded copy is ours to discard
        raise


# --------------------------------------------------------------------------- ratings


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
    return formats.read_ratings_file(path, layout=layout, scale=scale)


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
    temporary = _temporary_sibling(path)
    try:
        frame.to_parquet(temporary, engine="pyarrow", index=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
    ratings = formats.read_ratings_file(
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
    return formats.read_movies_file(
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
) -> MovieLens:
    """Every table of a release.

    Parameters are those of :func:`fetch`; ``genome=False`` skips the tag genome (15
    million rows in ml-25m).
    """
    release = get_release(name)
    ratings = load_ratings(release, mirror=mirror, data_dir=data_dir, progress=progress)
    folder = fetch(release, mirror=mirror, data_dir=data_dir, progress=progress)
    files = release.files
    movies = formats.read_movies_file(
        folder / files["movies"], layout=release.layout, encoding=release.encoding
    )

    def optional(key, reader, **kwargs):
        path = folder / files[key] if key in files else None
        return reader(path, **kwargs) if path is not None and path.is_file() else None

    tags = optional(
        "tags", formats.read_tags_file, layout=release.layout, encoding=release.encoding
    )
    links = optional("links", formats.read_links_file)
    scores = optional("genome_scores", formats.read_genome_scores_file) if genome else None
    genome_tags = optional("genome_tags", formats.read_genome_tags_file) if genome else None
    return MovieLens(release.name, ratings, movies, tags, links, scores, genome_tags)
