"""Saving and loading fitted models: ``.npz`` arrays plus JSON metadata, never pickle.

A saved file holds the model's arrays (ids, biases, factors, counts, each user's rated
movies, the training history, and whatever a model class adds) and one ``meta`` entry, a
JSON string naming the format version, the package version, the **class** and its
parameters. :func:`load_model` reads it with ``allow_pickle=False`` and rebuilds the class
the file names, looked up in :data:`MODEL_CLASSES`, the registry every model class joins
with :func:`register`. No model module is imported here, so there is no import circle:
importing :mod:`recsys_helpers.models` registers every class the package has.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from recsys_helpers import atomic
from recsys_helpers.errors import DataError
from recsys_helpers.serialise import json_safe

__all__ = ["FORMAT_VERSION", "MODEL_CLASSES", "load_model", "register", "save_model"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the file layout; a file of another version is refused."""

MODEL_CLASSES: dict[str, type] = {}
"""Every loadable model class by name (filled by :func:`register`)."""


def register(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by the name a saved file records."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def _package_version() -> str | None:
    """Installed version of this package, recorded in saved models."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("recsys_helpers")
    except PackageNotFoundError:
        return None


def save_model(model, path) -> Path:
    """Write a fitted model to ``path`` (``.npz``; JSON metadata inside), atomically.

    Parameters
    ----------
    model : fitted model of a registered class
    path : str or Path

    Returns
    -------
    Path
    """
    path = Path(path)
    meta, arrays = model._get_state()
    meta = {
        "format_version": FORMAT_VERSION,
        "package_version": _package_version(),
        "class": type(model).__name__,
        "params": json_safe(model.get_params(deep=False)),
        **meta,
    }
    with atomic.atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez(stream, meta=np.array(json.dumps(json_safe(meta))), **arrays)
    logger.info("saved %s to %s", meta["class"], path)
    return path


def read_saved(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and arrays of a saved model file, without building the model.

    Raises
    ------
    DataError
        The file is missing, unreadable, not a saved model or of another format version.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: not a saved model ({error})") from error
    if "meta" not in arrays:
        raise DataError(f"{path}: not a saved model (no metadata)")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not a saved model (metadata is not JSON: {error})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: not a saved model (metadata is not an object)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{path}: model format {meta.get('format_version')} is not {FORMAT_VERSION}"
        )
    return meta, arrays


def saved_class(path) -> type:
    """The registered class a saved model file names.

    Raises
    ------
    DataError
        Not a saved model, or a class this package does not know.
    """
    meta, _ = read_saved(path)
    return _class_named(path, meta)


def _class_named(path, meta: dict) -> type:
    name = meta.get("class")
    if name not in MODEL_CLASSES:
        raise DataError(
            f"{path}: a saved {name!r}; this package loads {', '.join(sorted(MODEL_CLASSES))}"
        )
    return MODEL_CLASSES[name]


def load_model(path, *, expected: type | None = None):
    """Read a model written by :func:`save_model`, as the class the file records.

    Parameters
    ----------
    path : str or Path
    expected : class, optional
        Refuse a file whose class is not ``expected`` or a subclass of it.

    Returns
    -------
    The fitted model.

    Raises
    ------
    DataError
        The file is not a saved model, its class is unknown or not ``expected``, or its
        parameters do not fit the class.
    """
    meta, arrays = read_saved(path)
    cls = _class_named(path, meta)
    if expected is not None and not issubclass(cls, expected):
        raise DataError(f"{path}: saved class {cls.__name__!r} is not a {expected.__name__}")
    # JSON arrays come back as the tuples the parameters were (rating_range, feature_kinds, ...).
    params = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in (meta.get("params") or {}).items()
    }
    try:
        model = cls(**params)
        model._set_state(meta, arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path}: not a saved {cls.__name__} model ({error})") from error
    return model
