"""Parsers for the file formats of the MovieLens releases.

Three layouts exist:

``csv``
    ml-latest-small, ml-20m, ml-25m, ml-32m: comma-separated files with one header row
    (``ratings.csv``, ``movies.csv``, ``tags.csv``, ``links.csv``, ``genome-*.csv``).
``dat``
    ml-1m and ml-10m: ``::``-separated files without a header (``ratings.dat``,
    ``movies.dat``, ml-10m's ``tags.dat``); ml-1m titles are latin-1.
``100k``
    ml-100k: tab-separated ``u.data`` (user, item, rating, timestamp), ``|``-separated
    latin-1 ``u.item`` with 19 genre flag columns, and ``u.genre`` naming the flags.

Every reader returns the package's tidy frames and raises :class:`DataError` naming the
file, the line (1-based, the header counted as line 1) and the column of the first
problem. Reading is vectorised (pyarrow's CSV reader where the format allows it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
MOVIE_COLUMNS = ("movieId", "title", "genres")
TAG_COLUMNS = ("userId", "movieId", "tag", "timestamp")
LINK_COLUMNS = ("movieId", "imdbId", "tmdbId")
GENOME_SCORE_COLUMNS = ("movieId", "tagId", "relevance")
GENOME_TAG_COLUMNS = ("tagId", "tag")

_INT32 = np.iinfo(np.int32)


# --------------------------------------------------------------------------- validation


def _line_of(position: int, first_line: int) -> int:
    """File line number of the row at ``position`` (0-based) when row 0 is ``first_line``."""
    return int(position) + first_line


def numeric_column(
    values: pd.Series, *, column: str, source: str, first_line: int, integer: bool
) -> np.ndarray:
    """Check one column holds numbers (integers when ``integer``) and return it as an array.

    Parameters
    ----------
    values : pandas.Series, shape (n,)
        The column as read from the file (any dtype).
    column : str
        Column name, for messages.
    source : str
        File name, for messages.
    first_line : int
        Line number in the file of row 0 (2 for a file with one header row).
    integer : bool
        Require integral values (ids, timestamps).

    Returns
    -------
    numpy.ndarray, shape (n,)
        int64 when ``integer``, else float64.

    Raises
    ------
    DataError
        Naming the file, the first bad line and the column, for a non-numeric, missing,
        non-finite or (when ``integer``) fractional value.
    """
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        as_text = values.astype("str")
        converted = pd.to_numeric(as_text, errors="coerce")
        bad = converted.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            position = int(np.argmax(bad))
            raise DataError(
                f"{source}: line {_line_of(position, first_line)}: column {column!r} has "
                f"non-numeric value {str(as_text.iloc[position])!r}"
            )
        values = converted
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        # plain numpy integers: nothing missing, nothing fractional
        return values.to_numpy(dtype=np.int64 if integer else np.float64)
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = ~np.isfinite(array)
    if missing.any():
        position = int(np.argmax(missing))
        raise DataError(
            f"{source}: line {_line_of(position, first_line)}: column {column!r} has a "
            f"missing or non-finite value"
        )
    if not integer:
        return array
    fractional = array != np.floor(array)
    if fractional.any():
        position = int(np.argmax(fractional))
        raise DataError(
            f"{source}: line {_line_of(position, first_line)}: column {column!r} must hold "
            f"integers, found {array[position]:g}"
        )
    return array.astype(np.int64)


def check_id_range(ids: np.ndarray, *, column: str, source: str, first_line: int) -> None:
    """Ids must be non-negative and fit in int32."""
    bad = (ids < 0) | (ids > _INT32.max)
    if bad.any():
        position = int(np.argmax(bad))
        raise DataError(
            f"{source}: line {_line_of(position, first_line)}: column {column!r} value "
            f"{int(ids[position])} is outside 0..{_INT32.max}"
        )


def validate_ratings(
    df: pd.DataFrame,
    *,
    source: str,
    scale: tuple[float, float, float] | None = None,
    first_line: int = 2,
) -> pd.DataFrame:
    """Check a ratings frame and return it in the package's schema.

    Parameters
    ----------
    df : pandas.DataFrame, shape (n_ratings, >=3)
        Columns ``userId``, ``movieId``, ``rating`` and optionally ``timestamp`` (Unix
        seconds), of any dtype that holds numbers; other columns are dropped.
    source : str
        What the frame was read from (a file name), used in every message.
    scale : (min, max, step), optional
        The release's rating scale, e.g. ``(0.5, 5.0, 0.5)``: every rating r must satisfy
        ``min <= r <= max`` and ``(r - min) / step`` must be an integer.
    first_line : int, default 2
        Line number of row 0 in ``source`` (2 for a file with one header row, 1 without).

    Returns
    -------
    pandas.DataFrame, shape (n_ratings, 3 or 4)
        ``userId`` int32, ``movieId`` int32, ``rating`` float32 and, when present,
        ``timestamp`` int64, with a fresh ``RangeIndex``.

    Raises
    ------
    DataError
        Missing columns (expected and found listed), non-numeric or missing values, ids
        outside int32, ratings off the scale, or a duplicate (userId, movieId) pair (the
        first duplicate's line and the line it repeats are named).
    """
    required = RATING_COLUMNS[:3]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; expected "
            f"{', '.join(RATING_COLUMNS)}, found {', '.join(map(str, df.columns)) or 'none'}"
        )
    kw = {"source": source, "first_line": first_line}
    users = numeric_column(df["userId"], column="userId", integer=True, **kw)
    movies = numeric_column(df["movieId"], column="movieId", integer=True, **kw)
    ratings = numeric_column(df["rating"], column="rating", integer=False, **kw)
    check_id_range(users, column="userId", **kw)
    check_id_range(movies, column="movieId", **kw)
    if scale is not None:
        low, high, step = scale
        steps = (ratings - low) / step
        off = (
            (ratings < low - 1e-9)
            | (ratings > high + 1e-9)
            | (np.abs(steps - np.round(steps)) > 1e-6)
        )
        if off.any():
            position = int(np.argmax(off))
            raise DataError(
                f"{source}: line {_line_of(position, first_line)}: rating {ratings[position]:g} "
                f"is not on the scale {low:g} to {high:g} in steps of {step:g}"
            )
    columns = {
        "userId": users.astype(np.int32),
        "movieId": movies.astype(np.int32),
        "rating": ratings.astype(np.float32),
    }
    if "timestamp" in df.columns:
        columns["timestamp"] = numeric_column(
            df["timestamp"], column="timestamp", integer=True, **kw
        )
    keys = (users << 32) | movies
    # Releases are sorted by user then movie: strictly increasing keys prove uniqueness
    # without a hash table.
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
        repeated = pd.Series(keys).duplicated().to_numpy()
    else:
        repeated = np.zeros(len(keys), dtype=bool)
    if repeated.any():
        position = int(np.argmax(repeated))
        first = int(np.argmax(keys == keys[position]))
        raise DataError(
            f"{source}: line {_line_of(position, first_line)}: duplicate rating of movieId "
            f"{int(movies[position])} by userId {int(users[position])} "
            f"(first rated on line {_line_of(first, first_line)})"
        )
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- raw reading


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"{path}: missing file")


def check_header(path: Path, expected: Sequence[str], *, encoding: str = "utf-8") -> None:
    """Raise when the CSV file's header lacks one of ``expected`` (listing both)."""
    _require_file(path)
    try:
        found = [str(c).strip() for c in pd.read_csv(path, nrows=0, encoding=encoding).columns]
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the header ({exc})") from exc
    missing = [c for c in expected if c not in found]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(expected)}, "
            f"found {', '.join(found) or 'none'}"
        )


def read_table(
    path: Path,
    *,
    columns: Sequence[str],
    sep: str = ",",
    header: bool = True,
    encoding: str = "utf-8",
    text_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Read ``columns`` of a delimited file with pyarrow, falling back to pandas' C parser.

    ``text_columns`` are read as strings; the others are left to type inference so that
    :func:`numeric_column` can name the first non-numeric line. Structural errors (a row
    with the wrong number of fields) are re-read by the C parser, whose message names the
    line.
    """
    _require_file(path)
    if header:
        check_header(path, columns, encoding=encoding)
    # Blank lines are kept as empty rows, so that row k stays line k + first line and an
    # empty line is reported where it is.
    options: dict = {
        "sep": sep,
        "dtype": {c: "str" for c in text_columns},
        "skip_blank_lines": False,
    }
    if header:
        options["usecols"] = list(columns)
    else:
        options.update(header=None, names=list(columns))
    if encoding.replace("-", "").lower() in ("utf8",):
        try:
            return _drop_trailing_blank_rows(pd.read_csv(path, engine="pyarrow", **options))
        except (ValueError, OSError) as exc:  # pyarrow.ArrowInvalid is a ValueError
            logger.debug("pyarrow could not parse %s (%s); retrying with the C parser", path, exc)
    # Without usecols, so that the C parser reports a row with extra fields by its line.
    options.pop("usecols", None)
    try:
        frame = pd.read_csv(path, engine="c", encoding=encoding, **options)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot parse ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return _drop_trailing_blank_rows(frame[list(columns)])


def _drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop empty rows at the end of the file (blank lines after the last record)."""
    end = len(frame)
    while end > 0 and frame.iloc[end - 1].isna().all():
        end -= 1
    return frame.iloc[:end] if end < len(frame) else frame


def read_lines(path: Path, *, encoding: str) -> pd.Series:
    """The file's lines (without line endings) as a string Series; latin-1 fallback."""
    _require_file(path)
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        logger.warning("%s is not valid %s; decoding it as latin-1", path, encoding)
        text = raw.decode("latin-1")
    lines = text.splitlines()
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return pd.Series(lines, dtype="str")


def _check_field_counts(counts: np.ndarray, n: int, sep: str, source: str) -> None:
    """DataError naming the first line that does not split into ``n`` fields."""
    bad = counts != n
    if bad.any():
        position = int(np.argmax(bad))
        raise DataError(
            f"{source}: line {position + 1}: expected {n} fields separated by {sep!r}, "
            f"found {int(counts[position])}"
        )


def split_fields(
    lines: pd.Series, *, sep: str, names: Sequence[str], free: str | None, source: Path
) -> pd.DataFrame:
    """Split ``sep``-separated lines into ``names``; the ``free`` column may contain ``sep``.

    Fields before ``free`` are split from the left and those after it from the right, so a
    title or tag that happens to contain the separator stays whole.
    """
    n = len(names)
    if free is None:
        parts = lines.str.split(sep, regex=False)
        counts = parts.str.len().to_numpy()
        _check_field_counts(counts, n, sep, source)
        return pd.DataFrame({name: parts.str[k] for k, name in enumerate(names)})
    k = names.index(free)
    if k == 0:  # pandas reads n=0 as "no limit"
        left, rest = None, lines
        counts = np.ones(len(lines), dtype=np.int64)
    else:
        left = lines.str.split(sep, n=k, regex=False)
        counts = left.str.len().to_numpy()
        rest = left.str[k]
    right = rest.str.rsplit(sep, n=n - k - 1)
    counts = np.where(counts == k + 1, k + right.str.len().to_numpy(), counts)
    _check_field_counts(counts, n, sep, source)
    out = {name: left.str[j] for j, name in enumerate(names[:k])}
    for j, name in enumerate(names[k:]):
        out[name] = right.str[j]
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- ratings


def parse_ratings(
    path: Path, *, layout: str, scale: tuple[float, float, float] | None = None
) -> pd.DataFrame:
    """Parse one ratings file of the given layout into the validated ratings schema.

    Parameters
    ----------
    path : Path
        ``ratings.csv`` (layout ``"csv"``), ``ratings.dat`` (``"dat"``) or ``u.data`` /
        ``uN.base`` / ``uN.test`` (``"100k"``).
    layout : {"csv", "dat", "100k"}
    scale : (min, max, step), optional
        Checked by :func:`validate_ratings`.
    """
    source = os.fspath(path)
    if layout == "csv":
        raw = read_table(path, columns=RATING_COLUMNS)
        return validate_ratings(raw, source=source, scale=scale, first_line=2)
    if layout == "100k":
        raw = read_table(path, columns=RATING_COLUMNS, sep="\t", header=False)
        return validate_ratings(raw, source=source, scale=scale, first_line=1)
    if layout == "dat":
        # "u::m::r::t" split on single colons gives u, "", m, "", r, "", t; the C parser
        # reads that fast, whereas a two-character separator needs the slow Python engine.
        names = ["userId", "_1", "movieId", "_2", "rating", "_3", "timestamp"]
        raw = read_table(path, columns=names, sep=":", header=False)
        stray = raw[["_1", "_2", "_3"]].notna().to_numpy().any(axis=1)
        if stray.any():
            raise DataError(
                f"{source}: line {int(np.argmax(stray)) + 1}: expected 4 fields separated by '::'"
            )
        return validate_ratings(raw, source=source, scale=scale, first_line=1)
    raise ValueError(f"unknown layout {layout!r}; expected 'csv', 'dat' or '100k'")


# --------------------------------------------------------------------------- movies
