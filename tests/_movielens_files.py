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


DEFAULT_TAGS = [(1, 2, "heist", 1139045764), (2, 3, "space, opera", 1139045765)]
"""Tag applications (userId, movieId, tag, timestamp) of :data:`MOVIES`."""


def write_csv_release(
    folder: Path,
    ratings: pd.DataFrame | None = None,
    *,
    tags: bool = True,
    links: bool = True,
    genome: bool = False,
    synthetic: bool = True,
    movies=MOVIES,
    tag_rows=None,
) -> Path:
    """A folder shaped like ml-latest-small / ml-25m (``ratings.csv``, ``movies.csv``, ...).

    ``movies`` are (movieId, title, genres) rows and ``tag_rows`` (userId, movieId, tag,
    timestamp) rows; by default :data:`MOVIES` and their made-up tags.

    ``synthetic`` writes the package's marker ``SYNTHETIC.json`` (the files are not
    GroupLens's, so an unmarked folder named like a verified release is refused).
    """
    ratings = synthetic_ratings() if ratings is None else ratings
    folder.mkdir(parents=True, exist_ok=True)
    write_csv_ratings(folder / "ratings.csv", ratings)
    movie_lines = ["movieId,title,genres"] + [
        f"{m},{_csv_field(t)},{'|'.join(g) or '(no genres listed)'}" for m, t, g in movies
    ]
    _write(folder / "movies.csv", movie_lines, newline="\r\n")
    if tags:
        rows = [*DEFAULT_TAGS, (2, 8, "dull", 1139045766)] if tag_rows is None else tag_rows
        tag_lines = ["userId,movieId,tag,timestamp"] + [
            f"{u},{m},{_csv_field(t)},{ts}" for u, m, t, ts in rows
        ]
        _write(folder / "tags.csv", tag_lines, newline="\r\n")
    if links:
        link_lines = ["movieId,imdbId,tmdbId"] + [
            f"{m},{114709 + m:07d},{'' if m == 8 else 862 + m}" for m, _, _ in movies
        ]
        _write(folder / "links.csv", link_lines, newline="\r\n")
    if genome:
        _write(folder / "genome-tags.csv", ["tagId,tag", "1,007", "2,action"])
        score_lines = ["movieId,tagId,relevance"] + [
            f"{m},{t},{(m * t % 10) / 10:.3f}" for m, _, _ in movies for t in (1, 2)
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
    movies=MOVIES,
    tag_rows=None,
) -> Path:
    """A folder shaped like ml-1m (``tags=False``) or ml-10m (``tags=True``): ``::`` files.

    ``movies`` and ``tag_rows`` as in :func:`write_csv_release`.
    """
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
        [f"{m}::{t}::{'|'.join(g)}" for m, t, g in movies],
        encoding=encoding,
    )
    if tags:
        rows = [(1, 2, "heist", 1139045764), (2, 3, "space: opera", 1139045765)]
        _write(
            folder / "tags.dat",
            [f"{u}::{m}::{t}::{ts}" for u, m, t, ts in (rows if tag_rows is None else tag_rows)],
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
    movies=MOVIES,
) -> Path:
    """A folder shaped like ml-100k: tab-separated ``u.data``, latin-1 ``u.item``, ``u.genre``.

    ``movies`` as in :func:`write_csv_release`; a title's ``(YYYY)`` gives the release date.
    """
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
    for movie, title, genres in movies:
        flags = ["1" if g in genres else "0" for g in ML100K_FLAGS]
        year = title[-5:-1] if title.endswith(")") and title[-5:-1].isdigit() else "1995"
        if not genres:
            flags[0] = "1"  # ml-100k marks genre-less movies "unknown"
            title, release = "unknown", "01-Jan-1999"
        else:
            release = f"01-Jan-{year}"
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


LAYOUT_RELEASES = {"csv": "ml-25m", "dat": "ml-10m", "100k": "ml-100k"}
"""The release written for each file layout by :func:`write_synthetic_release`."""


def write_synthetic_release(
    mirror: Path,
    name: str,
    *,
    n_users: int = 150,
    n_items: int = 300,
    n_ratings: int = 9_000,
    seed: int = 0,
) -> pd.DataFrame:
    """A planted-model release called ``name`` in its own format, in the mirror folder.

    Ratings come from :func:`recsys_helpers.data.synthetic.make_ratings` with genre
    effects (:func:`~recsys_helpers.data.synthetic.make_movies`), on the release's star
    scale; titles are ``"Synthetic Movie <id> (<year>)"``. Releases with tags get a few
    genre-named tags per movie. For ml-25m the tag genome and the links are written as
    files no parser accepts: a loader that reads them fails.

    Returns
    -------
    DataFrame
        The ratings written (``userId``, ``movieId``, ``rating``, ``timestamp``).
    """
    from recsys_helpers.data.releases import get_release
    from recsys_helpers.data.synthetic import DEFAULT_GENRES, make_movies, make_ratings

    release = get_release(name)
    genres = ML100K_FLAGS[1:] if release.layout == "100k" else DEFAULT_GENRES
    frame = make_movies(n_items, genres=genres, random_state=seed)
    ratings, _ = make_ratings(
        n_users, n_ratings=n_ratings, movies=frame, random_state=seed, noise_std=0.6
    )
    low, high, step = release.scale
    ratings["rating"] = (np.clip(np.round(ratings["rating"] / step) * step, low, high)).astype(
        np.float32
    )
    movies = list(zip(frame["movieId"], frame["title"], frame["genres"], strict=True))
    rng = np.random.default_rng(seed)
    tag_rows = [
        (int(ratings["userId"].iloc[k]), int(m), f"{g[0].lower()} mood", 1_300_000_000 + k)
        for k, (m, _, g) in enumerate(movies)
        if rng.random() < 0.5
    ]
    folder = mirror / release.folder
    if release.layout == "csv":
        write_csv_release(folder, ratings, movies=movies, tag_rows=tag_rows, links=False)
        _write(folder / "links.csv", ["not,a links file", '"unterminated'])
        _write(folder / "genome-scores.csv", ["not a genome file", '"unterminated'])
        _write(folder / "genome-tags.csv", ["not a genome file", '"unterminated'])
    elif release.layout == "dat":
        has_tags = "tags" in release.files
        write_dat_release(
            folder,
            ratings,
            encoding=release.encoding,
            tags=has_tags,
            scale=release.scale,
            movies=movies,
            tag_rows=tag_rows,
        )
    else:
        write_100k_release(folder, ratings, movies=movies)
    return ratings
