r"""Time-aware biased matrix factorisation: Koren's time-aware biases in the same ALS sweeps.

Model (symbols in ``NOTATION.md``; ``t`` the rating's day, ``Bin(t)`` its time bin)::

    r̂_ui(t) = μ + b_u + α_u dev_u(t) + b_{u,t} + b_i + b_{i,Bin(t)} + U_u · V_i

with ``dev_u(t) = sign(t − t_u)|t − t_u|^β`` around the user's mean rating day ``t_u``
(:func:`~recsys_helpers.models.time_effects.drift`). The MAP estimate minimises

.. math::

    J = \sum_{(u,i,t)} (r_{ui} - \hat r_{ui}(t))^2 + \text{(the penalties of BiasedMF)}
        + \lambda_\alpha \sum_u \alpha_u^2 + \lambda_d \sum_{u,t} b_{u,t}^2
        + \lambda_{bin} \sum_{i,k} b_{i,k}^2

(``λ_α = reg_drift``, ``λ_d = reg_day``, ``λ_bin = reg_bin``). Every term enters ``r̂``
linearly, so one sweep is four exact block minimisations and ``J`` never increases:

1. users: ``(b_u, U_u)`` given the rest, the plain half-step with the time terms
   subtracted from the targets (:meth:`~recsys_helpers.models.base.FactorModel._update_side`);
2. user time block: ``(b_u, α_u, b_{u,·})`` given ``U``, ``V`` and the movie terms, one small
   ridge per user with the day offsets eliminated exactly
   (:func:`~recsys_helpers.models.time_effects.grouped_ridge`);
3. movies: ``(b_i, V_i)`` given the rest (the plain half-step);
4. movie time block: ``(b_i, b_{i,·})`` given the rest (``grouped_ridge``, one group per bin).

``b_u`` (``b_i``) is re-solved jointly with the time terms in blocks 2 and 4 because it is
collinear with them: more than half of the ml-latest-small users rate on one single day, where
``b_u`` and that day's ``b_{u,t}`` are the same regressor; solved in separate blocks, such a
pair would creep towards its split by a few percent per sweep.

Prediction falls back gracefully: a (user, day) without training ratings has no offset (the
user's drift term remains); a time beyond the training span takes the last bin (before it,
the first); an unknown user gets no user term, an unknown movie no movie term; never NaN.
Ranking and fold-in speak of the present, the end of the training span: movies score with
``b_i + b_{i,last bin}`` and a training user with ``b_u + α_u dev_u(t_end)``; a new user is
folded in without time terms.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from recsys_helpers.data.checks import check_count, check_non_negative
from recsys_helpers.errors import DataError
from recsys_helpers.models import ranking
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.base import ITEM, USER
from recsys_helpers.models.persistence import register
from recsys_helpers.models.time_effects import (
    TIME_EFFECTS,
    bin_edges,
    day_number,
    drift,
    find_user_days,
    gathered_sum,
    grouped_ridge,
    time_bin,
    user_days,
)
from recsys_helpers.models.training import id_columns

__all__ = ["TIME_EFFECTS", "TimeAwareMF"]

logger = logging.getLogger(__name__)

TIME_COL = "timestamp"


class _EntryTimes(NamedTuple):
    """Time encodings of one side's training entries (kept only while fitting)."""

    users: np.ndarray  # user row of each entry
    items: np.ndarray  # movie row of each entry
    pair: np.ndarray | None  # (user, day) offset number
    drift: np.ndarray | None  # dev_u(t)
    cell: np.ndarray | None  # (movie, Bin(t)) cell number, among the cells with ratings


def _compact(index: np.ndarray | None) -> np.ndarray | None:
    """Per-entry indices as int32 when they fit (they are kept for every rating, both sides)."""
    if index is None or index.size == 0 or index.max() >= np.iinfo(np.int32).max:
        return index
    return index.astype(np.int32)


class TimeTerms:
    """Koren's time-aware biases on top of a factor model's sweeps (mixin).

    Holds what :class:`TimeAwareMF` and :class:`~recsys_helpers.models.bayes_time.
    BayesianTimeMF` share: the parameters ``time_effects``, ``reg_day``, ``reg_drift``,
    ``reg_bin``, ``n_bins`` and ``beta`` (see :class:`TimeAwareMF`), each rating's time
    encodings while fitting, the time terms subtracted from the half-step targets, the two
    time blocks (solved, or drawn from their Gaussian conditionals), the time terms of rows
    to predict, and their persistence. Placed before the model class in the bases.
    """

    _rating_columns = (TIME_COL,)

    #: Fitted time parameters, appended to the model's ``_state_attributes``.
    _time_attributes = ("user_drift_", "day_bias_", "item_bin_bias_")

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        super()._check_params()
        effects = self.time_effects
        if isinstance(effects, str) or not all(e in TIME_EFFECTS for e in effects):
            raise ValueError(
                f"time_effects must be a sequence of {', '.join(TIME_EFFECTS)}, got {effects!r}"
            )
        if len(set(effects)) != len(effects):
            raise ValueError(f"time_effects names a term twice: {effects!r}")
        for name in ("reg_day", "reg_drift", "reg_bin", "beta"):
            check_non_negative(name, getattr(self, name))
        check_count("n_bins", self.n_bins, 1)

    def _has(self, effect: str) -> bool:
        return effect in self.time_effects

    # ------------------------------------------------------------------ fitting
    def _initialise(self, data, rng) -> None:
        """Each entry's time encodings and every time term at 0, then the model's own
        initialisation (which may already sweep: the Bayesian model's MAP start)."""
        users = data.sides[USER]
        seconds = {side: data.sides[side].extra[TIME_COL] for side in (USER, ITEM)}
        days = {side: day_number(value) for side, value in seconds.items()}
        self.user_mean_day_ = np.bincount(
            users.rows, weights=days[USER], minlength=len(users.counts)
        ) / np.maximum(users.counts, 1)
        self.bin_edges_ = bin_edges(seconds[USER].min(), seconds[USER].max(), self.n_bins)
        empty = np.empty(0, dtype=np.int64)
        self.day_users_, self.day_numbers_, pair = empty, empty, empty
        if self._has("user_day"):
            self.day_users_, self.day_numbers_, pair = user_days(users.rows, days[USER])
        self.user_drift_ = np.zeros(len(users.counts))
        self.day_bias_ = np.zeros(len(self.day_users_))
        self.item_bin_bias_ = np.zeros((data.matrix.n_items, self.n_bins))
        cells = {}
        if self._has("item_bins"):
            for side, entries in data.sides.items():
                item_rows = entries.indices if side == USER else entries.rows
                cells[side] = item_rows.astype(np.int64) * self.n_bins + time_bin(
                    seconds[side], self.bin_edges_
                )
        #: ``i · n_bins + k`` of each (movie, bin) with training ratings, sorted
        self._cells = np.unique(cells[USER]) if cells else np.empty(0, dtype=np.int64)
        self._entry_times = {}
        for side, entries in data.sides.items():
            user_rows, item_rows = (
                (entries.rows, entries.indices) if side == USER else (entries.indices, entries.rows)
            )
            if not self._has("user_day"):
                side_pair = None
            elif side == USER:
                side_pair = pair
            else:
                side_pair = find_user_days(
                    self.day_users_, self.day_numbers_, user_rows, days[side]
                )
            self._entry_times[side] = _EntryTimes(
                user_rows,
                item_rows,
                _compact(side_pair),
                drift(days[side], self.user_mean_day_[user_rows], self.beta)
                if self._has("user_drift")
                else None,
                _compact(np.searchsorted(self._cells, cells[side])) if cells else None,
            )
        super()._initialise(data, rng)

    def _finish(self, data) -> None:
        super()._finish(data)
        for name in ("_entry_times", "_cells"):  # encodings that serve the sweeps only
            self.__dict__.pop(name, None)

    def _user_terms(self, side: str) -> np.ndarray:
        """``α_u dev_u(t) + b_{u,t}`` of each entry of a side (float64)."""
        times = self._entry_times[side]
        terms = []
        if times.drift is not None:
            terms.append((self.user_drift_, times.users, times.drift))
        if times.pair is not None:
            terms.append((self.day_bias_, times.pair, None))
        return gathered_sum(len(times.users), terms)

    def _item_terms(self, side: str) -> np.ndarray:
        """``b_{i,Bin(t)}`` of each entry of a side (float64)."""
        times = self._entry_times[side]
        if times.cell is None:
            return np.zeros(len(times.items))
        return gathered_sum(
            len(times.items), [(self.item_bin_bias_.ravel()[self._cells], times.cell, None)]
        )

    def _targets(self, data, side: str) -> np.ndarray:
        """``r_ui − μ − b_other − α_u dev_u(t) − b_{u,t} − b_{i,Bin(t)}``: the plain targets
        with every time term subtracted (none of them is in the half-step's block)."""
        return super()._targets(data, side) - self._user_terms(side) - self._item_terms(side)

    def _extra_penalty(self) -> float:
        """``λ_α Σ α_u² + λ_d Σ b_{u,t}² + λ_bin Σ b_{i,k}²``."""
        return (
            self.reg_drift * float(np.dot(self.user_drift_, self.user_drift_))
            + self.reg_day * float(np.dot(self.day_bias_, self.day_bias_))
            + self.reg_bin * float(np.sum(np.square(self.item_bin_bias_)))
        )

    def _map_sweep(self, data, kernels_module) -> None:
        """Users, the user time block, movies, the movie time block (each exact)."""
        self._update_side(data, USER, kernels_module)
        self._time_step(data, USER)
        self._update_side(data, ITEM, kernels_module)
        self._time_step(data, ITEM)

    def _rest(self, data, side: str, own_terms: np.ndarray) -> np.ndarray:
        """``r_ui`` minus every term of ``r̂`` outside a time block whose own time terms are
        ``own_terms`` (the block's bias, ``b_u`` or ``b_i``, is its own too)."""
        times = self._entry_times[side]
        no_bias = np.zeros(len(self.user_bias_), dtype=self.user_factors_.dtype)
        return self._kernels().residuals(  # t + own terms − U_u·V_i, compiled when it can be
            times.users,
            times.items,
            self._targets(data, side) + own_terms,
            no_bias,
            self.user_factors_,
            self.item_factors_,
        )

    def _time_block(self, side: str) -> tuple[list, list, dict]:
        """One side's time block for :func:`grouped_ridge`: its design columns beside the
        bias, their penalties, and its groups (days of a user, bins of a movie)."""
        times = self._entry_times[side]
        if side == USER:
            columns, penalty = [], []
            if times.drift is not None:
                columns.append(times.drift)
                penalty.append(self.reg_drift)
            groups = {"groups": times.pair, "group_rows": self.day_users_}
            return columns, penalty, {**groups, "group_penalty": self.reg_day}
        groups = {
            "groups": times.cell,
            "group_rows": self._cells // self.n_bins,
            "group_penalty": self.reg_bin,
        }
        return [], [], groups

    def _has_time_block(self, side: str) -> bool:
        if side == USER:
            return self._has("user_day") or self._has("user_drift")
        return self._has("item_bins")

    def _time_step(self, data, side: str, bias_prior=None, noise=None) -> None:
        r"""The time block of one side: ``(b_u, α_u, b_{u,·})`` of every user, or
        ``(b_i, b_{i,·})`` of every movie, given everything else.

        Without arguments, the exact minimiser of ``J``. The Bayesian model passes
        ``bias_prior = (c, P_b)``, the prior of the bias given the row's vector
        (``b ~ N(c_r, 1/(α P_b))``, in place of ``N(0, 1/(α λ_b))``), and ``noise``, the
        ``N(0, 1/α)`` normals that make :func:`grouped_ridge` draw from the block's
        conditional (a function of ``(n_rows, n_columns, n_groups)``).
        """
        if not self._has_time_block(side):
            return
        times = self._entry_times[side]
        own = self._user_terms(side) if side == USER else self._item_terms(side)
        rest = self._rest(data, side, own)
        entry_rows = times.users if side == USER else times.items
        bias = self.user_bias_ if side == USER else self.item_bias_
        n_rows = len(bias)
        columns, penalty, groups = self._time_block(side)
        fit_bias = getattr(self, "fit_biases", True)
        shift = 0.0
        if fit_bias:
            columns.insert(0, np.ones(len(rest)))
            if bias_prior is None:
                penalty.insert(0, self.reg_bias)
            else:
                shift, bias_penalty = bias_prior
                rest = rest - shift[entry_rows]
                penalty.insert(0, bias_penalty)
        design = np.column_stack(columns) if columns else np.empty((len(rest), 0))
        if noise is not None:
            noise = noise(n_rows, design.shape[1], len(groups["group_rows"]))
        theta, offsets = grouped_ridge(
            entry_rows, design, rest, penalty, n_rows, **groups, noise=noise
        )
        if fit_bias:
            setattr(self, f"{side}_bias_", (shift + theta[:, 0]).astype(bias.dtype))
        if side == ITEM:
            cells = np.zeros(n_rows * self.n_bins)
            cells[self._cells] = offsets
            self.item_bin_bias_ = cells.reshape(n_rows, self.n_bins)
            return
        if times.drift is not None:
            self.user_drift_ = theta[:, -1]
        if times.pair is not None:
            self.day_bias_ = offsets

    # ------------------------------------------------------------------ prediction
    def _timestamps(self, X) -> np.ndarray:
        if not isinstance(X, pd.DataFrame) or TIME_COL not in X.columns:
            raise DataError(
                f"{type(self).__name__} predicts at given times: the rows need a "
                f"'{TIME_COL}' column (Unix seconds) beside userId and movieId"
            )
        values = X[TIME_COL].to_numpy()
        if not np.issubdtype(values.dtype, np.number) or not np.isfinite(values).all():
            raise DataError(f"column '{TIME_COL}': times must be finite Unix seconds")
        return values

    def _encode_rows(self, user_index, item_index, seconds) -> dict[str, np.ndarray]:
        """Where each row to predict finds its time terms (``-1``: an unknown user or movie).

        Returns ``drift`` (``dev_u(t)``, 0 for unknown users), ``pair`` (the user-day
        offset, ``-1`` without one) and ``cell`` (``i · n_bins + Bin(t)``, ``-1`` for unknown
        movies), for the terms the model has.
        """
        user_index = np.asarray(user_index, dtype=np.int64)
        item_index = np.asarray(item_index, dtype=np.int64)
        days = day_number(seconds)
        rows = {}
        if self._has("user_drift"):
            known = user_index >= 0
            rows["drift"] = np.zeros(len(user_index))
            users = user_index[known]
            rows["drift"][known] = drift(days[known], self.user_mean_day_[users], self.beta)
        if self._has("user_day"):
            rows["pair"] = find_user_days(self.day_users_, self.day_numbers_, user_index, days)
        if self._has("item_bins"):
            rows["cell"] = np.where(
                item_index >= 0,
                item_index * self.n_bins + time_bin(seconds, self.bin_edges_),
                -1,
            )
        return rows

    def _terms_of(self, rows, user_index, drifts, days, bins) -> dict[str, np.ndarray]:
        """Each time term of rows encoded by :meth:`_encode_rows`, from parameter arrays
        ``drifts`` (n_users,), ``days`` (n_pairs,) and ``bins`` (cells, flat)."""
        n = len(user_index)
        terms = {effect: np.zeros(n) for effect in TIME_EFFECTS}
        if "drift" in rows:
            known = np.asarray(user_index) >= 0
            terms["user_drift"][known] = (
                drifts[np.asarray(user_index)[known]] * rows["drift"][known]
            )
        for effect, key, values in (("user_day", "pair", days), ("item_bins", "cell", bins)):
            if key in rows:
                found = rows[key] >= 0
                terms[effect][found] = values[rows[key][found]]
        return terms

    def _terms_at(self, user_index, item_index, seconds) -> dict[str, np.ndarray]:
        """Each time term of rows (``-1`` = unknown user or movie: no term of that side)."""
        rows = self._encode_rows(user_index, item_index, seconds)
        return self._terms_of(
            rows, user_index, self.user_drift_, self.day_bias_, self.item_bin_bias_.ravel()
        )

    def time_terms(self, X: pd.DataFrame) -> pd.DataFrame:
        """The time terms of ``r̂`` for rows ``userId``, ``movieId``, ``timestamp``.

        Returns
        -------
        DataFrame, index of ``X``
            ``user_drift`` (``α_u dev_u(t)``), ``user_day`` (``b_{u,t}``, 0 for a day without
            training ratings) and ``item_bins`` (``b_{i,Bin(t)}``), in stars; 0 for unknown
            users or movies and for terms the model does not have. For the Bayesian model,
            posterior means.
        """
        check_is_fitted(self, "history_")
        users, items = id_columns(X)
        terms = self._terms_at(
            self.users_.to_index(users), self.items_.to_index(items), self._timestamps(X)
        )
        return pd.DataFrame(terms, index=X.index)

    def _drift_at_end(self, rows) -> np.ndarray:
        """``dev_u(t_end)`` of user rows, at the end of the training span (0 without drift)."""
        rows = np.asarray(rows)
        if not self._has("user_drift"):
            return np.zeros(rows.shape)
        end = np.full(rows.shape, day_number(self.bin_edges_[-1:])[0])
        return drift(end, self.user_mean_day_[rows], self.beta)

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict, dict]:
        meta, arrays = super()._get_state()
        arrays.update(
            user_mean_day=self.user_mean_day_,
            day_users=self.day_users_,
            day_numbers=self.day_numbers_,
            bin_edges=self.bin_edges_,
        )
        return meta, arrays

    def _state_shapes(self) -> dict[str, tuple[int, ...]]:
        n_users, n_items, n_pairs = len(self.users_), len(self.items_), len(self.day_bias_)
        return {
            **super()._state_shapes(),
            "user_drift_": (n_users,),
            "user_mean_day_": (n_users,),
            "day_users_": (n_pairs,),
            "day_numbers_": (n_pairs,),
            "item_bin_bias_": (n_items, self.n_bins),
            "bin_edges_": (self.n_bins + 1,),
        }

    def _set_state(self, meta: dict, arrays: dict) -> None:
        super()._set_state(meta, arrays)
        self.user_mean_day_ = arrays["user_mean_day"]
        self.day_users_ = arrays["day_users"]
        self.day_numbers_ = arrays["day_numbers"]
        self.bin_edges_ = arrays["bin_edges"]
        keys = self.day_users_.astype(np.int64) * (1 << 32) + self.day_numbers_
        if (
            not np.isfinite(self.user_mean_day_).all()
            or not np.isfinite(self.bin_edges_).all()
            or np.any(np.diff(self.bin_edges_) <= 0)
            or np.any(np.diff(keys) <= 0)
            or (
                self.day_users_.size
                and not 0 <= self.day_users_.min() <= self.day_users_.max() < len(self.users_)
            )
        ):
            raise ValueError("the time encodings (day keys, mean days, bin edges) are inconsistent")


@register
class TimeAwareMF(TimeTerms, BiasedMF):
    """Biased MF with time-aware biases (Koren 2009), fitted by exact alternating blocks.

    See the module docstring for the model and the sweep. Everything else (input, history,
    early stopping, ranking, persistence) is :class:`~recsys_helpers.models.als.BiasedMF`'s.
    Training ratings, and rows to predict, need a ``timestamp`` column (Unix seconds).

    Parameters
    ----------
    time_effects : sequence of {"user_day", "user_drift", "item_bins"}, default all three
        The time terms: ``b_{u,t}`` (one offset per user and day with ratings),
        ``α_u dev_u(t)`` (the user's linear drift) and ``b_{i,Bin(t)}`` (the movie's bias
        per time bin). ``()`` is exactly :class:`~recsys_helpers.models.als.BiasedMF`.
    reg_day : float, default 10.0
        ``λ_d``, penalty on the day offsets ``b_{u,t}²``.
    reg_drift : float, default 10000.0
        ``λ_α``, penalty on the drift slopes ``α_u²`` (stars per day^β).
    reg_bin : float, default 50.0
        ``λ_bin``, penalty on the bin offsets ``b_{i,Bin(t)}²``.
    n_bins : int, default 30
        Equal time bins spanning the training ratings.
    beta : float, default 0.4
        ``β``, the exponent of ``dev_u(t)``.
    n_factors, reg, reg_bias, scale_reg, n_iter, solver, dtype, init_std, random_state, tol,
    early_stopping, patience, rating_range, cg_steps, fit_biases, verbose
        As in :class:`~recsys_helpers.models.als.BiasedMF` (``fit_biases=False`` drops
        ``b_u`` and ``b_i``, not the time terms).

    Notes
    -----
    Defaults were chosen by validation RMSE on ml-latest-small, as for ``BiasedMF``: the
    seeded 90/10 split (seed 42) whose training part was split again 90/10 (seed 7); the
    test part was never used (``python -m benchmarks.bench_temporal --tune``). Stage 1 at
    ``K = 64, λ = 12, λ_b = 3``: ``λ_d ∈ {3, 10, 30}``, ``λ_α ∈ {10, 100, 1000, 10⁴}``,
    ``λ_bin ∈ {10, 50, 200}`` → ``λ_d = 10, λ_α = 10⁴, λ_bin = 50`` (0.8225; ``λ_α`` moves
    it by at most 0.0003, ``λ_d`` and ``λ_bin`` by up to 0.0022). Stage 2:
    ``λ ∈ {10, 12, 15, 20}``, ``λ_b ∈ {2, 3, 5}`` → 12 and 3 kept (0.8225). Around that
    point ``n_bins ∈ {15, 30, 60}`` and ``β ∈ {0.2, 0.4, 0.6}`` span 0.0008 (15 bins and
    ``β = 0.6`` at 0.8222), three initialisation seeds 0.0002: ``n_bins = 30`` and
    ``β = 0.4`` (Koren's) are kept. Without time terms the same split gives 0.8335 (the
    ``BiasedMF`` defaults). See ``NOTATION.md``.

    Attributes
    ----------
    user_drift_ : ndarray (n_users,)
        ``α_u``.
    user_mean_day_ : ndarray of float64 (n_users,)
        ``t_u``, the user's mean training day (days since 1970-01-01, UTC).
    day_bias_ : ndarray of float64 (n_user_days,)
        ``b_{u,t}``, one per (user, day) with training ratings.
    day_users_, day_numbers_ : ndarray of int64 (n_user_days,)
        The user row and the day of each offset, sorted by user then day.
    item_bin_bias_ : ndarray of float64 (n_items, n_bins)
        ``b_{i,k}``.
    bin_edges_ : ndarray of float64 (n_bins + 1,)
        Bin ``k`` spans ``[bin_edges_[k], bin_edges_[k+1])`` (Unix seconds).
    Plus every attribute of :class:`~recsys_helpers.models.als.BiasedMF`.
    """

    _state_attributes = BiasedMF._state_attributes + TimeTerms._time_attributes

    def __init__(
        self,
        *,
        time_effects: Sequence[str] = TIME_EFFECTS,
        reg_day: float = 10.0,
        reg_drift: float = 10000.0,
        reg_bin: float = 50.0,
        n_bins: int = 30,
        beta: float = 0.4,
        n_factors: int = 64,
        reg: float = 12.0,
        reg_bias: float = 3.0,
        scale_reg: bool = False,
        n_iter: int = 15,
        solver: str = "auto",
        dtype: str = "float32",
        init_std: float = 0.1,
        random_state: int = 0,
        tol: float | None = 1e-4,
        early_stopping: bool = False,
        patience: int = 2,
        rating_range: tuple[float, float] | None = None,
        cg_steps: int | None = None,
        fit_biases: bool = True,
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
            early_stopping=early_stopping,
            patience=patience,
            rating_range=rating_range,
            cg_steps=cg_steps,
            fit_biases=fit_biases,
            verbose=verbose,
        )
        self.time_effects = time_effects
        self.reg_day = reg_day
        self.reg_drift = reg_drift
        self.reg_bin = reg_bin
        self.n_bins = n_bins
        self.beta = beta

    def _sweep(self, data, kernels_module) -> None:
        """Users, the user time block, movies, the movie time block (each exact)."""
        self._map_sweep(data, kernels_module)

    # ------------------------------------------------------------------ prediction
    def _predict_index(self, user_index, item_index, X=None) -> np.ndarray:
        """``μ + b_u + b_i + U_u·V_i`` plus the time terms at each row's ``timestamp``."""
        seconds = self._timestamps(X)
        prediction = super()._predict_index(user_index, item_index, X)
        for values in self._terms_at(user_index, item_index, seconds).values():
            prediction += values
        return prediction

    # ------------------------------------------------------------------ ranking and fold-in
    def _present_item_bias(self) -> np.ndarray:
        """``b_i + b_{i,Bin(t_end)}``: each movie's bias in the last bin."""
        return self.item_bias_ + self.item_bin_bias_[:, -1]

    def _user_state(self, row: int):
        """``(b_u + α_u dev_u(t_end), U_u)``: the user at the end of the training span."""
        bias = float(self.user_bias_[row] + self.user_drift_[row] * self._drift_at_end([row])[0])
        return bias, self.user_factors_[row]

    def _item_scores(self, state, item_bias_weight: float) -> tuple[np.ndarray, dict]:
        bias, vector = state
        scores = ranking.ranking_scores(
            self.global_mean_,
            bias,
            vector,
            self._present_item_bias(),
            self.item_factors_,
            item_bias_weight=item_bias_weight,
        )
        return scores, {}

    def _fold_in_state(self, index: np.ndarray, values: np.ndarray):
        """A new user's ``(b_u, U_u)`` from ratings given now; no time terms of their own."""
        return ranking.fold_in(
            index,
            values,
            self.global_mean_,
            self._present_item_bias(),
            self.item_factors_,
            self.reg,
            self.reg_bias,
            scale_reg=self.scale_reg,
            fit_bias=self.fit_biases,
        )
