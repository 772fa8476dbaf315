"""BiasedMF: oracle agreement, exact fits, planted structure, options, persistence, real data."""

from __future__ import annotations

import json
import warnings

import als_reference  # the oracle beside this file (tests/ is on sys.path)
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError, NumericalError
from recsys_helpers.models import kernels
from recsys_helpers.models.als import BiasedMF, BiasOnly


def toy_ratings(n_users=25, n_items=15, density=0.4, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True
    users, items = np.nonzero(mask)
    return pd.DataFrame(
        {
            "userId": (users * 3 + 10).astype(np.int32),  # raw ids differ from indices
            "movieId": (items * 7 + 1).astype(np.int32),
            "rating": rng.integers(1, 11, len(users)).astype(np.float32) / 2,
        }
    )


@pytest.fixture(scope="module")
def planted():
    return make_ratings(
        300, 120, 12_000, n_factors=3, noise_std=0.3, quantize=False, random_state=4
    )


@pytest.mark.parametrize("solver", ["numpy", "numba"])
@pytest.mark.parametrize(("n_factors", "scale"), [(0, False), (3, False), (3, True)])
def test_fit_matches_the_loop_oracle(solver, n_factors, scale):
    frame = toy_ratings()
    model = BiasedMF(
        n_factors=n_factors,
        reg=0.3,
        reg_bias=1.5,
        scale_reg=scale,
        n_iter=4,
        solver=solver,
        dtype="float64",
        random_state=3,
        tol=None,
    ).fit(frame)
    users = model.users_.to_index(frame.userId)
    items = model.items_.to_index(frame.movieId)
    initial = np.random.default_rng(3).normal(0.0, 0.1, (len(model.items_), n_factors))
    mu, bu, bi, uf, vf, objectives = als_reference.fit(
        users,
        items,
        frame.rating.to_numpy(np.float64),
        len(model.users_),
        len(model.items_),
        initial,
        reg=0.3,
        reg_bias=1.5,
        scale_reg=scale,
        n_iter=4,
    )
    assert model.global_mean_ == pytest.approx(mu, abs=1e-12)
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-10)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-10)
    np.testing.assert_allclose(model.user_factors_, uf, atol=1e-10)
    np.testing.assert_allclose(model.item_factors_, vf, atol=1e-10)
    np.testing.assert_allclose(model.history_.objective, objectives, rtol=1e-10)


def test_exact_reconstruction_of_a_full_matrix_at_zero_penalty():
    rng = np.random.default_rng(2)
    full = rng.uniform(1, 5, (7, 5))  # rank 5: μ + b_u + b_i + K=4 vectors span it
    users, items = np.indices(full.shape)
    frame = pd.DataFrame(
        {"userId": users.ravel(), "movieId": items.ravel(), "rating": full.ravel()}
    )
    model = BiasedMF(n_factors=4, reg=0.0, reg_bias=0.0, n_iter=3, dtype="float64", tol=None)
    model.fit(frame)
    assert model.history_.train_rmse.iloc[-1] < 1e-9
    np.testing.assert_allclose(model.predict(frame), full.ravel(), atol=1e-8)


def test_planted_factors_are_recovered(planted):
    frame, truth = planted
    mask = np.random.default_rng(0).random(len(frame)) < 0.8
    model = BiasedMF(n_factors=3, reg=0.02, reg_bias=1.0, n_iter=20, tol=None)
    model.fit(frame[mask], validation=frame[~mask])
    test_rmse = -model.score(frame[~mask])
    assert truth.noise_std * 0.9 < test_rmse < truth.noise_std * 1.15
    oracle_rmse = np.sqrt(
        np.mean(
            (frame[~mask].rating - truth.predict_ids(frame[~mask].userId, frame[~mask].movieId))
            ** 2
        )
    )
    assert test_rmse < oracle_rmse * 1.15
    assert model.history_.valid_rmse.notna().all()


@pytest.mark.parametrize("scale", [False, True])
def test_objective_never_increases(scale, planted):
    model = BiasedMF(
        n_factors=4, reg=0.1, reg_bias=2.0, scale_reg=scale, n_iter=8, dtype="float64", tol=None
    ).fit(planted[0])
    objective = model.history_.objective.to_numpy()
    assert np.all(np.diff(objective) <= 1e-9 * objective[:-1])
    assert list(model.history_.columns) == [
        "iteration",
        "objective",
        "train_rmse",
        "valid_rmse",
        "seconds",
    ]
    assert model.n_iter_ == 8 and model.history_.iteration.tolist() == list(range(1, 9))


def test_same_seed_same_numbers_other_seed_other_numbers():
    frame = toy_ratings()
    first = BiasedMF(n_factors=3, n_iter=3, random_state=5, tol=None).fit(frame)
    second = BiasedMF(n_factors=3, n_iter=3, random_state=5, tol=None).fit(frame)
    third = BiasedMF(n_factors=3, n_iter=3, random_state=6, tol=None).fit(frame)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)
    assert not np.allclose(first.item_factors_, third.item_factors_)


def test_unseen_ids_get_mean_plus_known_bias():
    frame = toy_ratings()
    model = BiasedMF(n_factors=2, n_iter=3, tol=None, rating_range=(-100, 100)).fit(frame)
    user, item = frame.userId.iloc[0], frame.movieId.iloc[0]
    query = pd.DataFrame({"userId": [user, -5, -5], "movieId": [-9, item, -9]})
    predicted = model.predict(query)
    u, i = model.users_.to_index([user])[0], model.items_.to_index([item])[0]
    np.testing.assert_allclose(
        predicted,
        [
            model.global_mean_ + model.user_bias_[u],
            model.global_mean_ + model.item_bias_[i],
            model.global_mean_,
        ],
        rtol=1e-6,
    )


def test_predictions_are_clipped_to_the_training_scale():
    frame = toy_ratings()
    model = BiasedMF(n_factors=6, reg=1e-3, reg_bias=0.0, n_iter=3, tol=None).fit(frame)
    grid = pd.DataFrame(
        [(u, i) for u in frame.userId.unique() for i in frame.movieId.unique()],
        columns=["userId", "movieId"],
    )
    predicted = model.predict(grid)
    assert predicted.min() >= frame.rating.min() and predicted.max() <= frame.rating.max()
    # A declared rating_range is the scale: predictions are clipped to it, not to the
    # training ratings, and ratings outside it are refused.
    scale = BiasedMF(n_factors=2, n_iter=2, tol=None, rating_range=(0.0, 10.0)).fit(frame)
    for shift, end in ((100.0, 10.0), (-100.0, 0.0)):
        scale.global_mean_ += shift
        assert (scale.predict(grid) == end).all()
        scale.global_mean_ -= shift
    with pytest.raises(DataError, match=r"is outside the rating range 3 to 3.5"):
        BiasedMF(n_factors=2, n_iter=2, tol=None, rating_range=(3.0, 3.5)).fit(frame)


def test_array_input_and_score_is_negative_rmse():
    frame = toy_ratings()
    ids = frame[["userId", "movieId"]].to_numpy()
    from_array = BiasedMF(n_factors=2, n_iter=3, tol=None).fit(ids, frame.rating.to_numpy())
    from_frame = BiasedMF(n_factors=2, n_iter=3, tol=None).fit(frame)
    np.testing.assert_array_equal(from_array.predict(ids), from_frame.predict(frame))
    rmse = np.sqrt(np.mean((frame.rating - from_frame.predict(frame)) ** 2))
    assert from_frame.score(ids, frame.rating) == pytest.approx(-rmse)


def test_grid_search_over_user_movie_rows():
    frame = toy_ratings(40, 20, 0.5)
    search = GridSearchCV(
        BiasedMF(n_iter=2, tol=None),
        {"n_factors": [0, 2], "reg": [0.05, 0.5]},
        cv=KFold(3, shuffle=True, random_state=0),
    )
    search.fit(frame[["userId", "movieId"]].to_numpy(), frame.rating.to_numpy())
    assert set(search.best_params_) == {"n_factors", "reg"}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_dtype_and_solver_options_are_honoured():
    frame = toy_ratings()
    single = BiasedMF(n_factors=3, n_iter=3, dtype="float32", scale_reg=False, tol=None)
    single.fit(frame)
    double = BiasedMF(n_factors=3, n_iter=3, dtype="float64", scale_reg=False, tol=None)
    double.fit(frame)
    assert single.user_factors_.dtype == np.float32 and double.user_factors_.dtype == np.float64
    np.testing.assert_allclose(single.user_factors_, double.user_factors_, atol=1e-3)
    numpy = BiasedMF(n_factors=3, n_iter=3, dtype="float64", solver="numpy", tol=None)
    numba = BiasedMF(n_factors=3, n_iter=3, dtype="float64", solver="numba", tol=None)
    np.testing.assert_allclose(
        numpy.fit(frame).item_factors_, numba.fit(frame).item_factors_, atol=1e-10
    )
    scaled = BiasedMF(n_factors=3, n_iter=3, dtype="float64", scale_reg=True, tol=None)
    assert not np.allclose(scaled.fit(frame).item_factors_, double.item_factors_)


def test_conjugate_gradient_option(planted):
    frame = planted[0]
    kwargs = dict(n_factors=4, reg=0.1, reg_bias=2.0, n_iter=8, dtype="float64", tol=None)
    exact = BiasedMF(**kwargs).fit(frame)
    approximate = BiasedMF(**kwargs, cg_steps=3).fit(frame)
    objective = approximate.history_.objective.to_numpy()
    assert np.all(np.diff(objective) <= 1e-9 * objective[:-1])
    assert approximate.history_.train_rmse.iloc[-1] == pytest.approx(
        exact.history_.train_rmse.iloc[-1], rel=0.02
    )
    with pytest.raises(ValueError, match="cg_steps needs the numba kernels"):
        BiasedMF(cg_steps=3, solver="numpy").fit(frame)
    with pytest.raises(ValueError, match="cg_steps must be None or an integer >= 1, got 0"):
        BiasedMF(cg_steps=0).fit(frame)


def test_bias_only_is_k_zero():
    frame = toy_ratings()
    bias_only = BiasOnly(n_iter=3, tol=None).fit(frame)
    assert bias_only.n_factors == 0 and bias_only.user_factors_.shape == (len(bias_only.users_), 0)
    same = BiasedMF(n_factors=0, n_iter=3, tol=None, reg_bias=bias_only.reg_bias).fit(frame)
    np.testing.assert_array_equal(bias_only.predict(frame), same.predict(frame))


def test_convergence_warning_follows_tol():
    frame = toy_ratings()
    with pytest.warns(ConvergenceWarning, match=r"after n_iter=2 sweeps .* >= tol=1e-12"):
        BiasedMF(n_factors=3, n_iter=2, tol=1e-12).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        BiasedMF(n_factors=3, n_iter=2, tol=None).fit(frame)
        model = BiasedMF(n_factors=3, n_iter=30, tol=1e-3, dtype="float64").fit(frame)
    objective = model.history_.objective.to_numpy()
    assert model.n_iter_ == 30  # every sweep runs
    assert abs(objective[-2] - objective[-1]) / objective[-2] < 1e-3


def test_early_stopping_restores_the_best_sweep(planted):
    frame = planted[0]
    mask = np.random.default_rng(1).random(len(frame)) < 0.8
    # An unregularised K=12 model on 3 planted factors overfits: validation RMSE turns up.
    kwargs = dict(
        n_factors=12, reg=1e-3, reg_bias=1e-3, scale_reg=False, n_iter=15, tol=None, dtype="float64"
    )
    full = BiasedMF(**kwargs).fit(frame[mask], validation=frame[~mask])
    best = int(full.history_.valid_rmse.idxmin())
    assert best < 14, "the test needs a run whose validation error turns up"
    stopped = BiasedMF(**kwargs, early_stopping=True, patience=1)
    stopped.fit(frame[mask], validation=frame[~mask])
    assert stopped.n_iter_ == best + 2
    assert -stopped.score(frame[~mask]) == pytest.approx(full.history_.valid_rmse[best])
    with pytest.raises(ValueError, match="early_stopping=True needs validation="):
        BiasedMF(early_stopping=True).fit(frame)


def test_numerical_failure_names_the_sweep_and_the_remedy(monkeypatch):
    exact = kernels.solve_side

    def broken(indptr, indices, targets, other, reg, reg_bias, **options):
        bias, factors = exact(indptr, indices, targets, other, reg, reg_bias, **options)
        return bias * np.nan, factors

    monkeypatch.setattr(kernels, "solve_side", broken)
    with pytest.raises(NumericalError, match=r"user_bias_ became NaN/inf at sweep 1; raise reg"):
        BiasedMF(n_factors=2, solver="numpy").fit(toy_ratings())


@pytest.mark.parametrize("solver", ["numpy", "numba"])
def test_singular_systems_are_reported(solver):
    # 15 movies, K=20, no penalty: every normal-equation matrix is singular.
    with pytest.raises(NumericalError, match="at sweep 1; raise reg/reg_bias"):
        BiasedMF(n_factors=20, reg=0.0, reg_bias=0.0, solver=solver).fit(toy_ratings())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_factors": -1}, "n_factors must be an integer >= 0, got -1"),
        ({"reg": -0.1}, "reg must be a finite number >= 0, got -0.1"),
        ({"reg_bias": np.nan}, "reg_bias must be a finite number >= 0"),
        ({"n_iter": 0}, "n_iter must be an integer >= 1, got 0"),
        ({"solver": "cg"}, r"solver must be one of \('auto', 'numpy', 'numba'\), got 'cg'"),
        ({"dtype": "int32"}, "dtype must be float32 or float64, got 'int32'"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        BiasedMF(**params).fit(toy_ratings())


def test_bad_data_is_refused():
    frame = toy_ratings()
    with pytest.raises(DataError, match=r"missing column\(s\) \['movieId'\]"):
        BiasedMF().fit(frame.drop(columns="movieId"))
    first = frame.iloc[:1]
    pair = rf"\[\({first.userId[0]}, {first.movieId[0]}\)\]"
    expected = rf"1 duplicate \(userId, movieId\) pair\(s\), e.g. {pair}"
    with pytest.raises(DataError, match=expected):
        BiasedMF().fit(pd.concat([frame, first]))
    with pytest.raises(DataError, match=r"1 non-finite rating\(s\) \(e.g. at rows \[3\]\)"):
        BiasedMF().fit(frame.assign(rating=frame.rating.where(frame.index != 3)))
    with pytest.raises(DataError, match="fit needs ratings"):
        BiasedMF().fit(frame[["userId", "movieId"]])
    with pytest.raises(DataError, match="an \\(n, 2\\) array of ids; got shape \\(4, 3\\)"):
        BiasedMF().fit(np.zeros((4, 3)), np.zeros(4))


def data_files(path):
    with np.load(path, allow_pickle=False) as data:
        return data.files


def test_save_load_round_trip(tmp_path):
    frame = toy_ratings()
    model = BiasedMF(n_factors=3, n_iter=3, reg=0.2, tol=None, rating_range=(0.5, 5.0))
    model.fit(frame)
    path = model.save(tmp_path / "model.npz")
    loaded = BiasedMF.load(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)
    pd.testing.assert_frame_equal(loaded.history_, model.history_)
    assert loaded.users_ == model.users_ and loaded.n_iter_ == 3
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["params"]["reg"] == 0.2 and meta["class"] == "BiasedMF"
    assert set(data_files(path)) >= {"user_factors", "item_ids", "seen_indptr"}
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="junk.npz: not a saved model"):
        BiasedMF.load(tmp_path / "junk.npz")


@pytest.fixture(scope="module")
def real_split(request):
    mirror = request.getfixturevalue("mirror")
    ratings = pd.read_csv(mirror / "ml-latest-small" / "ratings.csv")
    test = np.random.default_rng(42).random(len(ratings)) >= 0.9
    return ratings[~test], ratings[test]


@pytest.mark.mirror
def test_real_data_rmse_bands(real_split):
    """Seeded 90/10 split of ml-latest-small with the default hyperparameters."""
    train, test = real_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bias_rmse = -BiasOnly().fit(train).score(test)
        mf_rmse = -BiasedMF().fit(train).score(test)
    assert bias_rmse <= 0.873
    assert mf_rmse < 0.844


@pytest.mark.parametrize("solver", ["numpy", "numba"])
def test_latent_only_model_has_no_biases(solver, planted):
    """fit_biases=False: r̂ = μ + U·V; b_u = b_i = 0 exactly, J still never increases."""
    frame, _ = planted
    model = BiasedMF(
        n_factors=3, reg=0.5, fit_biases=False, n_iter=8, solver=solver, dtype="float64", tol=None
    ).fit(frame)
    assert not model.user_bias_.any() and not model.item_bias_.any()
    objective = model.history_["objective"].to_numpy()
    assert (np.diff(objective) <= 1e-9 * objective[0]).all()
    users = model.users_.to_index(frame.userId)
    items = model.items_.to_index(frame.movieId)
    expected = model.global_mean_ + np.einsum(
        "nk,nk->n", model.user_factors_[users], model.item_factors_[items]
    )
    np.testing.assert_allclose(model.predict(frame), np.clip(expected, *model.rating_range_))
    bias, _ = model.fold_in(frame[frame.userId == frame.userId.iloc[0]])
    assert bias == 0.0
    with_biases = BiasedMF(n_factors=3, reg=0.5, n_iter=8, solver=solver, tol=None).fit(frame)
    # the planted model has biases: leaving them out costs training accuracy
    assert with_biases.history_["train_rmse"].iloc[-1] < model.history_["train_rmse"].iloc[-1]
