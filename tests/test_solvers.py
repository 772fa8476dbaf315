"""The half-step kernels against exact least squares and the per-row loop oracle."""

from __future__ import annotations

import als_reference  # the oracle beside this file (tests/ is on sys.path)
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_helpers.models import kernels, kernels_numba

BACKENDS = [kernels, kernels_numba]
IDS = ["numpy", "numba"]


def random_side(n_rows=12, n_other=9, n_factors=3, seed=0, long_rows=True):
    """A CSR side with an empty row, short rows and (optionally) rows past the BLAS cut-off."""
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_rows, n_other, density=0.35, random_state=seed, format="lil")
    matrix[2, :] = 0  # an empty row
    if long_rows:
        matrix[5, :] = 1  # every column: the BLAS path of the compiled kernel
        matrix[7, : n_other - 1] = 1
    matrix = matrix.tocsr()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    targets = rng.normal(size=matrix.nnz)
    other = rng.normal(size=(n_other, n_factors))
    return matrix.indptr, matrix.indices, targets, other


def oracle_rows(indptr, indices, targets):
    return {
        row: (indices[indptr[row] : indptr[row + 1]], targets[indptr[row] : indptr[row + 1]])
        for row in range(len(indptr) - 1)
    }


@pytest.mark.parametrize("kernels", BACKENDS, ids=IDS)
@pytest.mark.parametrize("n_factors", [0, 1, 4, 12])
@pytest.mark.parametrize("scale", [False, True])
def test_half_step_is_the_exact_minimiser(kernels, n_factors, scale):
    """Each row equals lstsq on the stacked system [X_u; sqrt(P_u)] w ≈ [t_u; 0].

    K = 4 has rows on both sides of the compiled kernel's dual cut-off (|Ω_u| < K + 1);
    K = 12 puts every row in the dual."""
    indptr, indices, targets, other = random_side(n_factors=n_factors, seed=n_factors)
    reg, reg_bias = 0.7, 2.5
    bias, factors = kernels.solve_side(
        indptr, indices, targets, other, reg, reg_bias, scale_reg=scale
    )
    for row in range(len(indptr) - 1):
        columns = indices[indptr[row] : indptr[row + 1]]
        if len(columns) == 0:
            assert bias[row] == 0 and not factors[row].any()
            continue
        design = np.column_stack([np.ones(len(columns)), other[columns]])
        scale_row = len(columns) if scale else 1
        penalty = np.array([reg_bias] + [reg * scale_row] * n_factors)
        stacked = np.vstack([design, np.diag(np.sqrt(penalty))])
        stacked_targets = np.concatenate(
            [targets[indptr[row] : indptr[row + 1]], np.zeros(n_factors + 1)]
        )
        expected = np.linalg.lstsq(stacked, stacked_targets, rcond=None)[0]
        np.testing.assert_allclose(bias[row], expected[0], rtol=0, atol=1e-10)
        np.testing.assert_allclose(factors[row], expected[1:], rtol=0, atol=1e-10)


@pytest.mark.parametrize("kernels", BACKENDS, ids=IDS)
@pytest.mark.parametrize("n_factors", [0, 4, 12])
def test_half_step_without_bias_is_the_exact_minimiser(kernels, n_factors):
    """fit_bias=False: lstsq on [V_i; sqrt(c λ) I] (no intercept column), bias left at 0.

    K = 12 puts short rows on the compiled kernel's dual path."""
    indptr, indices, targets, other = random_side(n_factors=n_factors, seed=11)
    reg = 0.9
    bias, factors = kernels.solve_side(
        indptr, indices, targets, other, reg, 2.0, scale_reg=True, fit_bias=False
    )
    assert not bias.any()
    for row in range(len(indptr) - 1):
        columns = indices[indptr[row] : indptr[row + 1]]
        if len(columns) == 0 or n_factors == 0:
            assert not factors[row].any()
            continue
        stacked = np.vstack([other[columns], np.sqrt(reg * len(columns)) * np.eye(n_factors)])
        rhs = np.concatenate([targets[indptr[row] : indptr[row + 1]], np.zeros(n_factors)])
        expected = np.linalg.lstsq(stacked, rhs, rcond=None)[0]
        np.testing.assert_allclose(factors[row], expected, rtol=0, atol=1e-10)


def test_conjugate_gradient_without_bias_converges_to_the_exact_solution():
    indptr, indices, targets, other = random_side(n_factors=3, seed=12)
    exact = kernels.solve_side(indptr, indices, targets, other, 0.4, 1.0, fit_bias=False)
    state = (np.zeros(len(indptr) - 1), np.zeros((len(indptr) - 1, 3)))
    for _ in range(20):
        state = kernels_numba.solve_side(
            indptr, indices, targets, other, 0.4, 1.0, fit_bias=False, cg_steps=2, initial=state
        )
    assert not state[0].any()
    np.testing.assert_allclose(state[1], exact[1], atol=1e-8)


@pytest.mark.parametrize("kernels", BACKENDS, ids=IDS)
@pytest.mark.parametrize("n_factors", [0, 5])
@pytest.mark.parametrize("scale", [False, True])
def test_half_step_matches_the_loop_oracle(kernels, n_factors, scale):
    indptr, indices, targets, other = random_side(n_rows=20, n_factors=n_factors, seed=3)
    bias, factors = kernels.solve_side(indptr, indices, targets, other, 0.3, 1.1, scale_reg=scale)
    expected_bias, expected_factors = als_reference.half_step(
        oracle_rows(indptr, indices, targets), len(indptr) - 1, other, 0.3, 1.1, scale
    )
    np.testing.assert_allclose(bias, expected_bias, rtol=0, atol=1e-10)
    np.testing.assert_allclose(factors, expected_factors, rtol=0, atol=1e-10)
    assert bias.dtype == np.float64 and factors.shape == (len(indptr) - 1, n_factors)


@pytest.mark.parametrize("fit_bias", [True, False])
def test_compiled_half_step_sums_long_rows_block_by_block(fit_bias):
    """Rows of exactly one, one-plus-one and several Gram blocks (the compiled kernel sums
    ``V_ΩᵀV_Ω`` over blocks of ``_GRAM_BLOCK`` ratings) equal lstsq, in float64 and float32."""
    block = kernels_numba._GRAM_BLOCK
    counts = [block, block + 1, 2 * block + 37, 3]
    rng = np.random.default_rng(21)
    n_other, n_factors, reg, reg_bias = 3 * block, 6, 0.8, 1.7
    indices = np.concatenate([rng.choice(n_other, count, replace=False) for count in counts])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    targets = rng.normal(size=len(indices))
    other = rng.normal(size=(n_other, n_factors))
    lead = 1 if fit_bias else 0
    bias, factors = kernels_numba.solve_side(
        indptr, indices, targets, other, reg, reg_bias, fit_bias=fit_bias
    )
    bias32, factors32 = kernels_numba.solve_side(
        indptr,
        indices,
        targets.astype(np.float32),
        other.astype(np.float32),
        reg,
        reg_bias,
        fit_bias=fit_bias,
    )
    for row, count in enumerate(counts):
        columns = indices[indptr[row] : indptr[row + 1]]
        design = np.column_stack([np.ones(count), other[columns]])[:, 1 - lead :]
        penalty = np.array([reg_bias] + [reg] * n_factors)[1 - lead :]
        stacked = np.vstack([design, np.diag(np.sqrt(penalty))])
        stacked_targets = np.concatenate([targets[indptr[row] : indptr[row + 1]], 0 * penalty])
        expected = np.linalg.lstsq(stacked, stacked_targets, rcond=None)[0]
        solution = np.concatenate([[bias[row]], factors[row]])[1 - lead :]
        solution32 = np.concatenate([[bias32[row]], factors32[row]])[1 - lead :]
        np.testing.assert_allclose(solution, expected, rtol=0, atol=1e-10)
        np.testing.assert_allclose(solution32, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("kernels", BACKENDS, ids=IDS)
def test_float32_follows_float64(kernels):
    indptr, indices, targets, other = random_side(n_factors=4, seed=5)
    bias64, factors64 = kernels.solve_side(indptr, indices, targets, other, 0.5, 1.0)
    bias32, factors32 = kernels.solve_side(
        indptr, indices, targets.astype(np.float32), other.astype(np.float32), 0.5, 1.0
    )
    assert bias32.dtype == np.float32 and factors32.dtype == np.float32
    np.testing.assert_allclose(bias32, bias64, atol=1e-4)
    np.testing.assert_allclose(factors32, factors64, atol=1e-4)


def test_bias_only_closed_form():
    """K = 0: b_u = Σ t_ui / (|Ω_u| + λ_b)."""
    indptr = np.array([0, 3, 3, 5])
    indices = np.array([0, 1, 2, 0, 2])
    targets = np.array([1.0, 2.0, 3.0, -1.0, 0.5])
    for backend in BACKENDS:
        bias, factors = backend.solve_side(indptr, indices, targets, np.zeros((3, 0)), 9.0, 2.0)
        np.testing.assert_allclose(bias, [6.0 / 5.0, 0.0, -0.5 / 4.0])
        assert factors.shape == (3, 0)


def test_compiled_targets_and_residuals_match_numpy():
    rng = np.random.default_rng(1)
    users, items = rng.integers(0, 7, 50), rng.integers(0, 5, 50)
    ratings = rng.normal(size=50)
    user_bias, item_bias = rng.normal(size=7), rng.normal(size=5)
    user_factors, item_factors = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    expected = [
        r - 0.3 - user_bias[u] - item_bias[i] - user_factors[u] @ item_factors[i]
        for u, i, r in zip(users, items, ratings, strict=True)
    ]
    targets = ratings - 0.3 - item_bias[items]  # t_ui = r_ui − μ − b_i
    for backend in BACKENDS:
        for bias in (item_bias, item_bias.astype(np.float32)):
            got = backend.half_step_targets(ratings, 0.3, bias, items)
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, ratings - 0.3 - bias[items], atol=1e-12)
    args = (users, items, targets, user_bias, user_factors, item_factors)
    np.testing.assert_allclose(kernels.residuals(*args), expected, atol=1e-12)
    np.testing.assert_allclose(kernels_numba.residuals(*args), expected, atol=1e-12)


def test_entry_indices_are_int32_without_copying_the_matrix():
    """The sweeps read per-rating row numbers as int32: the rating matrix's own indices
    (not an int64 copy) and each side's row of every entry; int64 input gives the same
    answers."""
    from recsys_helpers.data.ratings import RatingMatrix
    from recsys_helpers.models.training import TrainingData

    frame = pd.DataFrame({"userId": [1, 1, 2, 5], "movieId": [10, 30, 10, 20], "rating": 4.0})
    matrix = RatingMatrix.from_frame(frame)
    data = TrainingData(matrix)
    users = data.sides["user"]
    assert users.indices.dtype == np.int32 and users.rows.dtype == np.int32
    assert np.shares_memory(users.indices, matrix.by_user.indices)
    np.testing.assert_array_equal(users.rows, [0, 0, 1, 2])
    indptr, indices, targets, other = random_side()
    np.testing.assert_array_equal(
        kernels_numba.solve_side(indptr, indices.astype(np.int32), targets, other, 1.0, 1.0)[1],
        kernels_numba.solve_side(indptr, indices.astype(np.int64), targets, other, 1.0, 1.0)[1],
    )


def test_entry_index_refuses_row_counts_beyond_int32():
    with pytest.raises(ValueError, match="do not fit in int32"):
        kernels.entry_index(np.zeros(3, dtype=np.int64), 2**31)


def test_penalty_diagonal_and_value():
    counts = np.array([0, 2, 5])
    np.testing.assert_array_equal(
        kernels.penalty_diagonal(counts, 2, 0.5, 3.0, True),
        [[3.0, 0.0, 0.0], [3.0, 1.0, 1.0], [3.0, 2.5, 2.5]],
    )
    np.testing.assert_array_equal(
        kernels.penalty_diagonal(counts, 1, 0.5, 3.0, False), [[3.0, 0.5]] * 3
    )
    bias, factors = np.array([1.0, 2.0, 0.0]), np.array([[1.0], [0.0], [2.0]])
    # Σ c λ‖U‖² + λ_b b²: scaled 0.5·(0·1 + 2·0 + 5·4) + 3·(1 + 4) = 25
    assert kernels.penalty_value(bias, factors, counts, 0.5, 3.0, True) == pytest.approx(25.0)
    assert kernels.penalty_value(bias, factors, counts, 0.5, 3.0, False) == pytest.approx(17.5)


def test_numpy_kernel_batches_give_the_same_answer(monkeypatch):
    indptr, indices, targets, other = random_side(n_rows=30, n_factors=3, seed=8)
    whole = kernels.solve_side(indptr, indices, targets, other, 0.2, 0.4)
    monkeypatch.setattr(kernels, "_BATCH_ELEMENTS", 16)  # one row per batch
    batched = kernels.solve_side(indptr, indices, targets, other, 0.2, 0.4)
    np.testing.assert_allclose(batched[0], whole[0], atol=1e-12)
    np.testing.assert_allclose(batched[1], whole[1], atol=1e-12)


def test_conjugate_gradient_reaches_the_exact_solution():
    """CG converges in at most K + 1 steps in exact arithmetic; it starts anywhere."""
    indptr, indices, targets, other = random_side(n_rows=20, n_factors=4, seed=9)
    exact = kernels.solve_side(indptr, indices, targets, other, 0.3, 1.1)
    start = (np.full(20, 0.5), np.full((20, 4), -0.2))
    bias, factors = kernels_numba.solve_side(
        indptr, indices, targets, other, 0.3, 1.1, cg_steps=20, initial=start
    )
    np.testing.assert_allclose(bias, exact[0], atol=1e-9)
    np.testing.assert_allclose(factors, exact[1], atol=1e-9)
    assert (start[0] == 0.5).all()  # the warm start is copied, not overwritten


def test_conjugate_gradient_in_float32_follows_float64():
    """The float32 path keeps its vectors in float32 and its scalars in float64: three
    steps agree with the float64 ones to float32 precision, biases included."""
    indptr, indices, targets, other = random_side(n_rows=30, n_other=40, n_factors=16, seed=13)
    start = (np.full(30, 0.1), np.full((30, 16), 0.05))
    wide = kernels_numba.solve_side(
        indptr, indices, targets, other, 0.3, 1.1, cg_steps=3, initial=start
    )
    narrow = kernels_numba.solve_side(
        indptr,
        indices,
        targets,
        other.astype(np.float32),
        0.3,
        1.1,
        cg_steps=3,
        initial=(start[0].astype(np.float32), start[1].astype(np.float32)),
    )
    assert narrow[1].dtype == np.float32
    np.testing.assert_allclose(narrow[0], wide[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(narrow[1], wide[1], rtol=1e-4, atol=1e-5)


def test_conjugate_gradient_steps_decrease_each_row_objective():
    indptr, indices, targets, other = random_side(n_rows=20, n_factors=5, seed=10)
    rows = oracle_rows(indptr, indices, targets)

    def row_objectives(bias, factors):
        values = []
        for row, (columns, row_targets) in rows.items():
            errors = row_targets - bias[row] - other[columns] @ factors[row]
            values.append(
                errors @ errors + 1.1 * bias[row] ** 2 + 0.3 * factors[row] @ factors[row]
            )
        return np.array(values)

    state = (np.zeros(20), np.zeros((20, 5)))
    previous = row_objectives(*state)
    for _ in range(3):
        state = kernels_numba.solve_side(
            indptr, indices, targets, other, 0.3, 1.1, cg_steps=1, initial=state
        )
        current = row_objectives(*state)
        assert np.all(current <= previous + 1e-12)
        previous = current
    exact = row_objectives(*kernels.solve_side(indptr, indices, targets, other, 0.3, 1.1))
    assert np.all(previous >= exact - 1e-12)


def test_compiled_half_step_does_not_depend_on_the_thread_count():
    """Each row's solution is computed by one thread from its own data only."""
    import numba

    indptr, indices, targets, other = random_side(n_rows=40, n_other=30, n_factors=8, seed=4)
    results = []
    threads = numba.get_num_threads()
    try:
        for count in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(count)
            results.append(kernels_numba.solve_side(indptr, indices, targets, other, 0.3, 1.1))
    finally:
        numba.set_num_threads(threads)
    for first, second in zip(*results, strict=True):
        np.testing.assert_array_equal(first, second)
