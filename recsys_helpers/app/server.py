"""The web app: a JSON API over :class:`~recsys_helpers.app.service.Recommender` and a page.

:func:`create_app` returns an ASGI application (FastAPI) for one fitted model::

    from recsys_helpers.app.server import create_app
    app = create_app(model, movies, dataset="ml-latest-small")
    # uvicorn.run(app, host="127.0.0.1", port=8000)  or: python -m recsys_helpers serve

==========================================  ============================================
``GET /``                                   the page (``static/``: HTML, CSS, one script)
``GET /api/health``                         model class, K, counts, scale, dataset, limits
``GET /api/movies?q=TEXT&limit=N``          title search
``POST /api/recommendations``               fold in ``{"ratings": {...}}`` and rank
``GET /api/users/{userId}/recommendations`` a training user's list and history
``GET /api/movies/{movieId}/similar``       nearest movies in the latent space
``GET /docs``, ``GET /openapi.json``        the OpenAPI page (served locally) and schema
==========================================  ============================================

The endpoints are ``async``: each answer is a few milliseconds of NumPy on data already
in memory, so it runs on the event loop directly; a thread per request would add switches
and contention for the same cores without adding parallelism (the interpreter lock).

Every refused request gets a 4xx status and the body ``{"detail": [{"loc": [...],
"msg": ..., "type": ...}, ...]}`` whose ``loc`` names the field (``["body", "ratings",
"123"]``, ``["query", "n"]``, ``["path", "movieId"]``): 422 for invalid content (malformed
JSON, wrong types, unknown movies, stars off the scale, too many ratings, ``n`` out of
range), 404 for a user or movie that does not exist, 413 for a body over
``Limits.max_body_bytes``. Nothing a client sends is stored. An unexpected error is
logged and answered with a 500 body of the same shape; the server keeps serving.
"""

import logging
from pathlib import Path

import pandas as pd
from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from recsys_helpers.app import schemas
from recsys_helpers.app.service import InputError, Limits, Recommender
from recsys_helpers.errors import DataError

__all__ = ["STATIC_DIR", "BodyLimit", "create_app"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""The page's files: ``index.html``, ``style.css``, ``app.js``."""

_ERRORS = {status: {"model": schemas.Error} for status in (404, 413, 422)}

# Only the page's own files: no fonts, scripts or styles from elsewhere.
_PAGE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'"


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is refused with 413.

    Checked against the declared ``Content-Length`` before anything is read, and against
    the bytes actually received (a chunked body declares no length). The refusal is
    raised where the app reads the body, so the app's error handler writes the answer.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        too_long = declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def limited_receive():
            nonlocal received
            if too_long:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)


def _error(status: int, location, message: str, kind: str) -> JSONResponse:
    entry = {"loc": list(location), "msg": message, "type": kind}
    return JSONResponse({"detail": [entry]}, status_code=status)


def _install_error_handlers(app) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        # The input echo and documentation links pydantic adds are left out: a long
        # body would otherwise be sent back.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(InputError)
    async def refused_input(request: Request, error: InputError):
        status, kind = (404, "not_found") if error.not_found else (422, "value_error")
        return _error(status, error.location, error.message, kind)

    @app.exception_handler(DataError)
    async def refused_by_model(request: Request, error: DataError):
        # Input the service let through but the model refused (its own checks).
        return _error(422, ["body"], str(error), "value_error")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        if error.status_code == 413:
            return _error(413, ["body"], "request body too large", "too_large")
        return _error(error.status_code, ["path"], str(error.detail), "http")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        logger.exception("%s %s failed", request.method, request.url.path)
        return _error(500, [], "internal error (logged by the server)", "internal")


def create_app(
    model,
    movies: pd.DataFrame,
    *,
    ratings: pd.DataFrame | None = None,
    dataset: str | None = None,
    limits: Limits | None = None,
):
    """The web app serving one fitted model (see the module docstring).

    Parameters
    ----------
    model : fitted :class:`~recsys_helpers.models.base.FactorModel`
    movies : DataFrame
        ``movieId``, ``title`` (optionally ``year``, ``genres``).
    ratings : DataFrame, optional
        ``userId``, ``movieId``, ``rating``: stars in existing users' histories.
    dataset : str, optional
        Name of the data, shown by ``/api/health``.
    limits : Limits, optional
        Request bounds (default :class:`~recsys_helpers.app.service.Limits`).

    Returns
    -------
    fastapi.FastAPI
        ``app.state.recommender`` holds the :class:`Recommender`.
    """
    recommender = Recommender(model, movies, ratings=ratings, dataset=dataset, limits=limits)
    limits = recommender.limits
    request_model = schemas.recommendation_request(recommender.low, recommender.high, limits)
    app = FastAPIOffline(
        title="movielens-als recommender",
        summary="Rate a few movies, get a list: fold-in and ranking of a saved factor model.",
        version="1",
        responses=_ERRORS,
    )
    app.state.recommender = recommender
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    _install_error_handlers(app)

    @app.get("/api/health", response_model=schemas.Health, tags=["model"])
    async def health():
        """The served model: class, K, counts, rating scale, dataset and request limits."""
        return recommender.health()

    @app.get("/api/movies", response_model=schemas.MovieList, tags=["movies"])
    async def search_movies(
        q: str = Query(
            min_length=1,
            max_length=limits.max_query,
            description="words of the title, any case, accents optional, year optional",
        ),
        limit: int = Query(10, ge=1, le=limits.max_search),
    ):
        """Movies whose titles match ``q``: exact, then prefix, then word starts, then
        anywhere; ties by rating count."""
        return {"items": recommender.search(q, limit)}

    @app.post("/api/recommendations", response_model=schemas.Recommendations, tags=["lists"])
    async def recommend_new_user(body: request_model):  # type: ignore[valid-type]
        """Fold a person in from their ratings (one least-squares step, no retraining)
        and rank the movies they have not rated."""
        return recommender.recommend_new_user(
            body.ratings, n=body.n, min_ratings=body.min_ratings, exclude=body.exclude
        )

    @app.get(
        "/api/users/{userId}/recommendations",
        response_model=schemas.UserRecommendations,
        tags=["lists"],
    )
    async def recommend_user(
        userId: int = PathParam(description="a userId of the training data"),
        n: int = Query(10, ge=1, le=limits.max_n),
        min_ratings: int = Query(0, ge=0, le=schemas.MAX_COUNT),
    ):
        """A training user's list (their rated movies left out) and their history."""
        return recommender.recommend_user(userId, n=n, min_ratings=min_ratings)

    @app.get("/api/movies/{movieId}/similar", response_model=schemas.SimilarMovies, tags=["movies"])
    async def similar_movies(
        movieId: int = PathParam(description="a movieId the model knows"),
        n: int = Query(10, ge=1, le=limits.max_n),
        min_ratings: int = Query(0, ge=0, le=schemas.MAX_COUNT),
    ):
        """The movies whose vectors have the largest cosine with this movie's."""
        return recommender.similar(movieId, n=n, min_ratings=min_ratings)

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(
            STATIC_DIR / "index.html", headers={"Content-Security-Policy": _PAGE_POLICY}
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
