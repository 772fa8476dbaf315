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

Rows without ratings get the prior mean: bias 0 and vector 0.

The Gibbs sampler of Bayesian PMF (:class:`~recsys_helpers.models.bayes.BayesianMF`) draws
each row from its Gaussian conditional, whose precision has the same Gram matrix:
:func:`sample_side` solves ``(X_u^T X_u + P) w = X_u^T t_u + p`` with a full prior
precision ``P`` shared by all rows and adds ``L^{-T} z``. These kernels are pure functions
of arrays; :mod:`recsys_helpers.models.kernels_numba` holds the compiled twins.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import ThreadpoolController

#: Controller of the BLAS libraries, made on first use by :func:`one_blas_thread`.
_BLAS = None

#: Entries × (K+1)² elements per batch of the outer-product Gram build (~64 MiB in float64).
_BATCH_ELEMENTS = 1 << 23


def one_blas_thread():
    """Context limiting BLAS to one thread.

    For work beside numba's threads (which do the parallel work): a multi-threaded BLAS
    competing with them for the cores is many times slower on small products. The BLAS
    libraries are looked up once, on the first call, after importing SciPy's (the one
    numba's ``np.dot`` calls); ``threadpoolctl.threadpool_limits`` looks them up at every
    call instead, which costs milliseconds each time.
    """
    global _BLAS
    if _BLAS is None:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS numba calls)

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def entry_index(values: np.ndarray, size: int) -> np.ndarray:
    """Per-entry row numbers (a side's ``indices`` or ``rows``) as the kernels read them.

    int32: half the memory of int64 for the arrays that hold one number per rating, and
    no int64 copy of the rating matrix's own int32 indices.

    Parameters
    ----------
    values : ndarray of int, shape (nnz,)
        Row numbers in ``0 … size − 1``.
    size : int
        Number of rows they point into.

    Returns
    -------
    ndarray of int32, shape (nnz,), C-contiguous (``values`` itself when it already is)

    Raises
    ------
    ValueError
        When ``size`` does not fit in int32.
    """
    if size > np.iinfo(np.int32).max:
        raise ValueError(f"entry indices into {size} rows do not fit in int32")
    return np.ascontiguousarray(values, dtype=np.int32)


def row_of_entries(indptr: np.ndarray) -> np.ndarray:
    """Row index of every stored entry of a CSR structure.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)

    Returns
    -------
    ndarray of int32, shape (nnz,)
        ``rows[j] = r`` for ``indptr[r] <= j < indptr[r+1]`` (see :func:`entry_index`).
    """
    counts = np.diff(indptr)
    return np.repeat(entry_index(np.arange(len(counts)), len(counts)), counts)


def row_penalties(counts: np.ndarray, reg: float, reg_bias: float, scale_reg: bool) -> np.ndarray:
    """Each row's two penalties ``[λ_b, c_u λ]``: the bias's and the one every vector
    component shares (:func:`penalty_diagonal` spells them out per column).

    Parameters
    ----------
    counts : ndarray of int, shape (n_rows,)
        ``|Ω_u|``.
    reg, reg_bias : float
        ``λ`` and ``λ_b``.
    scale_reg : bool
        ``c_u = |Ω_u|`` (ALS-WR) instead of 1.

    Returns
    -------
    ndarray of float64, shape (n_rows, 2)
    """
    scale = counts.astype(np.float64) if scale_reg else np.ones(len(counts))
    return np.column_stack([np.full(len(counts), float(reg_bias)), float(reg) * scale])


def penalty_diagonal(
    counts: np.ndarray, n_factors: int, reg: float, reg_bias: float, scale_reg: bool
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
    scale_reg : bool
        ``c_u = |Ω_u|`` (ALS-WR) instead of 1.

    Returns
    -------
    ndarray of float64, shape (n_rows, K + 1)
    """
    pair = row_penalties(counts, reg, reg_bias, scale_reg)
    return np.column_stack([pair[:, 0], np.repeat(pair[:, 1:], n_factors, axis=1)])


def solve_side(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    other_factors: np.ndarray,
    reg: float,
    reg_bias: float,
    *,
    scale_reg: bool = False,
    fit_bias: bool = True,
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
    scale_reg : bool, default False
        Multiply the vector penalty ``λ`` by ``|Ω_u|``.
    fit_bias : bool, default True
        False drops ``b_u`` from the model (design rows ``V_i``; the bias stays 0).

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
    penalty = penalty_diagonal(counts, n_factors, reg, reg_bias, scale_reg)
    bias = np.zeros(n_rows, dtype=dtype)
    factors = np.zeros((n_rows, n_factors), dtype=dtype)
    lead = 1 if fit_bias else 0  # columns of the design before the vector
    if n_factors == 0:
        if not fit_bias:
            return bias, factors
        sums = np.bincount(row_of_entries(indptr), weights=targets, minlength=n_rows)
        nonempty = counts > 0
        bias[nonempty] = sums[nonempty] / (counts[nonempty] + penalty[nonempty, 0])
        return bias, factors

    for rows, gram, rhs in _normal_equations(indptr, indices, targets, other_factors, lead):
        width = gram.shape[1]
        gram[:, np.arange(width), np.arange(width)] += penalty[rows, 1 - lead :]
        try:
            solution = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # singular (no penalty, too few ratings): report NaN
            solution = np.full(rhs.shape, np.nan)
        if fit_bias:
            bias[rows] = solution[:, 0]
        factors[rows] = solution[:, lead:]
    return bias, factors


def _normal_equations(indptr, indices, targets, other_factors, lead):
    """``(rows, X_uᵀX_u, X_uᵀt_u)`` of the non-empty rows, in memory-bounded batches.

    Yields ``rows`` (int, (n,)), ``gram`` (float64, (n, w, w)) and ``rhs`` (float64,
    (n, w)) with ``w = K + lead``; design rows ``[1, V_i]`` (``[V_i]`` when ``lead`` is 0).
    """
    counts = np.diff(indptr)
    width = other_factors.shape[1] + lead
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
        design[:, :lead] = 1.0
        design[:, lead:] = other_factors[indices[entries]]
        if len(rows) == 1:  # one row (a fold-in): a plain product, no per-entry outer products
            yield rows, (design.T @ design)[None], (design.T @ targets[entries])[None]
            continue
        starts = np.concatenate(([0], np.cumsum(counts[rows])[:-1]))
        gram = np.add.reduceat(design[:, :, None] * design[:, None, :], starts, axis=0)
        rhs = np.add.reduceat(design * targets[entries, None], starts, axis=0)
        yield rows, gram, rhs


def dual_offsets(indptr: np.ndarray, width: int) -> np.ndarray:
    """Where each row's entry noise starts, for the rows :func:`sample_side` draws in the dual.

    A row with ``|Ω_u| < w`` (``w = K + 1`` unknowns) is drawn through its
    ``|Ω_u|``-dimensional dual system, which needs one noise value per rating
    (:func:`sample_side`); every other row needs none.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
    width : int
        ``w``.

    Returns
    -------
    ndarray of int64, shape (n_rows + 1,)
        Row ``u``'s entry noise is ``entry_noise[offsets[u] : offsets[u + 1]]``; the total,
        ``offsets[-1]``, is the length ``entry_noise`` must have.
    """
    counts = np.diff(np.asarray(indptr, dtype=np.int64))
    used = np.where(counts < width, counts, 0)
    return np.concatenate([[0], np.cumsum(used)]).astype(np.int64)


def check_prior(
    indptr: np.ndarray,
    width: int,
    precision: np.ndarray,
    shift: np.ndarray,
    noise: np.ndarray | None,
    entry_noise: np.ndarray | None,
) -> tuple:
    """The shared prior and the noise of :func:`sample_side`, checked, as contiguous float64.

    Returns
    -------
    precision, shift, noise, entry_noise, offsets
        ``offsets`` from :func:`dual_offsets`; ``noise`` and ``entry_noise`` are None
        together (the conditional means) or both arrays.

    Raises
    ------
    ValueError
        A shape does not fit ``(w, w)``, ``(w,)``, ``(n_rows, w)``, ``(offsets[-1],)``, or
        only one of the two noises is given.
    """
    n_rows = len(indptr) - 1
    precision = np.ascontiguousarray(precision, dtype=np.float64)
    shift = np.ascontiguousarray(shift, dtype=np.float64)
    if precision.shape != (width, width) or shift.shape != (width,):
        raise ValueError(
            f"precision must be ({width}, {width}) and shift ({width},); "
            f"got {precision.shape} and {shift.shape}"
        )
    offsets = dual_offsets(indptr, width)
    if (noise is None) != (entry_noise is None):
        raise ValueError("give both noise and entry_noise (a draw) or neither (the means)")
    if noise is not None:
        noise = np.ascontiguousarray(noise, dtype=np.float64)
        entry_noise = np.ascontiguousarray(entry_noise, dtype=np.float64)
        if noise.shape != (n_rows, width):
            raise ValueError(f"noise must be ({n_rows}, {width}), got {noise.shape}")
        if entry_noise.shape != (offsets[-1],):
            raise ValueError(
                f"entry_noise must be ({offsets[-1]},) (kernels.dual_offsets), "
                f"got {entry_noise.shape}"
            )
    return precision, shift, noise, entry_noise, offsets


def prior_factors(precision: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(Σ, G, m)`` of a shared prior ``(P, p)``: ``Σ = P⁻¹``, ``G = C⁻ᵀ`` with
    ``P = C Cᵀ`` (so ``G z ~ N(0, P⁻¹)`` for ``z ~ N(0, I)``), and ``m = P⁻¹ p``."""
    lower = np.linalg.cholesky(precision)
    root = np.linalg.inv(lower).T
    covariance = root @ root.T
    return covariance, root, covariance @ shift


def sample_side(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    other_factors: np.ndarray,
    precision: np.ndarray,
    shift: np.ndarray,
    noise: np.ndarray | None = None,
    entry_noise: np.ndarray | None = None,
    *,
    fit_bias: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gibbs half-step: each row's ``[b_u, U_u]`` drawn from its Gaussian conditional.

    With noise precision ``α`` and the prior ``[b_u, U_u] ~ N(m, Λ^{-1})``, the conditional
    of a row given the other side is Gaussian with precision ``α X_u^T X_u + Λ`` and mean
    ``w̄`` solving

    .. math:: (X_u^T X_u + P)\, \bar w = X_u^T t_u + p, \qquad P = Λ/α, \quad p = Λ m/α,

    the ALS half-step's normal equations with the full shared ``P`` in place of the
    diagonal ridge penalty. A row is drawn in the primal, with ``L L^T = X_u^T X_u + P``
    (Cholesky), as

    .. math:: w = L^{-T} (L^{-1} (X_u^T t_u + p) + z), \qquad z = ε/\sqrt{α}, \; ε \sim N(0, I),

    whose covariance ``L^{-T} L^{-1}/α = (α X_u^T X_u + Λ)^{-1}`` is the conditional's. A row
    with fewer ratings than unknowns, ``|Ω_u| < w`` (:func:`dual_offsets`; every row
    without ratings among them), is drawn in its ``|Ω_u|``-dimensional dual instead, by
    perturbing the prior and the targets and solving (Papandreou & Yuille 2010):

    .. math::

        w_0 = m + G z, \qquad
        w = w_0 + Σ X_u^T (X_u Σ X_u^T + I)^{-1} (t_u + η - X_u w_0),

    with ``Σ = P^{-1}``, ``G G^T = Σ`` and ``η = ε'/\sqrt{α}`` one value per rating: the same
    distribution. Since ``X_u Σ X_u^T = (X_u G)(X_u G)^T``, the compiled kernel whitens the
    other side's rows once (``[1, V_i] G``) and then pays ``O(|Ω_u|² w)`` per row, as the
    ALS dual does, instead of ``O(w³)``. Without ratings ``w = m + G z``, a draw from the
    prior.

    Parameters
    ----------
    indptr, indices, targets, other_factors
        As in :func:`solve_side` (``t_ui = r_ui − μ − b_i``).
    precision : ndarray, shape (w, w)
        ``P``, symmetric positive definite; ``w = K + 1`` (``K`` when ``fit_bias`` is
        False).
    shift : ndarray, shape (w,)
        ``p``.
    noise : ndarray, shape (n_rows, w), optional
        ``z``, one row per row.
    entry_noise : ndarray, shape (offsets[-1],), optional
        ``η`` of the rows drawn in the dual (:func:`dual_offsets`). Without both noises the
        result is the conditional means ``w̄``.
    fit_bias : bool, default True
        False: design rows ``V_i`` and the bias stays 0.

    Returns
    -------
    bias : ndarray, shape (n_rows,)
    factors : ndarray, shape (n_rows, K)
        In ``other_factors.dtype``.
    """
    dtype = other_factors.dtype
    lead = 1 if fit_bias else 0
    n_rows, width = len(indptr) - 1, other_factors.shape[1] + lead
    precision, shift, noise, entry_noise, offsets = check_prior(
        indptr, width, precision, shift, noise, entry_noise
    )
    if width == 0:
        return np.zeros(n_rows, dtype=dtype), np.zeros((n_rows, 0), dtype=dtype)
    counts = np.diff(indptr)
    dual = counts < width
    solution = np.zeros((n_rows, width))
    primal = np.flatnonzero(~dual)
    per_batch = max(1, _BATCH_ELEMENTS // (width * width))
    for first in range(0, len(primal), per_batch):
        rows = primal[first : first + per_batch]
        gram = np.broadcast_to(precision, (len(rows), width, width)).copy()
        rhs = np.broadcast_to(shift, (len(rows), width)).copy()
        for batch_rows, row_gram, row_rhs in _normal_equations(
            np.concatenate([[0], np.cumsum(counts[rows])]),
            np.concatenate([indices[indptr[r] : indptr[r + 1]] for r in rows]),
            np.concatenate([targets[indptr[r] : indptr[r + 1]] for r in rows]),
            other_factors,
            lead,
        ):
            gram[batch_rows] += row_gram
            rhs[batch_rows] += row_rhs
        lower = np.linalg.cholesky(gram)
        part = np.linalg.solve(lower, rhs[:, :, None])[:, :, 0]  # L y = X^T t + p
        if noise is not None:
            part += noise[rows]
        # L^T w = y (+ z)
        solution[rows] = np.linalg.solve(np.swapaxes(lower, 1, 2), part[:, :, None])[:, :, 0]
    covariance, root, mean = prior_factors(precision, shift)
    for count in np.unique(counts[dual]):
        rows = np.flatnonzero(dual & (counts == count))
        start = np.broadcast_to(mean, (len(rows), width)).copy()  # w_0
        if noise is not None:
            start += noise[rows] @ root.T
        entries = indptr[rows][:, None] + np.arange(count)
        design = np.empty((len(rows), count, width))
        design[:, :, :lead] = 1.0
        design[:, :, lead:] = other_factors[indices[entries]]
        residual = targets[entries] - np.einsum("rcw,rw->rc", design, start)
        if noise is not None:
            residual += entry_noise[offsets[rows][:, None] + np.arange(count)]
        scaled = design @ covariance  # X Σ
        kernel = scaled @ np.swapaxes(design, 1, 2) + np.eye(count)
        dual_solution = np.linalg.solve(kernel, residual[:, :, None])
        solution[rows] = start + (np.swapaxes(scaled, 1, 2) @ dual_solution)[:, :, 0]
    bias = solution[:, 0] if fit_bias else np.zeros(n_rows)
    return bias.astype(dtype), solution[:, lead:].astype(dtype)


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


def half_step_targets(
    ratings: np.ndarray, offset: float, other_bias: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """Targets of a half-step, ``t_ui = r_ui − μ − b_i`` (user side; the movie side alike).

    Parameters
    ----------
    ratings : ndarray of float, shape (n,)
        ``r_ui`` of one side's entries.
    offset : float
        ``μ``.
    other_bias : ndarray, shape (n_other,)
        The other side's biases.
    indices : ndarray of int, shape (n,)
        Other-side row of each entry.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    return np.asarray(ratings, dtype=np.float64) - offset - other_bias[indices]


def residuals(
    rows: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    bias: np.ndarray,
    factors: np.ndarray,
    other_factors: np.ndarray,
    *,
    batch_size: int = 1 << 20,
) -> np.ndarray:
    """Residuals ``e_ui = t_ui − b_u − U_u · V_i`` of one side's entries, in batches.

    With the targets of a half-step, ``t_ui = r_ui − μ − b_i``, these are the model's
    residuals ``r_ui − r̂_ui``.

    Parameters
    ----------
    rows, indices : ndarray of int, shape (n,)
        Own row ``u`` and other-side row ``i`` of each entry.
    targets : ndarray of float, shape (n,)
        ``t_ui``.
    bias : (n_rows,);  factors : (n_rows, K);  other_factors : (n_other, K)
    batch_size : int
        Entries per gather, bounding memory to ``batch_size × K``.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    return (
        targets
        - bias[rows].astype(np.float64)
        - pair_dots(rows, indices, factors, other_factors, batch_size=batch_size)
    )


def solve_side_around(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    other_factors: np.ndarray,
    prior_bias: np.ndarray,
    prior_factors: np.ndarray,
    reg: float,
    reg_bias: float,
    *,
    scale_reg: bool = False,
    solve=None,
    initial: tuple[np.ndarray, np.ndarray] | None = None,
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Ridge half-step that shrinks towards prior means instead of zero.

    Row ``u`` minimises

    .. math:: \sum_{i\in\Omega_u} (t_{ui} - b_u - U_u \cdot V_i)^2
              + \lambda_b (b_u - m^b_u)^2 + c_u \lambda \|U_u - m_u\|^2 .

    With ``b_u = m^b_u + δ^b_u`` and ``U_u = m_u + δ_u`` this is the plain half-step
    (``solve``, :func:`solve_side` by default) for ``(δ^b_u, δ_u)`` with targets
    ``t_ui − m^b_u − m_u·V_i``; a row without ratings gets ``δ = 0``, its prior mean.

    Parameters
    ----------
    indptr, indices, targets, other_factors, reg, reg_bias, scale_reg
        As in :func:`solve_side`.
    prior_bias : ndarray, shape (n_rows,)
        ``m^b``.
    prior_factors : ndarray, shape (n_rows, K)
        ``m``.
    solve : callable, optional
        The half-step kernel; :func:`solve_side` or its compiled twin.
    initial : (bias, factors), optional
        Warm start of a conjugate-gradient solve (passed on shifted by the prior).
    **options
        Passed to ``solve`` (e.g. ``cg_steps``).

    Returns
    -------
    bias : ndarray (n_rows,);  factors : ndarray (n_rows, K)
        In ``other_factors.dtype``.
    """
    solve = solve_side if solve is None else solve
    dtype = other_factors.dtype
    rows = row_of_entries(indptr)
    shifted = (
        targets - pair_dots(indices, rows, other_factors, prior_factors) - prior_bias[rows]
    ).astype(dtype)
    if initial is not None:
        options["initial"] = (initial[0] - prior_bias, initial[1] - prior_factors)
    delta_bias, delta = solve(
        indptr, indices, shifted, other_factors, reg, reg_bias, scale_reg=scale_reg, **options
    )
    return (prior_bias + delta_bias).astype(dtype), (prior_factors + delta).astype(dtype)


def penalty_value(
    bias: np.ndarray,
    factors: np.ndarray,
    counts: np.ndarray,
    reg: float,
    reg_bias: float,
    scale_reg: bool,
) -> float:
    """One side's penalty ``Σ_u (c_u λ ‖U_u‖² + λ_b b_u²)``.

    Parameters
    ----------
    bias : (n_rows,);  factors : (n_rows, K);  counts : (n_rows,) int
    reg, reg_bias : float
    scale_reg : bool

    Returns
    -------
    float
    """
    per_row = reg * np.einsum("nk,nk->n", factors, factors, dtype=np.float64)
    if scale_reg:
        per_row *= counts
    per_row += reg_bias * np.square(bias, dtype=np.float64)
    return float(per_row.sum())
