"""Writing files so that no reader ever sees half of one.

Every file or folder the package writes (caches, extracted releases, models, figures,
executed notebooks, the report) is first written under a temporary name beside its target
and renamed over it only once complete; a failure or an interrupt removes the temporary
copy and leaves the previous version in place. Temporary names follow one pattern,
``.<target name>.<random hex>.tmp<suffix>``, so that :func:`remove_stale` can recognise the
leftovers of a process that was killed outright.

Files are created by ``open`` (mode ``0o666``) and folders by ``mkdir`` (``0o777``), so
the user's umask applies to them as to any other file.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TEMPORARY_PATTERN", "atomic_path", "remove_stale", "write_bytes"]

logger = logging.getLogger(__name__)

TEMPORARY_PATTERN = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{8}\.tmp(?P<suffix>[^/]*)$")
"""Names of the temporary files and folders made by :func:`atomic_path`."""


def temporary_sibling(target: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh temporary path in ``target``'s folder (created if missing; the path is not)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``target``, renamed over ``target`` when the block succeeds.

    The block writes a file (or makes a folder) at the path it is given; on a clean exit
    that path replaces ``target`` in one ``os.replace``. On any exception, or when the
    block writes nothing, ``target`` is left untouched and the temporary path removed.

    Parameters
    ----------
    target : path-like
        The final file or folder. Its parent folder is created if missing.
    suffix : str, optional
        Added after ``.tmp``, e.g. ``".ipynb"`` for tools that look at the extension.

    Examples
    --------
    >>> with atomic_path("model.npz") as temporary:  # doctest: +SKIP
    ...     with open(temporary, "wb") as stream:
    ...         np.savez(stream, weights=weights)
    """
    target = Path(target)
    temporary = temporary_sibling(target, suffix)
    try:
        yield temporary
        if temporary.exists():
            os.replace(temporary, target)
    finally:
        if temporary.exists() or temporary.is_symlink():
            _remove(temporary)


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`); returns ``target``."""
    target = Path(target)
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)
    return target


def remove_stale(folder: str | os.PathLike, *, older_than: float = 3600.0) -> list[Path]:
    """Delete this package's temporary files in ``folder`` left by a killed process.

    Only names made by :func:`atomic_path` that were last modified more than
    ``older_than`` seconds ago are removed, so a write in progress elsewhere is never
    touched.

    Returns
    -------
    list of Path
        What was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    removed = []
    for path in folder.iterdir():
        if not TEMPORARY_PATTERN.match(path.name):
            continue
        try:
            age = now - path.lstat().st_mtime
        except OSError:
            continue
        if age > older_than:
            _remove(path)
            removed.append(path)
            logger.info("removed stale temporary %s", path)
    return removed
