"""Checks of arguments and frames shared across the package: one message per kind of mistake."""

from __future__ import annotations

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
