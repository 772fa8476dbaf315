"""Grid search by validation RMSE, checked against direct fits and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold

from recsys_helpers.data import split
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.evaluation.tuning import best_params, grid_search, validation_splits
from recsys_helpers.models.als import BiasedMF

# The estimators below use solver="numpy": on problems this small the compiled kernels'
# thread start-up costs more than the solves.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def planted_ratings(noise_std=0.1, seed=0) -> pd.DataFrame:
    """720 unquantised ratings of a planted rank-2 biased model plus Gaussian noise."""
    ratings, _ = make_ratings(
        40, 30, 720, n_factors=2, noise_std=noise_std, quantize=False, random_state=seed
    )
    return ratings


def direct_rmse(params: dict, train: pd.DataFrame, valid: pd.DataFrame) -> float:
    """The slow obvious answer: fit one model and score it by hand."""
    model = BiasedMF(**params).fit(train)
    errors = valid["rating"].to_numpy(dtype=np.float64) - model.predict(valid)
    return float(np.sqrt(np.mean(errors**2)))


@pytest.fixture(scope="module")
def ratings():
    return planted_ratings()


def test_rows_equal_direct_fits_on_a_given_pair(ratings):
    train, valid = ratings.drop(ratings.index[::5]), ratings.iloc[::5]
    grid = {"n_factors": [0, 2], "reg": [0.05, 0.5]}
    frame = grid_search((train, valid), grid, estimator=BiasedMF(solver="numpy", n_iter=5))
    assert len(frame) == 4 and frame.attrs["params"] == ["n_factors", "reg"]
    for row in frame.itertuples():
        params = {"n_factors": int(row.n_factors), "reg": float(row.reg), "n_iter": 5}
        expected = direct_rmse({**params, "solver": "numpy"}, train, valid)
        assert row.valid_rmse == pytest.approx(expected, rel=1e-9)
        assert row.n_iter == 5 and row.n_folds == 1 and np.isnan(row.valid_rmse_std)
        assert row.train_rmse == pytest.approx(
            direct_rmse({**params, "solver": "numpy"}, train, train), rel=1e-9
        )
        assert row.fit_seconds > 0
    assert frame.loc[frame["valid_rmse"].idxmin(), "rank"] == 1
    biases_only = frame[frame["n_factors"] == 0]
    assert biases_only["valid_rmse"].nunique() == 1  # reg acts on the vectors only
    assert sorted(frame["rank"]) == [1, 2, 3, 3]


def test_planted_rank_beats_biases_only(ratings):
    frame = grid_search(
        ratings,
        {"n_factors": [0, 2]},
        estimator=BiasedMF(solver="numpy", n_iter=8, reg=1.0, reg_bias=1.0, scale_reg=False),
        random_state=3,
    )
    best = best_params(frame)
    assert best == {"n_factors": 2} and isinstance(best["n_factors"], int)
    by_k = frame.set_index("n_factors")["valid_rmse"]
    assert by_k[2] < 0.5 * by_k[0]  # the latent part carries most of the signal


def test_kfold_rows_average_the_folds(ratings):
    params = {"n_factors": 2, "n_iter": 4, "solver": "numpy"}
    frame = grid_search(ratings, {"reg": [0.1]}, estimator=BiasedMF(**params), validation=3)
    folds = list(split.kfold(ratings, n_splits=3, random_state=0))
    per_fold = [direct_rmse({**params, "reg": 0.1}, train, valid) for train, valid in folds]
    row = frame.iloc[0]
    assert row["n_folds"] == 3
    assert row["valid_rmse"] == pytest.approx(np.mean(per_fold), rel=1e-9)
    assert row["valid_rmse_std"] == pytest.approx(np.std(per_fold, ddof=1), rel=1e-6)


def test_holdout_is_seeded_and_disjoint(ratings):
    first = validation_splits(ratings, 0.2, random_state=1)
    again = validation_splits(ratings, 0.2, random_state=1)
    other = validation_splits(ratings, 0.2, random_state=2)
    (train, valid), (train_again, _), (train_other, _) = first[0], again[0], other[0]
    assert len(first) == 1 and not set(train.index) & set(valid.index)
    assert len(train) + len(valid) == len(ratings)
    pd.testing.assert_frame_equal(train, train_again)
    assert not train.index.equals(train_other.index)


class RecordingMF(BiasedMF):
    """BiasedMF that records the (userId, movieId) keys it is fitted on and asked about."""

    log: list[tuple[str, set]] = []

    def fit(self, X, y=None, **kwargs):
        self.log.append(("fit", set(zip(X["userId"], X["movieId"], strict=True))))
        return super().fit(X, y, **kwargs)

    def predict(self, X):
        self.log.append(("predict", set(zip(X["userId"], X["movieId"], strict=True))))
        return super().predict(X)


def test_only_the_given_ratings_are_used_and_each_is_validated_once(ratings):
    train, test = split.random_split(ratings, 0.2, random_state=5)
    RecordingMF.log = []
    grid_search(
        train, {"n_factors": [0]}, estimator=RecordingMF(solver="numpy", n_iter=2), validation=4
    )
    train_keys = set(zip(train["userId"], train["movieId"], strict=True))
    test_keys = set(zip(test["userId"], test["movieId"], strict=True))
    seen = set().union(*(keys for _, keys in RecordingMF.log))
    assert seen <= train_keys and not seen & test_keys
    fitted = [keys for kind, keys in RecordingMF.log if kind == "fit"]
    assert len(fitted) == 4
    validated = [train_keys - keys for keys in fitted]  # each fold's held-out ratings
    assert set().union(*validated) == train_keys
    assert sum(len(keys) for keys in validated) == len(train_keys)


def test_same_numbers_as_gridsearchcv_on_the_same_folds(ratings):
    folds = list(KFold(3, shuffle=True, random_state=0).split(ratings))
    pairs = [(ratings.iloc[fit], ratings.iloc[held]) for fit, held in folds]
    grid = {"reg": [0.02, 0.5], "reg_bias": [1.0, 5.0]}
    base = BiasedMF(solver="numpy", n_factors=2, n_iter=4)
    ours = grid_search(ratings, grid, estimator=base, validation=pairs)
    search = GridSearchCV(base, grid, cv=folds, scoring="neg_root_mean_squared_error")
    search.fit(ratings[["userId", "movieId"]], ratings["rating"])
    theirs = pd.DataFrame(search.cv_results_["params"])
    theirs["valid_rmse"] = -search.cv_results_["mean_test_score"]
    merged = ours.merge(theirs, on=["reg", "reg_bias"], suffixes=("", "_sklearn"))
    assert len(merged) == 4
    np.testing.assert_allclose(merged["valid_rmse"], merged["valid_rmse_sklearn"], rtol=1e-9)
    assert best_params(ours) == search.best_params_


def test_default_estimator_is_biasedmf_built_from_the_grid(ratings):
    grid = {"n_factors": [0], "n_iter": [3], "solver": ["numpy"]}
    frame = grid_search(ratings, grid)
    train, valid = split.random_split(ratings, 0.1, random_state=0)
    params = {"n_factors": 0, "n_iter": 3, "solver": "numpy"}
    assert frame.loc[0, "n_iter"] == 3
    assert frame.loc[0, "valid_rmse"] == pytest.approx(direct_rmse(params, train, valid), rel=1e-9)


def test_list_of_grids_and_best_params_keep_plain_types(ratings):
    train, valid = ratings.drop(ratings.index[::4]), ratings.iloc[::4]
    grids = [{"n_factors": [0]}, {"n_factors": [2], "reg": [0.05]}]
    frame = grid_search((train, valid), grids, estimator=BiasedMF(solver="numpy", n_iter=4))
    assert frame["reg"].isna().tolist() == [True, False]
    assert best_params(frame) == {"n_factors": 2, "reg": 0.05}
    assert best_params(frame, metric="train_rmse")["n_factors"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"param_grid": {"n_factor": [1]}}, r"unknown parameter\(s\) n_factor for BiasedMF"),
        ({"param_grid": []}, "no combination to try"),
        ({"param_grid": {"reg": [0.1]}, "validation": 1}, "fold count must be at least 2"),
        ({"param_grid": {"reg": [0.1]}, "validation": 1.5}, "strictly between 0 and 1"),
        ({"param_grid": {"reg": [0.1]}, "validation": []}, "at least one"),
    ],
)
def test_bad_arguments(ratings, kwargs, message):
    with pytest.raises(ValueError, match=message):
        grid_search(ratings, **kwargs)


def test_best_params_refuses_unknown_metric(ratings):
    frame = grid_search(ratings, {"n_factors": [0]}, estimator=BiasedMF(solver="numpy", n_iter=2))
    with pytest.raises(ValueError, match="no column 'ndcg'"):
        best_params(frame, metric="ndcg")
