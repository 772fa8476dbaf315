r"""Vectorised NumPy kernels of biased ALS: the readable reference implementation.

Model (see ``NOTATION.md``)::

    r̂_ui = μ + b_u + b_i + U_u · V_i

fitted by minimising

.. math::

    J = \sum_{(u,i)\in\Omega} (r_{ui} - \hat r_{ui})^2
        + \sum_u (c_u \lambda \|U_u\|^2 + \lambda_b b_u^2)
        + \sum_i (c_i \lambda \|V_i\|^2 + \lambda_b b_i^2)

with ``c = 1`` (plain ridge) or ``c = |Ω_u|`` / ``|Ω_i|`` (count-scaled, "ALS-WR"; the bias
penalty is never scaled).

One routine, :func:`solve_side`, solves one side given the other. For a row ``u`` (a user,
or a movie when the roles are swapped) it solves the (K+1)-dimensional ridge problem with
design rows ``x_i = [1, V_i]`` and targets ``t_ui = r_ui − μ − b_i`` over ``i ∈ Ω_u``:

.. math::

    (X_u^T X_u + P_u) \, [b_u, U_u] = X_u^T t_u, \qquad P_u = \mathrm{diag}(\lambda_b,
    c_u\lambda, \dots, c_u\lambda).

Rows without ratings get the prior mean: bias 0 and vector 0. These kernels are pure
functions of arrays; :mod:`recsys_helpers._numba_solvers` holds the compiled twins.
"""

from __future__ import annotations

import numpy as np

#: Entries × (K+1)² elements per batch of the outer-product Gram build (~64 MiB in float64).
_BATCH_ELEMENTS = 1 << 23


def row_of_entries(indptr: np.ndarray) -> np.ndarray:
    """Row index of every stored entry of a CSR structure.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)

    Returns
    -------
    ndarray of int64, shape (nnz,)
        ``rows[j] = r`` for ``indptr[r] <= j < indptr[r+1]``.
    """
    counts = np.diff(indptr)
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def penalty_diagonal(
    counts: np.ndarray, n_factors: int, reg: float, reg_bias: float, scale_by_count: bool
) -> np.ndarray:
    """Diagonal ``[λ_b, c_u λ, …, c_u λ]`` of each row's penalty.

    Only the vector penalty is count-scaled: ``λ_b`` acts as a damping of the bias by
    ``λ_b`` pseudo-ratings at the mean whatever the row's size, as in the classic
    baseline predictors.

    Parameters
    ----------
    counts : ndarray of int, shape (n_rows,)
        ``|Ω_u|``.
    n_factors : int
        ``K``.
    reg, reg_bias : float
        ``λ`` and ``λ_b``.
    scale_by_count : bool
        ``c_u = |Ω_u|`` (ALS-WR) instead of 1.

    Returns
    -------
    ndarray of float64, shape (n_rows, K + 1)
    """
    scale = counts.astype(np.float64) if scale_by_count else np.ones(len(counts))
    penalty = np.empty((len(counts), n_factors + 1))
    penalty[:, 0] = float(reg_bias)
    penalty[:, 1:] = float(reg) * scale[:, None]
    return penalty


def solve_side(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    other_factors: np.ndarray,
    reg: float,
    reg_bias: float,
    *,
    scale_by_count: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact ridge half-step: each row's bias and vector given the other side.

    Solves, for every row ``u`` with ``Ω_u ≠ ∅``,

    .. math::

        \min_{b_u, U_u} \sum_{i\in\Omega_u} (t_{ui} - b_u - U_u \cdot V_i)^2
            + \lambda_b b_u^2 + c_u \lambda \|U_u\|^2

    via the normal equations ``(X_u^T X_u + P_u) w = X_u^T t_u`` with ``X_u`` rows
    ``[1, V_i]``. The Gram matrices are built from outer products in memory-bounded
    batches (never the whole ``nnz × (K+1)²``) and solved by batched Cholesky-backed
    ``numpy.linalg.solve``. ``K = 0`` uses the scalar closed form
    ``b_u = Σ t_ui / (|Ω_u| + λ_b)``.

    Parameters
    ----------
    indptr, indices : ndarray of int, shapes (n_rows + 1,), (nnz,)
        CSR structure of this side's ratings; ``indices`` index rows of ``other_factors``.
    targets : ndarray of float, shape (nnz,)
        ``t_ui = r_ui − μ − b_i`` aligned with ``indices`` (a hybrid model may pass targets
        adjusted by prior means).
    other_factors : ndarray of float, shape (n_other, K)
        ``V``; its dtype is the output dtype.
    reg, reg_bias : float
        ``λ`` (vectors) and ``λ_b`` (biases), both ``>= 0``.
    scale_by_count : bool, default False
        Multiply the vector penalty ``λ`` by ``|Ω_u|``.

    Returns
    -------
    bias : ndarray, shape (n_rows,)
    factors : ndarray, shape (n_rows, K)
        Zero for rows without ratings.
    """
    dtype = other_factors.dtype
    n_rows = len(indptr) - 1
    n_factors = other_factors.shape[1]
    counts = np.diff(indptr)
    penalty = penalty_diagonal(counts, n_factors, reg, reg_bias, scale_by_count)
    bias = np.zeros(n_rows, dtype=dtype)
    factors = np.zeros((n_rows, n_factors), dtype=dtype)
    if n_factors == 0:
        sums = np.bincount(row_of_entries(indptr), weights=targets, minlength=n_rows)
        nonempty = counts > 0
        bias[nonempty] = sums[nonempty] / (counts[nonempty] + penalty[nonempty, 0])
        return bias, factors

    width = n_factors + 1
    per_batch = max(1, _BATCH_ELEMENTS // (width * width))
    nonempty_rows = np.flatnonzero(counts > 0)
    position = 0
    while position < len(nonempty_rows):
        # Take whole rows until the batch holds about `per_batch` entries (at least one row).
        start_entry = indptr[nonempty_rows[position]]
        stop = np.searchsorted(indptr[nonempty_rows + 1], start_entry + per_batch, side="right")
        stop = max(stop, position + 1)
        rows = nonempty_rows[position:stop]
        position = stop
        # Empty rows hold no entries, so the batch's entries are one contiguous range.
        entries = np.arange(indptr[rows[0]], indptr[rows[-1] + 1])
        design = np.empty((len(entries), width), dtype=np.float64)
        design[:, 0] = 1.0
        design[:, 1:] = other_factors[indices[entries]]
        starts = np.concatenate(([0], np.cumsum(counts[rows])[:-1]))
        gram = np.add.reduceat(design[:, :, None] * design[:, None, :], starts, axis=0)
        rhs = np.add.reduceat(design * targets[entries, None], starts, axis=0)
        gram[:, np.arange(width), np.arange(width)] += penalty[rows]
        try:
            solution = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # singular (no penalty, too few ratings): report NaN
            solution = np.full(rhs.shape, np.nan)
        bias[rows] = solution[:, 0]
        factors[rows] = solution[:, 1:]
    return bias, factors


def pair_dots(
    user_index: np.ndarray,
    item_index: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    *,
    batch_size: int = 1 << 20,
) -> np.ndarray:
    """Dot products ``U_u · V_i`` for index pairs, gathered in batches of rows.

    Parameters
    ----------
    user_index, item_index : ndarray of int, shape (n,)
    user_factors : (n_users, K);  item_factors : (n_items, K)
    batch_size : int
        Pairs per gather, bounding memory to ``batch_size × K``.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    out = np.empty(len(user_index), dtype=np.float64)
    for start in range(0, len(user_index), batch_size):
        stop = start + batch_size
        out[start:stop] = np.einsum(
            "nk,nk->n",
            user_factors[user_index[start:stop]],
            item_factors[item_index[start:stop]],
            dtype=np.float64,
        )
    return out


def residuals(
    user_index: np.ndarray,
    item_index: np.ndarray,
    ratings: np.ndarray,
    global_mean: float,
    user_bias: np.ndarray,
    item_bias: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    *,
    batch_size: int = 1 << 20,
) -> np.ndarray:
    """Residuals ``e_ui = r_ui − (μ + b_u + b_i + U_u · V_i)`` in batches of rows.

    Parameters
    ----------
    user_index, item_index : ndarray of int, shape (n,)
    ratings : ndarray of float, shape (n,)
    global_mean : float
    user_bias : (n_users,);  item_bias : (n_items,)
    user_factors : (n_users, K);  item_factors : (n_items, K)
    batch_size : int
        Rows per gather, bounding memory to ``batch_size × K``.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    return (
        ratings
        - global_mean
        - user_bias[user_index].astype(np.float64)
        - item_bias[item_index]
        - pair_dots(user_index, item_index, user_factors, item_factors, batch_size=batch_size)
    )


def penalty_value(
    bias: np.ndarray,
    factors: np.ndarray,
    counts: np.ndarray,
    reg: float,
    reg_bias: float,
    scale_by_count: bool,
) -> float:
    """One side's penalty ``Σ_u (c_u λ ‖U_u‖² + λ_b b_u²)``.

    Parameters
    ----------
    bias : (n_rows,);  factors : (n_rows, K);  counts : (n_rows,) int
    reg, reg_bias : float
    scale_by_count : bool

    Returns
    -------
    float
    """
    per_row = reg * np.einsum("nk,nk->n", factors, factors, dtype=np.float64)
    if scale_by_count:
        per_row *= counts
    per_row += reg_bias * np.square(bias, dtype=np.float64)
    return float(per_row.sum())
