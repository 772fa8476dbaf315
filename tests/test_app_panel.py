"""The notebook panel, headless: build the widgets, search, rate, remove, read the list."""

from __future__ import annotations

import shutil

import pytest
from _app_fixtures import fitted, movie_id

from recsys_helpers.app.panel import RecommenderPanel, panel
from recsys_helpers.errors import DataError


@pytest.fixture(scope="module")
def fitted_model():
    return fitted()


def test_search_rate_and_the_list_follows_the_model(fitted_model):
    model, movies, _ = fitted_model
    shown = panel(model, movies, min_ratings=0)
    assert isinstance(shown, RecommenderPanel) and shown.ratings == {}
    first = [item["movieId"] for item in shown.items]
    assert first == model.recommend_prior(n=10)["movieId"].tolist()

    shown.search.value = "amelie"
    amelie = movie_id(movies, "Amélie (Fabuleux destin d'Amélie Poulain, Le)")
    assert shown.matches.value == amelie
    shown.stars.value = 4.5
    shown.rate_button.click()
    assert shown.ratings == {amelie: 4.5}
    expected = model.recommend_new_user({amelie: 4.5}, n=10)["movieId"].tolist()
    assert [item["movieId"] for item in shown.items] == expected != first
    assert "Amélie" in shown.rated.options[0][0]
    assert "Amélie" in shown.results.value  # the table names the movie it is explained by

    shown.rated.value = amelie
    shown.remove_button.click()
    assert shown.ratings == {} and [item["movieId"] for item in shown.items] == first


def test_floor_slider_and_starting_ratings(fitted_model):
    model, movies, _ = fitted_model
    matrix = movie_id(movies, "Matrix, The")
    shown = panel(model, movies, ratings={matrix: 5.0}, min_ratings=0)
    floor = int(sorted(model.item_counts_)[-30])
    shown.floor.value = floor
    assert all(item["n_ratings"] >= floor for item in shown.items)
    expected = model.recommend_new_user({matrix: 5.0}, n=10, min_ratings=floor)
    assert [item["movieId"] for item in shown.items] == expected["movieId"].tolist()


def test_a_report_shows_a_static_table(fitted_model):
    model, movies, _ = fitted_model
    shown = panel(model, movies, ratings={movie_id(movies, "Toy Story"): 5.0}, n=3)
    bundle = shown._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    table = bundle["text/markdown"].splitlines()
    assert table[0].startswith("| # | movie | predicted") and len(table) == 2 + 3
    assert "Toy Story (1995)" in bundle["text/markdown"]


def test_bad_ratings_are_refused(fitted_model):
    model, movies, _ = fitted_model
    with pytest.raises(DataError, match="not in the model"):
        panel(model, movies, ratings={123456789: 4.0})
    shown = panel(model, movies)
    with pytest.raises(DataError, match="outside the scale"):
        shown.rate(movie_id(movies, "Matrix, The"), 9.0)
    assert shown.ratings == {}


def test_rendered_notebooks_show_the_table_not_the_widget(fitted_model):
    """What `make report` does with a displayed panel: nbconvert finds no widget state in an
    executed notebook, so its HTML and LaTeX exporters fall back to the Markdown table."""
    import nbformat
    from nbconvert import HTMLExporter, LatexExporter

    model, movies, _ = fitted_model
    shown = panel(model, movies, ratings={movie_id(movies, "Toy Story"): 5.0}, n=3)
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("panel(model, movies)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=shown._repr_mimebundle_())]
    notebook.cells.append(cell)
    first = shown.items[0]["title"]
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    assert "<table" in html and first in html
    assert "RecommenderPanel(" not in html
    if shutil.which("pandoc") is not None:  # the LaTeX route converts Markdown with pandoc
        latex, _ = LatexExporter().from_notebook_node(notebook)
        assert first in latex and "RecommenderPanel(" not in latex
