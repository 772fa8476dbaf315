"""BayesianTimeMF: the time block's draw against its dense Gaussian conditional, the bias's
conditional prior, planted time effects recovered with calibrated intervals, serving from the
kept samples, determinism across thread counts, persistence and bad input."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from _saved_models import altered_copy  # helper beside this file
from temporal_planted import DAY, planted_ratings  # helper beside this file

from recsys_helpers.data.split import random_split
from recsys_helpers.errors import DataError
from recsys_helpers.models.bayes import BayesianMF
from recsys_helpers.models.bayes_time import BayesianTimeMF
from recsys_helpers.models.persistence import load_model
from recsys_helpers.models.posterior import first_given_rest
from recsys_helpers.models.time_effects import drift, grouped_ridge

SAMPLE_ARRAYS = BayesianTimeMF._SAMPLE_ARRAYS


# ----------------------------------------------------------------------------- the block draw


@pytest.mark.parametrize("n_columns", [0, 1, 2])
def test_grouped_ridge_draw_has_the_dense_conditional(n_columns):
    """The draw is ``mean + M z``: its mean (z = 0) and covariance ``M Mᵀ / α``, found by
    feeding unit noise, equal the stacked model's posterior ``N(ridge, (α (AᵀA + D))⁻¹)``
    exactly, offsets of groups without entries excluded (they have no parameter)."""
    rng = np.random.default_rng(n_columns)
    n_rows, n = 5, 40
    rows = np.sort(rng.integers(0, n_rows - 1, n))  # the last row has no entries: its prior
    codes, groups = np.unique(rows * 4 + rng.integers(0, 3, n), return_inverse=True)
    group_rows = np.r_[codes // 4, 0]  # plus one group without entries
    n_groups = len(group_rows)
    design = np.column_stack([np.ones(n), rng.normal(size=n)])[:, :n_columns]
    targets = rng.normal(size=n)
    penalty, group_penalty = np.array([0.5, 1.3])[:n_columns], 0.7

    def draw(row_noise, group_noise):
        theta, offsets = grouped_ridge(
            rows,
            design,
            targets,
            penalty,
            n_rows,
            groups=groups,
            group_rows=group_rows,
            group_penalty=group_penalty,
            noise=(row_noise.reshape(n_rows, n_columns), group_noise),
        )
        return np.r_[theta.ravel(), offsets]

    width = n_rows * n_columns + n_groups
    mean = draw(np.zeros(n_rows * n_columns), np.zeros(n_groups))
    columns = []
    for k in range(width):
        unit = np.zeros(width)
        unit[k] = 1.0
        columns.append(draw(unit[: n_rows * n_columns], unit[n_rows * n_columns :]) - mean)
    transform = np.column_stack(columns)

    stacked = np.zeros((n, width))
    for j in range(n):
        stacked[j, rows[j] * n_columns : (rows[j] + 1) * n_columns] = design[j]
        stacked[j, n_rows * n_columns + groups[j]] = 1.0
    prior = np.r_[np.tile(penalty, n_rows), np.full(n_groups, group_penalty)]
    keep = np.r_[np.ones(n_rows * n_columns, bool), np.arange(n_groups) < n_groups - 1]
    precision = (stacked.T @ stacked + np.diag(prior))[np.ix_(keep, keep)]
    expected_mean = np.linalg.solve(precision, stacked[:, keep].T @ targets)
    np.testing.assert_allclose(mean[keep], expected_mean, atol=1e-12)
    covariance = (transform @ transform.T)[np.ix_(keep, keep)]
    np.testing.assert_allclose(covariance, np.linalg.inv(precision), atol=1e-12)
    assert mean[-1] == 0.0 and not transform[-1].any()  # no entries, no parameter


def test_bias_prior_given_the_vector_is_the_gaussian_conditional():
    rng = np.random.default_rng(2)
    root = rng.normal(size=(4, 4))
    precision = root @ root.T + 4 * np.eye(4)
    mean = rng.normal(size=4)
    rest = rng.normal(size=(6, 3))
    means, first = first_given_rest(mean, precision, rest)
    covariance = np.linalg.inv(precision)
    gain = covariance[0, 1:] @ np.linalg.inv(covariance[1:, 1:])
    np.testing.assert_allclose(means, mean[0] + (rest - mean[1:]) @ gain, atol=1e-12)
    conditional_variance = covariance[0, 0] - gain @ covariance[1:, 0]
    assert first == pytest.approx(1.0 / conditional_variance, rel=1e-12)


# ----------------------------------------------------------------------------- fitted models


@pytest.fixture(scope="module")
def planted():
    """Ratings of the time-aware model with a rank-2 part, noise σ = 0.3, split 85/15."""
    frame, truth = planted_ratings(
        n_users=150, n_items=80, n_factors=2, noise_std=0.3, days_per_user=6, seed=3
    )
    train, test = random_split(frame, 0.15, random_state=0)
    return train, test, truth


#: The planted priors in units of the noise (σ² / τ²: day and bin offsets τ = σ = 0.3, drift
#: τ = 0.06), so the intervals have their nominal coverage.
FIT = {"n_factors": 2, "n_bins": 6, "n_samples": 150, "burn_in": 20, "n_kept": 50}
FIT |= {"reg_day": 1.0, "reg_bin": 1.0, "reg_drift": 25.0}


@pytest.fixture(scope="module")
def fitted(planted):
    train, test, _ = planted
    return BayesianTimeMF(**FIT, random_state=1).fit(train, validation=test)


def rmse(model, frame) -> float:
    return float(np.sqrt(np.mean((model.predict(frame) - frame["rating"].to_numpy()) ** 2)))


def test_planted_time_effects_are_recovered_with_calibrated_intervals(planted, fitted):
    train, test, truth = planted
    plain = BayesianMF(n_factors=2, n_samples=150, burn_in=20, n_kept=50, random_state=1)
    plain.fit(train)
    # the time terms carry real signal here: the plain model cannot reach them
    assert rmse(fitted, test) < 0.8 * rmse(plain, test)
    assert rmse(fitted, test) < 1.25 * truth.noise_std
    # the user side's time-varying part, b_u + α_u dev_u(t) + b_{u,t}, of each rating
    terms = fitted.time_terms(train)
    users = fitted.users_.to_index(train["userId"].to_numpy())
    user_term = fitted.user_bias_[users] + terms["user_drift"] + terms["user_day"]
    assert np.corrcoef(user_term, truth.user_term.loc[train.index])[0, 1] > 0.9
    cells = truth.item_bin_bias.to_numpy()[fitted.items_.ids]
    assert np.corrcoef(fitted.item_bin_bias_.ravel(), cells.ravel())[0, 1] > 0.75
    # 80% and 95% predictive intervals cover held-out ratings at about their rate
    for level, low, high in ((0.8, 0.74, 0.86), (0.95, 0.91, 0.98)):
        lower, upper = fitted.predict_interval(test, level)
        covered = np.mean((test["rating"] >= lower) & (test["rating"] <= upper))
        assert low < covered < high, (level, covered)


def _by_hand(model, frame) -> np.ndarray:
    """Each kept sample's unclipped prediction, from the arrays and the encodings' definitions."""
    user = model.users_.to_index(frame["userId"].to_numpy())
    item = model.items_.to_index(frame["movieId"].to_numpy())
    seconds = frame["timestamp"].to_numpy()
    day = seconds // DAY
    dev = drift(day, model.user_mean_day_[user], model.beta)
    found = np.searchsorted(model.bin_edges_, seconds, "right") - 1
    cell = item * model.n_bins + np.clip(found, 0, model.n_bins - 1)
    keys = zip(model.day_users_, model.day_numbers_, strict=True)
    pair = {(u, d): k for k, (u, d) in enumerate(keys)}
    pairs = [pair[(u, d)] for u, d in zip(user, day, strict=True)]
    samples = []
    for s in range(len(model.noise_precision_samples_)):
        bins = dict(zip(model.item_bin_cells_, model.item_bin_bias_samples_[s], strict=True))
        value = (
            model.global_mean_
            + model.user_bias_samples_[s, user]
            + model.item_bias_samples_[s, item]
            + model.user_drift_samples_[s, user] * dev
            + model.day_bias_samples_[s, pairs]
            + np.array([bins.get(c, 0.0) for c in cell])
            + np.einsum(
                "nk,nk->n",
                model.user_factor_samples_[s, user],
                model.item_factor_samples_[s, item],
            )
        )
        samples.append(value)
    return np.array(samples)


def test_predictions_average_every_kept_samples_time_terms(planted, fitted):
    train, _, _ = planted
    rows = train.iloc[:40]
    expected = np.clip(_by_hand(fitted, rows), *fitted.rating_range_).mean(axis=0)
    np.testing.assert_allclose(fitted.predict(rows), expected, atol=1e-5)


def test_rankings_speak_of_the_end_of_the_training_span(planted, fitted):
    train, _, _ = planted
    user = fitted.users_.ids[4]
    listed = fitted.recommend(user, n=8)
    assert list(listed.columns) == ["movieId", "score", "rank", "std"]
    assert not set(listed["movieId"]) & set(train.loc[train["userId"] == user, "movieId"])
    # the same movies scored by hand as of the end of the span: the user's drift then, no
    # day offset, each movie's last bin
    end = int(fitted.bin_edges_[-1])
    rows = pd.DataFrame({"userId": user, "movieId": listed["movieId"], "timestamp": end})
    unclipped = _by_hand_at_end(fitted, rows)
    np.testing.assert_allclose(listed["score"], unclipped, atol=1e-5)


def _by_hand_at_end(model, rows) -> np.ndarray:
    user = model.users_.to_index(rows["userId"].to_numpy())
    item = model.items_.to_index(rows["movieId"].to_numpy())
    dev = drift(rows["timestamp"].to_numpy() // DAY, model.user_mean_day_[user], model.beta)
    last = item * model.n_bins + model.n_bins - 1
    total = np.zeros(len(rows))
    for s in range(len(model.noise_precision_samples_)):
        bins = dict(zip(model.item_bin_cells_, model.item_bin_bias_samples_[s], strict=True))
        total += (
            model.global_mean_
            + model.user_bias_samples_[s, user]
            + model.user_drift_samples_[s, user] * dev
            + model.item_bias_samples_[s, item]
            + np.array([bins.get(c, 0.0) for c in last])
            + model.item_factor_samples_[s, item] @ model.user_factor_samples_[s, user[0]]
        )
    return total / len(model.noise_precision_samples_)


def test_fold_in_and_unknown_rows_never_give_nan(planted, fitted):
    _, test, _ = planted
    ratings = {fitted.items_.ids[0]: 5.0, fitted.items_.ids[1]: 1.0}
    listed = fitted.recommend_new_user(ratings, n=5)
    assert len(listed) == 5 and (listed["std"] > 0).all()
    rows = test.iloc[:3].copy()
    rows["userId"] = [10**6, rows["userId"].iloc[1], 10**6]
    rows["movieId"] = [rows["movieId"].iloc[0], 10**6, 10**6]
    mean, std = fitted.predict(rows, return_std=True)
    assert np.isfinite(mean).all() and np.isfinite(std).all()


def test_save_and_load_keep_every_answer(planted, fitted, tmp_path):
    _, test, _ = planted
    loaded = load_model(fitted.save(tmp_path / "bayes_time.npz"))
    assert type(loaded) is BayesianTimeMF and loaded.get_params() == fitted.get_params()
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
    assert loaded.time_terms(test).equals(fitted.time_terms(test))


@pytest.mark.parametrize(
    ("name", "alter", "message"),
    [
        ("item_bin_cells", lambda a: a + 10**9, "item_bin_cells: the .* cells are not sorted"),
        ("item_bin_cells", lambda a: a[::-1], "item_bin_cells: the .* cells are not sorted"),
        ("day_bias_samples", lambda a: a[:, :-1], "day_bias_samples has shape"),
    ],
)
def test_altered_samples_are_refused_on_load(fitted, tmp_path, name, alter, message):
    path = fitted.save(tmp_path / "bayes_time.npz")
    altered = altered_copy(path, tmp_path / "altered.npz", name, alter)
    with pytest.raises(DataError, match=message):
        BayesianTimeMF.load(altered)


def test_timestamps_are_required(planted, fitted):
    train, test, _ = planted
    with pytest.raises(DataError, match="timestamp"):
        fitted.predict(test.drop(columns="timestamp"))
    with pytest.raises(DataError, match="timestamp"):
        BayesianTimeMF(**FIT).fit(train.drop(columns="timestamp"))


@pytest.mark.parametrize("name", ["reg_day", "reg_drift", "reg_bin"])
def test_zero_prior_precisions_are_refused_by_name(planted, name):
    train, _, _ = planted
    with pytest.raises(ValueError, match=f"{name} is a prior precision and must be positive"):
        BayesianTimeMF(**{**FIT, name: 0.0}).fit(train)


# ----------------------------------------------------------------------------- determinism

SCRIPT = """
import hashlib, sys, numba, numpy as np
sys.path.insert(0, {tests!r})
from temporal_planted import planted_ratings
from recsys_helpers.models.bayes_time import BayesianTimeMF
frame, _ = planted_ratings(n_factors=2, seed=5)
model = BayesianTimeMF(n_factors=4, n_bins=5, n_samples=4, burn_in=1, n_kept=2, init_iter=2)
model.fit(frame, validation=frame)
hasher = hashlib.sha256()
for name in BayesianTimeMF._SAMPLE_ARRAYS:
    hasher.update(np.ascontiguousarray(getattr(model, name)).tobytes())
print(numba.get_num_threads(), hasher.hexdigest())
"""


def test_samples_do_not_depend_on_the_thread_count(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tests=os.path.dirname(__file__))))
    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(result.stdout.split())
    assert [threads for threads, _ in outputs] == ["1", "2"]
    assert outputs[0][1] == outputs[1][1]


def test_same_seed_same_samples_other_seed_other_samples(planted):
    train, _, _ = planted
    settings = {**FIT, "n_samples": 4, "burn_in": 1, "n_kept": 2, "init_iter": 2}

    def digest(seed):
        model = BayesianTimeMF(**settings, random_state=seed).fit(train)
        hasher = hashlib.sha256()
        for name in SAMPLE_ARRAYS:
            hasher.update(np.ascontiguousarray(getattr(model, name)).tobytes())
        return hasher.hexdigest()

    assert digest(3) == digest(3) != digest(4)
