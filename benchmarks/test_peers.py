"""Tests of the benchmark protocol, result writers and peer adapters.

Outside the package test suite on purpose (the peers are not CI dependencies). Run from the
repository root::

    .venv-bench/bin/python -m pytest benchmarks/test_peers.py -q

Adapter tests skip when their library is not installed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks import bench_speed, protocol, results_io


def tiny_ratings(n_users: int = 30, n_items: int = 20, seed: int = 0) -> pd.DataFrame:
    """Every (user, item) pair with probability 0.6, biased ratings on the half-star grid."""
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((n_users, n_items)) < 0.6)
    user_bias = rng.normal(0, 0.5, n_users)
    item_bias = rng.normal(0, 0.5, n_items)
    raw = 3.5 + user_bias[users] + item_bias[items] + rng.normal(0, 0.3, users.size)
    return pd.DataFrame(
        {
            "userId": users + 100,
            "movieId": items + 1000,
            "rating": np.clip(np.round(raw * 2) / 2, 0.5, 5.0),
            "timestamp": 1_500_000_000 + rng.integers(0, 400 * 86_400, users.size),
        }
    )


# ------------------------------------------------------------------------------ protocol


def test_random_split_partitions_deterministically():
    ratings = tiny_ratings()
    train, test = protocol.random_split(ratings, 0.1, seed=3)
    assert len(test) == round(0.1 * len(ratings))
    assert set(train.index).isdisjoint(test.index)
    assert sorted([*train.index, *test.index]) == list(ratings.index)
    again_train, again_test = protocol.random_split(ratings, 0.1, seed=3)
    assert list(again_test.index) == list(test.index)
    _, other_test = protocol.random_split(ratings, 0.1, seed=4)
    assert list(other_test.index) != list(test.index)


def test_protocol_splits_nest():
    ratings = tiny_ratings()
    train, test, fit, valid = protocol.Protocol(seed=1).splits(ratings)
    assert sorted([*fit.index, *valid.index]) == sorted(train.index)
    assert sorted([*train.index, *test.index]) == list(ratings.index)
    assert len(valid) == round(0.1 * len(train))


def test_rmse_and_mae_closed_form():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([2.0, 2.0, 1.0, 4.0])
    assert protocol.rmse(truth, predicted) == pytest.approx(math.sqrt((1 + 0 + 4 + 0) / 4))
    assert protocol.mae(truth, predicted) == pytest.approx((1 + 0 + 2 + 0) / 4)


@pytest.mark.parametrize(
    ("truth", "predicted", "message"),
    [
        ([1.0, 2.0], [1.0], "shapes differ"),
        ([], [], "empty"),
        ([1.0, 2.0], [1.0, np.nan], "NaN or inf"),
    ],
)
def test_metrics_refuse_bad_input(truth, predicted, message):
    with pytest.raises(ValueError, match=message):
        protocol.rmse(np.array(truth), np.array(predicted))


def test_user_bias_fill_matches_loop_oracle():
    train = tiny_ratings(8, 6, seed=2)
    pairs = pd.DataFrame({"userId": [100, 103, 107, 999], "movieId": [1, 1, 1, 1]})
    damping = 5.0
    mu = train["rating"].mean()
    item_bias = {}
    for item, group in train.groupby("movieId"):
        item_bias[item] = (group["rating"] - mu).sum() / (len(group) + damping)
    expected = []
    for user in pairs["userId"]:
        mine = train[train["userId"] == user]
        pairs_of_user = zip(mine["movieId"], mine["rating"], strict=True)
        residual = [r - mu - item_bias[i] for i, r in pairs_of_user]
        expected.append(mu + (sum(residual) / (len(mine) + damping) if len(mine) else 0.0))
    got = protocol.user_bias_fill(train, pairs, damping=damping)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[-1] == pytest.approx(mu)  # unknown user: μ


def test_score_predictions_fills_only_missing_rows():
    train = pd.DataFrame({"userId": [1, 1, 2], "movieId": [1, 2, 1], "rating": [4.0, 2.0, 3.0]})
    test = pd.DataFrame({"userId": [1, 2], "movieId": [3, 2], "rating": [5.0, 3.0]})
    n_missing, scores = protocol.score_predictions(train, test, np.array([np.nan, 3.0]))
    assert n_missing == 1
    # μ = 3: errors (5 − 3, 0)
    assert scores["global_mean"]["rmse"] == pytest.approx(math.sqrt(4 / 2))
    assert scores["global_mean"]["mae"] == pytest.approx(1.0)
    fill = protocol.user_bias_fill(train, test.iloc[:1])[0]
    assert scores["user_bias"]["mae"] == pytest.approx(abs(5.0 - fill) / 2)
    n_missing, scores = protocol.score_predictions(train, test, np.array([5.0, 3.0]))
    assert (n_missing, scores) == (0, {"none": {"rmse": 0.0, "mae": 0.0}})


def test_grid_points_is_the_product_in_key_order():
    points = protocol.grid_points({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(points) == 6
    assert points[0] == {"a": 1, "b": "x"} and points[-1] == {"a": 2, "b": "z"}


class ConstantModel:
    """Predicts the constant ``c`` everywhere: the best c on validation is its mean."""

    def __init__(self, c: float):
        self.c = c

    def fit(self, train):
        return self

    def predict(self, pairs):
        return np.full(len(pairs), self.c)


def test_evaluate_picks_the_validation_minimiser_and_refits():
    ratings = tiny_ratings()
    proto = protocol.Protocol(seed=5)
    _, test, _, valid = proto.splits(ratings)
    grid = {"c": [1.0, 2.0, 3.0, 4.0, 5.0]}
    result = protocol.evaluate(
        "toy", "constant", ConstantModel, grid, ratings, proto, unknown_policy="c"
    )
    best = min(grid["c"], key=lambda c: abs(c - valid["rating"].mean()))
    assert result.params == {"c": best}
    assert len(result.tuning) == 5
    expected = protocol.rmse(test["rating"].to_numpy(), np.full(len(test), best))
    assert result.scores["none"]["rmse"] == pytest.approx(expected)
    assert result.n_test == len(test)


# ------------------------------------------------------------------------------ results


def test_markdown_table_and_atomic_save(tmp_path):
    text = results_io.markdown_table(["name", "x"], [["a|b", 1.23456], ["c", None]])
    assert text.splitlines() == [
        "| name | x |",
        "| --- | ---: |",
        "| a\\|b | 1.235 |",
        "| c | – |",
    ]
    path = results_io.save("demo", {"value": 1}, text, tmp_path)
    assert json.loads(path.read_text()) == {"value": 1}
    assert (tmp_path / "demo.md").read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "demo.md"]


# ------------------------------------------------------------------------------ speed


def test_fallback_ratings_shape_uniqueness_and_scale():
    data = bench_speed.fallback_ratings(300, 200, 5_000, seed=1)
    assert len(data["ratings"]) == 5_000
    pairs = data["users"] * 1_000 + data["items"]
    assert np.unique(pairs).size == 5_000
    assert data["users"].min() >= 1 and data["users"].max() <= 300
    assert data["items"].min() >= 1 and data["items"].max() <= 200
    assert set(np.unique(data["ratings"] * 2)) <= set(range(1, 11))
    again = bench_speed.fallback_ratings(300, 200, 5_000, seed=1)
    np.testing.assert_array_equal(again["users"], data["users"])
    with pytest.raises(ValueError, match="exceeds"):
        bench_speed.fallback_ratings(3, 3, 10)


def test_scaled_shape_bounds():
    shape = bench_speed.scaled_shape(0.1)
    assert shape["n_ratings"] == round(25_000_095 * 0.1)
    with pytest.raises(ValueError, match="--scale"):
        bench_speed.scaled_shape(0.0)


def test_summarise_takes_medians_peaks_and_ratios():
    def record(library, seconds, peak):
        return {
            "library": library,
            "epoch_seconds": seconds,
            "setup_seconds": 1.0,
            "peak_tree_rss_bytes": peak * bench_speed.GIB,
            "loaded_rss_bytes": 0.5 * bench_speed.GIB,
        }

    # first epochs (9, 2, 7) are left out of the median when later ones exist
    records = [
        record("ours", [9.0, 1.0, 3.0], 1.0),
        record("ours", [2.0], 2.0),
        record("lenskit", [7.0, 4.0, 4.0, 8.0], 4.0),
    ]
    summary = bench_speed.summarise(records)
    assert summary["ours"]["median_epoch_seconds"] == 2.0
    assert summary["ours"]["min_epoch_seconds"] == 1.0
    assert summary["ours"]["n_epoch_timings"] == 3
    assert summary["ours"]["median_first_epoch_seconds"] == 5.5
    assert summary["ours"]["peak_rss_gib"] == 2.0
    assert summary["lenskit"]["median_epoch_seconds"] == 4.0
    lines = bench_speed.table(summary).splitlines()
    assert lines[3].endswith("| 0.500 | 0.500 |")  # ours/lenskit: 2 s / 4 s, 2 GiB / 4 GiB


# ------------------------------------------------------------------------------ adapters


def _holdout_with_unseen_movie():
    ratings = tiny_ratings()
    unseen = ratings["movieId"].max()
    train = ratings[ratings["movieId"] != unseen]
    test = pd.concat(
        [
            ratings[ratings["movieId"] == unseen].head(2),
            train.head(3),
            pd.DataFrame(
                {
                    "userId": [5],
                    "movieId": [train["movieId"].iloc[0]],
                    "rating": [3.0],
                    "timestamp": [1_500_000_000],
                }
            ),
        ]
    )
    return train, test


def test_lenskit_adapter_nan_for_unseen_users_and_movies():
    pytest.importorskip("lenskit")
    from benchmarks.peers import lenskit_peer

    train, test = _holdout_with_unseen_movie()
    predicted = lenskit_peer.LensKitModel("als", features=4, epochs=3).fit(train).predict(test)
    assert predicted.shape == (len(test),)
    assert np.isnan(predicted[:2]).all()  # unseen movie
    assert np.isnan(predicted[-1])  # unseen user
    assert np.isfinite(predicted[2:-1]).all()
    bias = lenskit_peer.LensKitModel("bias", damping=0.0).fit(train).predict(test)
    assert np.isfinite(bias).all()
    # unseen user, known movie, no damping: μ + b_i
    mu = train["rating"].mean()
    movie = test["movieId"].iloc[-1]
    b_i = train.loc[train["movieId"] == movie, "rating"].mean() - mu
    assert bias[-1] == pytest.approx(mu + b_i, rel=1e-5)


def test_surprise_adapter_predicts_every_row():
    pytest.importorskip("surprise")
    from benchmarks.peers import surprise_peer

    train, test = _holdout_with_unseen_movie()
    for kind, params in [("baseline", {"reg_u": 5, "reg_i": 5}), ("svd", {"n_factors": 4})]:
        predicted = surprise_peer.SurpriseModel(kind, **params).fit(train).predict(test)
        assert np.isfinite(predicted).all()
        assert ((predicted >= 0.5) & (predicted <= 5.0)).all()
    timing = surprise_peer.epoch_seconds(
        train["userId"].to_numpy(),
        train["movieId"].to_numpy(),
        train["rating"].to_numpy(),
        n_factors=4,
        n_epochs=2,
    )
    assert len(timing["epoch_seconds"]) == 2 and timing["epoch_seconds"][0] > 0


@pytest.mark.slow
def test_spark_adapter_nan_for_unseen_users_and_movies():
    pytest.importorskip("pyspark")
    from benchmarks.peers import spark_peer

    train, test = _holdout_with_unseen_movie()
    try:
        model = spark_peer.SparkALSModel(rank=3, reg=0.1, max_iter=3).fit(train)
        predicted = model.predict(test)
    finally:
        spark_peer.stop()
    assert np.isnan(predicted[:2]).all()  # unseen movie
    assert np.isnan(predicted[-1])  # unseen user
    assert np.isfinite(predicted[2:-1]).all()


def test_ours_adapter_never_nan_and_grid_follows_defaults():
    pytest.importorskip("recsys_helpers.models.als")
    from benchmarks.peers import ours
    from recsys_helpers.models.als import BiasedMF

    train, test = _holdout_with_unseen_movie()
    predicted = ours.OursModel(n_factors=3, n_iter=3).fit(train).predict(test)
    assert np.isfinite(predicted).all()
    default = BiasedMF().get_params()
    assert default["reg"] in ours.ACCURACY_GRIDS["als"]["reg"]
    assert ours.ACCURACY_GRIDS["als"]["n_factors"][0] == default["n_factors"]
    assert ours.ACCURACY_GRIDS["bias"]["n_factors"] == [0]


def test_ours_bayes_adapter_uses_the_defaults_and_never_nan():
    pytest.importorskip("recsys_helpers.models.bayes")
    from benchmarks.peers import ours

    assert ours.ACCURACY_GRIDS["bayes"] == {}  # the CLI's defaults, not tuned
    train, test = _holdout_with_unseen_movie()
    model = ours.make_model("bayes")(n_factors=2, n_samples=4, burn_in=1, n_kept=2)
    predicted = model.fit(train).predict(test)
    assert type(model.model_).__name__ == "BayesianMF"
    assert np.isfinite(predicted).all()
    (point,) = protocol.grid_points(ours.ACCURACY_GRIDS["bayes_shared"])
    model = ours.make_model("bayes_shared")(**point, n_factors=2, n_samples=4, n_kept=2)
    assert model.fit(train).model_.hyperprior == "shared-diagonal"
    assert np.isfinite(model.predict(test)).all()


@pytest.mark.parametrize(
    ("kind", "estimator", "params"),
    [
        ("time", "TimeAwareMF", {"n_factors": 2, "n_iter": 3}),
        ("bayes_time", "BayesianTimeMF", {"n_factors": 2, "n_samples": 4, "n_kept": 2}),
    ],
)
def test_ours_time_aware_adapters_use_the_timestamps_and_never_nan(kind, estimator, params):
    pytest.importorskip("recsys_helpers.models.bayes_time")
    from benchmarks.peers import ours

    assert ours.ACCURACY_GRIDS[kind] == {}  # the CLI's defaults, not tuned
    train, test = _holdout_with_unseen_movie()
    model = ours.make_model(kind)(**params, n_bins=4).fit(train)
    assert type(model.model_).__name__ == estimator
    assert np.isfinite(model.predict(test)).all()
    shifted = test.assign(timestamp=test["timestamp"] + 300 * 86_400)
    assert not np.allclose(model.predict(test), model.predict(shifted))  # time is read


@pytest.mark.parametrize("grouping", ["per side", "shared"])
def test_myfm_adapter_predicts_every_row_near_the_ratings(grouping):
    pytest.importorskip("myfm")
    from benchmarks.peers import myfm_peer

    train, test = _holdout_with_unseen_movie()
    model = myfm_peer.MyFMModel(rank=2, grouping=grouping, n_iter=60).fit(train)
    predicted = model.predict(test)
    assert predicted.shape == (len(test),) and np.isfinite(predicted).all()
    fitted = model.predict(train)
    spread = train["rating"].std()
    assert np.sqrt(np.mean((fitted - train["rating"].to_numpy()) ** 2)) < spread


def test_myfm_adapter_refuses_an_unknown_grouping():
    from benchmarks.peers import myfm_peer

    with pytest.raises(ValueError, match="grouping must be one of"):
        myfm_peer.MyFMModel(grouping="per user")


@pytest.mark.parametrize("kind", ["als", "als_cg"])
def test_cmfrec_adapter_falls_back_to_mean_and_biases(kind):
    pytest.importorskip("cmfrec")
    from benchmarks.peers import cmfrec_peer

    train, test = _holdout_with_unseen_movie()
    model = cmfrec_peer.CMFModel(kind, k=3, lambda_=5.0, niter=5).fit(train)
    predicted = model.predict(test)
    assert np.isfinite(predicted).all()
    fitted = model.model_
    users = list(fitted.user_mapping_)
    for row in range(2):  # unseen movie: μ + b_u
        user = users.index(test["userId"].iloc[row])
        expected = fitted.glob_mean_ + fitted.user_bias_[user]
        assert predicted[row] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("use_cg", [False, True])
def test_cmfrec_epoch_seconds_is_the_difference_of_two_fits(use_cg):
    pytest.importorskip("cmfrec")
    from benchmarks.peers import cmfrec_peer

    data = bench_speed.fallback_ratings(300, 200, 5_000, seed=1)
    timing = cmfrec_peer.epoch_seconds(
        data["users"], data["items"], data["ratings"], n_factors=4, n_epochs=3, use_cg=use_cg
    )
    per_iteration = (timing["fit_n_seconds"] - timing["fit_1_seconds"]) / 3
    assert timing["epoch_seconds"] == pytest.approx([per_iteration] * 3)
    assert timing["threads"] >= 1


def test_epochs_by_difference_discards_a_first_fit_and_cancels_fixed_costs():
    from benchmarks.peers import timing

    clock = [0.0]  # a fake clock, advanced by the fits: no sleeping, no jitter
    calls = []

    def fit(n):  # 5 s one-off on the first call, 2 s fixed per fit, 1 s per iteration
        calls.append(n)
        clock[0] += (5.0 if len(calls) == 1 else 0.0) + 2.0 + 1.0 * n

    result = timing.epochs_by_difference(fit, 4, clock=lambda: clock[0])
    assert calls == [1, 1, 5]
    assert result == {"fit_1_seconds": 3.0, "fit_n_seconds": 7.0, "epoch_seconds": [1.0] * 4}
