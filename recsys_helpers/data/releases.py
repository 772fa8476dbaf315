"""The MovieLens releases GroupLens publishes: names, folders, file layouts, checksums.

:data:`DATASETS` maps each release name to a :class:`Release`; :func:`get_release` looks
one up. Fetching a release is :mod:`recsys_helpers.data.fetch`, parsing its files
:mod:`recsys_helpers.data.formats`, and loading tidy frames :mod:`recsys_helpers.data.movielens`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recsys_helpers.errors import DataError

__all__ = ["DATASETS", "GROUPLENS_URL", "HALF_STARS", "WHOLE_STARS", "Release", "get_release"]

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
HALF_STARS = (0.5, 5.0, 0.5)
WHOLE_STARS = (1.0, 5.0, 1.0)

_FILES = {
    "csv": {
        "ratings": "ratings.csv",
        "movies": "movies.csv",
        "tags": "tags.csv",
        "links": "links.csv",
        "genome_scores": "genome-scores.csv",
        "genome_tags": "genome-tags.csv",
    },
    "dat": {"ratings": "ratings.dat", "movies": "movies.dat", "tags": "tags.dat"},
    "100k": {"ratings": "u.data", "movies": "u.item"},
}


@dataclass(frozen=True)
class Release:
    """One MovieLens release and how to get and read it.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"ml-25m"``; also the archive stem ``NAME.zip``.
    folder : str
        Folder the archive extracts to (``"ml-10M100K"`` for ml-10m).
    layout : {"csv", "dat", "100k"}
        File format family (see :mod:`recsys_helpers.data.formats`).
    scale : (min, max, step)
        Rating scale: ``(0.5, 5.0, 0.5)`` half stars or ``(1.0, 5.0, 1.0)`` whole stars.
    known_hash : str or None
        ``"md5:..."`` or ``"sha256:..."`` of the archive; None means the hash is read from
        :attr:`checksum_url` at download time.
    file_md5 : dict of str to str
        MD5 of each release file whose checksum is known (file name -> hex digest), so that
        an extracted copy can be verified file by file (:mod:`recsys_helpers.data.provenance`).
    url : str
        Archive URL; GroupLens's by default.
    encoding : str
        Text encoding of the movies (and tags) file.
    """

    name: str
    folder: str
    layout: str
    scale: tuple[float, float, float] = HALF_STARS
    known_hash: str | None = None
    url: str = ""
    encoding: str = "utf-8"
    files: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    file_md5: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.layout not in _FILES:
            raise ValueError(f"layout must be one of {', '.join(_FILES)}, got {self.layout!r}")
        if not self.url:
            object.__setattr__(self, "url", f"{GROUPLENS_URL}{self.name}.zip")
        if not self.files:
            object.__setattr__(self, "files", dict(_FILES[self.layout]))

    @property
    def archive(self) -> str:
        """File name of the archive, ``NAME.zip``."""
        return f"{self.name}.zip"

    @property
    def rating_range(self) -> tuple[float, float]:
        """``(lowest, highest)`` rating of the scale, e.g. ``(0.5, 5.0)``."""
        return self.scale[0], self.scale[1]

    @property
    def checksum_url(self) -> str:
        """Where the publisher's MD5 of the archive is (``URL.md5``)."""
        return f"{self.url}.md5"


DATASETS: dict[str, Release] = {
    release.name: release
    for release in (
        Release(
            "ml-latest-small",
            "ml-latest-small",
            "csv",
            known_hash="sha256:696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            file_md5={  # the release of 26 September 2018
                "ratings.csv": "325a6f09399d1c45671f187505e1a100",
                "movies.csv": "ed94fab72b62442ef8150d9446e000d6",
                "tags.csv": "1b2d21a7be1cc23d327b11155a4a6aea",
                "links.csv": "316913f95cdad64c745ca22f3630e230",
                "README.txt": "9bc20a696092024abe52696ee6c5837f",
            },
        ),
        Release("ml-25m", "ml-25m", "csv", known_hash="md5:6b51fb2759a8657d3bfcbfc42b592ada"),
        Release(
            "ml-32m",
            "ml-32m",
            "csv",
            file_md5={
                "ratings.csv": "cf12b74f9ad4b94a011f079e26d4270a",
                "movies.csv": "0df90835c19151f9d819d0822e190797",
            },
        ),
        Release("ml-20m", "ml-20m", "csv"),
        Release("ml-10m", "ml-10M100K", "dat"),
        Release(
            "ml-1m",
            "ml-1m",
            "dat",
            scale=WHOLE_STARS,
            known_hash="md5:c4d9eecfca2ab87c1945afe126590906",
            encoding="latin-1",
        ),
        Release(
            "ml-100k",
            "ml-100k",
            "100k",
            scale=WHOLE_STARS,
            known_hash="md5:0e33842e24a9c977be4e0107933c0723",
            encoding="latin-1",
        ),
    )
}
"""Every release known by name; ``ml-latest-small`` is the default everywhere."""


def get_release(name: str | Release) -> Release:
    """The :class:`Release` called ``name`` (a Release is returned as is).

    Raises
    ------
    DataError
        For an unknown name, listing the known ones.
    """
    if isinstance(name, Release):
        return name
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None
