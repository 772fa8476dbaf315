"""Project paths and environment settings, in one place.

Every other module asks this one where data, figures and reports live, so that a
notebook, the CLI and the tests agree without passing paths around.

Environment variables
---------------------
``MOVIELENS_MIRROR``
    A local folder holding MovieLens releases (``NAME.zip`` or an extracted ``NAME/``
    folder). When set, loaders read from it instead of downloading.
``RECSYS_DATA_DIR``
    Where downloads and parsed caches are written (default: ``<project>/data``).
``RECSYS_FIGURES_DIR``
    Where :func:`recsys_helpers.plots.save_figure` writes (default: ``<project>/figures``).
``RECSYS_REPORT_DIR``
    Where executed notebooks, metrics and the rendered report go (default: ``<project>/report``).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the folder holding ``pyproject.toml``)."""

MIRROR_ENV = "MOVIELENS_MIRROR"
DATA_DIR_ENV = "RECSYS_DATA_DIR"
FIGURES_DIR_ENV = "RECSYS_FIGURES_DIR"
REPORT_DIR_ENV = "RECSYS_REPORT_DIR"

DEFAULT_DATASET = "ml-latest-small"


def data_dir() -> Path:
    """Folder for downloaded archives and parsed caches (created on demand)."""
    return Path(os.environ.get(DATA_DIR_ENV) or PROJECT_ROOT / "data")


def figures_dir() -> Path:
    """Folder that :func:`recsys_helpers.plots.save_figure` writes to."""
    return Path(os.environ.get(FIGURES_DIR_ENV) or PROJECT_ROOT / "figures")


def report_dir() -> Path:
    """Folder for executed notebooks and the rendered report."""
    return Path(os.environ.get(REPORT_DIR_ENV) or PROJECT_ROOT / "report")


def mirror_dir(mirror: str | os.PathLike | None = None) -> Path | None:
    """The local mirror folder: the argument if given, else ``$MOVIELENS_MIRROR``, else None."""
    value = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None
