"""Figures of notebook 08: the hybrid model's genre vectors and where its prior helps.

Two small table builders feed the two figures:

* :func:`genre_vector_projection` projects the genre rows of the learned feature
  weights ``W`` (:attr:`recsys_helpers.models.hybrid.HybridMF.feature_weights_`) onto their
  first two principal components
  (:func:`recsys_helpers.analysis.embeddings.pca_projection`); :func:`genre_vector_map`
  draws them, labelled.
* :func:`rmse_by_rating_count` bins test ratings by how many training ratings their movie
  had and computes each model's RMSE per bin; :func:`error_by_rating_count` draws the
  curves.

The figure functions return a new :class:`~matplotlib.figure.Figure` and change no
matplotlib settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from recsys_helpers.analysis.embeddings import pca_projection

__all__ = [
    "COUNT_BIN_EDGES",
    "error_by_rating_count",
    "genre_vector_map",
    "genre_vector_projection",
    "rmse_by_rating_count",
]

GENRE_PREFIX = "genre="
"""Prefix of the genre features in :func:`recsys_helpers.models.content.item_features`."""

COUNT_BIN_EDGES: tuple[int, ...] = (0, 1, 3, 6, 11, 21, 51)
"""Left edges of the rating-count bins: 0, 1–2, 3–5, 6–10, 11–20, 21–50, 51 and more."""


def _subplots(figsize: tuple[float, float] | None = None):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def genre_vector_projection(
    feature_weights: np.ndarray, feature_names: Sequence[str], *, prefix: str = GENRE_PREFIX
) -> tuple[pd.DataFrame, np.ndarray]:
    r"""First two principal components of the genre rows of ``W``.

    With ``G`` the rows of ``W`` whose names start with ``prefix`` (one K-vector per
    genre) and ``Ḡ`` their column mean, the scores are ``(G − Ḡ) Q₂`` with ``Q₂`` the two
    leading right singular vectors of ``G − Ḡ``
    (:func:`recsys_helpers.analysis.embeddings.pca_projection`, scikit-learn's PCA). Each
    component's sign is then fixed so that its largest-magnitude score is positive
    (principal axes have no sign of their own), so the map does not flip between library
    versions.

    Parameters
    ----------
    feature_weights : ndarray, shape (n_features, K), K >= 2
        ``W``.
    feature_names : sequence of str, length n_features
        Names such as ``"genre=Drama"``, ``"year=1990"``, ``"tag=twist"``.
    prefix : str, default "genre="
        Which rows to keep; the prefix is stripped from the labels.

    Returns
    -------
    coordinates : DataFrame, one row per genre in the order of ``feature_names``
        ``genre`` (str), ``pc1``, ``pc2`` (float64) and ``norm`` (``‖W_g‖``, float64).
    explained : ndarray of float64, shape (2,)
        Share of the genre rows' total variance carried by each component (zeros, like
        the scores, when every genre row is the same vector).

    Raises
    ------
    ValueError
        Shapes that disagree, fewer than three genre rows, or ``K < 2``.
    """
    weights = np.asarray(feature_weights, dtype=np.float64)
    names = list(feature_names)
    if weights.ndim != 2 or weights.shape[0] != len(names):
        raise ValueError(
            f"feature_weights has shape {weights.shape} but feature_names has {len(names)} names"
        )
    rows = [k for k, name in enumerate(names) if name.startswith(prefix)]
    if len(rows) < 3:
        raise ValueError(f"need at least 3 features named {prefix!r}..., found {len(rows)}")
    if weights.shape[1] < 2:
        raise ValueError(f"need K >= 2 latent dimensions for a 2-D map, got {weights.shape[1]}")
    genre_rows = weights[rows]
    if np.ptp(genre_rows, axis=0).max() == 0.0:  # identical vectors: no direction to find
        scores, explained = np.zeros((len(rows), 2)), np.zeros(2)
    else:
        scores, explained = pca_projection(genre_rows)
    flip = np.sign(scores[np.abs(scores).argmax(axis=0), [0, 1]])
    scores = scores * np.where(flip == 0, 1.0, flip)
    coordinates = pd.DataFrame(
        {
            "genre": [names[k][len(prefix) :] for k in rows],
            "pc1": scores[:, 0],
            "pc2": scores[:, 1],
            "norm": np.linalg.norm(genre_rows, axis=1),
        }
    )
    return coordinates, explained


def genre_vector_map(coordinates: pd.DataFrame, explained: Sequence[float] | None = None) -> Figure:
    """Scatter of the genre vectors on two principal components, each point labelled.

    Parameters
    ----------
    coordinates : DataFrame
        ``genre``, ``pc1``, ``pc2`` (from :func:`genre_vector_projection`); marker area
        grows with ``norm`` when that column is present.
    explained : sequence of two floats, optional
        Variance shares, written into the axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in ("genre", "pc1", "pc2") if c not in coordinates.columns]
    if missing:
        raise ValueError(f"coordinates lacks column(s) {missing}")
    fig, ax = _subplots(figsize=(6.4, 5.2))
    x = coordinates["pc1"].to_numpy(dtype=float)
    y = coordinates["pc2"].to_numpy(dtype=float)
    if "norm" in coordinates.columns:
        norm = coordinates["norm"].to_numpy(dtype=float)
        sizes = 20.0 + 180.0 * norm / norm.max() if norm.max() > 0 else np.full(len(x), 40.0)
    else:
        sizes = np.full(len(x), 40.0)
    ax.scatter(x, y, s=sizes, color="C0", alpha=0.7)
    _place_labels(fig, ax, coordinates["genre"].astype(str).tolist(), x, y, np.sqrt(sizes) / 2)
    labels = ["first principal component", "second principal component"]
    if explained is not None:
        shares = list(explained)[:2]
        labels = [
            f"{lab} ({share:.0%} of variance)" for lab, share in zip(labels, shares, strict=True)
        ]
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.axvline(0.0, color="grey", linewidth=0.5)
    ax.set_title("genre vectors $W_g$ of the hybrid prior")
    return fig


_LABEL_OFFSETS = (
    (1, 0, "left", "center"),
    (-1, 0, "right", "center"),
    (0, 1, "center", "bottom"),
    (0, -1, "center", "top"),
    (1, 1, "left", "bottom"),
    (-1, 1, "right", "bottom"),
    (1, -1, "left", "top"),
    (-1, -1, "right", "top"),
)
"""Candidate label directions around a point (x, y sign) and the matching text alignment."""


def _place_labels(
    fig: Figure, ax, labels: Sequence[str], x: np.ndarray, y: np.ndarray, radii: np.ndarray
) -> None:
    """Annotate each point, choosing the side where its label overlaps the fewest others.

    Greedy, outermost points first: each candidate of :data:`_LABEL_OFFSETS` (just outside
    the marker of radius ``radii`` points) is scored by the overlap (in display pixels²) of
    its text box with the labels already placed and with the boxes of every marker; the
    first candidate with the least overlap wins.
    """
    ax.autoscale_view()  # the data-to-pixel transform must see the final limits
    renderer = fig.canvas.get_renderer()
    points = ax.transData.transform(np.column_stack([x, y]))
    pixels = np.asarray(radii, dtype=float) * fig.dpi / 72.0
    point_boxes = [
        (px - r, py - r, px + r, py + r) for (px, py), r in zip(points, pixels, strict=True)
    ]
    centre = points.mean(axis=0)
    order = np.argsort(-np.hypot(*(points - centre).T), kind="stable")
    placed: list[tuple[float, float, float, float]] = []

    def overlap(box, others) -> float:
        total = 0.0
        for other in others:
            width = min(box[2], other[2]) - max(box[0], other[0])
            height = min(box[3], other[3]) - max(box[1], other[1])
            if width > 0 and height > 0:
                total += width * height
        return total

    for k in order:
        best, best_score = None, np.inf
        gap = float(radii[k]) + 2.0
        for sx, sy, ha, va in _LABEL_OFFSETS:
            text = ax.annotate(
                labels[k],
                (x[k], y[k]),
                xytext=(sx * gap, sy * gap),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=8,
            )
            extent = text.get_window_extent(renderer)
            box = (extent.x0, extent.y0, extent.x1, extent.y1)
            others = placed + [b for j, b in enumerate(point_boxes) if j != k]
            score = overlap(box, others)
            if score < best_score:
                if best is not None:
                    best[0].remove()
                best, best_score = (text, box), score
            else:
                text.remove()
        placed.append(best[1])


def _bin_labels(edges: Sequence[int]) -> list[str]:
    labels = []
    for low, high in zip(edges, [*edges[1:], None], strict=True):
        if high is None:
            labels.append(f"{low}+")
        elif high - low == 1:
            labels.append(str(low))
        else:
            labels.append(f"{low}–{high - 1}")
    return labels


def rmse_by_rating_count(
    n_ratings: np.ndarray,
    truth: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    edges: Sequence[int] = COUNT_BIN_EDGES,
) -> pd.DataFrame:
    r"""RMSE of each model within bins of the movie's number of training ratings.

    Test rating ``j`` falls in bin ``b`` when ``edges[b] <= n_ratings[j] < edges[b+1]``
    (the last bin is open); ``RMSE_b = sqrt(mean_{j∈b} (r̂_j − r_j)²)``.

    Parameters
    ----------
    n_ratings : ndarray of int, shape (n,)
        Training ratings of each test rating's movie (0 for a movie unseen in training).
    truth : ndarray, shape (n,)
        True ratings.
    predictions : mapping of str to ndarray (n,)
        Model name to its predictions, aligned with ``truth``.
    edges : sequence of int, increasing, first 0
        Left bin edges.

    Returns
    -------
    DataFrame, one row per non-empty bin in order
        ``bin`` (label such as ``"3–5"``), ``low``, ``high`` (exclusive; -1 for the open
        last bin), ``n_test`` and one RMSE column per model, named as in ``predictions``.

    Raises
    ------
    ValueError
        Misaligned arrays, negative counts or edges that are not increasing from 0.
    """
    counts = np.asarray(n_ratings)
    truth = np.asarray(truth, dtype=np.float64)
    edges = [int(e) for e in edges]
    if not edges or edges[0] != 0 or any(np.diff(edges) <= 0):
        raise ValueError(f"edges must increase strictly from 0, got {edges}")
    if counts.shape != truth.shape or counts.ndim != 1:
        raise ValueError(f"n_ratings {counts.shape} and truth {truth.shape} must be equal 1-D")
    if (counts < 0).any():
        raise ValueError("n_ratings must be non-negative")
    squared = {}
    for name, predicted in predictions.items():
        predicted = np.asarray(predicted, dtype=np.float64)
        if predicted.shape != truth.shape:
            raise ValueError(
                f"predictions[{name!r}] has shape {predicted.shape}, not {truth.shape}"
            )
        squared[name] = (predicted - truth) ** 2
    which = np.searchsorted(np.asarray(edges), counts, side="right") - 1
    labels = _bin_labels(edges)
    rows = []
    for b, label in enumerate(labels):
        members = which == b
        if not members.any():
            continue
        row = {
            "bin": label,
            "low": edges[b],
            "high": edges[b + 1] if b + 1 < len(edges) else -1,
            "n_test": int(members.sum()),
        }
        for name, values in squared.items():
            row[name] = float(np.sqrt(values[members].mean()))
        rows.append(row)
    return pd.DataFrame(rows)


def error_by_rating_count(table: pd.DataFrame, models: Sequence[str]) -> Figure:
    """Test RMSE per rating-count bin, one line per model, with the bin sizes on top.

    Parameters
    ----------
    table : DataFrame
        From :func:`rmse_by_rating_count`: ``bin``, ``n_test`` and a column per model.
    models : sequence of str
        Columns of ``table`` to draw, in legend order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in ("bin", "n_test", *models) if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}")
    fig, ax = _subplots(figsize=(6.4, 4.0))
    positions = np.arange(len(table))
    for k, model in enumerate(models):
        ax.plot(
            positions, table[model].to_numpy(dtype=float), marker="o", color=f"C{k}", label=model
        )
    ax.set_xticks(positions, table["bin"].astype(str).tolist())
    ax.set_xlabel("training ratings of the movie")
    ax.set_ylabel("test RMSE (stars)")
    top = ax.secondary_xaxis("top")
    top.set_xticks(positions, [f"{n:,}" for n in table["n_test"]])
    top.tick_params(labelsize=7)
    top.set_xlabel("test ratings in the bin", fontsize=8)
    ax.legend()
    return fig
