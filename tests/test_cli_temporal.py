"""``fit --time-effects``: the option's forms, the model it selects, its errors, and recommend."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
from temporal_planted import planted_ratings  # helper beside this file

from recsys_helpers.cli import main
from recsys_helpers.cli.options import time_effects as parse_time_effects
from recsys_helpers.data.split import random_split
from recsys_helpers.evaluation.metrics import rmse
from recsys_helpers.models.bayes_time import BayesianTimeMF
from recsys_helpers.models.temporal import TimeAwareMF

FAST = ["--n-factors", "2", "--n-iter", "6"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def files(tmp_path):
    """train.csv / test.csv with timestamps, and the same training file without them."""
    ratings, _ = planted_ratings(n_users=60, n_items=50, days_per_user=4, ratings_per_day=5)
    ratings["rating"] = ratings["rating"].clip(0.5, 5.0).round(1)
    train, test = random_split(ratings, 0.1, random_state=0)
    paths = {name: tmp_path / f"{name}.csv" for name in ("train", "test", "untimed")}
    train.to_csv(paths["train"], index=False)
    test.to_csv(paths["test"], index=False)
    train.drop(columns="timestamp").to_csv(paths["untimed"], index=False)
    return paths, train, test


def run_json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def fail(capsys, argv) -> str:
    assert main(argv) == 1
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and message.startswith("error: ")
    return message


def test_time_effects_words_are_the_parameter_values():
    assert parse_time_effects("all") == ("user_day", "user_drift", "item_bins")
    assert parse_time_effects("item-bins, USER-DAY") == ("item_bins", "user_day")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown time effect.*'season'.*or all"):
        parse_time_effects("user-day,season")
    with pytest.raises(argparse.ArgumentTypeError, match="names a time effect twice"):
        parse_time_effects("user-day,user_day")


def test_fit_time_effects_trains_the_time_aware_model(files, capsys):
    paths, train, test = files
    argv = ["fit", "--train", str(paths["train"]), "--test", str(paths["test"]), *FAST]
    report = run_json(
        capsys, [*argv, "--time-effects", "user-day,item-bins", "--reg-day", "2", "--json"]
    )
    assert report["model"] == "TimeAwareMF"
    assert report["time_effects"] == ["user_day", "item_bins"] and report["reg_day"] == 2.0
    model = TimeAwareMF(
        time_effects=("user_day", "item_bins"), reg_day=2.0, n_factors=2, n_iter=6
    ).fit(train)
    assert report["rmse"] == pytest.approx(rmse(test.rating, model.predict(test)), abs=1e-6)
    plain = run_json(capsys, [*argv, "--json"])
    assert plain["model"] == "BiasedMF" and report["rmse"] < plain["rmse"]


def test_fit_time_effects_human_table_names_the_terms(files, capsys):
    paths, _, _ = files
    assert main(["fit", "--train", str(paths["train"]), *FAST, "--time-effects", "all"]) == 0
    out = capsys.readouterr().out
    assert "TimeAwareMF with time effects user_day,user_drift,item_bins on" in out


def test_a_file_without_timestamps_is_one_clear_error(files, capsys):
    paths, _, _ = files
    message = fail(capsys, ["fit", "--train", str(paths["untimed"]), "--time-effects", "all"])
    assert str(paths["untimed"]) in message and "'timestamp' column" in message
    message = fail(
        capsys,
        [
            "fit",
            "--train",
            str(paths["train"]),
            "--test",
            str(paths["untimed"]),
            "--time-effects",
            "all",
        ],
    )
    assert str(paths["untimed"]) in message


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reg-day", "3"], "--reg-day only with --time-effects"),
        (["--time-effects", "all", "--feature-kinds", "genres"], "choose one"),
        (["--time-effects", "weekday"], "unknown time effect"),
    ],
)
def test_time_options_usage_errors(files, capsys, extra, message):
    paths, _, _ = files
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--train", str(paths["train"]), *extra])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_recommend_loads_a_saved_time_aware_model(files, tmp_path, capsys):
    paths, train, _ = files
    model_path = tmp_path / "timed.npz"
    run_json(
        capsys,
        ["fit", "--train", str(paths["train"]), *FAST, "--time-effects", "all"]
        + ["--save", str(model_path), "--json"],
    )
    user = int(train.userId.iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "--json"]
    rows = run_json(capsys, argv)["recommendations"]
    scores = [row["score"] for row in rows]
    assert scores and np.isfinite(scores).all() and scores == sorted(scores, reverse=True)
    seen = set(train.loc[train.userId == user, "movieId"])
    assert not seen & {row["movieId"] for row in rows}


BAYES = ["--model", "bayes", "--n-factors", "2", "--n-samples", "6", "--burn-in", "2"]
BAYES += ["--n-kept", "3", "--init-iter", "2"]


def test_bayes_with_time_effects_trains_the_bayesian_time_aware_model(files, capsys, tmp_path):
    paths, train, test = files
    model_path = tmp_path / "bayes_time.npz"
    argv = ["fit", "--train", str(paths["train"]), "--test", str(paths["test"]), *BAYES]
    argv += ["--time-effects", "user-day,item-bins", "--reg-bin", "20", "--json"]
    report = run_json(capsys, [*argv, "--save", str(model_path)])
    assert report["model"] == "BayesianTimeMF"
    assert report["time_effects"] == ["user_day", "item_bins"] and report["reg_bin"] == 20.0
    model = BayesianTimeMF(**report["params"]).fit(pd.read_csv(paths["train"]))
    test = pd.read_csv(paths["test"])
    assert report["rmse"] == pytest.approx(rmse(test["rating"], model.predict(test)), abs=1e-6)
    user = int(train.userId.iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "--json"]
    rows = run_json(capsys, argv)["recommendations"]
    assert rows and all(row["std"] > 0 for row in rows)
