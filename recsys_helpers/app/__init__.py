"""The live recommender: a web app and a notebook panel over a fitted model.

:mod:`~recsys_helpers.app.service` answers (title search, fold-in and ranking, users'
lists, similar movies) in plain JSON values; :mod:`~recsys_helpers.app.server` puts them
behind a JSON API and a page (``python -m recsys_helpers serve``);
:mod:`~recsys_helpers.app.panel` puts them in an ipywidgets panel for JupyterLab. The web
framework and the widgets are imported only by the module that needs them.
"""
