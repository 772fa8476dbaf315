"""Shared fixtures: the MovieLens mirror (real data) and small synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recsys_helpers import config


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The MovieLens mirror folder from $MOVIELENS_MIRROR; skips the test when unset."""
    folder = config.mirror_dir()
    if folder is None or not folder.is_dir():
        pytest.skip(f"needs a MovieLens mirror: set {config.MIRROR_ENV} (or make test MIRROR=...)")
    return folder


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Never let a test write caches, figures or reports into the project's own folders."""
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv(config.DATA_DIR_ENV, os.fspath(root / "data"))
    monkeypatch.setenv(config.FIGURES_DIR_ENV, os.fspath(root / "figures"))
    monkeypatch.setenv(config.REPORT_DIR_ENV, os.fspath(root / "report"))
