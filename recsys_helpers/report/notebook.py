"""The one set-up call every report notebook starts with.

:func:`setup` applies the figure style, loads the release, takes the smoke-test subsample
when asked, and resolves the model settings (the package defaults, overridden by the
notebook's parameters), so that notebooks hold no prologue of their own::

    study = report.setup(dataset, smoke=smoke, random_state=random_state, n_factors=n_factors)
    train, test = study.split()
    model = BiasedMF(**study.params).fit(train)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_helpers import plots
from recsys_helpers.data import movielens, split
from recsys_helpers.data.movielens import MovieLens
from recsys_helpers.errors import DataError
from recsys_helpers.models.als import BiasedMF

__all__ = [
    "FULL_GRID_MAX_RATINGS",
    "GRID_SIZES",
    "SAMPLE_MAX_RATINGS",
    "SMOKE_USERS",
    "Study",
    "grid_size",
    "sample_limit",
    "setup",
    "smoke_subsample",
    "user_sample",
]

SMOKE_USERS = 100
"""Users kept by the smoke-test subsample (``smoke=True``)."""

GRID_SIZES = ("smoke", "small", "full")
"""Sizes of the hyperparameter grids and sweeps a notebook runs, smallest first."""

FULL_GRID_MAX_RATINGS = 2_000_000
"""Largest number of ratings on which ``grid="auto"`` runs the full grids (ml-1m has 1 M)."""

SAMPLE_MAX_RATINGS = 2_000_000
"""Ratings of the user sample that ``max_ratings="auto"`` studies in a release with more than
:data:`FULL_GRID_MAX_RATINGS` (ml-10m and larger), so that a report stays within minutes."""


def grid_size(grid: str, n_ratings: int, smoke: bool = False) -> str:
    """The grid size a notebook runs: one of :data:`GRID_SIZES`.

    Parameters
    ----------
    grid : {"auto", "smoke", "small", "full"}
        ``"auto"`` chooses by the data: ``"smoke"`` with ``smoke``, ``"full"`` up to
        :data:`FULL_GRID_MAX_RATINGS` ratings, ``"small"`` above (each fit of a grid costs
        time in proportion to the ratings).
    n_ratings : int
        Ratings the notebook fits on.
    smoke : bool, default False
        Whether the notebook runs on the smoke-test subsample.

    Raises
    ------
    ValueError
        ``grid`` is none of the above.
    """
    if grid == "auto":
        if smoke:
            return "smoke"
        return "full" if n_ratings <= FULL_GRID_MAX_RATINGS else "small"
    if grid not in GRID_SIZES:
        raise ValueError(f"grid must be 'auto' or one of {', '.join(GRID_SIZES)}; got {grid!r}")
    return grid


def sample_limit(max_ratings, n_ratings: int) -> int | None:
    """The most ratings a notebook's user sample may hold; None: every rating (also when
    the limit is at least the release's ``n_ratings``).

    Parameters
    ----------
    max_ratings : "auto", int >= 0 or None
        ``"auto"``: :data:`SAMPLE_MAX_RATINGS` when the release has more than
        :data:`FULL_GRID_MAX_RATINGS` ratings, else None; 0 or None: every rating.
    n_ratings : int
        Ratings in the release.

    Raises
    ------
    ValueError
        ``max_ratings`` is none of the above.
    """
    if max_ratings == "auto":
        return SAMPLE_MAX_RATINGS if n_ratings > FULL_GRID_MAX_RATINGS else None
    if max_ratings is None or (isinstance(max_ratings, int) and max_ratings == 0):
        return None
    if isinstance(max_ratings, bool) or not isinstance(max_ratings, int) or max_ratings < 0:
        raise ValueError(
            f"max_ratings must be 'auto', None or an integer >= 0; got {max_ratings!r}"
        )
    return max_ratings if max_ratings < n_ratings else None


def user_sample(ratings: pd.DataFrame, max_ratings: int, random_state: int = 0) -> pd.DataFrame:
    """Every rating of users drawn at random until the next would pass ``max_ratings``.

    The users (distinct ids in order of first appearance) are put in the order of
    ``np.random.default_rng(random_state).permutation``; the longest prefix whose ratings
    sum to at most ``max_ratings`` is kept (at least one user). Rows keep their order.
    """
    counts = ratings["userId"].value_counts(sort=False)
    users = ratings["userId"].unique()
    order = users[np.random.default_rng(random_state).permutation(len(users))]
    total = np.cumsum(counts.reindex(order).to_numpy())
    kept = order[: max(1, int(np.searchsorted(total, max_ratings, side="right")))]
    return ratings[ratings["userId"].isin(kept)]


def smoke_subsample(
    ratings: pd.DataFrame, random_state: int = 0, n_users: int = SMOKE_USERS
) -> pd.DataFrame:
    """The ratings of ``n_users`` users drawn at random: a small, quick stand-in for tests.

    Users are drawn with ``np.random.default_rng(random_state).choice`` over the distinct
    user ids in order of first appearance; every rating of a drawn user is kept.
    """
    users = ratings["userId"].unique()
    if len(users) <= n_users:
        return ratings
    kept = np.random.default_rng(random_state).choice(users, size=n_users, replace=False)
    return ratings[ratings["userId"].isin(kept)]


@dataclass
class Study:
    """What a report notebook works on.

    Attributes
    ----------
    dataset : str
        The release's name.
    smoke : bool
        Whether ``ratings`` is the smoke-test subsample.
    random_state : int
        Seed of the subsample, the splits and the models.
    release : MovieLens
        Every table of the release, unfiltered.
    ratings : DataFrame
        The ratings the notebook uses (the subsample when ``smoke``).
    params : dict
        Model parameters: the defaults of the estimator given to :func:`setup`, overridden
        by the notebook's parameters that are not None, with ``random_state``.
    rated_movies_only : bool
        :attr:`movies` keeps only the movies that :attr:`ratings` rates.
    grid : str
        Size of the grids and sweeps to run, one of :data:`GRID_SIZES` (:func:`grid_size`).
    max_ratings : int or None
        The limit of the user sample :attr:`ratings` was drawn with (:func:`user_sample`);
        None when it holds every rating (or the smoke subsample).
    """

    dataset: str
    smoke: bool
    random_state: int
    release: MovieLens
    ratings: pd.DataFrame
    params: dict = field(default_factory=dict)
    rated_movies_only: bool = False
    grid: str = "full"
    max_ratings: int | None = None

    @property
    def scope(self) -> str:
        """A sentence for the notebook's prose saying which ratings it studies ("" for all)."""
        if self.max_ratings is None:
            return ""
        everyone = self.release.ratings
        return (
            f"This notebook studies a seeded sample of {self.ratings['userId'].nunique():,} of "
            f"the release's {everyone['userId'].nunique():,} users, who gave "
            f"{len(self.ratings):,} of its {len(everyone):,} ratings (`max_ratings` = "
            f"{self.max_ratings:,}; notebook 01 describes them all). "
        )

    @property
    def movies(self) -> pd.DataFrame:
        """The release's movies table (only the rated ones when ``rated_movies_only``)."""
        movies = self.release.movies
        if self.rated_movies_only:
            movies = movies[movies["movieId"].isin(self.ratings["movieId"])]
        return movies

    @property
    def tags(self) -> pd.DataFrame | None:
        """The release's tag applications (None when it has none or ``setup(tags=False)``)."""
        return self.release.tags

    @property
    def n_ratings(self) -> pd.Series:
        """Ratings per movie in :attr:`ratings`, indexed by movieId."""
        return self.ratings["movieId"].value_counts()

    @property
    def parameters(self) -> dict:
        """The notebook's settings, for :func:`recsys_helpers.report.record_metrics`.

        ``dataset``, ``smoke`` and :attr:`params`; a sequence (``feature_kinds``) is written
        as its items joined by commas, so every value is a JSON scalar.
        """
        settings = {"dataset": self.dataset, "smoke": self.smoke, "random_state": self.random_state}
        for name, value in self.params.items():
            settings[name] = ",".join(map(str, value)) if isinstance(value, list | tuple) else value
        return settings

    def split(self, test_fraction: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(train, test)``: :func:`~recsys_helpers.data.split.random_split` of the ratings."""
        return split.random_split(self.ratings, test_fraction, random_state=self.random_state)


def _with_users(ratings: pd.DataFrame, everyone: pd.DataFrame, users: Sequence) -> pd.DataFrame:
    """``ratings`` plus every rating in ``everyone`` of the ``users`` it lacks, appended."""
    missing = [user for user in users if user not in set(ratings["userId"])]
    if not missing:
        return ratings
    unknown = sorted(set(missing) - set(everyone["userId"]))
    if unknown:
        raise DataError(f"setup: keep_users {unknown} have no ratings in the release")
    return pd.concat([ratings, everyone[everyone["userId"].isin(missing)]])


def setup(
    dataset: str,
    *,
    smoke: bool = False,
    random_state: int = 0,
    estimator: type | None = BiasedMF,
    keep_users: Sequence = (),
    rated_movies_only: bool = False,
    tags: bool = False,
    grid: str = "auto",
    max_ratings=None,
    **model_params,
) -> Study:
    """Style, data and settings of a report notebook in one call.

    Parameters
    ----------
    dataset : str
        A MovieLens release (read from ``$MOVIELENS_MIRROR``, the cache or GroupLens).
    smoke : bool, default False
        Keep only :data:`SMOKE_USERS` random users' ratings (:func:`smoke_subsample`).
    random_state : int, default 0
        Seed of the subsample, and ``random_state`` of :attr:`Study.params`.
    estimator : class or None, default :class:`~recsys_helpers.models.als.BiasedMF`
        Whose defaults :attr:`Study.params` starts from (e.g.
        :class:`~recsys_helpers.models.hybrid.HybridMF`); None for a notebook that fits no
        model (then ``params`` holds ``random_state`` only).
    keep_users : sequence of user ids, default ()
        Users whose ratings are appended when the subsample left them out (notebook 07
        recommends for one chosen user).
    rated_movies_only : bool, default False
        With ``smoke`` or a user sample, :attr:`Study.movies` keeps only the movies the
        sample rates (notebook 08 builds features of every movie in the table).
    tags : bool, default False
        Parse the release's tag applications (:attr:`Study.tags`; notebook 08's features).
        The tag genome and the links are never parsed: no notebook reads them.
    grid : {"auto", "smoke", "small", "full"}, default "auto"
        Size of the grids the notebook runs (:attr:`Study.grid`, :func:`grid_size`), chosen
        by the size of the whole release.
    max_ratings : "auto", int or None, default None
        Without ``smoke``, study :func:`user_sample` of the ratings when the release has more
        (:func:`sample_limit`: ``"auto"`` samples releases above 2 M ratings down to
        :data:`SAMPLE_MAX_RATINGS`; 0 or None keeps every rating, as notebook 01 does).
    **model_params
        Notebook parameters named as the estimator's (``n_factors``, ``reg``,
        ``reg_bias``, ``n_iter``, ...); None keeps the default.

    Returns
    -------
    Study

    Raises
    ------
    TypeError
        A model parameter the estimator does not have.
    ValueError
        An unknown ``grid`` or ``max_ratings``.
    DataError
        A user of ``keep_users`` without ratings in the release.
    """
    if grid != "auto":
        grid_size(grid, 0)  # an unknown size fails before the data is loaded
    sample_limit(max_ratings, 0)  # so does an unknown max_ratings
    plots.set_style()
    # only the files notebooks read: never the tag genome or the links, tags on request
    release = movielens.load(dataset, genome=False, links=False, tags=tags)
    n_release = len(release.ratings)
    limit = None if smoke else sample_limit(max_ratings, n_release)
    if smoke:
        ratings = smoke_subsample(release.ratings, random_state)
    elif limit is not None:
        ratings = user_sample(release.ratings, limit, random_state)
    else:
        ratings = release.ratings
    ratings = _with_users(ratings, release.ratings, keep_users)
    params = estimator().get_params() if estimator is not None else {}
    unknown = sorted(set(model_params) - set(params))
    if unknown:
        owner = estimator.__name__ if estimator is not None else "a notebook without a model"
        raise TypeError(f"setup: {', '.join(unknown)} are not parameters of {owner}")
    params.update({name: value for name, value in model_params.items() if value is not None})
    params["random_state"] = random_state
    return Study(
        dataset,
        bool(smoke),
        random_state,
        release,
        ratings,
        params,
        bool((smoke or limit is not None) and rated_movies_only),
        grid_size(grid, n_release, smoke),
        limit,
    )
