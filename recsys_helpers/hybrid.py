r"""Genre-informed hybrid ALS: biased matrix factorisation with feature priors on movies.

Model (symbols as in the plain model, plus movie features)::

    r̂_ui = μ + b_u + b_i + U_u · V_i
    V_i ~ N(Φ_i W, I/τ),   b_i ~ N(Φ_i w, 1/γ),   U_u ~ N(0, I/τ),   b_u ~ N(0, 1/γ)

``Φ_i`` is movie ``i``'s row of :func:`recsys_helpers.content.item_features` scaled by
``1/sqrt(|F(i)|)`` (``|F(i)|`` = number of features of the movie), so ``Φ_i W =
Σ_{f∈F(i)} W_f / sqrt(|F(i)|)``. ``W`` (n_features × K) and ``w`` (n_features) are learned.
The MAP estimate minimises

.. math::

    J = \sum_{(u,i)\in\Omega} (r_{ui} - \hat r_{ui})^2
        + \lambda \sum_u \|U_u\|^2 + \lambda_b \sum_u b_u^2
        + \lambda \sum_i \|V_i - \Phi_i W\|^2 + \lambda_b \sum_i (b_i - \Phi_i w)^2
        + \lambda_W (\|W\|^2 + \|w\|^2)

with ``λ = reg``, ``λ_b = reg_bias``, ``λ_W = feature_reg`` (with ``scale_reg=True`` the
vector terms carry ``λ|Ω|`` as in :class:`~recsys_helpers.als.BiasedMF`). One sweep is
three exact block minimisations, so ``J`` never increases:

1. user step: the plain ridge half-step of :class:`~recsys_helpers.als.BiasedMF`
   (kernel :func:`recsys_helpers._solvers.solve_side` or its compiled twin) with
   targets ``r_ui − μ − b_i``;
2. movie step with prior means ``m_i = Φ_i W``, ``m^b_i = Φ_i w`` (:func:`prior_item_step`):
   writing ``V_i = m_i + δ_i``, ``b_i = m^b_i + δ^b_i`` turns it into the same kernel for
   ``(δ^b_i, δ_i)`` with targets ``r_ui − μ − b_u − U_u·m_i − m^b_i``;
3. W-step (:func:`feature_ridge`, closed-form ridge over the rated movies):
   ``(ΦᵀΦ + (λ_W/λ) I) W = Φᵀ V`` and ``(ΦᵀΦ + (λ_W/λ_b) I) w = Φᵀ b``.

A movie with no training ratings but known features gets its prior mean, ``V_i = Φ_i W``
and ``b_i = Φ_i w``, instead of zero; with no features at all (``kinds=()``) the model is
exactly the plain biased MF. :func:`cold_start_comparison` measures what the priors buy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_helpers._solvers import pair_dots, penalty_diagonal, penalty_value, solve_side
from recsys_helpers.als import BiasedMF
from recsys_helpers.content import FEATURE_KINDS, ContentBaseline, item_features
from recsys_helpers.errors import DataError
from recsys_helpers.ratings import IdIndex
from recsys_helpers.split import item_holdout_split, random_split

logger = logging.getLogger(__name__)


def prior_item_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    centred_ratings: np.ndarray,
    user_bias: np.ndarray,
    user_factors: np.ndarray,
    prior: np.ndarray,
    prior_bias: np.ndarray,
    reg: float,
    reg_bias: float,
    *,
    scale_by_count: bool = False,
    solve=solve_side,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Movie half-step around prior means, by the plain ridge half-step.

    Movie ``i`` minimises

    .. math:: \sum_{u\in\Omega_i} (r_{ui} - \mu - b_u - b_i - U_u \cdot V_i)^2
              + c_i \lambda \|V_i - m_i\|^2 + \lambda_b (b_i - m^b_i)^2 .

    With ``V_i = m_i + δ_i`` and ``b_i = m^b_i + δ^b_i`` this is the plain kernel
    :func:`recsys_helpers._solvers.solve_side` for ``(δ^b_i, δ_i)`` with targets
    ``r_ui − μ − b_u − U_u·m_i − m^b_i``; a movie without ratings gets ``δ = 0``, i.e.
    its prior mean.

    Parameters
    ----------
    indptr, indices : ndarray of int
        CSR of the ratings by movie, ``indices`` are user rows; shapes (n_items + 1,),
        (nnz,).
    centred_ratings : ndarray, shape (nnz,)
        ``r_ui − μ`` aligned with ``indices``.
    user_bias : ndarray (n_users,);  user_factors : ndarray (n_users, K)
    prior : ndarray (n_items, K);  prior_bias : ndarray (n_items,)
        ``m_i`` and ``m^b_i``.
    reg, reg_bias : float
        ``λ`` and ``λ_b``.
    scale_by_count : bool, default False
        ``c_i = |Ω_i|`` instead of 1 (passed to the kernel).
    solve : callable, default :func:`recsys_helpers._solvers.solve_side`
        The half-step kernel (the compiled twin has the same signature).

    Returns
    -------
    item_bias : ndarray (n_items,);  item_factors : ndarray (n_items, K)
    """
    dtype = user_factors.dtype
    item_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    targets = (
        centred_ratings
        - user_bias[indices]
        - pair_dots(indices, item_of, user_factors, prior)
        - prior_bias[item_of]
    ).astype(dtype)
    delta_bias, delta = solve(
        indptr, indices, targets, user_factors, reg, reg_bias, scale_by_count=scale_by_count
    )
    return (prior_bias + delta_bias).astype(dtype), (prior + delta).astype(dtype)


def feature_ridge(
    features: sp.csr_matrix,
    targets: np.ndarray,
    feature_reg: float,
    weights: np.ndarray,
) -> np.ndarray:
    r"""Closed-form weighted ridge regression of per-movie parameters on features (W-step).

    .. math:: \min_W \sum_i c_i \|V_i - \Phi_i W\|^2 + \lambda_W \|W\|^2
              \;\Rightarrow\; (\Phi^T C \Phi + \lambda_W I)\, W = \Phi^T C V ,

    where ``c_i`` is the penalty weight of movie ``i``'s prior term (``λ``, or ``λ|Ω_i|``
    when count-scaled, for vectors; ``λ_b`` for biases). With all ``c_i = λ`` this is
    ``(ΦᵀΦ + (λ_W/λ) I) W = Φᵀ V``.

    Parameters
    ----------
    features : csr_matrix, shape (n_movies, n_features)
        ``Φ`` (already scaled).
    targets : ndarray, shape (n_movies, K) or (n_movies,)
        ``V`` (or ``b``).
    feature_reg : float
        ``λ_W > 0``.
    weights : ndarray, shape (n_movies,)
        ``c_i >= 0``.

    Returns
    -------
    ndarray of float64, shape (n_features, K) or (n_features,)
    """
    weighted = sp.diags(np.asarray(weights, dtype=np.float64)) @ features
    gram = (features.T @ weighted).toarray() + feature_reg * np.eye(features.shape[1])
    rhs = weighted.T @ np.asarray(targets, dtype=np.float64)
    return np.linalg.solve(gram, rhs)


def normalised_features(features: sp.csr_matrix) -> sp.csr_matrix:
    """Scale each movie's feature row by ``1/sqrt(|F(i)|)`` (rows with none stay zero)."""
    per_row = np.diff(features.indptr)
    scale = np.zeros(len(per_row))
    scale[per_row > 0] = 1.0 / np.sqrt(per_row[per_row > 0])
    return sp.csr_matrix(sp.diags(scale) @ features)


class HybridMF(BiasedMF):
    """Biased MF by ALS with genre/year/tag priors on every movie's vector and bias.

    A :class:`~recsys_helpers.als.BiasedMF` whose movie half-step shrinks towards the
    feature prior ``(Φ_i w, Φ_i W)`` instead of zero, followed by the W-step (see the
    module docstring). Everything else (user half-step, kernels, history, validation,
    prediction, ``recommend``, ``save``/``load``) is inherited. After fitting, the movies
    of the movies table that have no training ratings are appended to ``items_`` with
    their prior means as bias and vector, so prediction and ranking treat them like any
    other movie (``item_counts_`` is 0 for them).

    Parameters
    ----------
    n_factors : int, default 16
        ``K``.
    reg : float, default 15.0
        ``λ``, penalty on ``‖U_u‖²`` and ``‖V_i − Φ_i W‖²``.
    reg_bias : float, default 5.0
        ``λ_b``, penalty on ``b_u²`` and ``(b_i − Φ_i w)²``.
    feature_reg : float, default 10.0
        ``λ_W``, penalty on ``‖W‖²`` and ``‖w‖²``.
    scale_reg : bool, default False
        Count-scale ``λ`` as :class:`~recsys_helpers.als.BiasedMF` does when True; the
        W-step then weights each movie by its penalty.
    n_iter : int, default 10
    kinds : sequence of str, default ("genres", "year", "tags")
        Feature families (:func:`~recsys_helpers.content.item_features`); ``()`` gives
        the plain biased MF.
    year_bucket, min_tag_movies, max_tags
        Passed to :func:`~recsys_helpers.content.item_features`.
    solver, dtype, init_std, random_state, tol, rating_range, verbose
        As in :class:`~recsys_helpers.als.BiasedMF`.

    Notes
    -----
    Defaults chosen on ml-latest-small by validation RMSE on splits carved from the
    training part only (cold: movies held out of the item hold-out's training part;
    warm: random ratings), K = 16, 8 sweeps, unscaled penalties, over λ ∈ {10, 15, 20},
    λ_b ∈ {2, 5, 10}, λ_W ∈ {0.1, 1, 10, 20, 30, 100} (partial grid). λ = 15, λ_b = 5,
    λ_W = 10 gave cold 0.890 / warm 0.827 validation RMSE (λ = 10: 0.885 / 0.841;
    λ = 20: 0.896 / 0.832). Early stopping is not offered: the W-step would have to be
    restored with the movie parameters. The per-sweep ``valid_rmse`` of ``validation=``
    sees unrated movies only after the fit (they join ``items_`` at the end), so use a
    warm validation set. :meth:`save`/:meth:`load` keep every prediction, cold movies
    included, but not ``W``, ``w`` or ``Φ``.

    Attributes
    ----------
    feature_weights_ : ndarray (n_features, K)
        ``W``.
    feature_bias_weights_ : ndarray (n_features,)
        ``w``.
    item_features_ : csr_matrix (n_items, n_features)
        ``Φ`` (scaled) in ``items_`` order (zero rows for movies without features).
    feature_names_ : list of str
    item_rated_ : ndarray of bool (n_items,)
        Whether the movie had training ratings.
    Plus every attribute of :class:`~recsys_helpers.als.BiasedMF`.
    """

    def __init__(
        self,
        *,
        n_factors: int = 16,
        reg: float = 15.0,
        reg_bias: float = 5.0,
        feature_reg: float = 10.0,
        scale_reg: bool = False,
        n_iter: int = 10,
        kinds: Sequence[str] = FEATURE_KINDS,
        year_bucket: int = 10,
        min_tag_movies: int = 5,
        max_tags: int = 100,
        solver: str = "auto",
        dtype: str = "float64",
        init_std: float = 0.1,
        random_state: int = 0,
        tol: float | None = 1e-4,
        rating_range: tuple[float, float] | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            n_factors=n_factors,
            reg=reg,
            reg_bias=reg_bias,
            scale_reg=scale_reg,
            n_iter=n_iter,
            solver=solver,
            dtype=dtype,
            init_std=init_std,
            random_state=random_state,
            tol=tol,
            rating_range=rating_range,
            verbose=verbose,
        )
        self.feature_reg = feature_reg
        self.kinds = kinds
        self.year_bucket = year_bucket
        self.min_tag_movies = min_tag_movies
        self.max_tags = max_tags

    def fit(
        self,
        X,
        y=None,
        *,
        movies: pd.DataFrame | None = None,
        tags: pd.DataFrame | None = None,
        validation=None,
    ) -> HybridMF:
        """Fit by alternating the user step, the prior-mean movie step and the W-step.

        Parameters
        ----------
        X, y, validation
            As in :meth:`recsys_helpers.als.BiasedMF.fit`.
        movies : DataFrame accepted by :func:`~recsys_helpers.content.item_features`
            Needed unless ``kinds=()``. Its movies without ratings become cold movies
            predicted from their features.
        tags : DataFrame with ``movieId``, ``tag``, optional

        Returns
        -------
        self
        """
        if not self.feature_reg > 0:
            raise ValueError(f"feature_reg must be positive, got {self.feature_reg!r}")
        if movies is None and len(self.kinds):
            raise DataError(f"HybridMF.fit: kinds={tuple(self.kinds)} needs the movies table")
        self._movie_table_features(movies, tags)
        super().fit(X, y, validation=validation)
        # One more exact W-step leaves W consistent with the final movie parameters.
        self._feature_step()
        self._append_cold_movies()
        return self

    def _movie_table_features(self, movies, tags) -> None:
        """Scaled ``Φ`` of every movie of the table, rows in sorted movieId order."""
        if movies is None or not len(self.kinds):
            self._table_ids = IdIndex.from_ids(np.asarray([], dtype=np.int64))
            self._table_features = sp.csr_matrix((0, 0))
            self.feature_names_ = []
            return
        table = movies.drop_duplicates("movieId").sort_values("movieId", kind="stable")
        raw, self.feature_names_ = item_features(
            table,
            tags,
            self.kinds,
            year_bucket=self.year_bucket,
            min_tag_movies=self.min_tag_movies,
            max_tags=self.max_tags,
        )
        self._table_ids = IdIndex.from_ids(table["movieId"].to_numpy())
        self._table_features = normalised_features(raw)

    def _features_of(self, raw_ids: np.ndarray) -> sp.csr_matrix:
        """``Φ`` rows for raw movie ids (zero rows for movies not in the table)."""
        rows = self._table_ids.to_index(raw_ids)
        known = np.flatnonzero(rows >= 0)
        placement = sp.csr_matrix(
            (np.ones(len(known)), (known, rows[known])),
            shape=(len(raw_ids), len(self._table_ids)),
        )
        n_features = len(self.feature_names_)
        if n_features == 0:
            return sp.csr_matrix((len(raw_ids), 0))
        return sp.csr_matrix(placement @ self._table_features)

    def _priors(self) -> tuple[np.ndarray, np.ndarray]:
        dtype = self.item_factors_.dtype
        prior = np.asarray(self.item_features_ @ self.feature_weights_, dtype=dtype)
        prior_bias = np.asarray(self.item_features_ @ self.feature_bias_weights_, dtype=dtype)
        return prior.reshape(len(self.item_features_.indptr) - 1, -1), prior_bias

    def _sweep(self, kernels, by_user, by_item) -> None:
        """User step, movie step around the feature priors, then the W-step."""
        if getattr(self, "_fitting_ids", None) is not self.items_:
            # first sweep of this fit: Φ for the rated movies, W = 0, w = 0
            self._fitting_ids = self.items_
            self.item_features_ = self._features_of(self.items_.ids)
            n_features = self.item_features_.shape[1]
            self.feature_weights_ = np.zeros((n_features, int(self.n_factors)))
            self.feature_bias_weights_ = np.zeros(n_features)
        self._user_step(kernels, by_user)
        prior, prior_bias = self._priors()
        self.item_bias_, self.item_factors_ = prior_item_step(
            by_item.indptr, by_item.indices, by_item.ratings - self.global_mean_,
            self.user_bias_, self.user_factors_, prior, prior_bias, self.reg, self.reg_bias,
            scale_by_count=self.scale_reg, solve=kernels.solve_side,
        )  # fmt: skip
        self._feature_step()

    def _feature_step(self) -> None:
        """W-step: exact ridge of the rated movies' vectors and biases on their features."""
        if self.item_features_.shape[1] == 0:
            return
        penalty = penalty_diagonal(
            self.item_counts_, int(self.n_factors), self.reg, self.reg_bias, self.scale_reg
        )
        if int(self.n_factors):
            self.feature_weights_ = feature_ridge(
                self.item_features_, self.item_factors_, self.feature_reg, penalty[:, 1]
            )
        self.feature_bias_weights_ = feature_ridge(
            self.item_features_, self.item_bias_, self.feature_reg, penalty[:, 0]
        )

    def _objective(self, kernels, by_user) -> tuple[float, float]:
        """``J`` of the module docstring and the training RMSE."""
        errors = kernels.residuals(
            by_user.rows, by_user.indices, by_user.ratings, self.global_mean_,
            self.user_bias_, self.item_bias_, self.user_factors_, self.item_factors_,
        )  # fmt: skip
        squared = float(np.dot(errors, errors))
        prior, prior_bias = self._priors()
        penalty = (
            penalty_value(
                self.user_bias_, self.user_factors_, self.user_counts_,
                self.reg, self.reg_bias, self.scale_reg,
            )
            + penalty_value(
                self.item_bias_ - prior_bias, self.item_factors_ - prior, self.item_counts_,
                self.reg, self.reg_bias, self.scale_reg,
            )
            + self.feature_reg
            * float(np.sum(self.feature_weights_**2) + np.sum(self.feature_bias_weights_**2))
        )  # fmt: skip
        return squared + penalty, float(np.sqrt(squared / len(errors)))

    def _append_cold_movies(self) -> None:
        """Add the table's unrated movies to ``items_`` at their prior means."""
        rated_ids = self.items_.ids
        cold_ids = np.setdiff1d(self._table_ids.ids, rated_ids)
        all_ids = IdIndex.from_ids(np.concatenate([rated_ids, cold_ids]).astype(rated_ids.dtype))
        rated_rows = all_ids.to_index(rated_ids)
        n_items = len(all_ids)
        dtype = self.item_factors_.dtype
        item_bias = np.zeros(n_items, dtype=dtype)
        item_factors = np.zeros((n_items, self.item_factors_.shape[1]), dtype=dtype)
        item_counts = np.zeros(n_items, dtype=self.item_counts_.dtype)
        item_bias[rated_rows] = self.item_bias_
        item_factors[rated_rows] = self.item_factors_
        item_counts[rated_rows] = self.item_counts_
        # the rated movies' rows move: keep the users' seen lists pointing at them
        self._seen = (self._seen[0], rated_rows[self._seen[1]].astype(np.int32))
        self.items_ = all_ids
        self.item_features_ = self._features_of(all_ids.ids)
        self._fitting_ids = None
        prior, prior_bias = self._priors()
        cold = item_counts == 0
        item_bias[cold] = prior_bias[cold]
        item_factors[cold] = prior[cold]
        self.item_bias_, self.item_factors_, self.item_counts_ = (
            item_bias,
            item_factors,
            item_counts,
        )
        self.item_rated_ = ~cold
        logger.info("HybridMF: %d unrated movies placed at their feature priors", int(cold.sum()))


def ndcg_within_users(
    user_ids: np.ndarray, relevance: np.ndarray, scores: np.ndarray, k: int = 10
) -> float:
    """Mean NDCG@k of each user's test items ranked by score, gain = true rating.

    For user ``u`` with test items sorted by descending score (ties by input order),
    ``DCG@k = Σ_{p≤k} rel_p / log2(p + 1)`` and ``NDCG@k = DCG@k / IDCG@k`` (IDCG: the same
    sum over the items sorted by relevance). Users with fewer than two test items carry no
    ranking information and are left out.

    Parameters
    ----------
    user_ids, relevance, scores : ndarray, shape (n,)
        Aligned rows; ``relevance`` non-negative (ratings).
    k : int

    Returns
    -------
    float
        Mean over users with at least two test items; NaN when there are none.
    """
    user_ids, relevance, scores = (np.asarray(a) for a in (user_ids, relevance, scores))
    if not len(user_ids) == len(relevance) == len(scores):
        raise ValueError("user_ids, relevance and scores must have the same length")
    if np.isnan(scores).any() or np.isnan(relevance).any():
        raise ValueError("relevance and scores must not contain NaN")
    frame = pd.DataFrame({"user": user_ids, "rel": relevance, "score": scores})
    frame["pos"] = frame.groupby("user").cumcount()
    discount = 1.0 / np.log2(np.arange(2, k + 2))

    def dcg(order_by: str) -> pd.Series:
        ranked = frame.sort_values(["user", order_by, "pos"], ascending=[True, False, True])
        rank = ranked.groupby("user").cumcount().to_numpy()
        keep = rank < k
        gains = ranked["rel"].to_numpy()[keep] * discount[rank[keep]]
        return pd.Series(gains).groupby(ranked["user"].to_numpy()[keep]).sum()

    sizes = frame.groupby("user").size()
    users = sizes.index[sizes >= 2]
    ideal = dcg("rel").reindex(users)
    actual = dcg("score").reindex(users)
    valid = ideal > 0
    if not valid.any():
        return float("nan")
    return float((actual[valid] / ideal[valid]).mean())


def cold_start_comparison(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    tags: pd.DataFrame | None = None,
    *,
    test_fraction: float = 0.1,
    n_factors: int = 16,
    reg: float = 15.0,
    reg_bias: float = 5.0,
    feature_reg: float = 10.0,
    n_iter: int = 10,
    kinds: Sequence[str] = FEATURE_KINDS,
    content_alpha: float = 20.0,
    k: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Content baseline, plain ALS and hybrid ALS on cold-start and on warm movies.

    * ``cold``: :func:`~recsys_helpers.split.item_holdout_split` puts every rating of a
      seeded ``test_fraction`` of movies in test, so they have no training ratings. Plain ALS then
      predicts ``μ + b_u`` for them; the hybrid predicts from their features; the content
      baseline from the user's feature profile.
    * ``warm``: :func:`~recsys_helpers.split.random_split`, a seeded random
      ``test_fraction`` of the ratings.

    Tags applied to a held-out movie stay among its features: they are metadata a new
    movie can carry before it is rated (pass ``kinds=("genres", "year")`` to leave them out).

    Plain ALS is :class:`~recsys_helpers.als.BiasedMF` with the same λ, λ_b (unscaled), K,
    sweeps and seed, so the two differ only in the feature prior.

    Returns
    -------
    DataFrame
        One row per (split, model) with ``split`` ("cold"/"warm"), ``model``
        ("content", "als", "hybrid"), ``rmse``, ``ndcg@{k}`` (within each user's test
        movies, gain = rating, see :func:`ndcg_within_users`), ``n_test`` (ratings).
    """
    # a fixed number of sweeps for every model: no convergence warning wanted
    common = dict(
        n_factors=n_factors, reg=reg, reg_bias=reg_bias, n_iter=n_iter, random_state=seed, tol=None
    )
    splits = {
        "cold": item_holdout_split(ratings, test_fraction, seed=seed),
        "warm": random_split(ratings, test_fraction, seed=seed),
    }
    rows = []
    for split, (train, test) in splits.items():
        models = {
            "content": ContentBaseline(alpha=content_alpha, kinds=kinds).fit(train, movies, tags),
            "als": BiasedMF(scale_reg=False, dtype="float64", **common).fit(train),
            "hybrid": HybridMF(kinds=kinds, feature_reg=feature_reg, **common).fit(
                train, movies=movies, tags=tags
            ),
        }
        truth = test["rating"].to_numpy(dtype=np.float64)
        for name, model in models.items():
            predicted = model.predict(test)
            rows.append(
                {
                    "split": split,
                    "model": name,
                    "rmse": float(np.sqrt(np.mean((predicted - truth) ** 2))),
                    f"ndcg@{k}": ndcg_within_users(test["userId"].to_numpy(), truth, predicted, k),
                    "n_test": len(test),
                }
            )
            logger.info("cold_start_comparison %s %s: %s", split, name, rows[-1])
    return pd.DataFrame(rows)
