r"""Time encodings and the exact ridge block of the time-aware model: pure functions of arrays.

The time-aware model (:class:`~recsys_helpers.models.temporal.TimeAwareMF`, symbols in
``NOTATION.md``) adds to ``r̂_ui = μ + b_u + b_i + U_u · V_i`` three terms of Koren's
time-aware baseline ("Collaborative filtering with temporal dynamics", KDD 2009)::

    b_u(t) = b_u + α_u dev_u(t) + b_{u,t}        b_i(t) = b_i + b_{i,Bin(t)}

with ``t`` the rating's day (:func:`day_number`), ``dev_u(t)`` the user's drift
(:func:`drift`) around their mean rating day ``t_u``, ``b_{u,t}`` one offset per
(user, day) with ratings (:func:`user_days`, :func:`find_user_days`) and ``Bin(t)`` one of
``n_bins`` equal spans of the training period (:func:`bin_edges`, :func:`time_bin`).

Every term enters ``r̂`` linearly, so given everything else the parameters of one row (a
user's ``b_u``, ``α_u`` and day offsets; a movie's ``b_i`` and bin offsets) are a ridge
regression with a closed form. :func:`grouped_ridge` solves all rows at once: shared
coefficients per row plus one offset per group of entries (a day, a bin), the offsets
eliminated exactly (a Schur complement), so the block stays one exact minimisation.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "SECONDS_PER_DAY",
    "TIME_EFFECTS",
    "bin_edges",
    "day_number",
    "drift",
    "find_user_days",
    "gathered_sum",
    "grouped_ridge",
    "time_bin",
    "user_days",
]

TIME_EFFECTS = ("user_day", "user_drift", "item_bins")
"""Names of the time terms: ``b_{u,t}``, ``α_u dev_u(t)`` and ``b_{i,Bin(t)}``."""

SECONDS_PER_DAY = 86_400


def day_number(seconds) -> np.ndarray:
    """``t``: the UTC calendar day of Unix times, as whole days since 1970-01-01.

    Parameters
    ----------
    seconds : array_like of int or float, shape (n,)
        Unix seconds.

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    return np.floor_divide(np.asarray(seconds), SECONDS_PER_DAY).astype(np.int64)


def drift(days, mean_days, beta: float) -> np.ndarray:
    r"""``dev_u(t) = sign(t − t_u) · |t − t_u|^β``, the user's drift regressor (days).

    Parameters
    ----------
    days : array_like of int, shape (n,)
        ``t`` (:func:`day_number`).
    mean_days : array_like of float, shape (n,)
        ``t_u``: the mean training day of each rating's user.
    beta : float
        ``β >= 0`` (0.4 in Koren 2009): sub-linear growth away from ``t_u``.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    delta = np.asarray(days, dtype=np.float64) - np.asarray(mean_days, dtype=np.float64)
    return np.sign(delta) * np.abs(delta) ** beta


def bin_edges(start: float, stop: float, n_bins: int) -> np.ndarray:
    """Edges of ``n_bins`` equal time bins spanning ``[start, stop]`` (Unix seconds).

    A zero-length span (every rating at one instant) gets bins of one second.

    Returns
    -------
    ndarray of float64, shape (n_bins + 1,)
    """
    start, stop = float(start), float(stop)
    if stop <= start:
        return start + np.arange(n_bins + 1, dtype=np.float64)
    return np.linspace(start, stop, n_bins + 1)


def time_bin(seconds, edges: np.ndarray) -> np.ndarray:
    """``Bin(t)``: the bin of each time; times outside the edges get the first or last bin.

    Parameters
    ----------
    seconds : array_like, shape (n,)
        Unix seconds.
    edges : ndarray, shape (n_bins + 1,)
        :func:`bin_edges`; bin ``k`` is ``[edges[k], edges[k+1])``, the last one closed.

    Returns
    -------
    ndarray of int64, shape (n,), in ``0 … n_bins − 1``
    """
    n_bins = len(edges) - 1
    found = np.searchsorted(edges, np.asarray(seconds, dtype=np.float64), side="right") - 1
    return np.clip(found, 0, n_bins - 1).astype(np.int64)


def user_days(rows: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (user, day) pairs of some ratings, sorted, and each rating's pair.

    Parameters
    ----------
    rows : ndarray of int, shape (n,)
        User row of each rating.
    days : ndarray of int, shape (n,)
        Its day ``t``.

    Returns
    -------
    key_rows, key_days : ndarray of int64, shape (n_pairs,)
        The pairs, sorted by user then day: offset ``b_{u,t}`` number ``k`` belongs to user
        ``key_rows[k]`` on day ``key_days[k]``.
    pair : ndarray of int64, shape (n,)
        Each rating's pair, ``0 … n_pairs − 1``.
    """
    rows, days = np.asarray(rows, dtype=np.int64), np.asarray(days, dtype=np.int64)
    if rows.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    first, span = int(days.min()), int(days.max() - days.min()) + 1
    keys, pair = np.unique(rows * span + (days - first), return_inverse=True)
    return keys // span, keys % span + first, pair.astype(np.int64)


def find_user_days(
    key_rows: np.ndarray, key_days: np.ndarray, rows: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """Offset number of each (user, day), ``-1`` where the pair has no offset.

    Parameters
    ----------
    key_rows, key_days : ndarray of int64, shape (n_pairs,)
        Sorted pairs from :func:`user_days`.
    rows : ndarray of int, shape (n,)
        User rows to look up (``-1``, an unknown user, is never found).
    days : ndarray of int, shape (n,)

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    rows, days = np.asarray(rows, dtype=np.int64), np.asarray(days, dtype=np.int64)
    found = np.full(rows.shape, -1, dtype=np.int64)
    if key_rows.size == 0:
        return found
    first = int(key_days.min())
    span = int(key_days.max()) - first + 1
    keys = key_rows * span + (key_days - first)  # sorted, as user_days made them
    inside = (rows >= 0) & (days >= first) & (days < first + span)
    query = rows[inside] * span + (days[inside] - first)
    position = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    hit = keys[position] == query
    found[np.flatnonzero(inside)[hit]] = position[hit]
    return found


def grouped_ridge(
    rows: np.ndarray,
    design: np.ndarray,
    targets: np.ndarray,
    penalty,
    n_rows: int,
    *,
    groups: np.ndarray | None = None,
    group_rows: np.ndarray | None = None,
    group_penalty: float = 0.0,
    noise: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact ridge regression of every row, with an offset per group of its entries, or a
    draw from the matching Gaussian conditional.

    For every row ``r`` (a user or a movie) solves

    .. math::

        \min_{\theta_r,\, d} \sum_{j \in r} (y_j - z_j^T \theta_r - d_{g(j)})^2
            + \sum_k P_k \theta_{rk}^2 + \lambda_g \sum_{g \in r} d_g^2 ,

    where every entry ``j`` of a group ``g`` belongs to the group's row. The offsets are
    eliminated exactly: with ``n_g`` entries, means ``z̄_g``, ``ȳ_g`` and ``s_g = n_g λ_g /
    (n_g + λ_g)``, ``θ_r`` solves the ``p × p`` system

    .. math::

        \Big(\sum_{j\in r} (z_j - \bar z_g)(z_j - \bar z_g)^T + \sum_{g\in r} s_g \bar z_g
        \bar z_g^T + P\Big)\,\theta_r = \sum_{j\in r} (z_j - \bar z_g)(y_j - \bar y_g)
        + \sum_{g\in r} s_g \bar z_g \bar y_g

    (centred within groups, so nothing cancels), then ``d_g = n_g (ȳ_g − z̄_g·θ_r) /
    (n_g + λ_g)``. Rows without entries keep ``θ = 0``, groups without entries ``d = 0``
    (their prior means).

    With ``noise`` the function samples instead of solving: read as the Gaussian model
    ``y_j ~ N(z_j^T θ_r + d_{g(j)}, 1/α)`` with priors ``θ_{rk} ~ N(0, 1/(α P_k))`` and
    ``d_g ~ N(0, 1/(α λ_g))``, the conditional of ``θ_r`` (offsets integrated out) is
    ``N(θ̂_r, (α G_r)⁻¹)`` with ``G_r`` the ``p × p`` matrix above and ``θ̂_r`` the ridge
    solution, and given ``θ_r`` each offset is ``N(d̂_g, 1/(α (n_g + λ_g)))``. The draw is
    ``θ_r = θ̂_r + L_r^{-T} z_r`` (``G_r = L_r L_r^T``), then ``d_g = d̂_g(θ_r) + z_g /
    sqrt(n_g + λ_g)``, with ``z ~ N(0, 1/α)`` given in ``noise``: jointly exact. Every row
    is drawn (rows without entries from their prior, so ``P`` must be positive); groups
    without entries stay at 0, as they have no parameter.

    The group means and every row's ``p × p`` system are summed in two compiled passes
    over the entries (:func:`_group_means`, :func:`_row_normal_equations`); the small
    systems are then solved (or drawn) together by NumPy.

    In the time-aware model a user's row has ``z = [1, dev_u(t)]``,
    ``θ = [b_u, α_u]`` and one group per day; a movie's has ``z = [1]``, ``θ = [b_i]``
    and one group per time bin.

    Parameters
    ----------
    rows : ndarray of int, shape (n,)
        Row of each entry, ``0 … n_rows − 1``.
    design : ndarray of float, shape (n, p)
        ``z_j`` (``p`` may be 0: offsets only).
    targets : ndarray of float, shape (n,)
        ``y_j``: the rating minus every term of ``r̂`` outside the block.
    penalty : array_like of float, shape (p,)
        ``P_k >= 0``.
    n_rows : int
    groups : ndarray of int, shape (n,), optional
        Group of each entry, ``0 … n_groups − 1``; None: no offsets.
    group_rows : ndarray of int, shape (n_groups,)
        Row of each group (with ``groups``).
    group_penalty : float, default 0
        ``λ_g >= 0``.
    noise : (ndarray (n_rows, p), ndarray (n_groups,)), optional
        ``z``: i.i.d. ``N(0, 1/α)`` for the rows and the groups; given, the function
        returns a draw (see above) instead of the ridge solution.

    Returns
    -------
    theta : ndarray of float64, shape (n_rows, p)
        NaN in the rows of a singular system (zero penalties and too few entries).
    offsets : ndarray of float64, shape (n_groups,)
        ``d``; empty without groups.
    """
    rows = _index_array(rows)
    design = np.ascontiguousarray(design, dtype=np.float64).reshape(len(rows), -1)
    targets = np.ascontiguousarray(targets, dtype=np.float64)
    n_columns = design.shape[1]
    penalty = np.asarray(penalty, dtype=np.float64).reshape(n_columns)
    theta = np.zeros((n_rows, n_columns))
    grouped = groups is not None
    _check_indices("rows", rows, n_rows)  # the compiled passes index without bounds checks
    if grouped:
        groups = _index_array(groups)
        group_rows = _index_array(group_rows)
        _check_indices("groups", groups, len(group_rows))
        _check_indices("group_rows", group_rows, n_rows)
        sizes, means, mean_targets = _group_means(groups, design, targets, len(group_rows))
        denominator = sizes + group_penalty
        safe = np.where(denominator > 0, denominator, 1.0)
        shrink = sizes * group_penalty / safe
    else:
        offsets = np.empty(0)
        groups = group_rows = np.empty(0, dtype=np.int64)
        sizes = shrink = mean_targets = np.empty(0)
        means = np.empty((0, n_columns))
    if n_columns:
        gram, rhs = _row_normal_equations(
            rows, design, targets, groups, group_rows, means, mean_targets, shrink, n_rows
        )
        gram[:, np.arange(n_columns), np.arange(n_columns)] += penalty
        if noise is None:
            filled = np.flatnonzero(np.bincount(rows, minlength=n_rows) > 0)
            try:
                theta[filled] = np.linalg.solve(gram[filled], rhs[filled, :, None])[:, :, 0]
            except np.linalg.LinAlgError:  # zero penalties and too few entries: report NaN
                theta[filled] = np.nan
        else:
            lower = np.linalg.cholesky(gram)
            half = np.linalg.solve(lower, rhs[:, :, None])  # L⁻¹ b, then L⁻ᵀ (L⁻¹ b + z)
            half[:, :, 0] += noise[0]
            theta = np.linalg.solve(np.swapaxes(lower, 1, 2), half)[:, :, 0]
    if grouped:
        fitted = np.einsum("gk,gk->g", means, theta[group_rows]) if n_columns else 0.0
        offsets = np.where(denominator > 0, sizes * (mean_targets - fitted) / safe, 0.0)
        if noise is not None:
            offsets += np.where(sizes > 0, noise[1] / np.sqrt(safe), 0.0)
    return theta, offsets


def _index_array(values) -> np.ndarray:
    """Indices as the compiled passes read them: int32 or int64 arrays as they are (the
    per-entry indices are int32, and a copy per call would cost as much as the pass)."""
    values = np.asarray(values)
    if values.dtype in (np.int32, np.int64):
        return values
    return values.astype(np.int64)


def gathered_sum(n: int, terms) -> np.ndarray:
    """``Σ_k values_k[index_k[j]] · scale_k[j]`` for each of ``n`` entries, in one compiled
    pass per term (the time terms of every rating, e.g. ``α_u dev_u(t) + b_{u,t}``).

    Parameters
    ----------
    n : int
        Number of entries.
    terms : iterable of (values, index, scale)
        ``values`` float (m,), ``index`` int (n,) in ``0 … m − 1`` (not checked: the
        model builds these indices itself), ``scale`` float (n,) or None (1).

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    total = np.zeros(n)
    for values, index, scale in terms:
        _add_gathered(
            total,
            np.ascontiguousarray(values, dtype=np.float64),
            _index_array(index),
            np.empty(0) if scale is None else np.ascontiguousarray(scale, dtype=np.float64),
        )
    return total


@numba.njit(parallel=True, cache=True)
def _add_gathered(total, values, index, scale):  # pragma: no cover - compiled
    scaled = len(scale) > 0
    for j in numba.prange(len(total)):
        value = values[index[j]]
        total[j] += value * scale[j] if scaled else value


def _check_indices(name: str, values: np.ndarray, size: int) -> None:
    """Raise ValueError unless every value lies in ``0 … size − 1``."""
    if len(values) and (values.min() < 0 or values.max() >= size):
        raise ValueError(
            f"grouped_ridge: {name} must lie in 0 … {size - 1}, "
            f"got values from {values.min()} to {values.max()}"
        )


@numba.njit(cache=True)
def _group_means(groups, design, targets, n_groups):  # pragma: no cover - compiled
    """Per group: its number of entries ``n_g``, ``z̄_g`` (n_groups, p) and ``ȳ_g`` (0 for
    groups without entries)."""
    sizes = np.zeros(n_groups)
    means = np.zeros((n_groups, design.shape[1]))
    mean_targets = np.zeros(n_groups)
    for j in range(len(groups)):
        group = groups[j]
        sizes[group] += 1.0
        mean_targets[group] += targets[j]
        for a in range(design.shape[1]):
            means[group, a] += design[j, a]
    for group in range(n_groups):
        if sizes[group] > 0:
            mean_targets[group] /= sizes[group]
            means[group] /= sizes[group]
    return sizes, means, mean_targets


@numba.njit(cache=True)
def _row_normal_equations(  # pragma: no cover - compiled
    rows, design, targets, groups, group_rows, means, mean_targets, shrink, n_rows
):
    """Each row's ``p × p`` matrix and right-hand side of :func:`grouped_ridge` (without
    ``P``): ``Σ_j (z_j − z̄_g)(z_j − z̄_g)ᵀ + Σ_g s_g z̄_g z̄_gᵀ`` and ``Σ_j (z_j − z̄_g)(y_j −
    ȳ_g) + Σ_g s_g z̄_g ȳ_g``, in one pass over the entries and one over the groups (no
    centring when ``groups`` is empty)."""
    n_columns = design.shape[1]
    gram = np.zeros((n_rows, n_columns, n_columns))
    rhs = np.zeros((n_rows, n_columns))
    centred = np.empty(n_columns)
    grouped = len(groups) > 0
    for j in range(len(rows)):
        row, target = rows[j], targets[j]
        for a in range(n_columns):
            centred[a] = design[j, a]
        if grouped:
            target -= mean_targets[groups[j]]
            for a in range(n_columns):
                centred[a] -= means[groups[j], a]
        for a in range(n_columns):
            rhs[row, a] += centred[a] * target
            for b in range(a + 1):
                gram[row, a, b] += centred[a] * centred[b]
    for group in range(len(group_rows)):
        row = group_rows[group]
        for a in range(n_columns):
            rhs[row, a] += shrink[group] * means[group, a] * mean_targets[group]
            for b in range(a + 1):
                gram[row, a, b] += shrink[group] * means[group, a] * means[group, b]
    for row in range(n_rows):
        for a in range(n_columns):
            for b in range(a):
                gram[row, b, a] = gram[row, a, b]
    return gram, rhs
