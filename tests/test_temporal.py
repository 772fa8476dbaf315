"""TimeAwareMF: exact blocks against lstsq, monotone objective, planted time effects, fallbacks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _saved_models import altered_copy  # helper beside this file
from sklearn.exceptions import ConvergenceWarning
from temporal_planted import DAY, planted_ratings  # helper beside this file

from recsys_helpers.data.ratings import RatingMatrix
from recsys_helpers.data.split import random_split
from recsys_helpers.errors import DataError
from recsys_helpers.models import ranking
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.temporal import TimeAwareMF
from recsys_helpers.models.time_effects import (
    TIME_EFFECTS,
    bin_edges,
    drift,
    find_user_days,
    gathered_sum,
    grouped_ridge,
    time_bin,
    user_days,
)
from recsys_helpers.models.training import ITEM, USER, TrainingData

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

EXACT = {"dtype": "float64", "tol": None}


@pytest.fixture(scope="module")
def planted():
    return planted_ratings(n_factors=2, seed=1)


def small(seed=0):
    return planted_ratings(n_users=12, n_items=15, days_per_user=3, ratings_per_day=3, seed=seed)[0]


# ----------------------------------------------------------------------------- encodings


def test_encodings_follow_their_definitions():
    assert drift([10, 2, 5], [5.0, 6.0, 5.0], 0.5).tolist() == pytest.approx([5**0.5, -2.0, 0.0])
    edges = bin_edges(100.0, 400.0, 3)
    assert edges.tolist() == [100.0, 200.0, 300.0, 400.0]
    # the last bin is closed; times outside the span take the first or last bin
    assert time_bin([100, 199.9, 200, 400, 10_000, -5], edges).tolist() == [0, 0, 1, 2, 2, 0]
    assert bin_edges(7.0, 7.0, 2).tolist() == [7.0, 8.0, 9.0]  # one instant: 1 s bins
    rows, days = np.array([2, 0, 2, 0, 2]), np.array([9, 4, 9, 5, 3])
    key_rows, key_days, pair = user_days(rows, days)
    assert list(zip(key_rows.tolist(), key_days.tolist(), strict=True)) == [
        (0, 4),
        (0, 5),
        (2, 3),
        (2, 9),
    ]
    assert pair.tolist() == [3, 0, 3, 1, 2]
    found = find_user_days(
        key_rows, key_days, np.array([2, 0, 1, -1, 2]), np.array([3, 5, 4, 4, 99])
    )
    assert found.tolist() == [2, 1, -1, -1, -1]


@pytest.mark.parametrize("n_columns", [0, 1, 2])
@pytest.mark.parametrize("group_penalty", [0.7, 0.0])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
def test_grouped_ridge_is_the_stacked_least_squares_solution(n_columns, group_penalty, index_dtype):
    rng = np.random.default_rng(n_columns)
    n_rows, n = 6, 50
    rows = np.sort(rng.integers(0, n_rows - 1, n))  # the last row has no entries
    codes, groups = np.unique(rows * 4 + rng.integers(0, 3, n), return_inverse=True)
    group_rows = np.r_[codes // 4, 0]  # plus one group without entries
    rows, groups, group_rows = (a.astype(index_dtype) for a in (rows, groups, group_rows))
    design = np.column_stack([np.ones(n), rng.normal(size=n)])[:, :n_columns]
    targets = rng.normal(size=n)
    penalty = np.array([0.5, 1.3])[:n_columns]
    theta, offsets = grouped_ridge(
        rows,
        design,
        targets,
        penalty,
        n_rows,
        groups=groups,
        group_rows=group_rows,
        group_penalty=group_penalty,
    )
    n_groups = len(group_rows)
    stacked = np.zeros((n, n_rows * n_columns + n_groups))
    for j in range(n):
        stacked[j, rows[j] * n_columns : (rows[j] + 1) * n_columns] = design[j]
        stacked[j, n_rows * n_columns + groups[j]] = 1.0
    root = np.sqrt(np.r_[np.tile(penalty, n_rows), np.full(n_groups, group_penalty)])
    solution = np.linalg.lstsq(
        np.vstack([stacked, np.diag(root)]),
        np.r_[targets, np.zeros(len(root))],
        rcond=None,
    )[0]
    np.testing.assert_allclose(theta.ravel(), solution[: n_rows * n_columns], atol=1e-12)
    np.testing.assert_allclose(offsets, solution[n_rows * n_columns :], atol=1e-12)
    assert not theta[-1].any() and offsets[-1] == 0.0  # no entries: the prior mean


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_gathered_sum_adds_the_gathered_terms(index_dtype):
    rng = np.random.default_rng(3)
    n = 1000
    first, second = rng.normal(size=40), rng.normal(size=7)
    index_first = rng.integers(0, 40, n).astype(index_dtype)
    index_second = rng.integers(0, 7, n).astype(index_dtype)
    scale = rng.normal(size=n)
    total = gathered_sum(n, [(first, index_first, scale), (second, index_second, None)])
    expected = [first[index_first[j]] * scale[j] + second[index_second[j]] for j in range(n)]
    np.testing.assert_allclose(total, expected, rtol=0, atol=1e-15)
    assert not gathered_sum(n, []).any()


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("rows", {"rows": np.array([0, 1, 2])}),
        ("groups", {"groups": np.array([0, 2, 1])}),
        ("group_rows", {"group_rows": np.array([0, -1])}),
    ],
)
def test_grouped_ridge_refuses_indices_out_of_range(name, change):
    arguments = {
        "rows": np.array([0, 1, 1]),
        "design": np.ones((3, 1)),
        "targets": np.ones(3),
        "penalty": [1.0],
        "n_rows": 2,
        "groups": np.array([0, 1, 1]),
        "group_rows": np.array([0, 1]),
        "group_penalty": 1.0,
    }
    arguments.update(change)
    with pytest.raises(ValueError, match=f"grouped_ridge: {name} must lie in 0 … 1"):
        grouped_ridge(**arguments)


def test_grouped_ridge_without_groups_is_plain_ridge():
    rng = np.random.default_rng(5)
    rows = np.repeat([0, 1], 6)
    design = np.column_stack([np.ones(12), rng.normal(size=12)])
    targets = rng.normal(size=12)
    theta, offsets = grouped_ridge(rows, design, targets, [0.4, 2.0], 2)
    for row in (0, 1):
        z, y = design[rows == row], targets[rows == row]
        expected = np.linalg.solve(z.T @ z + np.diag([0.4, 2.0]), z.T @ y)
        np.testing.assert_allclose(theta[row], expected, atol=1e-12)
    assert offsets.size == 0


# ----------------------------------------------------------------------------- the blocks


def _model_mid_fit(frame, seed=0, **params):
    """A model initialised on ``frame`` with every parameter set at random."""
    model = TimeAwareMF(n_factors=2, n_bins=4, reg=0.7, reg_bias=0.9, **EXACT, **params)
    model._check_params()
    data = TrainingData(RatingMatrix.from_frame(frame, extra_columns=("timestamp",)))
    model._start(data)
    model._initialise(data, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for name in (*model._state_attributes,):
        value = getattr(model, name)
        setattr(model, name, rng.normal(size=value.shape))
    return model, data


def _encodings(model, frame):
    """Oracle encodings of each rating, from the definitions (not the package's helpers)."""
    user = model.users_.to_index(frame.userId.to_numpy())
    item = model.items_.to_index(frame.movieId.to_numpy())
    seconds = frame.timestamp.to_numpy()
    day = seconds // DAY
    mean_day = pd.Series(day).groupby(user).mean().to_numpy()
    delta = day - mean_day[user]
    dev = np.sign(delta) * np.abs(delta) ** model.beta
    width = (seconds.max() - seconds.min()) / model.n_bins
    bins = np.minimum(((seconds - seconds.min()) / width).astype(int), model.n_bins - 1)
    return user, item, day, dev, bins


def test_user_time_block_is_the_exact_minimiser():
    frame = small()
    model, data = _model_mid_fit(frame)
    user, item, day, dev, bins = _encodings(model, frame)
    model._time_step(data, USER)
    rating = frame.rating.to_numpy()
    rest = (
        rating
        - model.global_mean_
        - model.item_bias_[item]
        - model.item_bin_bias_[item, bins]
        - np.einsum("nk,nk->n", model.user_factors_[user], model.item_factors_[item])
    )
    for u in range(len(model.users_)):
        mine = np.flatnonzero(user == u)
        days = np.unique(day[mine])
        onehot = (day[mine, None] == days[None, :]).astype(float)
        design = np.column_stack([np.ones(len(mine)), dev[mine], onehot])
        root = np.sqrt(np.r_[model.reg_bias, model.reg_drift, np.full(len(days), model.reg_day)])
        expected = np.linalg.lstsq(
            np.vstack([design, np.diag(root)]), np.r_[rest[mine], np.zeros(len(root))], rcond=None
        )[0]
        offsets = model.day_bias_[
            find_user_days(model.day_users_, model.day_numbers_, [u] * len(days), days)
        ]
        got = np.r_[model.user_bias_[u], model.user_drift_[u], offsets]
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_movie_time_block_is_the_exact_minimiser():
    frame = small(seed=3)
    model, data = _model_mid_fit(frame, seed=3)
    user, item, day, dev, bins = _encodings(model, frame)
    pair = find_user_days(model.day_users_, model.day_numbers_, user, day)
    model._time_step(data, ITEM)
    rest = (
        frame.rating.to_numpy()
        - model.global_mean_
        - model.user_bias_[user]
        - model.user_drift_[user] * dev
        - model.day_bias_[pair]
        - np.einsum("nk,nk->n", model.user_factors_[user], model.item_factors_[item])
    )
    for i in range(len(model.items_)):
        mine = np.flatnonzero(item == i)
        onehot = (bins[mine, None] == np.arange(model.n_bins)[None, :]).astype(float)
        design = np.column_stack([np.ones(len(mine)), onehot])
        root = np.sqrt(np.r_[model.reg_bias, np.full(model.n_bins, model.reg_bin)])
        expected = np.linalg.lstsq(
            np.vstack([design, np.diag(root)]), np.r_[rest[mine], np.zeros(len(root))], rcond=None
        )[0]
        got = np.r_[model.item_bias_[i], model.item_bin_bias_[i]]
        np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize(
    ("effects", "options"),
    [
        (TIME_EFFECTS, {}),
        (("user_day",), {}),
        (("user_drift", "item_bins"), {"scale_reg": True}),
        (TIME_EFFECTS, {"fit_biases": False}),
        (TIME_EFFECTS, {"n_factors": 0}),
        (TIME_EFFECTS, {"cg_steps": 2}),
    ],
)
def test_objective_never_increases(planted, effects, options):
    params = {"n_factors": 3, "reg": 0.5, "reg_bias": 2.0, "n_iter": 8, **options}
    model = TimeAwareMF(time_effects=effects, **params, **EXACT).fit(planted[0])
    objective = model.history_.objective.to_numpy()
    assert np.all(np.diff(objective) <= 1e-10 * objective[0]), np.diff(objective)


def test_objective_is_the_data_term_plus_every_penalty(planted):
    frame = planted[0]
    model = TimeAwareMF(n_factors=3, reg=0.5, reg_bias=2.0, n_iter=3, **EXACT).fit(frame)
    residual = frame.rating.to_numpy() - _unclipped(model, frame)

    def square(array):
        return float(np.sum(np.square(array)))

    expected = (
        square(residual)
        + model.reg * (square(model.user_factors_) + square(model.item_factors_))
        + model.reg_bias * (square(model.user_bias_) + square(model.item_bias_))
        + model.reg_drift * square(model.user_drift_)
        + model.reg_day * square(model.day_bias_)
        + model.reg_bin * square(model.item_bin_bias_)
    )
    assert model.history_.objective.iloc[-1] == pytest.approx(expected, rel=1e-10)


def _unclipped(model, frame):
    return model._predict_index(
        model.users_.to_index(frame.userId), model.items_.to_index(frame.movieId), frame
    )


def test_without_time_effects_it_is_biased_mf(planted):
    params = {"n_factors": 3, "reg": 0.5, "reg_bias": 2.0, "n_iter": 5, **EXACT}
    plain = BiasedMF(**params).fit(planted[0])
    timed = TimeAwareMF(time_effects=(), **params).fit(planted[0])
    np.testing.assert_array_equal(timed.predict(planted[0]), plain.predict(planted[0]))
    np.testing.assert_array_equal(timed.history_.objective, plain.history_.objective)


# ----------------------------------------------------------------------------- recovery


def test_planted_drift_day_offsets_and_bins_are_recovered():
    frame, truth = planted_ratings(n_factors=0, seed=2)
    train, test = random_split(frame, 0.1, random_state=0)
    model = TimeAwareMF(
        n_factors=0,
        n_bins=6,
        reg_bias=1.0,
        reg_day=1.0,
        reg_drift=1.0,
        reg_bin=1.0,
        n_iter=30,
        **EXACT,
    ).fit(train)
    plain = TimeAwareMF(n_factors=0, time_effects=(), reg_bias=1.0, n_iter=10, **EXACT).fit(train)
    test_rmse, plain_rmse = -model.score(test), -plain.score(test)
    assert test_rmse < 1.5 * truth.noise_std < plain_rmse / 2

    drift_hat = pd.Series(model.user_drift_, index=model.users_.ids)
    assert np.corrcoef(drift_hat, truth.user_drift.loc[model.users_.ids])[0, 1] > 0.95
    # b_u, α_u dev_u(t) and b_{u,t} share the user's mean: the total per rating is identified
    terms = model.time_terms(train)
    user_term = model.user_bias_[model.users_.to_index(train.userId)] + terms.user_drift
    assert np.corrcoef(user_term + terms.user_day, truth.user_term.loc[train.index])[0, 1] > 0.97
    # and so are the day offsets around each user's mean offset
    days = pd.Series(
        model.day_bias_,
        index=pd.MultiIndex.from_arrays([model.users_.ids[model.day_users_], model.day_numbers_]),
    )
    assert days.index.isin(truth.day_bias.index).all()  # one per (user, day) with ratings
    planted_days = truth.day_bias.loc[days.index]

    def centred(series):
        return series - series.groupby(level=0).transform("mean")

    assert np.corrcoef(centred(days), centred(planted_days))[0, 1] > 0.85  # 0.91 measured
    bins = pd.DataFrame(model.item_bin_bias_, index=model.items_.ids)
    planted_bins = truth.item_bin_bias.loc[model.items_.ids]
    # a movie's bin offsets are identified up to a shift that b_i absorbs: compare centred
    centred = bins.sub(bins.mean(axis=1), axis=0).to_numpy().ravel()
    planted_centred = planted_bins.sub(planted_bins.mean(axis=1), axis=0).to_numpy().ravel()
    assert np.corrcoef(centred, planted_centred)[0, 1] > 0.9


# ----------------------------------------------------------------------------- fallbacks


@pytest.fixture(scope="module")
def fitted(planted):
    return TimeAwareMF(n_factors=2, n_bins=6, n_iter=4, **EXACT).fit(planted[0])


def _row(user, movie, seconds):
    return pd.DataFrame({"userId": [user], "movieId": [movie], "timestamp": [seconds]})


def test_a_day_without_training_ratings_falls_back_to_the_drift(fitted, planted):
    frame = planted[0]
    user, movie = int(frame.userId.iloc[0]), int(frame.movieId.iloc[0])
    rated_days = set(frame.loc[frame.userId == user, "timestamp"] // DAY)
    free_day = next(d for d in range(min(rated_days), max(rated_days)) if d not in rated_days)
    row = _row(user, movie, free_day * DAY + 100)
    terms = fitted.time_terms(row).iloc[0]
    assert terms.user_day == 0.0 and terms.user_drift != 0.0
    u, i = fitted.users_.to_index([user])[0], fitted.items_.to_index([movie])[0]
    day = free_day * DAY + 100
    bins = time_bin([day], fitted.bin_edges_)[0]
    expected = (
        fitted.global_mean_
        + fitted.user_bias_[u]
        + fitted.item_bias_[i]
        + fitted.user_factors_[u] @ fitted.item_factors_[i]
        + fitted.user_drift_[u] * drift([free_day], [fitted.user_mean_day_[u]], fitted.beta)[0]
        + fitted.item_bin_bias_[i, bins]
    )
    assert _unclipped(fitted, row)[0] == pytest.approx(expected, abs=1e-12)
    # a rated day carries its offset
    rated = _row(user, movie, min(rated_days) * DAY)
    assert fitted.time_terms(rated).iloc[0].user_day != 0.0


def test_times_beyond_the_training_span_take_the_last_bin(fitted, planted):
    movie = int(planted[0].movieId.iloc[0])
    i = fitted.items_.to_index([movie])[0]
    user = int(planted[0].userId.iloc[0])
    late = fitted.time_terms(_row(user, movie, int(fitted.bin_edges_[-1]) + 400 * DAY))
    early = fitted.time_terms(_row(user, movie, int(fitted.bin_edges_[0]) - 400 * DAY))
    assert late.item_bins.iloc[0] == fitted.item_bin_bias_[i, -1]
    assert early.item_bins.iloc[0] == fitted.item_bin_bias_[i, 0]


def test_unknown_users_and_movies_get_no_time_term_of_their_own_and_never_nan(fitted, planted):
    frame = planted[0]
    user, movie = int(frame.userId.iloc[0]), int(frame.movieId.iloc[0])
    seconds = int(frame.timestamp.iloc[0])
    rows = pd.DataFrame(
        {
            "userId": [99_999, user, 99_999],
            "movieId": [movie, 88_888, 88_888],
            "timestamp": [seconds] * 3,
        }
    )
    terms = fitted.time_terms(rows)
    u, i = fitted.users_.to_index([user])[0], fitted.items_.to_index([movie])[0]
    known_day = fitted.time_terms(_row(user, movie, seconds)).iloc[0]
    assert list(terms.columns) == ["user_day", "user_drift", "item_bins"]
    assert terms.iloc[0].tolist() == [0.0, 0.0, known_day.item_bins]  # new user: movie term only
    assert terms.iloc[1].tolist() == [known_day.user_day, known_day.user_drift, 0.0]
    assert terms.iloc[2].tolist() == [0.0, 0.0, 0.0]
    assert known_day.user_day != 0.0 and known_day.user_drift != 0.0
    predicted = _unclipped(fitted, rows)
    assert np.isfinite(predicted).all()
    mu = fitted.global_mean_
    assert predicted[0] == pytest.approx(mu + fitted.item_bias_[i] + known_day.item_bins)
    assert predicted[1] == pytest.approx(
        mu + fitted.user_bias_[u] + known_day.user_drift + known_day.user_day
    )
    assert predicted[2] == mu


def test_a_new_user_folds_in_without_time_terms(fitted, planted):
    frame = planted[0]
    ratings = frame.groupby("movieId").rating.mean().head(6)
    bias, vector = fitted.fold_in(ratings.to_dict())
    index = fitted.items_.to_index(ratings.index.to_numpy())
    present = fitted.item_bias_ + fitted.item_bin_bias_[:, -1]
    expected = ranking.fold_in(
        index,
        ratings.to_numpy(),
        fitted.global_mean_,
        present,
        fitted.item_factors_,
        fitted.reg,
        fitted.reg_bias,
    )
    assert bias == pytest.approx(expected[0]) and np.allclose(vector, expected[1])
    table = fitted.recommend_new_user(ratings.to_dict(), n=5)
    assert len(table) == 5 and np.isfinite(table.score).all()
    # a training user's ranking scores are the predictions at the end of the training span
    end = int(fitted.bin_edges_[-1])
    last_day = frame.groupby("userId").timestamp.max() // DAY
    user = int(last_day.index[last_day < end // DAY][0])  # no rating on the last day
    top = fitted.recommend(user, n=3)
    rows = pd.DataFrame({"userId": user, "movieId": top.movieId, "timestamp": end})
    assert fitted.time_terms(rows).user_day.eq(0).all()
    np.testing.assert_allclose(top.score, _unclipped(fitted, rows), atol=1e-10)


def test_timestamps_are_required_with_a_clear_error(fitted, planted):
    frame = planted[0]
    with pytest.raises(DataError, match="TimeAwareMF: training ratings: missing .*'timestamp'"):
        TimeAwareMF().fit(frame.drop(columns="timestamp"))
    with pytest.raises(DataError, match="needs? a 'timestamp' column"):
        fitted.predict(frame[["userId", "movieId"]])
    with pytest.raises(DataError, match="'timestamp' column"):
        fitted.predict(frame[["userId", "movieId"]].to_numpy())
    with pytest.raises(DataError, match="column 'timestamp': 1 non-finite"):
        TimeAwareMF().fit(frame.assign(timestamp=frame.timestamp.where(frame.index != 3)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"time_effects": "all"}, "time_effects must be a sequence of user_day"),
        ({"time_effects": ("user_day", "season")}, "time_effects must be a sequence"),
        ({"time_effects": ("user_day", "user_day")}, "names a term twice"),
        ({"reg_day": -1.0}, "reg_day must be a finite number >= 0"),
        ({"reg_bin": float("nan")}, "reg_bin must be"),
        ({"n_bins": 0}, "n_bins must be an integer >= 1"),
        ({"beta": -0.4}, "beta must be"),
    ],
)
def test_bad_parameters_are_named(planted, params, message):
    with pytest.raises(ValueError, match=message):
        TimeAwareMF(**params).fit(planted[0])


# ----------------------------------------------------------------------------- life-cycle


def test_save_load_round_trip(fitted, planted, tmp_path):
    path = fitted.save(tmp_path / "timed.npz")
    loaded = TimeAwareMF.load(path)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.predict(planted[0]), fitted.predict(planted[0]))
    pd.testing.assert_frame_equal(
        loaded.recommend(int(planted[0].userId.iloc[0])),
        fitted.recommend(int(planted[0].userId.iloc[0])),
    )
    with np.load(path, allow_pickle=False) as data:
        assert {"day_bias", "day_users", "item_bin_bias", "user_drift", "bin_edges"} <= set(
            data.files
        )
    assert not hasattr(fitted, "_entry_times")  # per-entry encodings are not kept


@pytest.mark.parametrize(
    ("name", "alter", "message"),
    [
        ("item_bin_bias", lambda a: a[:, :-1], "item_bin_bias has shape"),
        ("day_users", lambda a: a + 10_000, "time encodings .* are inconsistent"),
        ("day_numbers", lambda a: a[::-1], "time encodings .* are inconsistent"),
        ("bin_edges", lambda a: np.r_[a[:-1], np.nan], "time encodings .* are inconsistent"),
        ("user_drift", lambda a: np.r_[a[:-1], np.inf], "user_drift holds 1 NaN/inf"),
    ],
)
def test_altered_time_terms_are_refused_on_load(fitted, tmp_path, name, alter, message):
    path = fitted.save(tmp_path / "timed.npz")
    altered = altered_copy(path, tmp_path / "altered.npz", name, alter)
    with pytest.raises(DataError, match=message):
        TimeAwareMF.load(altered)


def test_early_stopping_restores_the_time_terms(planted):
    train, valid = random_split(planted[0], 0.2, random_state=1)
    model = TimeAwareMF(
        n_factors=2, reg=0.01, reg_day=0.0, n_iter=12, early_stopping=True, patience=1, **EXACT
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train, validation=valid)
    best = int(model.history_.valid_rmse.idxmin())
    assert -model.score(valid) == pytest.approx(model.history_.valid_rmse.iloc[best], rel=1e-12)


def test_same_seed_same_numbers(planted):
    first = TimeAwareMF(n_factors=2, n_iter=3, random_state=4).fit(planted[0])
    second = TimeAwareMF(n_factors=2, n_iter=3, random_state=4).fit(planted[0])
    np.testing.assert_array_equal(first.day_bias_, second.day_bias_)
    np.testing.assert_array_equal(first.predict(planted[0]), second.predict(planted[0]))


# ----------------------------------------------------------------------------- real data


@pytest.mark.mirror
def test_real_data_target(mirror):
    from recsys_helpers.data.movielens import load_ratings

    ratings = load_ratings("ml-latest-small", mirror=mirror, progress=False)
    train, test = random_split(ratings, 0.1, random_state=42)
    model = TimeAwareMF().fit(train)
    assert -model.score(test) < 0.835


# ----------------------------------------------------------------------------- evaluation


def test_shared_user_days_counts_test_ratings_on_training_days():
    from recsys_helpers.evaluation.temporal import shared_user_days

    train = pd.DataFrame({"userId": [1, 1, 2], "timestamp": [10, 2 * DAY + 5, 5 * DAY]})
    test = pd.DataFrame(
        {"userId": [1, 1, 2, 3], "timestamp": [DAY - 1, DAY, 5 * DAY + 7, 10]}
    )  # same day; the next day; same day; unknown user
    assert shared_user_days(train, test) == 0.5
    with pytest.raises(DataError, match="test: missing column"):
        shared_user_days(train, test.drop(columns="timestamp"))


def test_ablation_scores_each_variant_against_none():
    from recsys_helpers.evaluation.temporal import time_effects_ablation

    frame, _ = planted_ratings(n_users=80, n_items=80, n_factors=0, seed=4)
    train, test = random_split(frame, 0.1, random_state=0)
    variants = {"none": (), "user_day": ("user_day",), "all": TIME_EFFECTS}
    table, models = time_effects_ablation(
        train, test, variants=variants, n_factors=0, n_iter=5, n_bins=6
    )
    assert table["variant"].tolist() == list(variants) and set(models) == set(variants)
    for row in table.itertuples():
        assert row.rmse == pytest.approx(-models[row.variant].score(test), rel=1e-12)
        assert models[row.variant].time_effects == variants[row.variant]
    none = table.set_index("variant").loc["none", "rmse"]
    np.testing.assert_allclose(table["gain"], none - table["rmse"])
    assert table.set_index("variant").loc["all", "gain"] > 0.1  # planted effects are large
    with pytest.raises(ValueError, match="needs a 'none' variant"):
        time_effects_ablation(train, test, variants={"all": TIME_EFFECTS})
