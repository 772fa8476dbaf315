"""Fetching a release: the extracted folder under the data directory, a local mirror, or a
checksummed download from GroupLens, every copy checked before it is used.

A release is looked for, in order:

1. already extracted under ``data_dir`` (``config.data_dir()`` by default) as ``NAME/``;
2. in the mirror folder (``mirror`` argument or ``$MOVIELENS_MIRROR``), either as the
   extracted ``NAME/`` (or GroupLens's own folder name, e.g. ``ml-10M100K/``), used in
   place and never written to, or as ``NAME.zip``, which is extracted into ``data_dir``;
3. downloaded from GroupLens with pooch, its checksum verified against the pinned hash
   or, where none is pinned, the ``NAME.zip.md5`` GroupLens publishes beside the archive.

Every copy is checked (:mod:`recsys_helpers.data.provenance`): an archive against the
pinned hash (or, when that differs, each member against its known MD5), a folder file by
file where the MD5s are known. A file that differs from GroupLens's is refused; a copy
whose checksums the package does not know loads with an
:class:`~recsys_helpers.errors.UnverifiedDataWarning`; a synthetic release (marked by
``SYNTHETIC.json``) loads without the check.

An archive is extracted to a temporary folder, checked and its ratings parsed there, and
renamed to ``data_dir/NAME`` only when all is well, so a bad release never shadows the
mirror. Every write goes through :mod:`recsys_helpers.atomic`; leftovers of a killed run
are removed on the next one (:func:`recsys_helpers.atomic.remove_stale`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from recsys_helpers import atomic, config
from recsys_helpers.data import formats, provenance
from recsys_helpers.data.provenance import Provenance
from recsys_helpers.data.releases import Release, get_release
from recsys_helpers.errors import DataError, DownloadError

__all__ = ["Fetched", "data_root", "fetch", "fetch_release", "locate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fetched:
    """A release folder ready to read.

    Attributes
    ----------
    folder : Path
        Holds the release files (``ratings.csv`` and friends).
    source : Provenance
        Where they came from and whether they are verified, synthetic or unverified.
    ratings : pandas.DataFrame or None
        The parsed ratings when the folder was extracted in this call (they are parsed
        before the folder is renamed into place); None otherwise.
    """

    folder: Path
    source: Provenance
    ratings: pd.DataFrame | None = None


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory (``data_dir`` or :func:`config.data_dir`), refused when it is a file.

    Temporary files left there by a killed run are removed.
    """
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: the data directory is a file, not a folder")
    for folder in (root, root / "cache"):
        atomic.remove_stale(folder)
    return root


def _memo(root: Path) -> Path:
    """Where digests of large release files are remembered between runs."""
    return root / "cache" / provenance.DIGESTS


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


def _parse_ratings(folder: Path, release: Release) -> pd.DataFrame:
    return formats.parse_ratings(
        folder / release.files["ratings"], layout=release.layout, scale=release.scale
    )


def _archive_source(
    release: Release, archive: Path, members: set[str], known: str | None, memo: Path
):
    """The archive's provenance before extraction, or None when its members must decide.

    ``known`` is a checksum already verified (a fresh download). A synthetic marker
    among the members makes the archive synthetic; a pinned hash that matches makes it
    verified; a mismatch is an error unless the members' MD5s are known.
    """
    size, mtime_ns = provenance.origin_stat(archive)
    common = {"release": release.name, "origin": os.path.abspath(archive)}
    common.update(origin_size=size, origin_mtime_ns=mtime_ns)
    if provenance.SYNTHETIC_MARKER in members:
        return None  # read from the extracted marker
    if known is not None:
        detail = f"downloaded from {release.url}, checksum verified"
        return Provenance(status=provenance.VERIFIED, checksum=known, detail=detail, **common)
    if release.known_hash is None:
        return None
    algorithm, expected = release.known_hash.split(":", 1)
    actual = provenance.file_digest(archive, algorithm, memo=memo)
    if actual == expected.lower():
        provenance.remember_digest(memo, archive, algorithm)
        detail = f"{algorithm} of {archive.name} matches the pinned hash"
        checksum = release.known_hash
        return Provenance(status=provenance.VERIFIED, checksum=checksum, detail=detail, **common)
    if release.file_md5:
        logger.info("%s differs from the pinned archive; checking its files one by one", archive)
        return None
    raise DataError(
        f"{archive}: {algorithm} {actual} differs from the pinned {release.name} archive "
        f"({algorithm} {expected}): this is not the GroupLens release; replace the archive, "
        "or extract it into the mirror folder to load it unverified"
    )


def _extract(
    archive: Path,
    release: Release,
    destination: Path,
    *,
    progress: bool,
    known: str | None = None,
) -> Fetched:
    """Extract, check and parse ``release`` from ``archive``, then rename it to ``destination``.

    The archive's top folder (``release.folder``) is dropped, so ``destination`` holds
    ``ratings.csv`` and friends directly. Everything happens in a temporary folder beside
    ``destination``, which replaces it only when the checksums and the ratings are good.

    Raises
    ------
    DataError
        The archive is truncated or corrupt, lacks the ratings file, differs from
        GroupLens's, or its ratings fail validation (the message names the member as
        ``ARCHIVE/FILE``); nothing is left in the data directory.
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
            memo = _memo(destination.parent)
            source = _archive_source(release, archive, names, known, memo)
            temporary.mkdir()
            for member in tqdm(wanted, desc=f"extracting {archive.name}", disable=not progress):
                relative = Path(member.filename[len(prefix) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise DataError(f"{archive}: unsafe member path {member.filename!r}")
                target = temporary / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as stream, open(target, "wb") as sink:
                    shutil.copyfileobj(stream, sink, length=1 << 20)
        try:
            if source is None:
                origin = os.path.abspath(archive)  # (no memo: these paths are temporary)
                checked = provenance.verify_folder(release, temporary, origin=origin)
                size, mtime_ns = provenance.origin_stat(archive)
                source = replace(checked, origin_size=size, origin_mtime_ns=mtime_ns)
            ratings = _parse_ratings(temporary, release)
        except DataError as error:  # name the member as ARCHIVE/FILE, not the temporary
            raise DataError(str(error).replace(os.fspath(temporary), os.fspath(archive))) from None
        provenance.write_record(temporary, source)
        _move_into_place(temporary, destination)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataError(f"{archive}: corrupt or truncated zip archive ({exc})") from exc
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return Fetched(destination, provenance.announce(source, stacklevel=4), ratings)


def _move_into_place(temporary: Path, destination: Path) -> None:
    """Rename a finished folder to ``destination``, replacing an older copy there."""
    old = atomic.temporary_sibling(destination) if destination.exists() else None
    if old is not None:
        os.replace(destination, old)
    try:
        os.replace(temporary, destination)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


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


def _download(release: Release, destination: Path, *, progress: bool) -> str:
    """Download ``release``'s archive to ``destination``; return its verified checksum.

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
    return known_hash


def _recorded(extracted: Path) -> tuple[Provenance | None, Path | None]:
    """The source of a folder this package extracted, if it is still what was extracted.

    Returns ``(source, None)`` when the folder may be used as it is, and ``(None, archive)``
    when it must be extracted again: an unverified or synthetic copy whose origin archive
    has changed since, or files changed in the folder itself (``archive`` is the recorded
    origin when that file still exists, else None).
    """
    source, sizes = provenance.read_record(extracted)
    origin = Path(source.origin)
    origin = origin if origin.is_file() else None
    changed = provenance.changed_files(extracted, sizes)
    if changed:
        logger.warning("%s: %s changed since extraction", extracted, ", ".join(changed))
        return None, origin
    if source.status != provenance.VERIFIED and _origin_changed(source):
        logger.info("%s changed since %s was extracted from it", source.origin, extracted)
        return None, origin
    return source, None


def _origin_changed(source: Provenance) -> bool:
    """Whether the local file ``source`` came from exists and is no longer what was read."""
    if source.origin_size is None or not Path(source.origin).is_file():
        return False
    return provenance.origin_stat(source.origin) != (source.origin_size, source.origin_mtime_ns)


def fetch_release(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Fetched:
    """A checked folder holding the files of a release, fetching it when needed.

    Parameters
    ----------
    name : str or Release, default "ml-latest-small"
        A key of :data:`~recsys_helpers.data.releases.DATASETS`, or a :class:`Release`.
    mirror : path, optional
        Local folder with ``NAME.zip`` or ``NAME/``; default ``$MOVIELENS_MIRROR``.
    data_dir : path, optional
        Where archives are downloaded and extracted; default :func:`config.data_dir`.
    progress : bool, default True
        Show progress bars for the download and the extraction.

    Returns
    -------
    Fetched
        The folder (``data_dir/NAME`` or the mirror's own folder), its provenance, and the
        ratings when they were parsed while extracting.

    Raises
    ------
    DataError
        Unknown name, missing mirror folder, data directory that is a file, corrupt
        archive, a file that differs from GroupLens's, ratings that fail validation.
    DownloadError
        Network failure or checksum mismatch.
    """
    release = get_release(name)
    root = data_root(data_dir)
    extracted = root / release.name
    reextract, origin = False, None
    if _has_ratings(extracted, release):
        if provenance.read_record(extracted) is None:  # put there by hand
            source = provenance.verify_folder(release, extracted, memo=_memo(root))
            return Fetched(extracted, provenance.announce(source))
        source, origin = _recorded(extracted)
        if source is not None:
            return Fetched(extracted, provenance.announce(source))
        reextract = True
    found = _mirror_source(release, config.mirror_dir(mirror)) or origin
    if found is not None and found.is_dir():
        logger.info("using %s from the mirror %s", release.name, found)
        source = provenance.verify_folder(release, found, memo=_memo(root))
        return Fetched(found, provenance.announce(source))
    if found is not None:
        logger.info("extracting %s from the mirror", found)
        return _extract(found, release, extracted, progress=progress)
    archive = root / release.archive
    known = None
    if not archive.is_file():
        if reextract:
            raise DataError(
                f"{extracted}: changed since it was extracted and its archive is gone; "
                "delete the folder to fetch the release again"
            )
        known = _download(release, archive, progress=progress)
    try:
        return _extract(archive, release, extracted, progress=progress, known=known)
    except DataError:
        archive.unlink(missing_ok=True)  # a downloaded copy is ours to discard
        raise


def fetch(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Folder holding the checked files of a release: :func:`fetch_release`'s ``folder``."""
    return fetch_release(name, mirror=mirror, data_dir=data_dir, progress=progress).folder


def locate(
    name: str | Release = config.DEFAULT_DATASET,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Provenance | None:
    """Where :func:`fetch_release` would take the release from now, without reading it.

    Only file sizes and times are looked at (no hashing, no extraction, no download), so a
    cache can cheaply tell whether its source changed.

    Returns
    -------
    Provenance or None
        The recorded provenance of an extracted folder; for a mirror folder or archive,
        its origin, size and time with status ``"synthetic"`` when it holds the marker
        and ``"unverified"`` otherwise (not yet checked); None when the release would be
        downloaded.
    """
    release = get_release(name)
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    extracted = root / release.name
    origin = None
    if _has_ratings(extracted, release):
        if provenance.read_record(extracted) is None:
            return _located(release, extracted, extracted / release.files["ratings"])
        source, origin = _recorded(extracted)
        if source is not None:
            return source
    found = _mirror_source(release, config.mirror_dir(mirror)) or origin
    if found is None:
        return None
    if found.is_dir():
        return _located(release, found, found / release.files["ratings"])
    try:
        with zipfile.ZipFile(found) as bundle:
            marked = any(n.endswith(provenance.SYNTHETIC_MARKER) for n in bundle.namelist())
    except (zipfile.BadZipFile, OSError):
        marked = False
    return _located(release, found, found, marked=marked)


def _located(release: Release, where: Path, stat_of: Path, *, marked: bool | None = None):
    if marked is None:
        marked = (where / provenance.SYNTHETIC_MARKER).is_file()
    size, mtime_ns = provenance.origin_stat(stat_of)
    return Provenance(
        release=release.name,
        status=provenance.SYNTHETIC if marked else provenance.UNVERIFIED,
        origin=os.path.abspath(where),
        detail="not checked yet",
        origin_size=size,
        origin_mtime_ns=mtime_ns,
        marker=provenance.read_synthetic_marker(where) if marked and where.is_dir() else None,
    )
