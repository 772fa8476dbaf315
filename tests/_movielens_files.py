"""Writers of small synthetic files in each MovieLens release format, for tests.

Nothing here is MovieLens data: ratings come from a seeded generator and the movies are
a handful of made-up rows chosen to exercise the parsers (commas and colons in titles,
latin-1 characters, titles without a year, movies without genres).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers.data.provenance import write_synthetic_marker

MOVIES = [
    # movieId, title, genres
    (1, "Toy Robots (1995)", ["Animation", "Comedy"]),
    (2, "Heat, The (1995)", ["Action", "Crime", "Thriller"]),
    (3, "Space Wars: Episode I (1977)", ["Action", "Sci-Fi"]),
    (5, "Café Society (2016)", ["Comedy", "Drama"]),
    (8, "Untitled Series", []),
    (13, "Long Run (2006-2007)", ["Drama"]),
]
"""Made-up movies: ids with gaps, a comma, a colon, an accent, no year, no genres, a span."""

EXPECTED_TITLES = [
    "Toy Robots",
    "Heat, The",
    "Space Wars: Episode I",
    "Café Society",
    "Untitled Series",
    "Long Run",
]
EXPECTED_YEARS = [1995, 1995, 1977, 2016, None, 2006]


def synthetic_ratings(
    n_users: int = 7,
    *,
    movie_ids=(1, 2, 3, 5, 8, 13),
    scale: tuple[float, float, float] = (0.5, 5.0, 0.5),
    density: float = 0.6,
    seed: int = 0,
) -> pd.DataFrame:
    """Random ratings on ``scale``: each (user, movie) pair present with prob. ``density``.

    Every user rates at least one movie; pairs are unique; sorted by user then movie.
    """
    rng = np.random.default_rng(seed)
    low, high, step = scale
    levels = np.arange(low, high + step / 2, step)
    rows = []
    for user in range(1, n_users + 1):
        chosen = [m for m in movie_ids if rng.random() < density] or [movie_ids[0]]
        for movie in chosen:
            rating = float(rng.choice(levels))
            rows.append((user, movie, rating, int(rng.integers(8e8, 1.5e9))))
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


def _format_rating(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{value:.1f}"


def _write(path: Path, lines: list[str], *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(line + newline for line in lines).encode(encoding))
    return path


def mark_synthetic(folder: Path, like: str | None = None) -> Path:
    """Mark a test release folder as synthetic, as the package's generator does."""
    write_synthetic_marker(folder, generator="tests/_movielens_files.py", parameters={}, like=like)
    return folder


def _csv_field(text: str) -> str:
    return f'"{text}"' if "," in text or '"' in text else text


def write_csv_ratings(path: Path, ratings: pd.DataFrame, *, header: str | None = None) -> Path:
    """``ratings.csv`` with CRLF line endings, as GroupLens ships it."""
    lines = [header or "userId,movieId,rating,timestamp"]
    lines += [
        f"{u},{m},{_format_rating(r)},{t}"
        for u, m, r, t in ratings[["userId", "movieId", "rating", "timestamp"]].itertuples(
            index=False
        )
    ]
    return _write(path, lines, newline="\r\n")


def write_csv_release(
    folder: Path,
    ratings: pd.DataFrame | None = None,
    *,
    tags: bool = True,
    links: bool = True,
    genome: bool = False,
    synthetic: bool = True,
) -> Path:
    """A folder shaped like ml-latest-small / ml-25m (``ratings.csv``, ``movies.csv``, ...).

    ``synthetic`` writes the package's marker ``SYNTHETIC.json`` (the files are not
    GroupLens's, so an unmarked folder named like a verified release is refused).
    """
    ratings = synthetic_ratings() if ratings is None else ratings
    folder.mkdir(parents=True, exist_ok=True)
    write_csv_ratings(folder / "ratings.csv", ratings)
    movie_lines = ["movieId,title,genres"] + [
        f"{m},{_csv_field(t)},{'|'.join(g) or '(no genres listed)'}" for m, t, g in MOVIES
    ]
    _write(folder / "movies.csv", movie_lines, newline="\r\n")
    if tags:
        tag_lines = [
            "userId,movieId,tag,timestamp",
            "1,2,heist,1139045764",
            '2,3,"space, opera",1139045765',
            "2,8,dull,1139045766",
        ]
        _write(folder / "tags.csv", tag_lines, newline="\r\n")
    if links:
        link_lines = ["movieId,imdbId,tmdbId"] + [
            f"{m},{114709 + m:07d},{'' if m == 8 else 862 + m}" for m, _, _ in MOVIES
        ]
        _write(folder / "links.csv", link_lines, newline="\r\n")
    if genome:
        _write(folder / "genome-tags.csv", ["tagId,tag", "1,007", "2,action"])
        score_lines = ["movieId,tagId,relevance"] + [
            f"{m},{t},{(m * t % 10) / 10:.3f}" for m, _, _ in MOVIES for t in (1, 2)
        ]
        _write(folder / "genome-scores.csv", score_lines)
    return mark_synthetic(folder) if synthetic else folder


def write_dat_release(
    folder: Path,
    ratings: pd.DataFrame | None = None,
    *,
    encoding: str = "latin-1",
    tags: bool = False,
    scale: tuple[float, float, float] = (1.0, 5.0, 1.0),
    synthetic: bool = True,
) -> Path:
    """A folder shaped like ml-1m (``tags=False``) or ml-10m (``tags=True``): ``::`` files."""
    ratings = synthetic_ratings(scale=scale) if ratings is None else ratings
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "ratings.dat",
        [
            f"{u}::{m}::{r:g}::{t}"
            for u, m, r, t in ratings[["userId", "movieId", "rating", "timestamp"]].itertuples(
                index=False
            )
        ],
    )
    _write(
        folder / "movies.dat",
        [f"{m}::{t}::{'|'.join(g)}" for m, t, g in MOVIES],
        encoding=encoding,
    )
    if tags:
        _write(
            folder / "tags.dat",
            ["1::2::heist::1139045764", "2::3::space: opera::1139045765"],
            encoding=encoding,
        )
    return mark_synthetic(folder) if synthetic else folder


ML100K_FLAGS = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def write_100k_release(
    folder: Path,
    ratings: pd.DataFrame | None = None,
    *,
    genre_file: bool = True,
    synthetic: bool = True,
) -> Path:
    """A folder shaped like ml-100k: tab-separated ``u.data``, latin-1 ``u.item``, ``u.genre``."""
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0)) if ratings is None else ratings
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "u.data",
        [
            f"{u}\t{m}\t{int(r)}\t{t}"
            for u, m, r, t in ratings[["userId", "movieId", "rating", "timestamp"]].itertuples(
                index=False
            )
        ],
    )
    item_lines = []
    for movie, title, genres in MOVIES:
        flags = ["1" if g in genres else "0" for g in ML100K_FLAGS]
        if not genres:
            flags[0] = "1"  # ml-100k marks genre-less movies "unknown"
            title, release = "unknown", "01-Jan-1999"
        else:
            release = "01-Jan-1995"
        item_lines.append("|".join([str(movie), title, release, "", "http://x", *flags]))
    _write(folder / "u.item", item_lines, encoding="latin-1")
    if genre_file:
        _write(folder / "u.genre", [f"{g}|{k}" for k, g in enumerate(ML100K_FLAGS)] + [""])
    return mark_synthetic(folder) if synthetic else folder


def zip_folder(folder: Path, archive: Path, *, top: str) -> Path:
    """Zip ``folder``'s files under the top folder ``top/``, as GroupLens archives do."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{top}/", "")
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"{top}/{path.name}")
    return archive


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file."""
    return hashlib.new(algorithm, Path(path).read_bytes()).hexdigest()
