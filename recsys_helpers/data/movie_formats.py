"""Parsers of the movie files of the MovieLens releases: movies, tags, links, tag genome.

Layouts as in :mod:`recsys_helpers.data.formats` (``csv``, ``dat``, ``100k``); every parser
returns the package's tidy frame and raises :class:`DataError` naming the file, the line
and the column of the first problem.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers.data.formats import (
    GENOME_SCORE_COLUMNS,
    GENOME_TAG_COLUMNS,
    LINK_COLUMNS,
    MOVIE_COLUMNS,
    TAG_COLUMNS,
    check_id_range,
    numeric_column,
    read_lines,
    read_table,
    split_fields,
)
from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

NO_GENRES = "(no genres listed)"
"""The ``genres`` value of a movie without genres in the csv releases."""

ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
"""Names of ml-100k's 19 genre flag columns, in file order (as listed in ``u.genre``)."""

ML100K_NO_GENRE = "unknown"

_TITLE_YEAR = r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*\d{4})?\)\s*$"
"""A title ending in ``(YYYY)`` (or a ``(YYYY-YYYY)`` run of a series)."""


def split_title_year(titles: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split ``"Heat (1995)"`` into ``"Heat"`` and 1995; titles without a year keep NA.

    Returns
    -------
    title : pandas.Series of str
    year : pandas.Series of Int16 (nullable)
    """
    titles = titles.astype("str").str.strip()
    parts = titles.str.extract(_TITLE_YEAR)
    has_year = parts["year"].notna()
    title = titles.where(~has_year, parts["title"])
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int16")
    return title.astype("str"), year


def _genre_lists(genres: pd.Series) -> pd.Series:
    """``"A|B"`` -> ``["A", "B"]``; the no-genre marker and empty values -> ``[]``."""
    text = genres.fillna("").astype("str").str.strip()
    lists = text.str.split("|", regex=False)
    empty = text.isin(["", NO_GENRES])
    return pd.Series(
        [[] if e else g for e, g in zip(empty, lists, strict=True)], index=genres.index
    )


def _movies_frame(ids, titles: pd.Series, genres: pd.Series, *, source: str, first_line: int):
    movie_ids = numeric_column(
        pd.Series(ids), column="movieId", source=source, first_line=first_line, integer=True
    )
    check_id_range(movie_ids, column="movieId", source=source, first_line=first_line)
    repeated = pd.Series(movie_ids).duplicated().to_numpy()
    if repeated.any():
        position = int(np.argmax(repeated))
        raise DataError(
            f"{source}: line {position + first_line}: movieId {int(movie_ids[position])} "
            f"is listed twice"
        )
    title, year = split_title_year(titles.reset_index(drop=True))
    return pd.DataFrame(
        {
            "movieId": movie_ids.astype(np.int32),
            "title": title,
            "year": year,
            "genres": genres.reset_index(drop=True),
        }
    )


def parse_movies(path: Path, *, layout: str, encoding: str = "utf-8") -> pd.DataFrame:
    """Parse a movies file into ``movieId`` int32, ``title`` str, ``year`` Int16, ``genres``.

    ``genres`` holds one list of str per movie (empty when the release lists none). For
    ml-100k, ``path`` is ``u.item``; its genre flag names are taken from ``u.genre`` beside
    it when present, else :data:`ML100K_GENRES`.
    """
    source = os.fspath(path)
    if layout == "csv":
        raw = read_table(path, columns=MOVIE_COLUMNS, text_columns=("title", "genres"))
        return _movies_frame(
            raw["movieId"], raw["title"], _genre_lists(raw["genres"]), source=source, first_line=2
        )
    if layout == "dat":
        lines = read_lines(path, encoding=encoding)
        raw = split_fields(lines, sep="::", names=list(MOVIE_COLUMNS), free="title", source=path)
        return _movies_frame(
            raw["movieId"], raw["title"], _genre_lists(raw["genres"]), source=source, first_line=1
        )
    if layout == "100k":
        genre_names = parse_genre_names(path.with_name("u.genre"))
        names = ["movieId", "title", "release", "video_release", "url", *genre_names]
        lines = read_lines(path, encoding=encoding)
        raw = split_fields(lines, sep="|", names=names, free="title", source=path)
        flags = np.column_stack(
            [
                numeric_column(raw[g], column=g, source=source, first_line=1, integer=True)
                for g in genre_names
            ]
        ).astype(bool)
        kept = [j for j, g in enumerate(genre_names) if g != ML100K_NO_GENRE]
        vocabulary = np.asarray(genre_names, dtype=object)[kept]
        genres = pd.Series([list(vocabulary[row]) for row in flags[:, kept]])
        movies = _movies_frame(raw["movieId"], raw["title"], genres, source=source, first_line=1)
        # Titles such as "unknown" carry no year; the release date does.
        released = pd.to_datetime(raw["release"], format="%d-%b-%Y", errors="coerce")
        movies["year"] = movies["year"].fillna(released.dt.year.astype("Int16"))
        return movies
    raise ValueError(f"unknown layout {layout!r}; expected 'csv', 'dat' or '100k'")


def parse_genre_names(path: Path) -> list[str]:
    """Genre flag names of ml-100k from ``u.genre`` (``name|index`` lines), in index order."""
    if not path.is_file():
        return list(ML100K_GENRES)
    lines = read_lines(path, encoding="latin-1")
    lines = lines[lines.str.strip() != ""]
    raw = split_fields(lines, sep="|", names=["genre", "index"], free="genre", source=path)
    index = numeric_column(
        raw["index"], column="index", source=os.fspath(path), first_line=1, integer=True
    )
    if sorted(index.tolist()) != list(range(len(index))):
        raise DataError(f"{path}: genre indices must be 0..{len(index) - 1}")
    return raw["genre"].to_numpy()[np.argsort(index)].tolist()


# --------------------------------------------------------------------------- other tables


def parse_tags(path: Path, *, layout: str, encoding: str = "utf-8") -> pd.DataFrame:
    """Parse tag applications.

    Returns ``userId`` int32, ``movieId`` int32, ``tag`` str, ``timestamp`` int64.
    """
    source = os.fspath(path)
    if layout == "csv":
        raw = read_table(path, columns=TAG_COLUMNS, text_columns=("tag",))
        first_line = 2
    elif layout == "dat":
        lines = read_lines(path, encoding=encoding)
        raw = split_fields(lines, sep="::", names=list(TAG_COLUMNS), free="tag", source=path)
        first_line = 1
    else:
        raise ValueError(f"layout {layout!r} has no tags file")
    kw = {"source": source, "first_line": first_line}
    return pd.DataFrame(
        {
            "userId": numeric_column(raw["userId"], column="userId", integer=True, **kw).astype(
                np.int32
            ),
            "movieId": numeric_column(raw["movieId"], column="movieId", integer=True, **kw).astype(
                np.int32
            ),
            "tag": raw["tag"].fillna("").astype("str"),
            "timestamp": numeric_column(raw["timestamp"], column="timestamp", integer=True, **kw),
        }
    )


def parse_links(path: Path) -> pd.DataFrame:
    """``links.csv``: ``movieId`` int32, ``imdbId`` Int64, ``tmdbId`` Int64 (nullable)."""
    raw = read_table(path, columns=LINK_COLUMNS)
    kw = {"source": os.fspath(path), "first_line": 2}
    movie_ids = numeric_column(raw["movieId"], column="movieId", integer=True, **kw)
    out = {"movieId": movie_ids.astype(np.int32)}
    for column in ("imdbId", "tmdbId"):
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = values.isna() & raw[column].notna()
        if bad.any():
            position = int(np.argmax(bad.to_numpy()))
            raise DataError(
                f"{path}: line {position + 2}: column {column!r} has non-numeric value "
                f"{raw[column].iloc[position]!r}"
            )
        out[column] = values.astype("Int64")
    return pd.DataFrame(out)


def parse_genome_scores(path: Path) -> pd.DataFrame:
    """``genome-scores.csv``: ``movieId`` int32, ``tagId`` int32, ``relevance`` float32."""
    raw = read_table(path, columns=GENOME_SCORE_COLUMNS)
    kw = {"source": os.fspath(path), "first_line": 2}
    return pd.DataFrame(
        {
            "movieId": numeric_column(raw["movieId"], column="movieId", integer=True, **kw).astype(
                np.int32
            ),
            "tagId": numeric_column(raw["tagId"], column="tagId", integer=True, **kw).astype(
                np.int32
            ),
            "relevance": numeric_column(
                raw["relevance"], column="relevance", integer=False, **kw
            ).astype(np.float32),
        }
    )


def parse_genome_tags(path: Path) -> pd.DataFrame:
    """``genome-tags.csv``: ``tagId`` int32, ``tag`` str."""
    raw = read_table(path, columns=GENOME_TAG_COLUMNS, text_columns=("tag",))
    kw = {"source": os.fspath(path), "first_line": 2}
    tag_ids = numeric_column(raw["tagId"], column="tagId", integer=True, **kw)
    return pd.DataFrame({"tagId": tag_ids.astype(np.int32), "tag": raw["tag"].astype("str")})
