"""Plain JSON values from what the package computes (numpy scalars, tuples, NaN)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["json_safe"]


def json_safe(value):
    """``value`` as plain JSON: numpy scalars and arrays unwrapped, NaN/inf as None, tuples as
    lists, types by name, anything else as its ``str``.

    Examples
    --------
    >>> json_safe({"rmse": np.float32(0.5), "range": (1, 5), "bad": float("nan")})
    {'rmse': 0.5, 'range': [1, 5], 'bad': None}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, type):
        return getattr(value, "__name__", str(value))
    return str(value)
