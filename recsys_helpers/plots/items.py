"""Figures of notebooks 05 to 07: polarising movies, movie maps, recommended titles.

Each function takes frames (from :mod:`recsys_helpers.analysis.polarisation`,
:mod:`recsys_helpers.analysis.embeddings` or a model's ``recommend``) and returns a new
:class:`~matplotlib.figure.Figure`; none of them changes matplotlib's settings.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from recsys_helpers.analysis.embeddings import DISPLAY_GENRES, OTHER_GENRE

__all__ = [
    "embedding_scatter",
    "genre_colours",
    "polarisation_bars",
    "polarisation_scatter",
    "recommendation_popularity",
]

_MEASURE_LABELS = {
    "rating_std": "standard deviation of ratings (stars)",
    "vector_norm": "latent vector length ‖V_i‖",
}


def _subplots(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] | None = None):
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def _shorten(title: str, width: int = 38) -> str:
    return title if len(title) <= width else title[: width - 1] + "…"


def genre_colours(genres: Sequence[str] = DISPLAY_GENRES) -> dict[str, str]:
    """A fixed colour per display genre (tab10 order) and light grey for "Other"."""
    colours = {genre: f"C{k % 10}" for k, genre in enumerate(genres)}
    colours[OTHER_GENRE] = "lightgrey"
    return colours


def polarisation_bars(panels: Mapping[str, pd.DataFrame], *, value: str = "rating_std") -> Figure:
    """Side-by-side horizontal bar charts of movies' polarisation, labelled with titles and counts.

    Parameters
    ----------
    panels : mapping of str to DataFrame
        Panel title (e.g. ``"most polarising"``) to the rows to draw, top to bottom: columns
        ``title``, ``n_ratings`` and ``value`` (from
        :func:`recsys_helpers.analysis.polarisation.extremes`).
    value : {"rating_std", "vector_norm"} or str
        The column drawn as bar length.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel; y labels read "Title (n = count)".
    """
    if not panels:
        raise ValueError("panels is empty: nothing to plot")
    height = max(len(rows) for rows in panels.values())
    fig, axes = _subplots(1, len(panels), figsize=(6.0 * len(panels), 0.32 * height + 1.4))
    for ax, (panel_title, rows) in zip(axes[0], panels.items(), strict=True):
        _require(rows, ["title", "n_ratings", value], f"panel {panel_title!r}")
        positions = np.arange(len(rows))[::-1]
        ax.barh(positions, rows[value].to_numpy(dtype=float), color="C0")
        labels = [
            f"{_shorten(str(title))} (n = {count})"
            for title, count in zip(rows["title"], rows["n_ratings"], strict=True)
        ]
        ax.set_yticks(positions, labels, fontsize=8)
        ax.set_xlabel(_MEASURE_LABELS.get(value, value))
        ax.set_title(panel_title)
    fig.tight_layout()
    return fig


def polarisation_scatter(
    table: pd.DataFrame, *, label: pd.DataFrame | None = None, spearman: float | None = None
) -> Figure:
    """Rating standard deviation against latent vector length, one point per movie.

    Parameters
    ----------
    table : DataFrame
        From :func:`recsys_helpers.analysis.polarisation.polarisation_table`: columns
        ``rating_std``, ``vector_norm``, ``n_ratings`` (and ``title`` when ``label`` is given).
    label : DataFrame, optional
        Rows of ``table`` to annotate with their titles.
    spearman : float, optional
        Rank correlation shown in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; colour = log10 of the number of ratings.
    """
    _require(table, ["rating_std", "vector_norm", "n_ratings"], "table")
    fig, axes = _subplots()
    ax = axes[0, 0]
    points = ax.scatter(
        table["rating_std"],
        table["vector_norm"],
        c=np.log10(table["n_ratings"].to_numpy(dtype=float)),
        s=8,
        alpha=0.7,
        cmap="viridis",
    )
    fig.colorbar(points, ax=ax, label="log10(number of ratings)")
    if label is not None:
        for _, row in label.iterrows():
            ax.annotate(
                _shorten(str(row["title"]), 28),
                (row["rating_std"], row["vector_norm"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xlabel(_MEASURE_LABELS["rating_std"])
    ax.set_ylabel(_MEASURE_LABELS["vector_norm"])
    if spearman is not None:
        ax.set_title(f"Two measures of polarisation (Spearman ρ = {spearman:.2f})")
    return fig


def embedding_scatter(
    frame: pd.DataFrame,
    *,
    label: pd.DataFrame | None = None,
    title: str | None = None,
    axis_labels: tuple[str, str] = ("dimension 1", "dimension 2"),
    genres: Sequence[str] = DISPLAY_GENRES,
) -> Figure:
    """Movies as points in the plane, coloured by display genre, some titles written out.

    Parameters
    ----------
    frame : DataFrame
        From :func:`recsys_helpers.analysis.embeddings.embedding_frame`: columns ``x``, ``y``,
        ``genre`` (and ``title`` when ``label`` is given).
    label : DataFrame, optional
        Rows of ``frame`` whose titles are written next to their points
        (:func:`recsys_helpers.analysis.embeddings.pick_labels`).
    title : str, optional
    axis_labels : (str, str)
    genres : sequence of str
        Legend order; points of genre "Other" are drawn first, in grey, beneath the rest.

    Returns
    -------
    matplotlib.figure.Figure
        One square-ish axes with a genre legend outside on the right.
    """
    _require(frame, ["x", "y", "genre"], "frame")
    colours = genre_colours(genres)
    fig, axes = _subplots(figsize=(8.0, 6.0))
    ax = axes[0, 0]
    for genre in (OTHER_GENRE, *genres):
        subset = frame[frame["genre"] == genre]
        if subset.empty:
            continue
        ax.scatter(
            subset["x"],
            subset["y"],
            s=10 if genre == OTHER_GENRE else 14,
            alpha=0.45 if genre == OTHER_GENRE else 0.75,
            color=colours.get(genre, "black"),
            label=f"{genre} ({len(subset)})",
            linewidths=0,
        )
    if label is not None:
        centre_x, centre_y = frame["x"].median(), frame["y"].median()
        for _, row in label.iterrows():
            # Write each title on the side away from the crowd's centre.
            right = row["x"] >= centre_x
            above = row["y"] >= centre_y
            ax.annotate(
                _shorten(str(row["title"]), 30),
                (row["x"], row["y"]),
                fontsize=7,
                xytext=(8 if right else -8, 6 if above else -6),
                textcoords="offset points",
                ha="left" if right else "right",
                va="bottom" if above else "top",
                arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.5},
            )
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=1.5, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def recommendation_popularity(lists: Mapping[str, pd.DataFrame]) -> Figure:
    """How often the recommended titles were rated, for several ranking rules.

    Parameters
    ----------
    lists : mapping of str to DataFrame
        Rule name (e.g. ``"full item bias"``) to its top-N list with an ``n_ratings`` column
        (ratings each recommended movie has in the training data).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a strip of points per rule on a log-scaled count axis, median marked; lists
        of obscure titles sit at the bottom.
    """
    if not lists:
        raise ValueError("lists is empty: nothing to plot")
    fig, axes = _subplots(figsize=(1.8 * len(lists) + 2.5, 4.0))
    ax = axes[0, 0]
    rng = np.random.default_rng(0)  # fixed jitter: the same lists give the same figure
    for position, (name, rows) in enumerate(lists.items()):
        _require(rows, ["n_ratings"], f"list {name!r}")
        counts = np.maximum(rows["n_ratings"].to_numpy(dtype=float), 1.0)
        jitter = rng.uniform(-0.15, 0.15, size=len(counts))
        ax.scatter(position + jitter, counts, s=18, alpha=0.8, color=f"C{position % 10}")
        if len(counts):
            ax.hlines(np.median(counts), position - 0.3, position + 0.3, color="black")
    ax.set_yscale("log")
    # long rule names wrapped onto lines, not rotated out of the figure
    ax.set_xticks(np.arange(len(lists)), [textwrap.fill(name, 20) for name in lists])
    ax.set_ylabel("ratings of each recommended movie")
    ax.set_title("Popularity of recommended movies (line = median)")
    return fig
