"""The live recommender inside JupyterLab: an ipywidgets panel over the same service.

::

    from recsys_helpers.app.panel import panel
    panel(model, movies, ratings={2571: 5.0})      # the last expression of a cell

Type part of a title, choose the movie, set its stars and press *Rate*; the list below is
recomputed by :meth:`~recsys_helpers.app.service.Recommender.recommend_new_user` (the
model's fold-in and ranking) at each change. In a rendered report, where widgets do not
run, the panel shows a static Markdown table of its current list instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from recsys_helpers.app.service import Recommender

__all__ = ["RecommenderPanel", "panel"]


def _title(record: Mapping) -> str:
    year = f" ({record['year']})" if record.get("year") is not None else ""
    return f"{record['title'] or 'movie ' + str(record['movieId'])}{year}"


def list_markdown(items: list[dict]) -> str:
    """A recommended list as a Markdown table (rank, movie, predicted stars, because)."""
    lines = ["| # | movie | predicted | because you rated |", "|---:|---|---:|---|"]
    for item in items:
        because = _title(item["because"]) if item["because"] else ""
        movie = _title(item).replace("|", "\\|")
        because = because.replace("|", "\\|")
        spread = "" if item.get("std") is None else f" ± {item['std']:.1f}"
        lines.append(f"| {item['rank']} | {movie} | {item['predicted']:.1f}{spread} | {because} |")
    return "\n".join(lines)


class RecommenderPanel:
    """Search, rate and see the list, as ipywidgets (see the module docstring).

    Parameters
    ----------
    recommender : Recommender
    ratings : mapping of movieId to stars, optional
        Ratings to start from.
    n : int, default 10
        Length of the list.
    min_ratings : int, default 10
        Initial popularity floor (a slider in the panel).

    Attributes
    ----------
    ratings : dict of movieId to stars
        The ratings given so far (kept in the panel only).
    items : list of dict
        The current list, as :meth:`Recommender.recommend_new_user` returns it.
    search, matches, stars, rate_button, rated, remove_button, floor, results, widget
        The widgets; ``widget`` is the whole panel.
    """

    def __init__(
        self,
        recommender: Recommender,
        *,
        ratings: Mapping[int, float] | None = None,
        n: int = 10,
        min_ratings: int = 10,
    ) -> None:
        import ipywidgets as widgets

        self.recommender = recommender
        self.n = n
        self.ratings: dict[int, float] = dict(recommender.check_ratings(ratings or {}))
        self.items: list[dict] = []
        low, high = recommender.low, recommender.high
        self.search = widgets.Text(
            description="Title", placeholder="part of a title, e.g. amelie", continuous_update=True
        )
        self.matches = widgets.Select(options=[], description="Matches", rows=5)
        self.stars = widgets.FloatSlider(
            value=high, min=low, max=high, step=0.5, description="Stars", readout_format=".1f"
        )
        self.rate_button = widgets.Button(description="Rate", button_style="primary")
        self.rated = widgets.Select(options=[], description="Rated", rows=5)
        self.remove_button = widgets.Button(description="Remove")
        self.floor = widgets.IntSlider(
            value=min_ratings, min=0, max=100, step=5, description="Min ratings"
        )
        self.results = widgets.HTML()
        self.search.observe(self._on_search, names="value")
        self.rate_button.on_click(self._on_rate)
        self.remove_button.on_click(self._on_remove)
        self.floor.observe(lambda change: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox([self.search, self.matches]), self.rated]),
                widgets.HBox([self.stars, self.rate_button, self.remove_button, self.floor]),
                self.results,
            ]
        )
        self.refresh()

    # ------------------------------------------------------------------ actions
    def _on_search(self, change) -> None:
        query = change["new"].strip()
        found = self.recommender.search(query, 10) if query else []
        self.matches.options = [(_title(m), m["movieId"]) for m in found]
        self.matches.value = found[0]["movieId"] if found else None

    def rate(self, movie_id: int, stars: float) -> None:
        """Rate a movie (replacing an earlier rating of it) and recompute the list."""
        checked = self.recommender.check_ratings({**self.ratings, int(movie_id): float(stars)})
        self.ratings = checked
        self.refresh()

    def remove(self, movie_id: int) -> None:
        """Forget the rating of a movie and recompute the list."""
        self.ratings.pop(int(movie_id), None)
        self.refresh()

    def _on_rate(self, _button=None) -> None:
        if self.matches.value is not None:
            self.rate(self.matches.value, self.stars.value)

    def _on_remove(self, _button=None) -> None:
        if self.rated.value is not None:
            self.remove(self.rated.value)

    def refresh(self) -> None:
        """Recompute the list from the current ratings and floor, and redraw."""
        answer = self.recommender.recommend_new_user(
            self.ratings, n=self.n, min_ratings=int(self.floor.value)
        )
        self.items = answer["items"]
        self.rated.options = [
            (f"{_title(self.recommender.movie(m))}: {s:g}★", m) for m, s in self.ratings.items()
        ]
        table = pd.DataFrame(
            {
                "#": [i["rank"] for i in self.items],
                "movie": [_title(i) for i in self.items],
                "predicted": [f"{i['predicted']:.1f}" for i in self.items],
                "because you rated": [
                    _title(i["because"]) if i["because"] else "" for i in self.items
                ],
            }
        )
        self.results.value = table.to_html(index=False, escape=True, border=0)

    def markdown(self) -> str:
        """The current list as a Markdown table (what a rendered report shows)."""
        return list_markdown(self.items)

    def _repr_mimebundle_(self, **kwargs):
        # The widget where widgets run (JupyterLab); the table where they do not
        # (nbconvert's HTML and PDF pick the Markdown when no widget state is saved).
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data)
        data["text/markdown"] = self.markdown()
        data["text/plain"] = f"RecommenderPanel({len(self.ratings)} ratings)"
        return data


def panel(
    model,
    movies: pd.DataFrame,
    *,
    ratings: Mapping[int, float] | None = None,
    n: int = 10,
    min_ratings: int = 10,
) -> RecommenderPanel:
    """An interactive panel over a fitted model: search a title, rate it, see the list.

    Parameters
    ----------
    model : fitted :class:`~recsys_helpers.models.base.FactorModel`
    movies : DataFrame
        ``movieId`` and ``title`` (optionally ``year``, ``genres``).
    ratings : mapping of movieId to stars, optional
        Ratings to start from (so that a static rendering shows a personal list).
    n : int, default 10
    min_ratings : int, default 10
        Initial popularity floor.

    Returns
    -------
    RecommenderPanel
        Displayed as the widget in JupyterLab, as a Markdown table elsewhere.
    """
    return RecommenderPanel(
        Recommender(model, movies), ratings=ratings, n=n, min_ratings=min_ratings
    )
