"""Movie features: the sparse multi-hot matrix of genres, release years and tags.

:func:`item_features` turns the movies table (and optionally the tag applications) into a
sparse matrix ``X`` of shape ``(n_movies, n_features)``, one row per movie in the order of
the ``movies`` frame; :func:`normalised_features` scales each row to ``Φ_i = x_i /
sqrt(|F(i)|)``. The content baseline (:mod:`recsys_helpers.models.content`) and the hybrid
model's priors (:mod:`recsys_helpers.models.hybrid`) both use them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

FEATURE_KINDS = ("genres", "year", "tags")
"""Feature families understood by :func:`item_features`."""

NO_GENRES = "(no genres listed)"
_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")


def _genre_lists(movies: pd.DataFrame) -> list[list[str]]:
    """Genres per movie as lists, accepting lists or ``|``-separated strings."""
    lists = []
    for value in movies["genres"]:
        if isinstance(value, str):
            names = value.split("|")
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            names = []
        else:
            names = list(value)
        lists.append([g for g in (str(n).strip() for n in names) if g and g != NO_GENRES])
    return lists


def _years(movies: pd.DataFrame) -> np.ndarray:
    """Release year per movie as float (NaN when unknown), from ``year`` or the title."""
    if "year" in movies.columns:
        return pd.to_numeric(movies["year"], errors="coerce").to_numpy(dtype=np.float64)
    if "title" not in movies.columns:
        raise DataError("movies: the 'year' kind needs a 'year' or a 'title' column")
    years = movies["title"].astype(str).str.extract(_YEAR_IN_TITLE, expand=False)
    return pd.to_numeric(years, errors="coerce").to_numpy(dtype=np.float64)


def _multi_hot(rows: Sequence[Iterable[str]], vocabulary: list[str]) -> sp.csr_matrix:
    """Binary CSR matrix with a 1 where row ``r`` lists ``vocabulary[j]``."""
    position = {name: j for j, name in enumerate(vocabulary)}
    row_index, col_index = [], []
    for r, names in enumerate(rows):
        cols = sorted({position[n] for n in names if n in position})
        row_index.extend([r] * len(cols))
        col_index.extend(cols)
    data = np.ones(len(row_index), dtype=np.float64)
    return sp.csr_matrix((data, (row_index, col_index)), shape=(len(rows), len(vocabulary)))


def item_features(
    movies: pd.DataFrame,
    tags: pd.DataFrame | None = None,
    feature_kinds: Sequence[str] = FEATURE_KINDS,
    *,
    year_bucket: int = 10,
    min_tag_movies: int = 5,
    max_tags: int = 100,
) -> tuple[sp.csr_matrix, list[str]]:
    """Sparse multi-hot feature matrix of the movies.

    Parameters
    ----------
    movies : DataFrame
        One row per movie with ``movieId``, ``genres`` (list of str, or the release's
        ``|``-separated string; ``"(no genres listed)"`` means none) and either ``year``
        or ``title`` ending in ``"(YYYY)"``.
    tags : DataFrame, optional
        Tag applications with ``movieId`` and ``tag``. Tags are lower-cased and
        stripped; ignored when None or when ``"tags"`` is not in ``feature_kinds``.
    feature_kinds : sequence of {"genres", "year", "tags"}
        Feature families to include, in this order of columns.
    year_bucket : int, default 10
        Width in years of the release-year buckets (one-hot, e.g. ``year=1990`` covers
        1990-1999 when 10). Movies without a known year get no year feature.
    min_tag_movies : int, default 5
        A tag becomes a feature only when applied to at least this many distinct movies.
    max_tags : int, default 100
        At most this many tag features, the ones applied to the most movies (ties by name).

    Returns
    -------
    features : scipy.sparse.csr_matrix, float64, shape (n_movies, n_features)
        Entries are 0 or 1; row ``r`` belongs to ``movies.iloc[r]``.
    feature_names : list of str, length n_features
        ``"genre=<name>"``, ``"year=<first year of bucket>"`` and ``"tag=<tag>"``.

    Raises
    ------
    ValueError
        On an unknown kind or a non-positive ``year_bucket``/``min_tag_movies``.
    DataError
        When a column needed by the requested feature kinds is missing.
    """
    unknown = [k for k in feature_kinds if k not in FEATURE_KINDS]
    if unknown:
        raise ValueError(
            f"feature_kinds: unknown feature kind(s) {unknown}; choose from {FEATURE_KINDS}"
        )
    if year_bucket < 1:
        raise ValueError(f"year_bucket must be a positive number of years, got {year_bucket}")
    if min_tag_movies < 1:
        raise ValueError(f"min_tag_movies must be at least 1, got {min_tag_movies}")
    if "movieId" not in movies.columns:
        raise DataError("movies: missing column 'movieId'")

    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    n_movies = len(movies)
    for kind in feature_kinds:
        if kind == "genres":
            if "genres" not in movies.columns:
                raise DataError("movies: the 'genres' kind needs a 'genres' column")
            lists = _genre_lists(movies)
            vocabulary = sorted({g for row in lists for g in row})
            blocks.append(_multi_hot(lists, vocabulary))
            names.extend(f"genre={g}" for g in vocabulary)
        elif kind == "year":
            years = _years(movies)
            known = ~np.isnan(years)
            buckets = np.full(n_movies, -1, dtype=np.int64)
            buckets[known] = (years[known] // year_bucket).astype(np.int64) * year_bucket
            vocabulary = sorted(set(buckets[known].tolist()))
            rows = [[int(b)] if b >= 0 else [] for b in buckets]
            blocks.append(_multi_hot(rows, vocabulary))
            names.extend(f"year={b}" for b in vocabulary)
        elif kind == "tags" and tags is not None and len(tags):
            missing = {"movieId", "tag"} - set(tags.columns)
            if missing:
                raise DataError(f"tags: missing column(s) {sorted(missing)}")
            applied = pd.DataFrame(
                {
                    "movieId": tags["movieId"].to_numpy(),
                    "tag": tags["tag"].astype(str).str.strip().str.lower(),
                }
            )
            applied = applied[applied["tag"] != ""].drop_duplicates()
            per_tag = applied.groupby("tag")["movieId"].nunique()
            per_tag = per_tag[per_tag >= min_tag_movies]
            order = sorted(per_tag.index, key=lambda t: (-per_tag[t], t))[:max_tags]
            vocabulary = sorted(order)
            kept = applied[applied["tag"].isin(vocabulary)]
            by_movie = kept.groupby("movieId")["tag"].agg(list)
            rows = [by_movie.get(m, []) for m in movies["movieId"].to_numpy()]
            blocks.append(_multi_hot(rows, vocabulary))
            names.extend(f"tag={t}" for t in vocabulary)
    if blocks:
        features = sp.hstack(blocks, format="csr", dtype=np.float64)
    else:
        features = sp.csr_matrix((n_movies, 0), dtype=np.float64)
    logger.debug("item_features: %d movies x %d features", n_movies, features.shape[1])
    return features, names


def normalised_features(features: sp.csr_matrix) -> sp.csr_matrix:
    """Scale each movie's feature row by ``1/sqrt(|F(i)|)`` (rows with none stay zero)."""
    per_row = np.diff(features.indptr)
    scale = np.zeros(len(per_row))
    scale[per_row > 0] = 1.0 / np.sqrt(per_row[per_row > 0])
    return sp.csr_matrix(sp.diags(scale) @ features)
