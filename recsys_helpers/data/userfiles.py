"""Reading user-supplied rating and movie files (CSV or parquet).

These readers serve the command line and notebooks that work on files the user made
themselves (a saved split, an export from another tool), as opposed to the MovieLens
releases that :mod:`recsys_helpers.data.movielens` knows by name. The format is chosen by the
file extension; columns may come in any order and extra columns are ignored.

Every frame returned has the package's ratings schema: ``userId`` (int32), ``movieId``
(int32), ``rating`` (float32) and, when the file has one, ``timestamp`` (int64, Unix
seconds).
"""

from __future__ import annotations

import logging
import lzma
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers.data.checks import check_rating_range, require_in_range
from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

RATING_COLUMNS = ("userId", "movieId", "rating")
"""Columns every ratings file must have."""

OPTIONAL_RATING_COLUMNS = ("timestamp",)
"""Columns kept when present."""

MOVIE_COLUMNS = ("movieId", "title")
"""Columns a movies file must have for titles to be shown."""

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
PARQUET_SUFFIXES = (".parquet", ".pq")

_INT32 = np.iinfo(np.int32)

#: What a damaged file raises while it is read: a truncated ``.gz``/``.bz2``/``.xz`` ends
#: with EOFError, a corrupt one with OSError, zlib.error, LZMAError or BadZipFile.
_READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    UnicodeDecodeError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
)


def file_format(path: str | os.PathLike) -> str:
    """``"csv"`` or ``"parquet"`` from the file name's extension.

    Raises
    ------
    DataError
        When the extension is neither a CSV nor a parquet one.
    """
    name = Path(path).name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    known = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
    raise DataError(f"{path}: unknown file type; expected one of {known}")


def _read_table(path: Path, columns: tuple[str, ...], optional: tuple[str, ...]) -> pd.DataFrame:
    """Read ``columns`` (+ ``optional`` ones that exist) from a CSV or parquet file."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    kind = file_format(path)
    try:
        if kind == "csv":
            header = pd.read_csv(path, nrows=0).columns
        else:
            import pyarrow.parquet as pq

            header = pd.Index(pq.read_schema(path).names)
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot read the {kind} header ({exc})") from exc
    header = pd.Index([str(c).strip() for c in header])
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(columns)}, found {', '.join(header) or 'none'}"
        )
    wanted = list(columns) + [c for c in optional if c in header]
    try:
        if kind == "csv":
            # keep_default_na=False: a column with a bad or empty value stays text, so the
            # value can be shown as written; clean columns still parse straight to numbers.
            frame = pd.read_csv(
                path, usecols=lambda c: str(c).strip() in wanted, keep_default_na=False
            )
            frame.columns = [str(c).strip() for c in frame.columns]
        else:
            frame = pd.read_parquet(path, columns=wanted)
    except _READ_ERRORS as exc:
        raise DataError(
            f"{path}: cannot read the {kind} file, damaged or truncated? ({exc})"
        ) from exc
    return frame[wanted]


def _location(path: Path, position: int) -> str:
    """Human location of row ``position`` (0-based, data rows only)."""
    if file_format(path) == "csv":
        return f"line {position + 2}"  # 1-based, the header is line 1
    return f"row {position + 1}"


def _numeric(path: Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    """Column ``column`` as float64, or DataError naming the first bad value and its place."""
    raw = frame[column]
    if not pd.api.types.is_numeric_dtype(raw):
        raw = raw.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        first = int(bad[0])
        shown = raw.iloc[first]
        if shown is None or str(shown) in ("", "nan", "<NA>"):
            shown = "an empty value"
        else:
            shown = repr(str(shown))
        raise DataError(
            f"{path}: {_location(path, first)}, column {column}: {shown} is not a number "
            f"({bad.size} bad value(s) in this column)"
        )
    return values


def _integer_ids(path: Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    """Column ``column`` as int32 ids, refusing fractions and values outside int32."""
    values = _numeric(path, frame, column)
    bad = np.flatnonzero(
        (values != np.round(values)) | (values < _INT32.min) | (values > _INT32.max)
    )
    if bad.size:
        first = int(bad[0])
        shown = str(frame[column].iloc[first])
        raise DataError(
            f"{path}: {_location(path, first)}, column {column}: {shown!r} "
            "is not a whole number in the 32-bit integer range"
        )
    return values.astype(np.int32)


def read_ratings_file(
    path: str | os.PathLike, *, rating_range: tuple[float, float] | None = None
) -> pd.DataFrame:
    """Read a ratings file (CSV or parquet, by extension) into the package's schema.

    Parameters
    ----------
    path
        A ``.csv`` (optionally compressed, e.g. ``.csv.gz``) or ``.parquet`` file with
        columns ``userId``, ``movieId``, ``rating`` and optionally ``timestamp``, in any
        order; other columns are ignored.
    rating_range : (low, high), optional
        The scale's ends (``--rating-range``): a rating outside ``[low, high]`` is refused.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows in file order with ``userId`` int32, ``movieId`` int32, ``rating``
        float32 and, when present, ``timestamp`` int64, on a fresh ``RangeIndex``.

    Raises
    ------
    DataError
        The file is missing, of unknown type or unreadable; a required column is missing
        (the message lists expected and found columns); a value is empty or not a number
        (the message names the line, 1-based with the header as line 1, or the parquet
        row, and the column); an id is not a whole number; a rating lies outside
        ``rating_range``; a (userId, movieId) pair occurs twice (the message names the
        second occurrence); or the file is damaged or truncated (a cut ``.csv.gz``).
    """
    path = Path(path)
    rating_range = check_rating_range(rating_range)
    frame = _read_table(path, RATING_COLUMNS, OPTIONAL_RATING_COLUMNS)
    ratings = _numeric(path, frame, "rating")
    require_in_range(ratings, rating_range, lambda k: f"{path}: {_location(path, k)}")
    result = pd.DataFrame(
        {
            "userId": _integer_ids(path, frame, "userId"),
            "movieId": _integer_ids(path, frame, "movieId"),
            "rating": ratings.astype(np.float32),
        }
    )
    if "timestamp" in frame.columns:
        result["timestamp"] = _numeric(path, frame, "timestamp").astype(np.int64)
    duplicated = result.duplicated(["userId", "movieId"]).to_numpy()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        user, movie = result.loc[first, ["userId", "movieId"]]
        raise DataError(
            f"{path}: {_location(path, first)}: duplicate rating of movie {movie} by user "
            f"{user} ({int(duplicated.sum())} duplicate pair(s) in the file)"
        )
    logger.info("read %d ratings from %s", len(result), path)
    return result


def read_movies_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read a movies file (CSV or parquet) with at least ``movieId`` and ``title``.

    Returns
    -------
    pandas.DataFrame
        ``movieId`` int32 and ``title`` str, plus ``genres`` (as in the file) when present;
        other columns are dropped.

    Raises
    ------
    DataError
        Missing file or columns, or a movieId that is not a whole number.
    """
    path = Path(path)
    frame = _read_table(path, MOVIE_COLUMNS, ("genres",))
    result = pd.DataFrame(
        {
            "movieId": _integer_ids(path, frame, "movieId"),
            "title": frame["title"].astype(str).to_numpy(),
        }
    )
    if "genres" in frame.columns:
        result["genres"] = frame["genres"].to_numpy()
    return result


def read_tags_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read tag applications (CSV or parquet) with at least ``movieId`` and ``tag``.

    Returns
    -------
    pandas.DataFrame
        ``movieId`` int32 and ``tag`` str.

    Raises
    ------
    DataError
        Missing file or columns, or a movieId that is not a whole number.
    """
    path = Path(path)
    frame = _read_table(path, ("movieId", "tag"), ())
    return pd.DataFrame(
        {"movieId": _integer_ids(path, frame, "movieId"), "tag": frame["tag"].astype(str)}
    )
