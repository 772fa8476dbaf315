"""Writing ratings, movies and tags in the file layouts of the MovieLens releases.

The inverse of :mod:`recsys_helpers.data.formats` and :mod:`recsys_helpers.data.movie_formats`:
a frame written here parses back to the same frame. Used to write synthetic releases
(:mod:`recsys_helpers.data.synthetic_release`) that the loaders read exactly like the real ones.

``csv``
    ``ratings.csv``, ``movies.csv``, ``tags.csv``, ``links.csv``: one header row, commas,
    titles quoted when they hold a comma, CRLF line endings (as GroupLens ships them).
``dat``
    ``ratings.dat``, ``movies.dat``, ``tags.dat``: ``::``-separated, no header.
``100k``
    ``u.data`` (tab-separated), ``u.item`` (``|``-separated, 19 genre flags), ``u.genre``.

Large tables are written in chunks of rows, so memory stays bounded at ML-25M size.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers.data.movie_formats import ML100K_GENRES, ML100K_NO_GENRE, NO_GENRES

__all__ = ["write_movies", "write_ratings", "write_tags"]

_CHUNK = 1 << 20  # rows per chunk


def _rating_text(values: np.ndarray) -> np.ndarray:
    """``4.0``-style text for half-star releases is written by the caller; this gives
    ``4`` for whole stars and ``3.5`` for half stars (the ``.dat`` and ``u.data`` style)."""
    whole = values == np.round(values)
    text = np.round(values, 1).astype(str)
    text[whole] = values[whole].astype(np.int64).astype(str)
    return text


def _join(columns: list[np.ndarray], sep: str) -> np.ndarray:
    text = columns[0].astype(str).astype(object)
    for column in columns[1:]:
        text = text + sep + column.astype(str).astype(object)
    return text


def write_ratings(ratings: pd.DataFrame, path: Path, layout: str) -> Path:
    """Write ``userId, movieId, rating, timestamp`` rows in a release layout.

    Parameters
    ----------
    ratings : DataFrame
        Integer ids, ratings on the release's scale, Unix-second timestamps.
    path : Path
        ``ratings.csv`` (csv), ``ratings.dat`` (dat) or ``u.data`` (100k).
    layout : {"csv", "dat", "100k"}
    """
    columns = ["userId", "movieId", "rating", "timestamp"]
    with open(path, "w", encoding="utf-8", newline="") as stream:
        if layout == "csv":
            stream.write(",".join(columns) + "\r\n")
        for start in range(0, len(ratings), _CHUNK):
            chunk = ratings.iloc[start : start + _CHUNK]
            values = chunk["rating"].to_numpy(np.float64)
            if layout == "csv":
                rating = np.char.mod("%.1f", values)
                sep, end = ",", "\r\n"
            elif layout in ("dat", "100k"):
                rating = _rating_text(values)
                sep, end = ("::", "\n") if layout == "dat" else ("\t", "\n")
            else:
                raise ValueError(f"unknown layout {layout!r}; expected 'csv', 'dat' or '100k'")
            lines = _join(
                [
                    chunk["userId"].to_numpy(),
                    chunk["movieId"].to_numpy(),
                    rating,
                    chunk["timestamp"].to_numpy(),
                ],
                sep,
            )
            stream.write(end.join(lines.tolist()) + end)
    return path


def _title_with_year(movies: pd.DataFrame) -> pd.Series:
    titles = movies["title"].astype(str)
    if "year" in movies.columns:
        year = pd.to_numeric(movies["year"], errors="coerce")
        titles = titles.where(year.isna(), titles + " (" + year.astype("Int64").astype(str) + ")")
    return titles


def write_movies(movies: pd.DataFrame, folder: Path, layout: str, *, encoding: str = "utf-8"):
    """Write the movies table (``movieId``, ``title`` without year, ``year``, ``genres`` lists).

    csv: ``movies.csv``; dat: ``movies.dat``; 100k: ``u.item`` and ``u.genre`` (genres outside
    ml-100k's 19 flags are dropped; a movie left without any gets the ``unknown`` flag).

    Returns
    -------
    list of Path
        The files written.
    """
    titles = _title_with_year(movies)
    genre_lists = movies["genres"].tolist()
    ids = movies["movieId"].to_numpy()
    if layout == "csv":
        frame = pd.DataFrame(
            {
                "movieId": ids,
                "title": titles.to_numpy(),
                "genres": ["|".join(g) or NO_GENRES for g in genre_lists],
            }
        )
        path = folder / "movies.csv"
        frame.to_csv(path, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        return [path]
    if layout == "dat":
        lines = [
            f"{m}::{t}::{'|'.join(g)}"
            for m, t, g in zip(ids.tolist(), titles.tolist(), genre_lists, strict=True)
        ]
        path = folder / "movies.dat"
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding, errors="replace"))
        return [path]
    if layout == "100k":
        flag_of = {name: k for k, name in enumerate(ML100K_GENRES)}
        lines = []
        for m, t, g, year in zip(
            ids.tolist(), titles.tolist(), genre_lists, movies["year"].tolist(), strict=True
        ):
            flags = [0] * len(ML100K_GENRES)
            for name in g:
                if name in flag_of:
                    flags[flag_of[name]] = 1
            if not any(flags):
                flags[flag_of[ML100K_NO_GENRE]] = 1
            released = f"01-Jan-{int(year)}" if pd.notna(year) else ""
            lines.append("|".join([str(m), t, released, "", "", *map(str, flags)]))
        item = folder / "u.item"
        item.write_bytes(("\n".join(lines) + "\n").encode(encoding, errors="replace"))
        genre = folder / "u.genre"
        genre.write_text("".join(f"{g}|{k}\n" for k, g in enumerate(ML100K_GENRES)) + "\n")
        return [item, genre]
    raise ValueError(f"unknown layout {layout!r}; expected 'csv', 'dat' or '100k'")


def write_tags(tags: pd.DataFrame, path: Path, layout: str, *, encoding: str = "utf-8") -> Path:
    """Write ``userId, movieId, tag, timestamp`` rows (csv: ``tags.csv``; dat: ``tags.dat``)."""
    if layout == "csv":
        tags[["userId", "movieId", "tag", "timestamp"]].to_csv(
            path, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
        )
        return path
    if layout == "dat":
        lines = _join([tags[c].to_numpy() for c in ("userId", "movieId", "tag", "timestamp")], "::")
        path.write_bytes(("\n".join(lines.tolist()) + "\n").encode(encoding, errors="replace"))
        return path
    raise ValueError(f"layout {layout!r} has no tags file")
