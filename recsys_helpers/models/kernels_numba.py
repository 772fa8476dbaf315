r"""Compiled, parallel twins of the kernels in :mod:`recsys_helpers.models.kernels`.

Same equations and signatures (plus the optional conjugate-gradient arguments of
:func:`solve_side`). :func:`solve_side` spreads rows over threads (``numba.prange``); per
row it gathers the rated ``V_i`` of the design ``X_u`` (rows ``[1, V_i]``), forms the normal
equations (``V_ΩᵀV_Ω`` by BLAS),

.. math:: A_u = X_u^T X_u + P_u, \qquad b_u = X_u^T t_u ,

and solves ``A_u w = b_u`` by an in-kernel Cholesky factorisation (rows with fewer ratings
than unknowns use the equivalent dual system). The same row loop serves the Gibbs sampler of
:class:`~recsys_helpers.models.bayes.BayesianMF` (:func:`sample_side`): a shared full prior
precision replaces the diagonal penalty, and a noise vector added between the two triangular
solves turns the conditional mean into a draw from the conditional. BLAS is limited to one
thread inside the parallel region (:mod:`threadpoolctl`) so the cores are never
oversubscribed; numba's own thread count is left at its default (the number of cores).
Compilation is cached on disk (``cache=True``); the first call in a fresh environment pays
the JIT cost once (:func:`warm_up`).
"""

from __future__ import annotations

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from recsys_helpers.models.kernels import check_prior as _check_prior
from recsys_helpers.models.kernels import (
    entry_index,
    one_blas_thread,
    prior_factors,
    row_penalties,
)

__all__ = ["half_step_targets", "residuals", "sample_side", "solve_side", "warm_up"]

#: Reassociation and contraction let reductions vectorise; NaN/inf semantics are kept so a
#: singular or overflowing system still shows up as NaN.
_FAST = {"reassoc", "contract", "arcp"}

#: What the ALS half-step passes for the shared prior and the noise of :func:`sample_side`.
_NO_PRIOR, _NO_VECTORS, _NO_NOISE = np.empty((0, 0, 0)), np.empty((0, 0)), np.empty((0, 0))
_NO_ENTRY_NOISE, _NO_OFFSETS = np.empty(0), np.empty(0, dtype=np.int64)
_NO_WHITENED, _NO_CENTRE = np.empty((0, 0)), np.empty(0)


@numba.njit(cache=True, fastmath=_FAST)
def _cholesky_solve(matrix, rhs, out, noise):  # pragma: no cover - compiled
    """Solve ``matrix @ out = rhs`` for SPD ``matrix`` in place (lower Cholesky ``L Lᵀ``).

    Only the lower triangle is read; it is overwritten by ``L``. With a non-empty ``noise``
    ``z`` the result is ``L⁻ᵀ (L⁻¹ rhs + z)``: the solution plus ``L⁻ᵀ z``, a draw from
    ``N(solution, matrix⁻¹)`` when ``z ~ N(0, I)``. A non-positive pivot fills ``out`` with
    NaN, which the estimator reports with the sweep and the parameter to change.
    """
    size = matrix.shape[0]
    for j in range(size):
        diagonal = matrix[j, j]
        for k in range(j):
            diagonal -= matrix[j, k] * matrix[j, k]
        if not diagonal > 0.0:  # singular (no penalty, too few ratings) or NaN: report NaN
            out[:] = np.nan
            return
        diagonal = np.sqrt(diagonal)
        matrix[j, j] = diagonal
        inverse = 1.0 / diagonal
        pivot = matrix[j]
        rest = j + 1 + (size - j - 1) // 4 * 4
        for i in range(j + 1, rest, 4):  # four rows at a time: each pivot load serves four
            line0, line1, line2, line3 = matrix[i], matrix[i + 1], matrix[i + 2], matrix[i + 3]
            value0, value1, value2, value3 = line0[j], line1[j], line2[j], line3[j]
            for k in range(j):
                value0 -= line0[k] * pivot[k]
                value1 -= line1[k] * pivot[k]
                value2 -= line2[k] * pivot[k]
                value3 -= line3[k] * pivot[k]
            line0[j], line1[j] = value0 * inverse, value1 * inverse
            line2[j], line3[j] = value2 * inverse, value3 * inverse
        for i in range(rest, size):
            line = matrix[i]
            value = line[j]
            for k in range(j):
                value -= line[k] * pivot[k]
            line[j] = value * inverse
    for i in range(size):  # forward: L y = rhs
        value = rhs[i]
        for k in range(i):
            value -= matrix[i, k] * out[k]
        out[i] = value / matrix[i, i]
    for i in range(len(noise)):  # y + z: the backward solve then adds L^-T z
        out[i] += noise[i]
    for i in range(size - 1, -1, -1):  # backward: L^T x = y
        value = out[i]
        for k in range(i + 1, size):
            value -= matrix[k, i] * out[k]
        out[i] = value / matrix[i, i]


@numba.njit(parallel=True, cache=True)
def _solve_rows(  # pragma: no cover - compiled
    indptr,
    indices,
    targets,
    other,
    penalty,
    prior,
    prior_vectors,
    noise,
    entry_noise,
    offsets,
    whitened,
    centre,
    dual,
    lead,
    bias,
    factors,
):
    """Every row's ``(X_uᵀX_u + P_u) w = X_uᵀt_u + p`` (see :func:`solve_side`).

    ``P_u = diag(λ_b, c_u λ, …, c_u λ)`` from ``penalty[row] = [λ_b, c_u λ]`` and ``p = 0``
    (ALS; empty rows get 0) unless ``prior`` has matrices: then ``prior`` = ``[P, G]``
    (``G Gᵀ = P⁻¹``) and ``prior_vectors`` = ``[p, m]`` are shared by every row, empty
    rows included, rows with ``|Ω_u| < w`` are drawn in the dual on the other side's
    whitened design ``whitened`` = ``X G`` and ``centre`` = ``X m`` (:func:`_sample_dual`),
    and ``noise[row]`` and ``entry_noise[offsets[row]:offsets[row + 1]]`` (when ``noise``
    has rows) make the result a draw (:func:`sample_side`).
    """
    n_rows = len(indptr) - 1
    width = other.shape[1] + lead
    shared = prior.shape[0] > 0
    noisy = noise.shape[0] > 0
    no_noise = np.empty(0, dtype=np.float64)
    for row in numba.prange(n_rows):
        start, stop = indptr[row], indptr[row + 1]
        count = stop - start
        if count == 0 and not shared:
            bias[row] = 0.0
            factors[row, :] = 0.0
            continue
        solution = np.empty(width, dtype=np.float64)
        if not shared:
            rows, row_targets = indices[start:stop], targets[start:stop]
            if count < width and dual:
                _solve_dual(
                    rows, other, row_targets, penalty[row, 0], penalty[row, 1], lead, solution
                )
            else:
                _solve_primal(
                    rows, other, row_targets, penalty[row, 0], penalty[row, 1], lead, solution
                )
        else:
            rows, row_targets = indices[start:stop], targets[start:stop]
            row_noise = noise[row] if noisy else no_noise
            if count < width:
                row_entry_noise = (
                    entry_noise[offsets[row] : offsets[row + 1]] if noisy else no_noise
                )
                _sample_dual(
                    rows,
                    whitened,
                    centre,
                    row_targets,
                    prior[1],
                    prior_vectors[1],
                    row_noise,
                    row_entry_noise,
                    solution,
                )
            else:
                _solve_shared(
                    rows, other, row_targets, lead, prior[0], prior_vectors[0], row_noise, solution
                )
        if lead:
            bias[row] = solution[0]
        for a in range(lead, width):
            factors[row, a - lead] = solution[a]


@numba.njit(cache=True)
def _solve_shared(  # pragma: no cover - compiled
    rows, other, row_targets, lead, precision, shift, noise, solution
):
    """``(XᵀX + P) w = Xᵀt + p`` with a full ``P`` shared by all rows, plus ``L⁻ᵀ z``."""
    gram, rhs = _normal_equations(rows, other, row_targets, lead)
    for a in range(len(rhs)):
        rhs[a] += shift[a]
        for b in range(a + 1):
            gram[a, b] += precision[a, b]
    _cholesky_solve(gram, rhs, solution, noise)


@numba.njit(cache=True, fastmath=_FAST)
def _sample_dual(  # pragma: no cover - compiled
    rows, whitened, centre, row_targets, root, mean, noise, entry_noise, solution
):
    """A short row's draw in its ``|Ω_u|``-dimensional dual (perturb the prior and the
    targets, then solve), on the whitened design ``X̃ = X G`` (rows ``whitened[rows]``,
    gathered) with ``G Gᵀ = Σ = P⁻¹`` and ``X m`` = ``centre[rows]``:

    ``w = m + G (z + X̃ᵀ y)`` with ``(X̃ X̃ᵀ + I) y = t + η − X m − X̃ z``,

    which is ``w₀ + Σ Xᵀ (X Σ Xᵀ + I)⁻¹ (t + η − X w₀)`` for ``w₀ = m + G z``
    (:func:`recsys_helpers.models.kernels.sample_side`). ``X̃ X̃ᵀ`` is one BLAS product,
    as in the ALS dual; without noise, ``w`` is the conditional mean.
    """
    count, width = len(rows), whitened.shape[1]
    noisy = len(noise) > 0
    direction = np.zeros(width, dtype=np.float64)  # z + X̃ᵀ y
    if noisy:
        direction[:] = noise
    if count:
        design = np.empty((count, width), dtype=whitened.dtype)
        residual = np.empty(count, dtype=np.float64)
        for j in range(count):
            line, copy = whitened[rows[j]], design[j]
            value = row_targets[j] - centre[rows[j]]
            if noisy:
                value += entry_noise[j]
            for a in range(width):
                copy[a] = line[a]
                value -= line[a] * direction[a]
            residual[j] = value
        inner = np.dot(design, design.T)  # X̃ X̃ᵀ, (|Ω_u|, |Ω_u|)
        kernel = np.empty((count, count), dtype=np.float64)
        for j in range(count):
            for m in range(j + 1):
                kernel[j, m] = inner[j, m]
            kernel[j, j] += 1.0
        dual = np.empty(count, dtype=np.float64)
        _cholesky_solve(kernel, residual, dual, np.empty(0, dtype=np.float64))
        for j in range(count):
            line, value = design[j], dual[j]
            for a in range(width):
                direction[a] += line[a] * value
    for a in range(width):
        value = mean[a]
        for b in range(width):
            value += root[a, b] * direction[b]
        solution[a] = value


#: Ratings per block of the Gram accumulation: a gathered block of ``V_i`` (32 KiB at
#: K = 64, float32) stays in the core's first-level cache for its BLAS product, and no row
#: allocates a copy of all its rated vectors. Measured (K = 64, ML-25M shape): 128 against
#: one product per row, 256 and 512 (NOTATION.md, "Kernel choices").
_GRAM_BLOCK = 128


@numba.njit(cache=True, fastmath=_FAST)
def _gather_block(rows, other, row_targets, start, stop, block, sums, products):
    """Copy ``V_i`` for ratings ``start:stop`` of the row into ``block`` and add them to
    ``Σ V_i`` and ``V_Ωᵀt`` (``sums``, ``products``, float64) in the same pass (the
    block's sums in ``other``'s precision, whose SIMD lanes are twice as wide)."""
    n_factors = other.shape[1]
    block_sums = np.zeros(n_factors, dtype=other.dtype)
    block_products = np.zeros(n_factors, dtype=other.dtype)
    for j in range(start, stop):
        line, copy = other[rows[j]], block[j - start]
        target = other.dtype.type(row_targets[j])
        for a in range(n_factors):
            value = line[a]
            copy[a] = value
            block_sums[a] += value
            block_products[a] += value * target
    for a in range(n_factors):
        sums[a] += block_sums[a]
        products[a] += block_products[a]


@numba.njit(cache=True)
def _normal_equations(rows, other, row_targets, lead):  # pragma: no cover - compiled
    """``(XᵀX, Xᵀt)`` with ``X = [1, V_Ω]`` (``[V_Ω]`` when ``lead`` is 0), in float64;
    lower triangle only.

    ``V_ΩᵀV_Ω`` is accumulated over blocks of :data:`_GRAM_BLOCK` ratings: each block's
    ``V_i`` are gathered into a small buffer (:func:`_gather_block`, which also adds up
    the bias row ``[|Ω_u|, Σ V_i]`` and ``Xᵀt``) and multiplied by one BLAS product of
    its K columns (no bias column, so the product keeps BLAS's aligned blocks); the
    products are summed in float64.
    """
    count, n_factors = len(rows), other.shape[1]
    width = n_factors + lead
    block = np.empty((min(count, _GRAM_BLOCK), n_factors), dtype=other.dtype)
    sums = np.zeros(n_factors, dtype=np.float64)
    products = np.zeros(n_factors, dtype=np.float64)
    gram = np.zeros((width, width), dtype=np.float64)
    for start in range(0, count, _GRAM_BLOCK):
        stop = min(start + _GRAM_BLOCK, count)
        _gather_block(rows, other, row_targets, start, stop, block, sums, products)
        part = block[: stop - start]
        inner = np.dot(part.T, part)  # this block's V_ΩᵀV_Ω, (K, K)
        for a in range(n_factors):
            for b in range(a + 1):
                gram[lead + a, lead + b] += inner[a, b]
    rhs = np.empty(width, dtype=np.float64)
    if lead:
        rhs[0] = row_targets.sum()
        gram[0, 0] = count
        gram[lead:, 0] = sums
    rhs[lead:] = products
    return gram, rhs


@numba.njit(cache=True)
def _solve_primal(  # pragma: no cover - compiled
    rows, other, row_targets, penalty_bias, penalty_factor, lead, solution
):
    """``(XᵀX + P) w = Xᵀt`` with ``P = diag(λ_b, c_u λ, …)`` (``penalty_bias``,
    ``penalty_factor``): a (K+1)² system, factorised in float64."""
    gram, rhs = _normal_equations(rows, other, row_targets, lead)
    if lead:
        gram[0, 0] += penalty_bias
    for a in range(lead, len(rhs)):
        gram[a, a] += penalty_factor
    _cholesky_solve(gram, rhs, solution, np.empty(0, dtype=np.float64))


@numba.njit(cache=True, fastmath=_FAST)
def _solve_dual(  # pragma: no cover - compiled
    rows, other, row_targets, penalty_bias, penalty_factor, lead, solution
):
    """Same minimiser for a row with fewer ratings than unknowns, in the |Ω_u|² dual.

    ``(XᵀX + P)⁻¹Xᵀ = P⁻¹Xᵀ(X P⁻¹ Xᵀ + I)⁻¹`` (push-through identity, P > 0 diagonal), so
    ``w = P⁻¹ Xᵀ y`` with ``(X P⁻¹ Xᵀ + I) y = t``: an |Ω_u|×|Ω_u| system instead of
    (K+1)×(K+1). With ``X = [1, V_Ω]``, ``X P⁻¹ Xᵀ = 1/λ_b + S Sᵀ`` where ``S`` is
    ``V_Ω / √(c_u λ)``, gathered already scaled: one BLAS product; then
    ``P⁻¹V_Ωᵀy = Sᵀy / √(c_u λ)``. ``penalty_bias`` is ``λ_b``, ``penalty_factor`` ``c_u λ``.
    """
    count, n_factors = len(rows), other.shape[1]
    scale = other.dtype.type(1.0 / np.sqrt(penalty_factor))
    scaled = np.empty((count, n_factors), dtype=other.dtype)  # S, row by row
    for j in range(count):
        line, copy = other[rows[j]], scaled[j]
        for a in range(n_factors):
            copy[a] = line[a] * scale
    inner = np.dot(scaled, scaled.T)  # S Sᵀ, (|Ω_u|, |Ω_u|)
    shift = 1.0 / penalty_bias if lead else 0.0
    kernel = np.empty((count, count), dtype=np.float64)
    for j in range(count):
        for m in range(j + 1):
            kernel[j, m] = inner[j, m] + shift
        kernel[j, j] += 1.0
    dual = np.empty(count, dtype=np.float64)
    _cholesky_solve(kernel, row_targets.astype(np.float64), dual, np.empty(0, dtype=np.float64))
    if lead:
        solution[0] = dual.sum() / penalty_bias
    weighted = np.zeros(n_factors, dtype=np.float64)  # Sᵀy
    for j in range(count):
        line, value = scaled[j], dual[j]
        for a in range(n_factors):
            weighted[a] += line[a] * value
    for a in range(n_factors):
        solution[lead + a] = weighted[a] * scale


@numba.njit(inline="always", fastmath=_FAST)
def _line_dot(line, vector):  # pragma: no cover - compiled
    """``line · vector`` in their own precision (float32 keeps float32 SIMD lanes)."""
    total = vector.dtype.type(0.0)
    for a in range(len(vector)):
        total += line[a] * vector[a]
    return total


@numba.njit(inline="always", fastmath=_FAST)
def _add_scaled(out, line, scale):  # pragma: no cover - compiled
    """``out += scale · line`` in place."""
    for a in range(len(out)):
        out[a] += line[a] * scale


@numba.njit(inline="always", fastmath=_FAST)
def _squared_norm(vector, scalar):  # pragma: no cover - compiled
    """``scalar² + ‖vector‖²`` accumulated in float64."""
    total = scalar * scalar
    for a in range(len(vector)):
        total += np.float64(vector[a]) * vector[a]
    return total


@numba.njit(parallel=True, cache=True, fastmath=_FAST)
def _cg_rows(  # pragma: no cover - compiled
    indptr, indices, targets, other, penalty, steps, lead, bias, factors
):
    """A few conjugate-gradient steps on each row's normal equations, warm-started.

    Starts from the current ``(bias[row], factors[row])`` and never forms ``X_uᵀX_u``: each
    pass over the row's ratings reads every rated ``V_i`` once, straight from ``other`` (a
    gathered copy costs more than it saves), for both ``(X p)_i = p_b + V_i·p_V`` and
    ``Xᵀ(X p) += [1, V_i] (X p)_i``. The ``K``-vectors are kept in ``other``'s precision,
    the bias parts, step sizes and norms in float64. CG decreases the row's quadratic
    objective at every step, so ``J`` still never increases.
    """
    n_rows = len(indptr) - 1
    n_factors = other.shape[1]
    for row in numba.prange(n_rows):
        start, stop = indptr[row], indptr[row + 1]
        if start == stop:
            bias[row] = 0.0
            factors[row, :] = 0.0
            continue
        rated = indices[start:stop]
        penalty_bias = penalty[row, 0] if lead else 0.0
        penalty_factor = penalty[row, 1]
        solution = factors[row].copy()
        solution_bias = np.float64(bias[row]) if lead else 0.0
        # residual = Xᵀ(t − X w) − P w
        residual = np.empty_like(solution)
        for a in range(n_factors):
            residual[a] = -penalty_factor * solution[a]
        residual_bias = -penalty_bias * solution_bias
        for j in range(len(rated)):
            line = other[rated[j]]
            error = other.dtype.type(targets[start + j] - solution_bias)
            error -= _line_dot(line, solution)
            _add_scaled(residual, line, error)
            residual_bias += error
        residual_bias *= lead
        direction, direction_bias = residual.copy(), residual_bias
        norm = _squared_norm(residual, residual_bias)
        product = np.empty_like(solution)
        for _ in range(steps):
            if norm < 1e-20:
                break
            for a in range(n_factors):  # (XᵀX + P) p
                product[a] = penalty_factor * direction[a]
            product_bias = penalty_bias * direction_bias
            shift = other.dtype.type(direction_bias)
            for j in range(len(rated)):
                line = other[rated[j]]
                value = _line_dot(line, direction) + shift
                _add_scaled(product, line, value)
                product_bias += value
            product_bias *= lead
            curvature = direction_bias * product_bias
            for a in range(n_factors):
                curvature += np.float64(direction[a]) * product[a]
            step = norm / curvature
            solution_bias += step * direction_bias
            residual_bias -= step * product_bias
            for a in range(n_factors):
                solution[a] += step * direction[a]
                residual[a] -= step * product[a]
            new_norm = _squared_norm(residual, residual_bias)
            ratio = new_norm / norm
            direction_bias = residual_bias + ratio * direction_bias
            for a in range(n_factors):
                direction[a] = residual[a] + ratio * direction[a]
            norm = new_norm
        if lead:
            bias[row] = solution_bias
        factors[row, :] = solution


@numba.njit(parallel=True, cache=True)
def _bias_rows(indptr, targets, penalty, bias):  # pragma: no cover - compiled
    for row in numba.prange(len(indptr) - 1):
        total = 0.0
        for j in range(indptr[row], indptr[row + 1]):
            total += targets[j]
        count = indptr[row + 1] - indptr[row]
        bias[row] = total / (count + penalty[row, 0]) if count > 0 else 0.0


@numba.njit(parallel=True, cache=True, fastmath=_FAST)
def _residual_rows(rows, indices, targets, bias, factors, other, out):  # pragma: no cover
    for j in numba.prange(len(targets)):
        u, i = rows[j], indices[j]
        line, vector = factors[u], other[i]
        dot = 0.0  # float64 lanes; reassociation lets the K-sum vectorise (3x faster)
        for k in range(factors.shape[1]):
            dot += np.float64(line[k]) * vector[k]
        out[j] = targets[j] - bias[u] - dot


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
    cg_steps: int | None = None,
    initial: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact ridge half-step, compiled: see :func:`recsys_helpers.models.kernels.solve_side`.

    Per row ``u``: ``(X_u^T X_u + diag(λ_b, c_u λ, …, c_u λ)) [b_u, U_u] = X_u^T t_u`` with
    ``X_u`` rows ``[1, V_i]``, ``i ∈ Ω_u``; ``V_ΩᵀV_Ω`` by BLAS, factorised in float64,
    stored in ``other_factors.dtype``. A row with fewer ratings than ``K + 1`` (and both
    penalties positive) solves the equivalent ``|Ω_u|``-dimensional dual system instead.

    Parameters
    ----------
    indptr, indices : ndarray of int, shapes (n_rows + 1,), (nnz,)
    targets : ndarray of float, shape (nnz,)
        ``t_ui = r_ui − μ − b_i``.
    other_factors : ndarray of float32 or float64, shape (n_other, K)
    reg, reg_bias : float
    scale_reg : bool, default False
    fit_bias : bool, default True
        False drops ``b_u`` (design rows ``V_i``; the bias stays 0).
    cg_steps : int, optional
        Instead of the exact solve, take this many conjugate-gradient steps (Takács et al.
        2011) from ``initial``, never forming the Gram matrices: approximate, cheaper.
    initial : (bias, factors), optional
        Warm start of the CG steps (this side's current parameters); zeros when omitted.

    Returns
    -------
    bias : ndarray, shape (n_rows,)
    factors : ndarray, shape (n_rows, K)
    """
    other = np.ascontiguousarray(other_factors)
    n_rows = len(indptr) - 1
    counts = np.diff(indptr)
    penalty = row_penalties(counts, reg, reg_bias, scale_reg)  # [λ_b, c_u λ] per row
    bias = np.zeros(n_rows, dtype=other.dtype)
    factors = np.zeros((n_rows, other.shape[1]), dtype=other.dtype)
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    lead = 1 if fit_bias else 0
    if other.shape[1] == 0:
        if fit_bias:
            _bias_rows(indptr, np.ascontiguousarray(targets, dtype=np.float64), penalty, bias)
        return bias, factors
    if cg_steps is not None:
        if initial is not None:
            bias[:] = initial[0]
            factors[:] = initial[1]
        _cg_rows(
            indptr,
            entry_index(indices, len(other)),
            np.ascontiguousarray(targets),
            other,
            penalty,
            int(cg_steps),
            lead,
            bias,
            factors,
        )
        return bias, factors
    # Looked up at each call: the BLAS numba calls may be loaded after this module.
    with threadpool_limits(limits=1, user_api="blas"):
        _solve_rows(
            indptr,
            entry_index(indices, len(other)),
            np.ascontiguousarray(targets),
            other,
            penalty,
            _NO_PRIOR,
            _NO_VECTORS,
            _NO_NOISE,
            _NO_ENTRY_NOISE,
            _NO_OFFSETS,
            _NO_WHITENED,
            _NO_CENTRE,
            bool(reg > 0 and (reg_bias > 0 or not fit_bias)),
            lead,
            bias,
            factors,
        )
    return bias, factors


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
    r"""Gibbs half-step, compiled: see :func:`recsys_helpers.models.kernels.sample_side`.

    The rows run through the same compiled loop as :func:`solve_side` (same normal
    equations, in-kernel Cholesky), with the shared full ``P`` = ``precision`` and
    ``p`` = ``shift`` in place of the diagonal ridge penalty and ``L⁻ᵀ z`` added for a draw;
    rows with fewer than ``K + 1`` ratings are drawn in their dual, on the other side's
    rows whitened by the prior once per call (``[1, V_i] G``, ``G Gᵀ = P⁻¹``), so that a
    dual row costs what it costs in the ALS half-step. Each row's result
    depends only on its own data and its own noise, so it does not depend on the number
    of threads.

    Parameters and returns as :func:`recsys_helpers.models.kernels.sample_side`.
    """
    other = np.ascontiguousarray(other_factors)
    lead = 1 if fit_bias else 0
    n_rows, width = len(indptr) - 1, other.shape[1] + lead
    precision, shift, noise, entry_noise, offsets = _check_prior(
        indptr, width, precision, shift, noise, entry_noise
    )
    bias = np.zeros(n_rows, dtype=other.dtype)
    factors = np.zeros((n_rows, other.shape[1]), dtype=other.dtype)
    if width == 0:
        return bias, factors
    _, root, mean = prior_factors(precision, shift)
    if offsets[-1] > 0:  # dual rows with ratings: X G and X m
        whitened = other @ root[lead:].astype(other.dtype)
        centre = other @ mean[lead:]
        if lead:
            whitened += root[0].astype(other.dtype)
            centre += mean[0]
    else:
        whitened, centre = np.empty((0, width), dtype=other.dtype), np.empty(0)
    with one_blas_thread():
        _solve_rows(
            np.ascontiguousarray(indptr, dtype=np.int64),
            entry_index(indices, len(other)),
            np.ascontiguousarray(targets),
            other,
            np.empty((0, 2)),
            np.stack([precision, root]),
            np.stack([shift, mean]),
            np.empty((0, width)) if noise is None else noise,
            np.empty(0) if entry_noise is None else entry_noise,
            offsets,
            whitened,
            centre,
            False,
            lead,
            bias,
            factors,
        )
    return bias, factors


@numba.njit(parallel=True, cache=True)
def _target_rows(ratings, offset, other_bias, indices, out):  # pragma: no cover - compiled
    for j in numba.prange(len(ratings)):
        out[j] = ratings[j] - offset - other_bias[indices[j]]


def half_step_targets(
    ratings: np.ndarray, offset: float, other_bias: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """Targets ``t_ui = r_ui − μ − b_i``, compiled and parallel (one gather per entry, the
    sweep's main memory traffic besides the half-steps).

    Parameters and return as :func:`recsys_helpers.models.kernels.half_step_targets`.
    """
    out = np.empty(len(ratings), dtype=np.float64)
    _target_rows(
        np.ascontiguousarray(ratings),
        float(offset),
        np.ascontiguousarray(other_bias),
        entry_index(indices, len(other_bias)),
        out,
    )
    return out


def residuals(
    rows: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    bias: np.ndarray,
    factors: np.ndarray,
    other_factors: np.ndarray,
) -> np.ndarray:
    """Residuals ``e_ui = t_ui − b_u − U_u · V_i``, compiled and parallel.

    Parameters and return as :func:`recsys_helpers.models.kernels.residuals`.
    """
    out = np.empty(len(targets), dtype=np.float64)
    _residual_rows(
        entry_index(rows, len(bias)),
        entry_index(indices, len(other_factors)),
        np.ascontiguousarray(targets, dtype=np.float64),
        np.ascontiguousarray(bias),
        np.ascontiguousarray(factors),
        np.ascontiguousarray(other_factors),
        out,
    )
    return out


def warm_up() -> float:
    """Compile (or load from cache) every kernel for float32 and float64; seconds taken.

    Returns
    -------
    float
    """
    import time

    started = time.perf_counter()
    indptr = np.array([0, 1, 1, 12], dtype=np.int64)  # a short row, an empty one, a long one
    indices = np.arange(12, dtype=np.int32) % 3
    for dtype in (np.float32, np.float64):
        other = np.ones((3, 4), dtype=dtype)
        targets = np.ones(12, dtype=dtype)
        solve_side(indptr, indices, targets, other, 1.0, 1.0)
        solve_side(indptr, indices, targets, other[:, :0], 1.0, 1.0)
        sample_side(
            indptr, indices, targets, other, np.eye(5), np.zeros(5), np.ones((3, 5)), np.ones(1)
        )
        zeros = np.zeros(3, dtype=dtype)
        residuals(indices, indices, np.ones(12), zeros, other, other)
        half_step_targets(np.ones(12), 3.0, zeros, indices)
    return time.perf_counter() - started
