"""Finding movies by title as people type them: any case, any accents, year optional.

A query such as ``"amelie"``, ``"the matrix 1999"`` or ``"lord rings"`` is compared with
every title after both are normalised (:func:`normalise_text`: accents removed, case
folded, punctuation dropped). A movie matches when each word of the query occurs in its
title, as a word, the start of a word or anywhere inside it, in any order, so that
``"matrix the"``, ``"the matrix"`` and the release's own ``"Matrix, The"`` all find it;
a four-digit word may instead be the movie's year. Matches are ordered by how well they
match (:data:`MATCH_TIERS`), then by how many ratings the movie has, then by title.

:func:`movie_catalogue` puts movie frames from any source (a release, a user's movies
file) into one shape first.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import numpy as np
import pandas as pd

from recsys_helpers.data.checks import require_columns
from recsys_helpers.data.movie_formats import NO_GENRES, split_title_year

__all__ = [
    "MATCH_TIERS",
    "TitleSearch",
    "movie_catalogue",
    "normalise_text",
    "search_titles",
    "spoken_title",
]

logger = logging.getLogger(__name__)

MATCH_TIERS = ("exact", "prefix", "word starts", "anywhere")
"""How a title matches a query, best first: the whole title; its beginning; every query
word at the start of a title word; every query word somewhere in the title."""

CATALOGUE_COLUMNS = ("movieId", "title", "year", "genres")

_ARTICLES = "The|A|An|Les|La|Le|L'|Il|El|Lo|Gli|I|Der|Die|Das|Den|Det|De|Los|Las|Un|Una|Une|O|Os|As"
# "Matrix, The" -> "The Matrix"; also before an alternative title in parentheses.
_TRAILING_ARTICLE = re.compile(rf"^(?P<rest>.+?), (?P<article>{_ARTICLES})(?P<tail> \(.*\))?$")
_APOSTROPHES = re.compile(r"['\u2019`\u00b4]")
_WORDS = re.compile(r"[^\W_]+")
_YEAR = re.compile(r"^(1[89]\d\d|2[01]\d\d)$")


def normalise_text(text: str) -> str:
    """Lower-case words without accents or punctuation, separated by single spaces.

    ``"Amélie (Fabuleux destin d'Amélie Poulain, Le)"`` becomes
    ``"amelie fabuleux destin damelie poulain le"``: accents are removed by Unicode
    decomposition (NFKD) and dropping the combining marks, case is folded
    (``str.casefold``, so ``ß`` is ``ss``), apostrophes are dropped inside words and every
    other non-alphanumeric character separates words.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_WORDS.findall(_APOSTROPHES.sub("", plain)))


def spoken_title(title: str) -> str:
    """A title with a trailing article put back in front: ``"Matrix, The"`` -> ``"The Matrix"``.

    MovieLens files titles under the word after the article (``"Matrix, The"``,
    ``"Cité des enfants perdus, La"``); people type them as spoken. An alternative title in
    parentheses stays where it is: ``"Shining, The (Shining)"`` -> ``"The Shining (Shining)"``.
    """
    match = _TRAILING_ARTICLE.match(str(title))
    if match is None:
        return str(title)
    return f"{match['article']} {match['rest']}{match['tail'] or ''}"


def _without_article(title: str) -> str:
    """``"Matrix, The"`` -> ``"Matrix"`` (alternative titles in parentheses kept)."""
    match = _TRAILING_ARTICLE.match(str(title))
    return str(title) if match is None else f"{match['rest']}{match['tail'] or ''}"


def _genre_list(value) -> list[str]:
    """Genres as a list: lists and arrays as they are, ``"A|B"`` strings split, else ``[]``."""
    if isinstance(value, str):
        text = value.strip()
        return [] if text in ("", NO_GENRES) else text.split("|")
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(genre) for genre in value]
    return []


def movie_catalogue(movies: pd.DataFrame) -> pd.DataFrame:
    """Movies from any source in one shape: ``movieId``, ``title``, ``year``, ``genres``.

    Release frames (:func:`recsys_helpers.data.movielens.load_movies`) already have that
    shape. A user's movies file (:func:`recsys_helpers.data.userfiles.read_movies_file`)
    may keep the year inside the title (``"Heat (1995)"``; it is split off) and the genres
    as ``"A|B"`` text (split into a list); a missing ``genres`` column gives ``[]``.

    Parameters
    ----------
    movies : DataFrame with ``movieId`` and ``title``; ``year`` and ``genres`` optional

    Returns
    -------
    DataFrame, one row per distinct movieId (the first listed), index ``0 … n−1``
        ``movieId`` int64, ``title`` str, ``year`` Int16 (NA when unknown), ``genres``
        list of str.

    Raises
    ------
    DataError
        ``movies`` lacks ``movieId`` or ``title``.
    """
    require_columns(movies, ("movieId", "title"), "movies")
    frame = movies.drop_duplicates("movieId", keep="first")
    if len(frame) < len(movies):
        logger.warning("movies: %d repeated movieId(s) ignored", len(movies) - len(frame))
    if "year" in frame.columns:
        title = frame["title"].astype(str)
        year = pd.to_numeric(frame["year"], errors="coerce").astype("Int16")
    else:
        title, year = split_title_year(frame["title"])
    genres = frame["genres"] if "genres" in frame.columns else pd.Series([None] * len(frame))
    return pd.DataFrame(
        {
            "movieId": frame["movieId"].to_numpy(dtype=np.int64),
            "title": title.to_numpy(dtype=object),
            "year": year.to_numpy(),
            "genres": [_genre_list(value) for value in genres],
        }
    ).astype({"year": "Int16"})


class TitleSearch:
    """A catalogue prepared for repeated title queries (see the module docstring).

    Parameters
    ----------
    movies : DataFrame
        Anything :func:`movie_catalogue` accepts.
    counts : Series of int indexed by movieId, optional
        Ratings per movie, the second sort key and the ``n_ratings`` column of the results
        (movies missing from it have 0).

    Attributes
    ----------
    catalogue : DataFrame
        :func:`movie_catalogue` of ``movies`` plus ``n_ratings`` (int64).
    """

    def __init__(self, movies: pd.DataFrame, counts: pd.Series | None = None) -> None:
        catalogue = movie_catalogue(movies)
        if counts is None:
            n_ratings = np.zeros(len(catalogue), dtype=np.int64)
        else:
            n_ratings = catalogue["movieId"].map(counts).fillna(0).to_numpy(dtype=np.int64)
        self.catalogue = catalogue.assign(n_ratings=n_ratings)
        spoken = catalogue["title"].map(spoken_title).map(normalise_text)
        self._text = spoken.to_numpy(dtype=object)
        # Whole-title forms for exact and prefix matches: spoken ("the matrix"), without
        # the article ("matrix") and as filed ("matrix the").
        self._forms = [
            self._text,
            catalogue["title"].map(_without_article).map(normalise_text).to_numpy(dtype=object),
            catalogue["title"].map(normalise_text).to_numpy(dtype=object),
        ]
        self._spaced = (" " + spoken).to_numpy(dtype=object)
        self._compact = spoken.str.replace(" ", "", regex=False).to_numpy(dtype=object)
        self._years = catalogue["year"].to_numpy(dtype=np.float64, na_value=np.nan)
        # Rank ties: more ratings first, then title, then movieId (a stable total order).
        order = np.lexsort((catalogue["movieId"].to_numpy(), self._text, -n_ratings))
        self._position = np.empty(len(catalogue), dtype=np.int64)
        self._position[order] = np.arange(len(catalogue))

    def __len__(self) -> int:
        return len(self.catalogue)

    def search(self, query: str, limit: int = 10) -> pd.DataFrame:
        """The movies whose titles match ``query``, best first.

        Parameters
        ----------
        query : str
            Words of the title in any order, any case and with or without accents; a
            four-digit word from 1800 to 2199 also matches the movie's year.
        limit : int >= 1, default 10
            Most rows returned.

        Returns
        -------
        DataFrame, at most ``limit`` rows
            ``movieId``, ``title``, ``year``, ``genres``, ``n_ratings`` and ``match``
            (one of :data:`MATCH_TIERS`). Empty when nothing matches or the query has no
            letters or digits.
        """
        if int(limit) != limit or limit < 1:
            raise ValueError(f"limit must be an integer >= 1, got {limit!r}")
        words = normalise_text(query).split()
        if not words:
            return self._rows(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        tier = self._tiers(words)
        matched = np.flatnonzero(tier < len(MATCH_TIERS))
        ranked = matched[np.lexsort((self._position[matched], tier[matched]))][: int(limit)]
        return self._rows(ranked, tier[ranked])

    def _tiers(self, words: list[str]) -> np.ndarray:
        """Each movie's match tier (index into :data:`MATCH_TIERS`; ``len`` = no match)."""
        n = len(self)
        anywhere = np.ones(n, dtype=bool)
        starts = np.ones(n, dtype=bool)
        title_words = []
        for word in words:
            in_text = np.fromiter((word in t for t in self._compact), bool, n)
            at_start = np.fromiter((f" {word}" in t for t in self._spaced), bool, n)
            if _YEAR.match(word):
                year_match = self._years == float(word)
                anywhere &= in_text | year_match
                starts &= at_start | year_match
            else:
                anywhere &= in_text
                starts &= at_start
                title_words.append(word)
        tier = np.full(n, len(MATCH_TIERS), dtype=np.int64)
        tier[anywhere] = 3
        tier[anywhere & starts] = 2
        for phrase in {" ".join(words), " ".join(title_words)} - {""}:
            prefix = np.zeros(n, dtype=bool)
            exact = np.zeros(n, dtype=bool)
            for form in self._forms:
                prefix |= np.fromiter((t.startswith(phrase) for t in form), bool, n)
                exact |= form == phrase
            tier[anywhere & prefix] = np.minimum(tier[anywhere & prefix], 1)
            tier[anywhere & exact] = 0
        return tier

    def _rows(self, rows: np.ndarray, tiers: np.ndarray) -> pd.DataFrame:
        found = self.catalogue.iloc[rows].reset_index(drop=True)
        return found.assign(match=[MATCH_TIERS[t] for t in tiers])


def search_titles(
    movies: pd.DataFrame, query: str, *, counts: pd.Series | None = None, limit: int = 10
) -> pd.DataFrame:
    """Movies whose titles match ``query``, best first (one-off :class:`TitleSearch`).

    Parameters
    ----------
    movies : DataFrame
        ``movieId`` and ``title``, optionally ``year`` and ``genres``.
    query : str
    counts : Series of int indexed by movieId, optional
        Ratings per movie (ties are broken by it).
    limit : int >= 1, default 10

    Returns
    -------
    DataFrame
        As :meth:`TitleSearch.search`.
    """
    return TitleSearch(movies, counts).search(query, limit)
