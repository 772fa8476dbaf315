"""The planted model behind the synthetic ratings: its parameters and how they are drawn.

:class:`PlantedModel` holds the true ``μ``, biases and factors (and genre effects when the
movies are given) of :func:`recsys_helpers.data.synthetic.make_ratings`;
:func:`plant_model` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_helpers.data import sampling

__all__ = ["PlantedModel", "plant_model"]

_CHUNK = 1 << 20  # ratings per block when evaluating the planted model (bounds memory)


@dataclass(frozen=True)
class PlantedModel:
    """The model the synthetic ratings were drawn from, in planted index order.

    ``r̂(u, i) = μ + b_u + b_i + U_u · V_i``; the observed rating adds Gaussian noise of
    standard deviation ``noise_std`` (before clipping and rounding when quantized).

    Attributes
    ----------
    global_mean : float
        ``μ``.
    user_bias : ndarray of float64, shape (n_users,)
        ``b_u``.
    item_bias : ndarray of float64, shape (n_items,)
        ``b_i`` (genre part included when genres were planted).
    user_factors : ndarray of float64, shape (n_users, n_factors)
        ``U``.
    item_factors : ndarray of float64, shape (n_items, n_factors)
        ``V`` (genre part included when genres were planted).
    noise_std : float
        Standard deviation of ``ε``, in stars: the RMSE a perfect model reaches on
        unquantized ratings.
    user_ids : ndarray of int32, shape (n_users,)
        Raw ``userId`` of each planted row (not sorted).
    item_ids : ndarray of int32, shape (n_items,)
        Raw ``movieId`` of each planted row.
    genre_names : tuple of str, length n_genres
        Genres with a planted effect (empty when no movies were given).
    item_genres : ndarray of float64, shape (n_items, n_genres)
        ``x_ig`` ∈ {0, 1}.
    genre_bias : ndarray of float64, shape (n_genres,)
        ``β_g``.
    genre_factors : ndarray of float64, shape (n_genres, n_factors)
        ``W_g``.
    """

    global_mean: float
    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    noise_std: float
    user_ids: np.ndarray
    item_ids: np.ndarray
    genre_names: tuple[str, ...] = ()
    item_genres: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    genre_bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    genre_factors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_users(self) -> int:
        return int(self.user_bias.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_bias.shape[0])

    @property
    def n_factors(self) -> int:
        return int(self.user_factors.shape[1])

    @property
    def item_genre_weights(self) -> np.ndarray:
        """``w_ig = x_ig / Σ_h x_ih`` (rows of movies without genres are 0), (n_items, n_genres)."""
        return sampling.row_normalised(self.item_genres)

    def predict(self, user_index, item_index) -> np.ndarray:
        """``μ + b_u + b_i + U_u · V_i`` for planted indices (broadcast together).

        Parameters
        ----------
        user_index, item_index : array_like of int
            Planted indices (positions in :attr:`user_ids` / :attr:`item_ids`).

        Returns
        -------
        ndarray of float64, the broadcast shape of the inputs
        """
        u = np.asarray(user_index)
        i = np.asarray(item_index)
        interaction = np.einsum("...k,...k->...", self.user_factors[u], self.item_factors[i])
        return self.global_mean + self.user_bias[u] + self.item_bias[i] + interaction

    def user_index(self, user_ids) -> np.ndarray:
        """Planted index of each raw ``userId``; ``KeyError`` for ids not planted."""
        return _lookup(self.user_ids, user_ids, "userId")

    def item_index(self, item_ids) -> np.ndarray:
        """Planted index of each raw ``movieId``; ``KeyError`` for ids not planted."""
        return _lookup(self.item_ids, item_ids, "movieId")

    def predict_ids(self, user_ids, item_ids) -> np.ndarray:
        """:meth:`predict` for raw ids, e.g. ``predict_ids(df.userId, df.movieId)``."""
        return self.predict(self.user_index(user_ids), self.item_index(item_ids))


def plant_model(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    *,
    n_factors: int,
    noise_std: float,
    global_mean: float,
    bias_std: tuple[float, float],
    factor_std: float,
    movies: pd.DataFrame | None,
    genre_bias_std: float,
) -> PlantedModel:
    user_ids = rng.permutation(sampling.gapped_ids(rng, n_users)).astype(np.int32)
    if movies is None:
        item_ids = rng.permutation(sampling.gapped_ids(rng, n_items)).astype(np.int32)
    else:
        item_ids = movies["movieId"].to_numpy().astype(np.int32)
        if np.unique(item_ids).size != item_ids.size:
            raise ValueError("movies: movieId values must be unique")
    user_bias = rng.normal(0.0, bias_std[0], size=n_users)
    item_bias = rng.normal(0.0, bias_std[1], size=n_items)
    user_factors = rng.normal(0.0, factor_std, size=(n_users, n_factors))
    item_factors = rng.normal(0.0, factor_std, size=(n_items, n_factors))
    extra: dict = {}
    if movies is not None:
        genre_lists = [_genre_list(g) for g in movies["genres"]]
        names = tuple(sorted({g for lst in genre_lists for g in lst}))
        column = {name: k for k, name in enumerate(names)}
        item_genres = np.zeros((n_items, len(names)))
        for row, lst in enumerate(genre_lists):
            item_genres[row, [column[g] for g in lst]] = 1.0
        genre_bias = rng.normal(0.0, genre_bias_std, size=len(names))
        genre_factors = rng.normal(0.0, factor_std, size=(len(names), n_factors))
        extra = {
            "genre_names": names,
            "item_genres": item_genres,
            "genre_bias": genre_bias,
            "genre_factors": genre_factors,
        }
        weights = sampling.row_normalised(item_genres)
        item_bias = item_bias + weights @ genre_bias
        item_factors = item_factors + weights @ genre_factors
    return PlantedModel(
        global_mean=global_mean,
        user_bias=user_bias,
        item_bias=item_bias,
        user_factors=user_factors,
        item_factors=item_factors,
        noise_std=noise_std,
        user_ids=user_ids,
        item_ids=item_ids,
        **extra,
    )


def _lookup(planted_ids: np.ndarray, raw, what: str) -> np.ndarray:
    order = np.argsort(planted_ids)
    sorted_ids = planted_ids[order]
    raw = np.asarray(raw)
    position = np.minimum(np.searchsorted(sorted_ids, raw), sorted_ids.size - 1)
    found = sorted_ids[position] == raw
    if not found.all():
        raise KeyError(f"{what} not planted: {np.unique(raw[~found])[:5].tolist()}")
    return order[position]


def _genre_list(value) -> list[str]:
    if isinstance(value, str):
        return [] if value in ("", "(no genres listed)") else value.split("|")
    return list(value)
