"""Title search: normalisation, article handling, the match tiers and their order, years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.data.titles import (
    MATCH_TIERS,
    TitleSearch,
    movie_catalogue,
    normalise_text,
    search_titles,
    spoken_title,
)
from recsys_helpers.errors import DataError

MOVIES = pd.DataFrame(
    {
        "movieId": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "title": [
            "Matrix, The",
            "Matrix Reloaded, The",
            "Amélie (Fabuleux destin d'Amélie Poulain, Le)",
            "2001: A Space Odyssey",
            "Spider-Man",
            "Heat",
            "Heat",
            "Schindler's List",
            "Straße, Die",
        ],
        "year": pd.array([1999, 2003, 2001, 1968, 2002, 1995, 1986, 1993, None], dtype="Int16"),
        "genres": [["Action"], ["Action"], ["Comedy"], ["Sci-Fi"], [], ["Crime"], [], [], []],
    }
)
COUNTS = pd.Series([278, 96, 120, 109, 122, 102, 3, 220, 1], index=MOVIES["movieId"])


@pytest.fixture(scope="module")
def titles() -> TitleSearch:
    return TitleSearch(MOVIES, COUNTS)


def ids(found: pd.DataFrame) -> list[int]:
    return found["movieId"].tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Amélie (Fabuleux destin d'Amélie Poulain, Le)",
            "amelie fabuleux destin damelie poulain le",
        ),
        ("  SPIDER-MAN  ", "spider man"),
        ("Straße", "strasse"),
        ("Schindler’s List", "schindlers list"),
        ("Crème brûlée: 2!", "creme brulee 2"),
        ("...", ""),
    ],
)
def test_normalise_text_folds_case_accents_and_punctuation(text, expected):
    assert normalise_text(text) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Matrix, The", "The Matrix"),
        ("Cité des enfants perdus, La", "La Cité des enfants perdus"),
        ("Shining, The (Shining)", "The Shining (Shining)"),
        ("Heat", "Heat"),
        ("Three Colours: Red, White", "Three Colours: Red, White"),
    ],
)
def test_spoken_title_puts_the_article_in_front(title, expected):
    assert spoken_title(title) == expected


def test_exact_title_first_with_or_without_its_article(titles):
    for query in ("matrix", "the matrix", "Matrix, The", "MATRIX THE"):
        found = titles.search(query)
        assert ids(found)[:2] == [1, 2], query
        assert found["match"].iloc[0] == "exact", query


def test_accents_and_case_do_not_matter(titles):
    for query in ("amelie", "AMÉLIE", "Amélie", "amélie poulain"):
        assert ids(titles.search(query)) == [3], query


def test_a_year_picks_among_movies_of_the_same_name(titles):
    assert ids(titles.search("heat")) == [6, 7]  # more ratings first
    assert ids(titles.search("heat 1986")) == [7]
    assert ids(titles.search("heat (1986)")) == [7]
    assert titles.search("heat 1986")["match"].iloc[0] == "exact"


def test_a_year_word_also_matches_title_text(titles):
    found = titles.search("2001")
    # "2001: A Space Odyssey" by its title (prefix), Amélie (2001) by its year.
    assert ids(found) == [4, 3]
    assert found["match"].tolist() == ["prefix", "word starts"]


def test_words_in_any_order_and_inside_words(titles):
    assert ids(titles.search("odyssey space")) == [4]
    assert ids(titles.search("spiderman")) == [5]  # across the hyphen
    assert ids(titles.search("schindlers")) == [8]  # apostrophe dropped
    assert titles.search("indler")["match"].tolist() == ["anywhere"]


def test_tiers_order_before_popularity():
    movies = pd.DataFrame(
        {"movieId": [1, 2, 3, 4], "title": ["Toy Story", "Storytoy", "Toy", "Big Toy Story"]}
    )
    counts = pd.Series([1, 1000, 5, 500], index=[1, 2, 3, 4])
    found = search_titles(movies, "toy", counts=counts)
    assert ids(found) == [3, 1, 4, 2]
    assert found["match"].tolist() == ["exact", "prefix", "word starts", "anywhere"]
    assert list(found.columns) == ["movieId", "title", "year", "genres", "n_ratings", "match"]
    assert set(found["match"]) <= set(MATCH_TIERS)


def test_limit_and_empty_queries(titles):
    assert len(titles.search("a", limit=2)) == 2
    assert titles.search("zzzz").empty
    assert titles.search("  !!  ").empty
    with pytest.raises(ValueError, match="limit"):
        titles.search("heat", limit=0)


def test_catalogue_from_a_user_movies_file():
    user_file = pd.DataFrame(
        {
            "movieId": [10, 11, 10],
            "title": ["Heat (1995)", "Untitled", "Duplicate (2000)"],
            "genres": ["Action|Crime", "(no genres listed)", "Drama"],
        }
    )
    catalogue = movie_catalogue(user_file)
    assert catalogue["movieId"].tolist() == [10, 11]
    assert catalogue["title"].tolist() == ["Heat", "Untitled"]
    assert catalogue["year"].tolist()[0] == 1995 and pd.isna(catalogue["year"].iloc[1])
    assert catalogue["genres"].tolist() == [["Action", "Crime"], []]
    assert movie_catalogue(user_file[["movieId", "title"]])["genres"].tolist() == [[], []]


def test_catalogue_refuses_frames_without_titles():
    with pytest.raises(DataError, match="title"):
        movie_catalogue(pd.DataFrame({"movieId": [1]}))


def test_counts_default_to_zero_and_ties_break_by_title():
    movies = pd.DataFrame({"movieId": [5, 3, 4], "title": ["Heat B", "Heat A", "Heat C"]})
    found = search_titles(movies, "heat")
    assert found["title"].tolist() == ["Heat A", "Heat B", "Heat C"]
    assert (found["n_ratings"] == 0).all()
    assert found["n_ratings"].dtype == np.int64
