"""Saving and loading fitted models: ``.npz`` arrays plus JSON metadata, never pickle.

A saved file holds the model's arrays (ids, biases, factors, counts, each user's rated
movies, the training history, and whatever a model class adds) and one ``meta`` entry, a
JSON string naming the format version, the package version, the **class** and its
parameters. :func:`load_model` reads it with ``allow_pickle=False`` and rebuilds the class
the file names, looked up in :data:`MODEL_CLASSES`, the registry every model class joins
with :func:`register`. No model module is imported here, so there is no import circle:
importing :mod:`recsys_helpers.models` registers every class the package has.

Loading checks what it reads, so that a damaged or altered file is refused with one line
naming it rather than giving NaN scores or a traceback: the file must be a readable
``.npz`` of this format, its ids unique and sorted, every parameter finite and every array
of the shape the model's ids and ``n_factors`` imply (:func:`check_state`). Saving removes
the temporary files a killed save left beside the target (:func:`recsys_helpers.atomic.
remove_stale`); :func:`check_model_path` lets a caller refuse a bad target before a long fit.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from recsys_helpers import atomic
from recsys_helpers.errors import DataError
from recsys_helpers.serialise import json_safe

__all__ = [
    "FORMAT_VERSION",
    "MODEL_CLASSES",
    "MODEL_SUFFIX",
    "check_model_path",
    "check_state",
    "load_model",
    "register",
    "save_model",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the file layout; a file of another version is refused."""

MODEL_SUFFIX = ".npz"
"""The file name ending of saved models."""

ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of every ``.npz`` archive (a zip file)."""

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
    atomic.remove_stale(path.parent)
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
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a saved model")
    try:
        with open(path, "rb") as stream:
            # np.load would read an .npy array, or try pickle, from anything but a zip
            is_archive = stream.read(len(ZIP_MAGIC)) in (b"", ZIP_MAGIC)
            stream.seek(0)
            if is_archive:
                with np.load(stream, allow_pickle=False) as data:
                    arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path}: not a saved model, or damaged ({error})") from None
    if not is_archive:
        raise DataError(f"{path}: not a saved model (not an .npz archive)")
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
    for name in ("user_ids", "item_ids"):
        ids = arrays.get(name)
        if ids is not None and (
            ids.ndim != 1 or ids.dtype.kind not in "iu" or not bool(np.all(ids[1:] > ids[:-1]))
        ):
            raise DataError(f"{path}: {name} are not unique sorted integers (damaged or altered)")
    try:
        model = cls(**params)
        model._set_state(meta, arrays)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise DataError(f"{path}: not a saved {cls.__name__} model ({error})") from None
    check_state(model, path)
    return model


def check_state(model, path="model") -> None:
    """Refuse a loaded model whose parameters are not finite or not of consistent shapes.

    Checks ``μ`` and the rating range (finite, ``low < high``), every array of
    ``model._state_attributes`` (finite, numeric), the shapes ``model._state_shapes()``
    implies from the ids and ``n_factors``, and each user's list of rated movies (CSR
    offsets from 0 to its length, non-decreasing; movie rows within range).

    Raises
    ------
    DataError
        Naming ``path`` and the first array that is wrong.
    """

    def refuse(problem: str):
        raise DataError(f"{path}: {problem} (the file is damaged or was altered)")

    low, high = model.rating_range_
    if not np.isfinite(model.global_mean_):
        refuse(f"global mean is {model.global_mean_}")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        refuse(f"rating range is {model.rating_range_}")
    for name in model._state_attributes:
        values = np.asarray(getattr(model, name))
        if values.dtype.kind not in "iuf":
            refuse(f"{name.rstrip('_')} holds {values.dtype} values, not numbers")
        if not np.isfinite(values).all():
            refuse(f"{name.rstrip('_')} holds {int((~np.isfinite(values)).sum())} NaN/inf")
    for name, expected in model._state_shapes().items():
        shape = np.shape(getattr(model, name))
        if shape != expected:
            refuse(f"{name.rstrip('_')} has shape {shape}, expected {expected}")
    indptr, indices = (np.asarray(a) for a in model._seen)
    n_users, n_items = len(model.users_), len(model.items_)
    if (
        indptr.shape != (n_users + 1,)
        or indptr[0] != 0
        or indptr[-1] != len(indices)
        or np.any(np.diff(indptr) < 0)
        or (len(indices) and (indices.min() < 0 or indices.max() >= n_items))
    ):
        refuse("the users' rated movies (seen_indptr, seen_indices) are inconsistent")
    if np.any(np.asarray(model.user_counts_) < 0) or np.any(np.asarray(model.item_counts_) < 0):
        refuse("a rating count is negative")


def check_model_path(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable = (),
    overwrite_option: str = "overwrite=True",
) -> Path:
    """Refuse a model file target before any work is done; return it as a Path.

    The target must end in :data:`MODEL_SUFFIX`, must not be one of ``inputs`` (the files
    a fit reads), must not exist unless ``overwrite``, and its folder must exist (or be
    creatable) and be writable: a temporary file is created there and removed.
    ``overwrite_option`` is how the message tells the caller to allow overwriting.

    Raises
    ------
    DataError
        Naming the target and what is wrong with it.
    """
    path = Path(path)
    if path.suffix.lower() != MODEL_SUFFIX:
        raise DataError(f"{path}: a model file must end in {MODEL_SUFFIX}")
    for given in inputs:
        if given is not None and _same_file(path, Path(given)):
            raise DataError(f"{path}: is an input file of this run; save the model elsewhere")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a file name ending in {MODEL_SUFFIX}")
    if path.exists() and not overwrite:
        raise DataError(f"{path}: exists; choose another name, or give {overwrite_option}")
    folder = path.parent
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise DataError(f"{path}: cannot be written: {above} is a file, not a folder")
            break
    try:
        with atomic.atomic_path(path) as temporary:
            temporary.touch()
            temporary.unlink()  # nothing is renamed over the target
    except OSError as error:
        raise DataError(f"{path}: cannot be written ({error.strerror or error})") from None
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
