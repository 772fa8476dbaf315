"""BayesianMF: the MAP start, planted-model recovery with calibrated intervals, the running
posterior mean, determinism across thread counts, serving, fold-in and persistence."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from recsys_helpers.data.ratings import RatingMatrix
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.bayes import BayesianMF
from recsys_helpers.models.persistence import load_model
from recsys_helpers.models.training import TrainingData

SAMPLE_ARRAYS = BayesianMF._SAMPLE_ARRAYS


@pytest.fixture(scope="module")
def planted():
    """Unquantised ratings of a rank-3 planted model with noise σ = 0.5, split 85/15."""
    frame, truth = make_ratings(
        300, 150, 12_000, n_factors=3, noise_std=0.5, quantize=False, random_state=4
    )
    mask = np.random.default_rng(0).random(len(frame)) < 0.85
    return frame[mask], frame[~mask], truth


@pytest.fixture(scope="module")
def fitted(planted):
    train, test, _ = planted
    model = BayesianMF(n_factors=3, n_samples=200, burn_in=30, n_kept=100, random_state=1)
    return model.fit(train, validation=test)


def small_fit(**params):
    frame, _ = make_ratings(60, 40, 1500, n_factors=2, random_state=5)
    settings = {"n_factors": 2, "n_samples": 6, "burn_in": 2, "n_kept": 3, "init_iter": 2}
    return BayesianMF(**{**settings, **params}).fit(frame), frame


def digest(model) -> str:
    """SHA-256 of every kept sample array, bit for bit."""
    hasher = hashlib.sha256()
    for name in SAMPLE_ARRAYS:
        hasher.update(np.ascontiguousarray(getattr(model, name)).tobytes())
    return hasher.hexdigest()


def test_the_chain_starts_from_the_als_solution(planted):
    """After _initialise the rows are BiasedMF's after the same number of sweeps, bit for bit."""
    train, _, _ = planted
    model = BayesianMF(n_factors=3, init_iter=4, dtype="float64", random_state=2)
    data = TrainingData(RatingMatrix.from_frame(train, dtype=np.float64))
    model._check_params()
    model._start(data)
    model._initialise(data, np.random.default_rng(2))
    als = BiasedMF(n_factors=3, n_iter=4, dtype="float64", random_state=2, tol=None).fit(train)
    for name in ("user_bias_", "item_bias_", "user_factors_", "item_factors_"):
        np.testing.assert_array_equal(getattr(model, name), getattr(als, name))


def test_planted_model_is_recovered_with_calibrated_intervals(planted, fitted):
    """Test RMSE near σ; the posterior of α around 1/σ²; predictive intervals cover held-out
    ratings, and the posterior spread covers the noise-free planted r̂, at their nominal
    rates (±4 points: about 4 binomial standard errors on 1,800 ratings)."""
    _, test, truth = planted
    ratings = test["rating"].to_numpy()
    mean, std = fitted.predict(test, return_std=True)
    assert np.sqrt(np.mean((ratings - mean) ** 2)) < truth.noise_std * 1.12
    noise_variance = float(np.mean(1 / fitted.noise_precision_samples_))
    assert fitted.noise_precision_samples_.mean() == pytest.approx(truth.noise_std**-2, rel=0.05)
    for level in (0.5, 0.8, 0.95):
        lower, upper = fitted.predict_interval(test, level)
        assert np.all(lower <= upper)
        coverage = np.mean((ratings >= lower) & (ratings <= upper))
        assert abs(coverage - level) < 0.04, (level, coverage)
    planted_mean = truth.predict_ids(test["userId"], test["movieId"])
    spread = np.sqrt(std**2 - noise_variance)
    z = np.abs(planted_mean - mean) / spread
    assert abs(np.mean(z < 1.2816) - 0.8) < 0.05
    assert abs(np.mean(z < 1.9600) - 0.95) < 0.04


def test_predict_without_std_is_the_mean_given_with_it(planted, fitted):
    _, test, _ = planted
    mean, std = fitted.predict(test, return_std=True)
    np.testing.assert_array_equal(fitted.predict(test), mean)
    assert std.shape == mean.shape and np.all(std > 0)


def test_history_tracks_the_running_posterior_mean(fitted):
    history = fitted.history_
    assert list(history.columns) == [
        "iteration",
        "objective",
        "train_rmse",
        "valid_rmse",
        "seconds",
        "noise_precision",
    ]
    assert len(history) == fitted.n_iter_ == 230
    assert np.isfinite(history.to_numpy()).all()
    # averaging draws beats any single draw: the end of the burn-in is one draw
    assert history["valid_rmse"].iloc[-1] < history["valid_rmse"].iloc[29] - 0.01
    assert (history["noise_precision"] > 0).all()
    assert fitted.user_factor_samples_.shape == (100, len(fitted.users_), 3)
    np.testing.assert_allclose(  # posterior means over all 200 draws, kept ones included
        fitted.item_bias_, fitted.item_bias_samples_.mean(axis=0), atol=0.05
    )


def test_fixed_noise_precision_is_kept():
    model, _ = small_fit(noise_precision=3.0)
    assert (model.history_["noise_precision"] == 3.0).all()
    assert (model.noise_precision_samples_ == 3.0).all()


def test_shared_diagonal_hyperprior_gives_both_sides_one_diagonal_prior(planted):
    """Both sides are drawn with the same (m, Λ), Λ diagonal, and the planted model is
    still recovered about as well as with the paper's hyperprior (within 0.02 RMSE)."""
    train, test, _ = planted
    settings = {"n_factors": 3, "n_samples": 100, "burn_in": 20, "n_kept": 20}
    shared = BayesianMF(hyperprior="shared-diagonal", **settings).fit(train)
    np.testing.assert_array_equal(shared.user_prior_mean_samples_, shared.item_prior_mean_samples_)
    np.testing.assert_array_equal(
        shared.user_prior_precision_samples_, shared.item_prior_precision_samples_
    )
    precision = shared.user_prior_precision_samples_
    assert np.all(precision == precision * np.eye(precision.shape[1]))
    assert np.all(np.diagonal(precision, axis1=1, axis2=2) > 0)
    paper = BayesianMF(**settings).fit(train)
    assert not np.array_equal(
        paper.user_prior_precision_samples_, paper.item_prior_precision_samples_
    )
    truth = test["rating"].to_numpy()
    rmse = {
        name: np.sqrt(np.mean((model.predict(test) - truth) ** 2))
        for name, model in (("shared", shared), ("paper", paper))
    }
    assert rmse["shared"] < 0.6  # noise σ = 0.5
    assert abs(rmse["shared"] - rmse["paper"]) < 0.02


def test_same_seed_same_samples_other_seed_other_samples():
    first, _ = small_fit(random_state=3)
    again, _ = small_fit(random_state=3)
    other, _ = small_fit(random_state=4)
    assert digest(first) == digest(again)
    assert digest(first) != digest(other)


def test_samples_do_not_depend_on_the_thread_count(tmp_path):
    """The same fit in fresh processes with NUMBA_NUM_THREADS=1 and 2 gives the same bits."""
    script = tmp_path / "fit.py"
    script.write_text(
        textwrap.dedent(
            """
            import hashlib, numba, numpy as np
            from recsys_helpers.data.synthetic import make_ratings
            from recsys_helpers.models.bayes import BayesianMF
            frame, _ = make_ratings(400, 200, 20_000, n_factors=4, random_state=6)
            model = BayesianMF(n_factors=8, n_samples=4, burn_in=1, n_kept=2, init_iter=2)
            model.fit(frame)
            hasher = hashlib.sha256()
            for name in BayesianMF._SAMPLE_ARRAYS:
                hasher.update(np.ascontiguousarray(getattr(model, name)).tobytes())
            print(numba.get_num_threads(), hasher.hexdigest())
            """
        )
    )
    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(result.stdout.split())
    assert [threads for threads, _ in outputs] == ["1", "2"]
    assert outputs[0][1] == outputs[1][1]


def test_numpy_and_compiled_kernels_give_the_same_chain():
    """Both backends get the same keyed noise, so their chains agree to rounding."""
    compiled, _ = small_fit(dtype="float64", solver="numba")
    reference, _ = small_fit(dtype="float64", solver="numpy")
    for name in SAMPLE_ARRAYS:
        np.testing.assert_allclose(getattr(reference, name), getattr(compiled, name), atol=1e-7)


def test_unknown_users_and_movies_are_predicted_under_the_prior(fitted):
    known = fitted.predict(
        np.array([[fitted.users_.ids[0], fitted.items_.ids[0]]]), return_std=True
    )
    pairs = np.array(
        [[-1, fitted.items_.ids[0]], [fitted.users_.ids[0], -5], [-1, -5]], dtype=np.int64
    )
    mean, std = fitted.predict(pairs, return_std=True)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    low, high = fitted.rating_range_
    assert np.all((mean >= low) & (mean <= high))
    # an unknown side adds its prior spread to the known pair's
    assert np.all(std > known[1][0])
    lower, upper = fitted.predict_interval(pairs, 0.9)
    assert np.all(lower < mean) and np.all(mean < upper)


def test_unknown_sides_are_integrated_out_against_prior_draws(fitted):
    """An unknown movie, user, or both: each sample's prediction is r̂ at the prior mean
    (closed form), and the predictive mean, std and 80% interval agree with a slow Monte
    Carlo reference that draws the unknown rows from each sample's prior (4,000 draws per
    sample, 400,000 in all: tolerances are several of its standard errors)."""
    user, movie = fitted.users_.ids[0], fitted.items_.ids[0]
    pairs = np.array([[user, -5], [-1, movie], [-1, -5]], dtype=np.int64)
    index = (fitted.users_.to_index(pairs[:, 0]), fitted.items_.to_index(pairs[:, 1]))
    mean, std = fitted.predict(pairs, return_std=True)
    lower, upper = fitted.predict_interval(pairs, 0.8)
    per_sample = fitted._sample_moments(index, None)[0]
    rng = np.random.default_rng(11)
    mu, draws, count = fitted.global_mean_, 4_000, len(fitted.noise_precision_samples_)
    totals, squares, noise = np.zeros(3), np.zeros(3), 0.0
    ratings = [[], [], []]
    for s in range(count):
        user_row = np.r_[fitted.user_bias_samples_[s, 0], fitted.user_factor_samples_[s, 0]]
        item_row = np.r_[fitted.item_bias_samples_[s, 0], fitted.item_factor_samples_[s, 0]]
        user_mean, item_mean = (
            fitted.user_prior_mean_samples_[s],
            fitted.item_prior_mean_samples_[s],
        )
        expected = [  # the closed form: the unknown row at its prior mean
            mu + user_row[0] + item_mean[0] + user_row[1:] @ item_mean[1:],
            mu + user_mean[0] + item_row[0] + user_mean[1:] @ item_row[1:],
            mu + user_mean[0] + item_mean[0] + user_mean[1:] @ item_mean[1:],
        ]
        np.testing.assert_allclose(per_sample[s], expected, rtol=1e-6)
        users, items = (
            rng.multivariate_normal(
                prior_mean,
                np.linalg.inv(getattr(fitted, f"{side}_prior_precision_samples_")[s]),
                size=draws,
            )
            for side, prior_mean in (("user", user_mean), ("item", item_mean))
        )
        sampled = [
            mu + user_row[0] + items[:, 0] + items[:, 1:] @ user_row[1:],
            mu + users[:, 0] + item_row[0] + users[:, 1:] @ item_row[1:],
            mu + users[:, 0] + items[:, 0] + np.einsum("nk,nk->n", users[:, 1:], items[:, 1:]),
        ]
        alpha = float(fitted.noise_precision_samples_[s])
        noise += 1.0 / alpha
        for row, values in enumerate(sampled):
            totals[row] += values.mean()
            squares[row] += np.mean(values**2)
            ratings[row].append(values + rng.normal(0.0, alpha**-0.5, size=draws))
    # the planted ratings are not quantised: the range is wide and clipping never bites
    np.testing.assert_allclose(mean, totals / count, atol=0.01)
    reference_std = np.sqrt(squares / count - (totals / count) ** 2 + noise / count)
    np.testing.assert_allclose(std, reference_std, rtol=0.02)
    for row in range(3):
        values = np.concatenate(ratings[row])
        assert np.mean(values < lower[row]) == pytest.approx(0.1, abs=0.005)
        assert np.mean(values > upper[row]) == pytest.approx(0.1, abs=0.005)


def test_intervals_nest_and_contain_the_mean(planted, fitted):
    _, test, _ = planted
    mean = fitted.predict(test)
    narrow, wide = fitted.predict_interval(test, 0.5), fitted.predict_interval(test, 0.95)
    low, high = fitted.rating_range_
    assert np.all(wide[0] <= narrow[0]) and np.all(narrow[1] <= wide[1])
    inside = (mean > low + 0.3) & (mean < high - 0.3)  # away from the clipped ends
    assert np.all((narrow[0][inside] < mean[inside]) & (mean[inside] < narrow[1][inside]))
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
        fitted.predict_interval(test, 1.0)


def test_rankings_carry_the_predictive_spread(planted, fitted):
    train, _, _ = planted
    user = fitted.users_.ids[0]
    listed = fitted.recommend(user, n=10)
    assert list(listed.columns) == ["movieId", "score", "rank", "std"]
    assert not set(listed["movieId"]) & set(train.loc[train["userId"] == user, "movieId"])
    noise = np.sqrt(np.mean(1 / fitted.noise_precision_samples_))
    assert (listed["std"] > noise).all()
    # the scores are posterior means of the predicted ratings
    index = (fitted.users_.to_index(np.full(10, user)), fitted.items_.to_index(listed["movieId"]))
    unclipped = fitted._sample_moments(index, None)[0].mean(axis=0)
    np.testing.assert_allclose(listed["score"], unclipped, atol=1e-5)


def test_fold_in_samples_a_new_user_and_more_ratings_shrink_the_spread(planted, fitted):
    train, _, _ = planted
    heavy = train["userId"].value_counts().index[0]
    rated = train[train["userId"] == heavy]
    bias, vectors = fitted.fold_in(rated)
    assert bias.shape == (100,) and vectors.shape == (100, 3)
    many = fitted.recommend_new_user(rated, n=10)
    assert list(many.columns) == ["movieId", "score", "rank", "std"]
    own = fitted.recommend(heavy, n=10)
    assert len(set(many["movieId"]) & set(own["movieId"])) >= 6
    few = fitted.recommend_new_user(rated.iloc[:2], n=150, exclude_seen=False)
    with_many = fitted.recommend_new_user(rated, n=150, exclude_seen=False)
    spreads = few.set_index("movieId")["std"].align(with_many.set_index("movieId")["std"])
    assert (spreads[0] > spreads[1]).mean() > 0.95
    # the same user twice: the same draws
    np.testing.assert_array_equal(fitted.fold_in(rated)[1], vectors)
    # nobody rated yet: the prior-mean user's list is the most uncertain of all
    prior = fitted.recommend_prior(n=150)
    spreads = prior.set_index("movieId")["std"].align(with_many.set_index("movieId")["std"])
    assert (spreads[0] > spreads[1]).mean() > 0.95
    # ... and carries what predict says of an unknown user and those movies (unclipped)
    pairs = np.column_stack([np.full(len(prior), -1), prior["movieId"]])
    _, std = fitted.predict(pairs, return_std=True)
    index = (fitted.users_.to_index(pairs[:, 0]), fitted.items_.to_index(pairs[:, 1]))
    np.testing.assert_allclose(prior["score"], fitted._sample_moments(index, None)[0].mean(0))
    np.testing.assert_allclose(prior["std"], std)
    with pytest.raises(DataError, match="none of the movies"):
        fitted.fold_in({})


def test_save_and_load_keep_every_answer(planted, fitted, tmp_path):
    _, test, _ = planted
    path = fitted.save(tmp_path / "bayes.npz")
    loaded = load_model(path)
    assert type(loaded) is BayesianMF and loaded.get_params() == fitted.get_params()
    for name in SAMPLE_ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(fitted, name))
    for got, expected in zip(
        loaded.predict(test, return_std=True), fitted.predict(test, return_std=True), strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        loaded.predict_interval(test, 0.8), fitted.predict_interval(test, 0.8)
    )
    user = fitted.users_.ids[3]
    assert loaded.recommend(user, n=5).equals(fitted.recommend(user, n=5))
    ratings = {fitted.items_.ids[0]: 5.0, fitted.items_.ids[1]: 1.0}
    assert loaded.recommend_new_user(ratings, n=5).equals(fitted.recommend_new_user(ratings, n=5))
    assert loaded.history_.equals(fitted.history_)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_kept": 7, "n_samples": 6}, "n_kept must be at most n_samples=6, got 7"),
        ({"n_samples": 0}, "n_samples"),
        ({"burn_in": -1}, "burn_in"),
        ({"noise_precision": 0.0}, "noise_precision must be None"),
        ({"degrees_of_freedom_prior": 2.0}, "degrees_of_freedom_prior must exceed K = 2"),
        ({"mean_precision_prior": 0}, "mean_precision_prior must be positive"),
        ({"hyperprior": "wishart"}, "hyperprior must be one of normal-wishart, shared-diagonal"),
        (
            {"hyperprior": "shared-diagonal", "mean_precision_prior": 1.0, "scale_prior": 0.5},
            "mean_precision_prior, scale_prior set the Normal–Wishart hyperprior",
        ),
    ],
)
def test_bad_parameters_are_refused_by_name(params, message):
    frame, _ = make_ratings(20, 10, 100, n_factors=2, random_state=5)
    with pytest.raises(ValueError, match=message):
        BayesianMF(n_factors=2, **params).fit(frame)
