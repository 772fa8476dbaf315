"""Altered copies of saved model files, for the tests that loading refuses them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np


def altered_copy(
    path: str | os.PathLike, out: str | os.PathLike, name: str, alter: Callable
) -> Path:
    """Write to ``out`` the saved model at ``path`` with its array ``name`` replaced by
    ``alter(array)``; return ``out``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays[name] = alter(arrays[name])
    np.savez(out, **arrays)
    return Path(out)
