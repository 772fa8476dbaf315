"""Checks of arguments and frames shared across the package: one message per kind of mistake."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from recsys_helpers.errors import DataError


def check_count(name: str, value, minimum: int) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_non_negative(name: str, value) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a finite number ``>= 0``."""
    try:
        ok = not isinstance(value, bool) and bool(np.isfinite(value)) and value >= 0
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def check_finite(name: str, value) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a finite real number."""
    try:
        ok = not isinstance(value, bool) and bool(np.isfinite(value)) and np.isreal(value)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def check_rating_range(value, name: str = "rating_range") -> tuple[float, float] | None:
    """``None``, or ``(low, high)``: two finite numbers with ``low < high``.

    This is the one concept of a rating scale's ends, from ``--rating-range LOW HIGH`` to
    the estimators' ``rating_range`` and the checks of every rating read.

    Raises
    ------
    ValueError
        Naming ``name`` and the value given.
    """
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
        ok = bool(np.isfinite(low) and np.isfinite(high) and low < high)
    except (TypeError, ValueError):
        ok = False
    if isinstance(value, str) or not ok:
        raise ValueError(
            f"{name} must be None or (low, high), two finite numbers with low < high; got {value!r}"
        )
    return low, high


def require_in_range(
    ratings: np.ndarray, rating_range, where: Callable[[int], str], *, hint: str = ""
) -> None:
    """Raise DataError unless every rating lies in ``rating_range`` (ends included).

    Parameters
    ----------
    ratings : ndarray of float, shape (n,)
        Finite ratings (checked for finiteness before).
    rating_range : (low, high) or None
        None checks nothing.
    where : callable
        ``where(k)`` names rating ``k`` for the message: the file and line, or the row.
    hint : str, optional
        Follows the range in the message, e.g. ``" of this model"``.
    """
    if rating_range is None:
        return
    low, high = rating_range
    bad = np.flatnonzero((ratings < low) | (ratings > high))
    if bad.size:
        first = int(bad[0])
        raise DataError(
            f"{where(first)}: rating {ratings[first]:g} is outside the rating range "
            f"{low:g} to {high:g}{hint} ({bad.size} such rating(s))"
        )


def integer_ids(values, what: str) -> np.ndarray:
    """Raw ids as a 1-D integer array; DataError naming ``what``, the row and the value.

    Integers pass as they are; whole-number floats and numeric text are converted;
    anything else (a word, a fraction, a missing value) is refused.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.dtype.kind in "iu":
        return array
    numbers = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = np.flatnonzero(~np.isfinite(numbers) | (numbers != np.round(numbers)))
    if array.dtype.kind == "b":
        bad = np.arange(array.size)
    if bad.size:
        first = int(bad[0])
        value = array[first]
        value = value.item() if isinstance(value, np.generic) else value
        raise DataError(f"{what}: row {first}: {value!r} is not an integer id")
    return numbers.astype(np.int64)


def unix_seconds(value, name: str) -> int:
    """``value`` as Unix seconds: numbers are taken as seconds, anything else is read by
    :class:`pandas.Timestamp` (naive times as UTC); ValueError naming ``name`` otherwise."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return int(value)  # numbers are Unix seconds (pandas would read them as nanoseconds)
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: cannot read {value!r} as a time ({error})") from None
    if stamp is pd.NaT:
        raise ValueError(f"{name}: cannot read {value!r} as a time")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp())


def require_columns(frame: pd.DataFrame, columns, what: str) -> None:
    """Raise DataError naming ``what`` and the absent columns unless ``frame`` has ``columns``.

    Parameters
    ----------
    frame : DataFrame
    columns : iterable of str
        Required column names, reported in this order when absent.
    what : str
        How the message names the frame, e.g. ``"ratings"`` or ``"history"``.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; it has {list(frame.columns)}")
