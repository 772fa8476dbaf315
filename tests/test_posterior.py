"""The Gibbs conditionals of Bayesian PMF: the rows' half-step draw against dense algebra, the
hyperparameter draws and a whole conjugate chain against their closed forms, the random
streams and the predictive quantiles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from recsys_helpers.models import kernels, kernels_numba, posterior
from recsys_helpers.models.kernels import dual_offsets

BACKENDS = [kernels, kernels_numba]
IDS = ["numpy", "numba"]


def tiny_side(n_rows=14, n_other=9, n_factors=3, seed=0):
    """A CSR side with an empty row, short rows and a row past the compiled BLAS cut-off."""
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_rows, n_other, density=0.35, random_state=seed, format="lil")
    matrix[2, :] = 0
    matrix[5, :] = 1
    matrix = matrix.tocsr()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return (
        matrix.indptr,
        matrix.indices,
        rng.normal(size=matrix.nnz),
        rng.normal(size=(n_other, n_factors)),
    )


def prior(width, seed=1):
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(width, width))
    return root @ root.T / width + np.eye(width), rng.normal(size=width)


def dense_conditional(indptr, indices, targets, other, row, precision, mean, alpha, fit_bias=True):
    """Mean and covariance of row ``row`` written out: precision αXᵀX + Λ, mean Σ(αXᵀt + Λm)."""
    columns = indices[indptr[row] : indptr[row + 1]]
    design = other[columns]
    if fit_bias:
        design = np.column_stack([np.ones(len(columns)), design])
    row_targets = targets[indptr[row] : indptr[row + 1]]
    covariance = np.linalg.inv(alpha * design.T @ design + precision)
    return covariance @ (alpha * design.T @ row_targets + precision @ mean), covariance


def draw_noise(indptr, width, alpha, seed):
    """``z`` and the dual rows' ``η``, both ``N(0, 1/α)``."""
    rng = np.random.default_rng(seed)
    n_entries = dual_offsets(indptr, width)[-1]
    scale = 1 / np.sqrt(alpha)
    return rng.normal(size=(len(indptr) - 1, width)) * scale, rng.normal(size=n_entries) * scale


@pytest.mark.parametrize("kernels", BACKENDS, ids=IDS)
@pytest.mark.parametrize("fit_bias", [True, False])
def test_each_row_is_drawn_from_its_dense_conditional(kernels, fit_bias):
    """Without noise each row is the conditional mean. A draw is an affine map of its noise,
    mean + A z + B η (B = 0 in the primal); it is checked against the map written out
    densely, and A Aᵀ + B Bᵀ against (XᵀX + Λ/α)⁻¹, so the draw's covariance (A Aᵀ + B Bᵀ)/α
    is the conditional covariance (αXᵀX + Λ)⁻¹. Primal rows: A = L⁻ᵀ with L Lᵀ = XᵀX + Λ/α.
    Dual rows (|Ω_u| < w, the empty row among them): A = (I − ΣXᵀK⁻¹X) G, B = ΣXᵀK⁻¹ with
    Σ = (Λ/α)⁻¹ = G Gᵀ and K = XΣXᵀ + I."""
    indptr, indices, targets, other = tiny_side(n_other=12, n_factors=11, seed=3)
    width = other.shape[1] + fit_bias
    precision, mean = prior(width)
    alpha = 1.7
    n_rows = len(indptr) - 1
    z, eta = draw_noise(indptr, width, alpha, 4)
    offsets = dual_offsets(indptr, width)
    args = (indptr, indices, targets, other, precision / alpha, precision @ mean / alpha)
    mean_bias, mean_factors = kernels.sample_side(*args, fit_bias=fit_bias)
    draw_bias, draw_factors = kernels.sample_side(*args, z, eta, fit_bias=fit_bias)
    lead = slice(0, 1) if fit_bias else slice(0, 0)
    kinds = set()
    for row in range(n_rows):
        expected_mean, covariance = dense_conditional(
            indptr, indices, targets, other, row, precision, mean, alpha, fit_bias
        )
        got_mean = np.concatenate([mean_bias[row : row + 1][lead], mean_factors[row]])
        got_draw = np.concatenate([draw_bias[row : row + 1][lead], draw_factors[row]])
        np.testing.assert_allclose(got_mean, expected_mean, rtol=0, atol=1e-10)
        columns = indices[indptr[row] : indptr[row + 1]]
        design = other[columns]
        if fit_bias:
            design = np.column_stack([np.ones(len(columns)), design])
        if len(columns) < width:
            kinds.add("dual")
            sigma = np.linalg.inv(precision / alpha)
            root = np.linalg.inv(np.linalg.cholesky(precision / alpha)).T
            gain = (
                sigma @ design.T @ np.linalg.inv(design @ sigma @ design.T + np.eye(len(columns)))
            )
            a, b = (np.eye(width) - gain @ design) @ root, gain
            row_eta = eta[offsets[row] : offsets[row + 1]]
        else:
            kinds.add("primal")
            a = np.linalg.inv(np.linalg.cholesky(design.T @ design + precision / alpha)).T
            b, row_eta = np.zeros((width, 0)), np.zeros(0)
        np.testing.assert_allclose(got_draw - got_mean, a @ z[row] + b @ row_eta, atol=1e-9)
        np.testing.assert_allclose((a @ a.T + b @ b.T) / alpha, covariance, rtol=1e-8, atol=1e-12)
    assert kinds == {"dual", "primal"}
    if not fit_bias:
        assert not draw_bias.any()


def test_compiled_draws_match_the_numpy_reference_and_follow_float32():
    indptr, indices, targets, other = tiny_side(n_rows=40, n_other=30, n_factors=20, seed=5)
    precision, mean = prior(21)
    noise = draw_noise(indptr, 21, 1.0, 6)
    counts = np.diff(indptr)
    assert (counts >= 21).any() and ((counts > 0) & (counts < 21)).any()  # primal and dual
    args = (indptr, indices, targets, other, precision, precision @ mean, *noise)
    reference = kernels.sample_side(*args)
    compiled = kernels_numba.sample_side(*args)
    for got, expected in zip(compiled, reference, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    single = kernels_numba.sample_side(
        indptr, indices, targets.astype(np.float32), other.astype(np.float32), *args[4:]
    )
    assert single[1].dtype == np.float32
    np.testing.assert_allclose(single[1], reference[1], atol=1e-4)


@pytest.mark.parametrize("kernels", BACKENDS, ids=IDS)
def test_bad_prior_shapes_are_refused(kernels):
    indptr, indices, targets, other = tiny_side()
    with pytest.raises(ValueError, match=r"precision must be \(4, 4\) and shift \(4,\)"):
        kernels.sample_side(indptr, indices, targets, other, np.eye(3), np.zeros(3))
    prior_args = (indptr, indices, targets, other, np.eye(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"noise must be \(14, 4\)"):
        kernels.sample_side(*prior_args, np.ones(4), np.ones(1))
    n_entries = dual_offsets(indptr, 4)[-1]  # the ratings of the rows with fewer than 4
    assert 0 < n_entries < len(indices)
    with pytest.raises(ValueError, match=rf"entry_noise must be \({n_entries},\)"):
        kernels.sample_side(*prior_args, np.ones((14, 4)), np.ones(n_entries + 2))
    with pytest.raises(ValueError, match="give both noise and entry_noise"):
        kernels.sample_side(*prior_args, np.ones((14, 4)))


@pytest.mark.parametrize("kind", ["primal", "dual"])
def test_sampled_row_moments_match_the_conditional(kind):
    """20,000 draws of one row (the row repeated, keyed noise): the sample mean lies within 4
    standard errors of the conditional mean in every coordinate, and the sample covariance
    within 0.05 (relative, Frobenius; sampling error about 0.02) of the conditional one."""
    indptr, indices, targets, other = tiny_side(n_other=12, n_factors=11, seed=7)
    width = 12
    precision, mean = prior(width, seed=8)
    alpha, n_draws = 2.5, 20_000
    counts = np.diff(indptr)
    row = 5 if kind == "primal" else int(np.flatnonzero((counts > 0) & (counts < width))[0])
    one = slice(indptr[row], indptr[row + 1])
    count = one.stop - one.start
    assert (count < width) == (kind == "dual")
    indptr_many = np.arange(n_draws + 1) * count
    noise = posterior.row_noise(
        0,
        1,
        "user",
        n_draws,
        width,
        1 / np.sqrt(alpha),
        dual_offsets(indptr_many, width)[-1],
    )
    bias, factors = kernels_numba.sample_side(
        indptr_many,
        np.tile(indices[one], n_draws),
        np.tile(targets[one], n_draws),
        other,
        precision / alpha,
        precision @ mean / alpha,
        *noise,
    )
    draws = np.column_stack([bias, factors])
    expected_mean, covariance = dense_conditional(
        indptr, indices, targets, other, row, precision, mean, alpha
    )
    standard_error = np.sqrt(np.diag(covariance) / n_draws)
    assert np.all(np.abs(draws.mean(axis=0) - expected_mean) < 4 * standard_error)
    error = np.linalg.norm(np.cov(draws.T) - covariance) / np.linalg.norm(covariance)
    assert error < 0.05


def test_gibbs_chain_on_a_conjugate_toy_model_has_the_closed_form_posterior():
    """Bias-only model with fixed α and priors: r_ui = b_u + b_i + ε is jointly Gaussian, so the
    posterior of all nine biases is N(A⁻¹c, A⁻¹) with A = α HᵀH + Λ₀ (H: one column per user
    and per movie). 4,000 independent copies of the toy problem (one block-diagonal rating
    matrix) run 50 Gibbs sweeps from zero, alternating the users' and the movies' half-step
    draws (sample_side with K = 0); their final states are 4,000 independent draws. Their
    mean must lie within 4 standard errors of A⁻¹c in every coordinate and their covariance
    within 0.08 (relative, Frobenius; sampling error alone is about 0.035) of A⁻¹."""
    rng = np.random.default_rng(10)
    n_users, n_items, alpha, copies = 5, 4, 2.0, 4000
    mask = rng.random((n_users, n_items)) < 0.6
    mask[:, 0] = True
    users, items = np.nonzero(mask)
    ratings = rng.normal(0.5, 1.0, len(users))
    prior_precision, prior_mean = {"user": 1.5, "item": 0.8}, {"user": 0.2, "item": -0.3}
    design = np.zeros((len(users), n_users + n_items))
    design[np.arange(len(users)), users] = 1
    design[np.arange(len(users)), n_users + items] = 1
    precision0 = np.diag([1.5] * n_users + [0.8] * n_items)
    mean0 = np.array([0.2] * n_users + [-0.3] * n_items)
    covariance = np.linalg.inv(alpha * design.T @ design + precision0)
    expected = covariance @ (alpha * design.T @ ratings + precision0 @ mean0)

    copy = np.arange(copies)[:, None]
    by_user = sp.csr_matrix(
        (
            np.tile(ratings, copies),
            ((copy * n_users + users).ravel(), (copy * n_items + items).ravel()),
        ),
        shape=(copies * n_users, copies * n_items),
    )
    matrices = {"user": by_user, "item": sp.csr_matrix(by_user.T)}
    bias = {"user": np.zeros(copies * n_users), "item": np.zeros(copies * n_items)}
    for sweep in range(50):
        for side, other in (("user", "item"), ("item", "user")):
            matrix, lam = matrices[side], prior_precision[side]
            bias[side], _ = kernels_numba.sample_side(
                matrix.indptr,
                matrix.indices,
                matrix.data - bias[other][matrix.indices],
                np.zeros((matrix.shape[1], 0)),
                np.array([[lam / alpha]]),
                np.array([lam * prior_mean[side] / alpha]),
                *posterior.row_noise(
                    3,
                    sweep,
                    side,
                    matrix.shape[0],
                    1,
                    1 / np.sqrt(alpha),
                    dual_offsets(matrix.indptr, 1)[-1],
                ),
            )
    draws = np.column_stack(
        [bias["user"].reshape(copies, n_users), bias["item"].reshape(copies, n_items)]
    )
    standard_error = np.sqrt(np.diag(covariance) / copies)
    assert np.all(np.abs(draws.mean(axis=0) - expected) < 4 * standard_error)
    error = np.linalg.norm(np.cov(draws.T) - covariance) / np.linalg.norm(covariance)
    assert error < 0.08


def test_normal_wishart_draws_have_the_closed_form_moments():
    """Conditional given 40 fixed rows: E[Λ] = ν* W*, E[m] = μ*, Cov(m) = W*⁻¹/(β*(ν* − D − 1)).
    5,000 draws; tolerances (relative, Frobenius) 3% for E[Λ] (sampling error about 0.5%) and
    7% for Cov(m) (sampling error about 2%), 4 standard errors for E[m]."""
    rng = np.random.default_rng(11)
    width = 3
    rows = rng.normal(size=(40, width)) @ np.array([[1.0, 0.3, 0], [0, 0.5, 0.2], [0, 0, 2.0]])
    prior = posterior.HyperPrior.default(width)
    conditional = posterior.normal_wishart_posterior(rows, prior)
    assert conditional.degrees_of_freedom == width + 40
    assert conditional.mean_precision == 2.0 + 40
    np.testing.assert_allclose(conditional.mean, 40 * rows.mean(axis=0) / 42)
    draws = [posterior.sample_normal_wishart(rows, prior, rng) for _ in range(5_000)]
    means = np.array([mean for mean, _ in draws])
    precisions = np.array([precision for _, precision in draws])
    expected_precision = conditional.degrees_of_freedom * conditional.scale
    error = np.linalg.norm(precisions.mean(axis=0) - expected_precision)
    assert error / np.linalg.norm(expected_precision) < 0.03
    expected_covariance = np.linalg.inv(conditional.scale) / (
        conditional.mean_precision * (conditional.degrees_of_freedom - width - 1)
    )
    standard_error = np.sqrt(np.diag(expected_covariance) / len(draws))
    assert np.all(np.abs(means.mean(axis=0) - conditional.mean) < 4 * standard_error)
    error = np.linalg.norm(np.cov(means.T) - expected_covariance)
    assert error / np.linalg.norm(expected_covariance) < 0.07


def test_normal_wishart_without_rows_is_the_prior():
    prior = posterior.HyperPrior.default(4, mean_precision=3.0, degrees_of_freedom=6.0, scale=0.5)
    assert posterior.normal_wishart_posterior(np.empty((0, 4)), prior) is prior
    np.testing.assert_array_equal(prior.scale, 0.5 * np.eye(4))


def test_normal_gamma_conditional_is_the_one_dimensional_normal_wishart_per_coordinate():
    """W(w, ν) in one dimension is Gamma(ν/2, rate 1/(2w)): each coordinate's (β*, μ*, a*, b*)
    is the D = 1 Normal–Wishart conditional with ν₀ = 2a₀, W₀ = 1/(2b₀); rows given in two
    blocks give what the stacked rows give."""
    rng = np.random.default_rng(13)
    rows = rng.normal(loc=[0.5, -1.0, 2.0], scale=[1.0, 0.2, 3.0], size=(57, 3))
    prior = posterior.DiagonalHyperPrior(mean=0.3, mean_precision=1.5, shape=2.0, rate=0.7)
    mean, beta, shape, rate = posterior.normal_gamma_posterior([rows[:20], rows[20:]], prior)
    stacked = posterior.normal_gamma_posterior([rows], prior)
    for got, expected in zip((mean, beta, shape, rate), stacked, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    for d in range(3):
        one = posterior.normal_wishart_posterior(
            rows[:, [d]],
            posterior.HyperPrior(
                mean=np.array([0.3]),
                mean_precision=1.5,
                degrees_of_freedom=4.0,
                scale=np.array([[1 / (2 * 0.7)]]),
            ),
        )
        assert beta[d] == pytest.approx(one.mean_precision)
        assert mean[d] == pytest.approx(one.mean[0])
        assert shape[d] == pytest.approx(one.degrees_of_freedom / 2)
        assert rate[d] == pytest.approx(1 / (2 * one.scale[0, 0]))


def test_normal_gamma_without_rows_is_the_prior():
    prior = posterior.DiagonalHyperPrior(mean=0.3, mean_precision=1.5, shape=2.0, rate=0.7)
    mean, beta, shape, rate = posterior.normal_gamma_posterior([np.empty((0, 4))], prior)
    np.testing.assert_array_equal(mean, np.full(4, 0.3))
    np.testing.assert_array_equal(np.stack([beta, shape, rate]), [[1.5] * 4, [2.0] * 4, [0.7] * 4])


def test_normal_gamma_draws_have_the_closed_form_moments():
    """Given 30 fixed rows: E[λ_d] = a*/b*_d, Var[λ_d] = a*/b*_d², E[m_d] = μ*_d and
    Var[m_d] = b*_d / (β* (a* − 1)) (Student t); Λ diagonal. 20,000 draws; tolerances 2% for
    E[λ] (sampling error about 0.2%), 8% for the variances (about 1.5%), 4 standard errors
    for E[m]."""
    rng = np.random.default_rng(14)
    rows = rng.normal(loc=[0.5, -1.0], scale=[1.0, 0.3], size=(30, 2))
    prior = posterior.DiagonalHyperPrior()
    mean, beta, shape, rate = posterior.normal_gamma_posterior([rows], prior)
    draws = [posterior.sample_normal_gamma([rows], prior, rng) for _ in range(20_000)]
    means = np.array([m for m, _ in draws])
    precisions = np.array([precision for _, precision in draws])
    assert np.all(precisions[:, 0, 1] == 0) and np.all(precisions[:, 1, 0] == 0)
    lambdas = precisions[:, [0, 1], [0, 1]]
    np.testing.assert_allclose(lambdas.mean(axis=0), shape / rate, rtol=0.02)
    np.testing.assert_allclose(lambdas.var(axis=0), shape / rate**2, rtol=0.08)
    variance = rate / (beta * (shape - 1))
    assert np.all(np.abs(means.mean(axis=0) - mean) < 4 * np.sqrt(variance / len(draws)))
    np.testing.assert_allclose(means.var(axis=0), variance, rtol=0.08)


def test_noise_precision_draws_have_the_gamma_moments():
    """α | e ~ Gamma(a₀ + n/2, b₀ + Σe²/2): mean and variance of 50,000 draws within 1%/4%."""
    rng = np.random.default_rng(12)
    draws = np.array(
        [
            posterior.sample_noise_precision(250.0, 1000, rng, shape=2.0, rate=3.0)
            for _ in range(50_000)
        ]
    )
    shape, rate = 2.0 + 500, 3.0 + 125.0
    assert draws.mean() == pytest.approx(shape / rate, rel=0.01)
    assert draws.var() == pytest.approx(shape / rate**2, rel=0.04)


def test_row_noise_is_keyed_and_standard_normal():
    first, entries = posterior.row_noise(5, 3, "user", 1000, 20, 1.0, 50)
    assert first.shape == (1000, 20) and entries.shape == (50,)
    again = posterior.row_noise(5, 3, "user", 1000, 20, 1.0, 50)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(entries, again[1])
    # a row's values do not depend on how many rows follow it
    np.testing.assert_array_equal(first[:10], posterior.row_noise(5, 3, "user", 10, 20, 1.0)[0])
    for other in [(6, 3, "user"), (5, 4, "user"), (5, 3, "item")]:
        assert not np.allclose(first, posterior.row_noise(*other, 1000, 20, 1.0)[0])
    values = posterior.row_noise(0, 0, "hyper", 500, 100, 0.5)[0].ravel()
    # 50,000 N(0, 0.25) values: Kolmogorov–Smirnov at the 0.1% level
    assert stats.kstest(values / 0.5, "norm").pvalue > 1e-3


def test_mixture_quantiles_match_the_normal_and_the_mixture_cdf():
    means = np.array([[0.0, 1.0, 3.0]])
    got = posterior.mixture_quantiles(means, np.array([4.0]), [0.05, 0.5, 0.9])
    expected = stats.norm.ppf([0.05, 0.5, 0.9])[:, None] * 2.0 + means
    np.testing.assert_allclose(got, expected, atol=1e-4)
    mixture = np.array([[0.0, 2.0], [3.0, 2.5]])
    variances = np.array([0.25, 1.0])
    q = posterior.mixture_quantiles(mixture, variances, [0.2, 0.8])
    cdf = stats.norm.cdf((q[:, None, :] - mixture[None]) / np.sqrt(variances)[None, :, None])
    np.testing.assert_allclose(cdf.mean(axis=1), [[0.2, 0.2], [0.8, 0.8]], atol=1e-4)
    with pytest.raises(ValueError, match="probabilities must lie in"):
        posterior.mixture_quantiles(mixture, variances, [0.0])


def test_mixture_quantiles_take_a_variance_per_component_and_column():
    """Variances of shape (S, n) give each column its own mixture: the same quantiles as
    that column alone with its (S,) variances, and mixture CDF = q at them."""
    rng = np.random.default_rng(3)
    means = rng.normal(size=(5, 4))
    variances = rng.uniform(0.1, 2.0, size=(5, 4))
    got = posterior.mixture_quantiles(means, variances, [0.1, 0.5, 0.95])
    for column in range(4):
        alone = posterior.mixture_quantiles(
            means[:, [column]], variances[:, column], [0.1, 0.5, 0.95]
        )
        np.testing.assert_allclose(got[:, [column]], alone, atol=1e-4)
    cdf = stats.norm.cdf((got[:, None, :] - means[None]) / np.sqrt(variances)[None])
    np.testing.assert_allclose(cdf.mean(axis=1), np.repeat([[0.1], [0.5], [0.95]], 4, 1), atol=1e-4)
