"""Movies as points in the plane: 2-D projections of latent item vectors, genre colours.

A biased matrix-factorisation model gives each movie a latent vector
:math:`V_i \\in \\mathbb{R}^K`. With ``K = 2`` the vectors *are* the map; for larger ``K``
they are projected to two dimensions, either linearly by PCA (the plane of largest variance
of the centred vectors, :math:`Y = (V - \\bar V) W_2` with :math:`W_2` the two leading
right singular vectors) or non-linearly by t-SNE (which keeps near neighbours near). Both
come from scikit-learn. A movie has several genres; for colouring it is given one, the
first of :data:`DISPLAY_GENRES` it carries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

PROJECTION_METHODS = ("pca", "tsne")

DISPLAY_GENRES: tuple[str, ...] = (
    "Animation",
    "Children",
    "Horror",
    "Documentary",
    "Romance",
    "Sci-Fi",
    "Action",
    "Comedy",
    "Drama",
)
"""Genres used for colouring, most specific first; movies with none of them are "Other"."""

OTHER_GENRE = "Other"


def _check_vectors(vectors: np.ndarray, minimum_rows: int) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2:
        raise DataError(f"vectors must be 2-D (n_items, K); got shape {array.shape}")
    if array.shape[0] < minimum_rows:
        raise DataError(f"need at least {minimum_rows} vectors to project; got {array.shape[0]}")
    if array.shape[1] < 2:
        raise DataError(f"vectors need K >= 2 columns to project to 2-D; got K = {array.shape[1]}")
    if not np.isfinite(array).all():
        raise DataError("vectors contain NaN or infinite values")
    return array


def pca_projection(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project vectors onto their two principal axes.

    Parameters
    ----------
    vectors : ndarray, shape (n_items, K), K >= 2
        Latent item vectors :math:`V`.

    Returns
    -------
    coords : ndarray, shape (n_items, 2), float64
        :math:`(V - \\bar V) W_2`: coordinates along the first and second principal axes.
    explained : ndarray, shape (2,), float64
        Fraction of the total variance of ``vectors`` along each axis.
    """
    array = _check_vectors(vectors, minimum_rows=2)
    pca = PCA(n_components=2, svd_solver="full")
    coords = pca.fit_transform(array)
    return coords, pca.explained_variance_ratio_.astype(np.float64)


def tsne_projection(
    vectors: np.ndarray, *, perplexity: float = 30.0, max_iter: int = 1000, random_state: int = 0
) -> np.ndarray:
    """Embed vectors in 2-D with t-SNE (PCA initialisation, Euclidean distances).

    Parameters
    ----------
    vectors : ndarray, shape (n_items, K), K >= 2
    perplexity : float, default 30
        Effective number of neighbours; lowered to ``(n_items - 1) / 3`` for small inputs.
    max_iter : int, default 1000
        Gradient steps (scikit-learn needs at least 250); fewer is faster and coarser.
    random_state : int, default 0
        Seed; the same seed and input give the same map.

    Returns
    -------
    ndarray, shape (n_items, 2), float64
        Map coordinates (arbitrary units; only neighbourhoods are meaningful).
    """
    array = _check_vectors(vectors, minimum_rows=4)
    perplexity = float(min(perplexity, (array.shape[0] - 1) / 3))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        max_iter=max_iter,
        init="pca",
        random_state=random_state,
    )
    logger.info("t-SNE of %d vectors (K = %d)", *array.shape)
    return tsne.fit_transform(array).astype(np.float64)


def project(
    vectors: np.ndarray,
    method: str = "pca",
    *,
    perplexity: float = 30.0,
    max_iter: int = 1000,
    random_state: int = 0,
) -> np.ndarray:
    """2-D coordinates of each vector by ``method`` ("pca" or "tsne"); shape (n_items, 2).

    ``perplexity``, ``max_iter`` and ``random_state`` apply to t-SNE only.
    """
    if method == "pca":
        return pca_projection(vectors)[0]
    if method == "tsne":
        return tsne_projection(
            vectors, perplexity=perplexity, max_iter=max_iter, random_state=random_state
        )
    raise DataError(f"method must be one of {PROJECTION_METHODS}; got {method!r}")


def display_genre(
    genres: Iterable[Sequence[str]], priority: Sequence[str] = DISPLAY_GENRES
) -> list[str]:
    """One colouring genre per movie: the first genre of ``priority`` that the movie has.

    Parameters
    ----------
    genres : iterable of sequences of str
        Each movie's genre list (the ``genres`` column of the movies table).
    priority : sequence of str
        Candidate genres, most specific first.

    Returns
    -------
    list of str
        One label per movie, :data:`OTHER_GENRE` when none of ``priority`` applies.
    """
    labels = []
    for movie_genres in genres:
        owned = set(movie_genres) if movie_genres is not None else set()
        labels.append(next((genre for genre in priority if genre in owned), OTHER_GENRE))
    return labels


def embedding_frame(
    item_ids: Sequence[int] | np.ndarray,
    coords: np.ndarray,
    movies: pd.DataFrame,
    *,
    n_ratings: pd.Series | None = None,
    priority: Sequence[str] = DISPLAY_GENRES,
) -> pd.DataFrame:
    """Join 2-D coordinates with titles and a colouring genre.

    Parameters
    ----------
    item_ids : array-like of int, shape (n_items,)
        ``movieId`` of each row of ``coords``.
    coords : ndarray, shape (n_items, 2)
    movies : DataFrame
        Columns ``movieId``, ``title``, ``genres`` (list of str per movie).
    n_ratings : Series, optional
        Ratings per ``movieId`` (index); adds an ``n_ratings`` column (0 when absent).
    priority : sequence of str
        Passed to :func:`display_genre`.

    Returns
    -------
    DataFrame
        Columns ``movieId``, ``x``, ``y``, ``title``, ``genre`` [, ``n_ratings``], one row
        per item in input order.
    """
    ids = np.asarray(item_ids)
    points = np.asarray(coords, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] != ids.shape[0]:
        raise DataError(
            f"coords must have shape ({ids.shape[0]}, 2) to match item_ids; got {points.shape}"
        )
    missing = [column for column in ("movieId", "title", "genres") if column not in movies]
    if missing:
        raise DataError(f"movies lacks column(s) {missing}")
    frame = pd.DataFrame({"movieId": ids, "x": points[:, 0], "y": points[:, 1]})
    frame = frame.merge(movies[["movieId", "title", "genres"]], on="movieId", how="left")
    frame["title"] = frame["title"].fillna("")
    frame["genre"] = display_genre(
        [
            value if isinstance(value, list | tuple | np.ndarray) else []
            for value in frame["genres"]
        ],
        priority,
    )
    frame = frame.drop(columns="genres")
    if n_ratings is not None:
        counts = frame["movieId"].map(n_ratings).fillna(0)
        frame["n_ratings"] = counts.astype(np.int64)
    return frame


def pick_labels(
    frame: pd.DataFrame, *, titles: Sequence[str] = (), n_popular: int = 0
) -> pd.DataFrame:
    """Rows of an :func:`embedding_frame` worth labelling on a plot.

    Parameters
    ----------
    frame : DataFrame
        From :func:`embedding_frame` (``n_ratings`` needed when ``n_popular > 0``).
    titles : sequence of str
        Titles to label when present (exact match on ``title``).
    n_popular : int, default 0
        Also label this many of the most rated movies.

    Returns
    -------
    DataFrame
        The selected rows, without duplicates, in ``frame`` order.
    """
    chosen = frame["title"].isin(list(titles))
    if n_popular > 0:
        if "n_ratings" not in frame:
            raise DataError("n_popular needs an n_ratings column in frame")
        popular = frame.sort_values(["n_ratings", "movieId"], ascending=[False, True])
        chosen |= frame.index.isin(popular.index[:n_popular])
    return frame[chosen]


def neighbour_genre_agreement(
    vectors: np.ndarray, genres: Sequence[str], *, n_neighbours: int = 10
) -> tuple[float, float]:
    """How often a movie's nearest neighbours in latent space share its display genre.

    For each movie, take its ``n_neighbours`` nearest other movies by Euclidean distance
    between latent vectors and count those with the same label. The chance level is what
    neighbours drawn at random (without the movie itself) would give:
    :math:`\\sum_g \\frac{n_g}{n} \\cdot \\frac{n_g - 1}{n - 1}` for label counts :math:`n_g`.

    Parameters
    ----------
    vectors : ndarray, shape (n_items, K)
    genres : sequence of str, length n_items
        One label per movie (:func:`display_genre`).
    n_neighbours : int, default 10

    Returns
    -------
    observed : float
        Fraction of (movie, neighbour) pairs with the same label, in [0, 1].
    chance : float
        The same fraction expected for random neighbours.
    """
    from sklearn.neighbors import NearestNeighbors

    array = np.asarray(vectors, dtype=np.float64)
    labels = np.asarray(genres)
    if array.ndim != 2 or labels.shape != (array.shape[0],):
        raise DataError(f"need one genre per vector: vectors {array.shape}, genres {labels.shape}")
    if not 1 <= n_neighbours < array.shape[0]:
        raise DataError(
            f"n_neighbours must be between 1 and n_items - 1 = {array.shape[0] - 1}; "
            f"got {n_neighbours}"
        )
    search = NearestNeighbors(n_neighbors=n_neighbours + 1).fit(array)
    neighbours = search.kneighbors(array, return_distance=False)
    # Drop each movie itself (not always column 0 when several vectors coincide).
    others = np.array(
        [row[row != own][:n_neighbours] for own, row in enumerate(neighbours)], dtype=np.int64
    )
    observed = float((labels[others] == labels[:, None]).mean())
    _, counts = np.unique(labels, return_counts=True)
    n = labels.shape[0]
    chance = float((counts * (counts - 1)).sum() / (n * (n - 1)))
    return observed, chance
