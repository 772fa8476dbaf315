"""Fetching a release: the extracted folder under the data directory, a local mirror, or a
checksummed download from GroupLens.

A release is looked for, in order:

1. already extracted under ``data_dir`` (``config.data_dir()`` by default) as ``NAME/``;
2. in the mirror folder (``mirror`` argument or ``$MOVIELENS_MIRROR``), either as the
   extracted ``NAME/`` (or GroupLens's own folder name, e.g. ``ml-10M100K/``), used in
   place and never written to, or as ``NAME.zip``, which is extracted into ``data_dir``;
3. downloaded from GroupLens with pooch, its checksum verified against the pinned hash
   or, where none is pinned, the ``NAME.zip.md5`` GroupLens publishes beside the archive.

Every write goes through :mod:`recsys_helpers.atomic`, so an interrupted download or
extraction leaves nothing half-written.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import urllib.request
import zipfile
import zlib
from pathlib import Path

from recsys_helpers import atomic, config
from recsys_helpers.data.releases import Release, get_release
from recsys_helpers.errors import DataError, DownloadError

__all__ = ["fetch"]

logger = logging.getLogger(__name__)


def _has_ratings(folder: Path, release: Release) -> bool:
    return (folder / release.files["ratings"]).is_file()


def _mirror_source(release: Release, mirror: Path | None) -> Path | None:
    """The extracted folder or the archive of ``release`` in the mirror, if any."""
    if mirror is None:
        return None
    if not mirror.is_dir():
        raise DataError(f"{mirror}: mirror folder does not exist")
    for folder in dict.fromkeys((release.name, release.folder)):
        if _has_ratings(mirror / folder, release):
            return mirror / folder
    archive = mirror / release.archive
    return archive if archive.is_file() else None


def _archive_prefix(names: list[str], release: Release) -> str:
    """The folder inside the archive that holds the release files (``""`` for the root).

    GroupLens archives hold one top folder, ``release.folder``; a re-packed archive with
    another single top folder, or with the files at its root, is accepted too.
    """
    ratings = release.files["ratings"]
    candidates = [f"{release.folder}/", f"{release.name}/", ""]
    candidates += sorted({name.split("/", 1)[0] + "/" for name in names if "/" in name})
    for prefix in candidates:
        if f"{prefix}{ratings}" in names:
            return prefix
    return f"{release.folder}/"


def _extract(archive: Path, release: Release, destination: Path, *, progress: bool) -> Path:
    """Extract ``release``'s files from ``archive`` into ``destination`` atomically.

    The archive's top folder (``release.folder``) is dropped, so ``destination`` holds
    ``ratings.csv`` and friends directly.

    Raises
    ------
    DataError
        When the archive is truncated or corrupt, or lacks the ratings file; the partly
        extracted temporary folder is removed.
    """
    from tqdm.auto import tqdm

    temporary = atomic.temporary_sibling(destination)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir()]
            prefix = _archive_prefix([m.filename for m in members], release)
            wanted = [m for m in members if m.filename.startswith(prefix)]
            names = {m.filename[len(prefix) :] for m in wanted}
            if release.files["ratings"] not in names:
                raise DataError(
                    f"{archive}: the archive has no {release.folder}/{release.files['ratings']}"
                )
            temporary.mkdir()
            for member in tqdm(wanted, desc=f"extracting {archive.name}", disable=not progress):
                relative = Path(member.filename[len(prefix) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise DataError(f"{archive}: unsafe member path {member.filename!r}")
                target = temporary / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, length=1 << 20)
        try:
            os.replace(temporary, destination)
        except OSError:
            if not _has_ratings(destination, release):
                raise
            logger.info("%s was extracted concurrently; keeping that copy", destination)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataError(f"{archive}: corrupt or truncated zip archive ({exc})") from exc
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return destination


def _published_md5(release: Release) -> str:
    """The MD5 hex digest published at ``release.checksum_url``."""
    try:
        with urllib.request.urlopen(release.checksum_url, timeout=60) as response:
            text = response.read(4096).decode("ascii", errors="replace")
    except OSError as exc:
        raise DownloadError(f"{release.checksum_url}: cannot fetch the checksum ({exc})") from exc
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if match is None:
        raise DownloadError(f"{release.checksum_url}: no MD5 digest found in {text[:80]!r}")
    return match.group(0).lower()


def _download(release: Release, destination: Path, *, progress: bool) -> Path:
    """Download ``release``'s archive to ``destination`` and verify its checksum.

    Raises
    ------
    DownloadError
        On a network failure or a checksum mismatch (expected and actual hash named; the
        bad file is deleted).
    """
    import pooch

    known_hash = release.known_hash or f"md5:{_published_md5(release)}"
    algorithm, expected = known_hash.split(":", 1)
    temporary = atomic.temporary_sibling(destination, ".download")
    logger.info("downloading %s to %s", release.url, destination)
    try:
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=60)
        downloader(release.url, os.fspath(temporary), None)
        actual = pooch.file_hash(os.fspath(temporary), alg=algorithm)
        if actual != expected.lower():
            raise DownloadError(
                f"{release.url}: checksum mismatch: expected {algorithm} {expected}, got "
                f"{actual}; the downloaded file was deleted"
            )
        os.replace(temporary, destination)
    except DownloadError:
        raise
    except (OSError, ValueError) as exc:  # requests' errors are OSErrors
        raise DownloadError(f"{release.url}: download failed ({exc})") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return destination


def fetch(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Folder holding the extracted files of a release, fetching it when needed.

    Parameters
    ----------
    name : str or Release, default "ml-latest-small"
        A key of :data:`DATASETS`, or a :class:`Release` (e.g. one with another URL).
    mirror : path, optional
        Local folder with ``NAME.zip`` or ``NAME/``; default ``$MOVIELENS_MIRROR``.
    data_dir : path, optional
        Where archives are downloaded and extracted; default :func:`config.data_dir`.
    progress : bool, default True
        Show progress bars for the download and the extraction.

    Returns
    -------
    Path
        ``data_dir/NAME`` or, for an extracted mirror copy, the mirror's folder itself.

    Raises
    ------
    DataError
        Unknown name, missing mirror folder, corrupt archive.
    DownloadError
        Network failure or checksum mismatch.
    """
    release = get_release(name)
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    extracted = root / release.name
    if _has_ratings(extracted, release):
        return extracted
    source = _mirror_source(release, config.mirror_dir(mirror))
    if source is not None and source.is_dir():
        logger.info("using %s from the mirror %s", release.name, source)
        return source
    if source is not None:
        logger.info("extracting %s from the mirror", source)
        return _extract(source, release, extracted, progress=progress)
    archive = root / release.archive
    if not archive.is_file():
        _download(release, archive, progress=progress)
    try:
        return _extract(archive, release, extracted, progress=progress)
    except DataError:
        archive.unlink(missing_ok=True)  # a downloaded copy is ours to discard
        raise
