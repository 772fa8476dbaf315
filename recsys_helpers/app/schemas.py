"""The JSON shapes of the web API, as pydantic models: validation and the OpenAPI page.

Response models describe what :class:`~recsys_helpers.app.service.Recommender` returns;
the request model of ``POST /api/recommendations`` is built per served model
(:func:`recommendation_request`), because its bounds (the rating scale, the request
limits) belong to the model.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, create_model

from recsys_helpers.app.service import Limits

__all__ = [
    "MAX_COUNT",
    "Error",
    "Health",
    "HistoryEntry",
    "Movie",
    "MovieList",
    "Recommendation",
    "Recommendations",
    "SimilarMovie",
    "SimilarMovies",
    "UserRecommendations",
    "recommendation_request",
]

MAX_COUNT = 1_000_000_000
"""Largest popularity floor accepted (any larger value leaves no movie anyway)."""


class Movie(BaseModel):
    """A movie the model knows."""

    movieId: int
    title: str | None = Field(description="title as the dataset writes it, without the year")
    year: int | None
    genres: list[str]
    n_ratings: int = Field(description="training ratings of the movie, |Ω_i|")


class SearchHit(Movie):
    match: str = Field(description="exact, prefix, word starts or anywhere")


class MovieList(BaseModel):
    items: list[SearchHit]


class Because(BaseModel):
    """The rated movie closest to a recommended one by cosine of their vectors."""

    movieId: int
    title: str | None
    year: int | None
    similarity: float = Field(description="cos(V_i, V_j), in [-1, 1]")
    rating: float | None = Field(description="the stars given to it, when known")


class Recommendation(Movie):
    rank: int = Field(description="1 = best")
    score: float = Field(description="ranking score s_ui = μ + b_u + b_i + U_u·V_i (stars)")
    predicted: float = Field(description="the score clipped to the rating scale (stars)")
    std: float | None = Field(
        description="predictive spread in stars, from models that report one (else null)"
    )
    because: Because | None = Field(description="null when no rated movie has a direction")


class Recommendations(BaseModel):
    items: list[Recommendation]
    n_rated: int = Field(description="ratings folded in")


class HistoryEntry(Movie):
    rating: float | None = Field(description="the user's stars, when the ratings are loaded")


class UserRecommendations(BaseModel):
    userId: int
    items: list[Recommendation]
    history: list[HistoryEntry] = Field(description="rated in training, best rated first")
    n_history: int = Field(description="movies the user rated in training")


class SimilarMovie(Movie):
    rank: int
    similarity: float = Field(description="cos(V_i, V_j), in [-1, 1]")


class SimilarMovies(BaseModel):
    movie: Movie
    items: list[SimilarMovie]


class Health(BaseModel):
    status: str
    model: str = Field(description="class of the served model")
    n_factors: int = Field(description="K")
    n_users: int
    n_movies: int = Field(description="movies the model knows")
    n_titles: int = Field(description="of those, movies with a title (searchable)")
    n_ratings: int = Field(description="training ratings")
    rating_range: tuple[float, float] = Field(description="the rating scale (stars)")
    user_ids: tuple[int, int] = Field(description="smallest and largest userId of training")
    dataset: str | None
    limits: dict[str, int]


class ErrorEntry(BaseModel):
    loc: list[str | int] = Field(description="where: body, query or path, then the field")
    msg: str
    type: str


class Error(BaseModel):
    """Every error answer: one entry per problem, each naming its field."""

    detail: list[ErrorEntry]


def recommendation_request(low: float, high: float, limits: Limits) -> type[BaseModel]:
    """The body of ``POST /api/recommendations`` for a model rating from ``low`` to ``high``.

    Parameters
    ----------
    low, high : float
        The served model's ``rating_range_``; stars outside it are refused.
    limits : Limits

    Returns
    -------
    pydantic model class ``RecommendationRequest``
    """
    # Numbers must be JSON numbers (strict: no "5" strings, no true/false); the keys of
    # ``ratings`` are JSON strings by nature and are read as integers.
    stars = Annotated[float, Field(strict=True, ge=low, le=high, allow_inf_nan=False)]
    movie_id = Annotated[int, Field(strict=True)]
    return create_model(
        "RecommendationRequest",
        __config__=ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [{"ratings": {"4993": 5, "2571": 4.5}, "n": 10, "min_ratings": 10}]
            },
        ),
        ratings=(
            dict[int, stars],
            Field(
                default_factory=dict,
                max_length=limits.max_ratings,
                description=f"movieId -> stars ({low:g} to {high:g}); movies the model knows",
            ),
        ),
        n=(int, Field(10, strict=True, ge=1, le=limits.max_n, description="length of the list")),
        min_ratings=(
            int,
            Field(
                0, strict=True, ge=0, le=MAX_COUNT, description="popularity floor: training ratings"
            ),
        ),
        exclude=(
            list[movie_id],
            Field(
                default_factory=list,
                max_length=limits.max_exclude,
                description="movieIds never recommended (unknown ids are ignored)",
            ),
        ),
    )
