"""``fit --model bayes`` and ``recommend`` from a saved BayesianMF; sweep and set-up seconds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.cli import main
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.models.bayes import BayesianMF

FAST = ["--model", "bayes", "--n-factors", "2", "--n-samples", "6", "--burn-in", "2"]
FAST += ["--n-kept", "3", "--init-iter", "2"]


@pytest.fixture
def files(tmp_path):
    ratings, _ = make_ratings(50, 30, 700, n_factors=2, noise_std=0.2, random_state=0)
    test = ratings.sample(frac=0.1, random_state=1)
    train = ratings.drop(test.index)
    paths = tmp_path / "train.csv", tmp_path / "test.csv"
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    return paths


def run_json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_fit_bayes_json_matches_the_estimator(files, capsys):
    train_path, test_path = files
    argv = ["fit", "--train", str(train_path), "--test", str(test_path), *FAST, "--json"]
    report = run_json(capsys, [*argv, "--noise-precision", "4", "--random-state", "3"])
    assert report["model"] == "BayesianMF"
    params = report["params"]
    assert (params["n_samples"], params["burn_in"], params["n_kept"]) == (6, 2, 3)
    assert (params["noise_precision"], params["init_iter"], params["random_state"]) == (4.0, 2, 3)
    assert report["sweeps"] == 8
    model = BayesianMF(**params).fit(pd.read_csv(train_path))
    test = pd.read_csv(test_path)
    errors = test["rating"].to_numpy() - model.predict(test)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-9)
    median, setup = report["sweep_seconds_median"], report["setup_seconds"]
    assert 0 < median and 0 < setup  # the MAP start is part of the set-up
    assert setup + report["sweeps"] * median <= report["fit_seconds"] * 1.5


def test_samples_is_another_spelling_of_n_samples(files, capsys):
    at = FAST.index("--n-samples")
    argv = ["fit", "--train", str(files[0]), *FAST[:at], *FAST[at + 2 :], "--json"]
    short = run_json(capsys, [*argv, "--samples", "4"])
    assert short["params"]["n_samples"] == 4 and short["sweeps"] == 6
    assert short["train_rmse"] == run_json(capsys, [*argv, "--n-samples", "4"])["train_rmse"]
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "--n-samples N, --samples N" in capsys.readouterr().out


def test_hyperprior_option_reaches_the_estimator(files, capsys):
    argv = ["fit", "--train", str(files[0]), *FAST, "--hyperprior", "shared-diagonal"]
    report = run_json(capsys, [*argv, "--json"])
    assert report["params"]["hyperprior"] == "shared-diagonal"
    train = pd.read_csv(files[0])
    errors = train["rating"].to_numpy() - BayesianMF(**report["params"]).fit(train).predict(train)
    assert report["train_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-9)
    assert main([*argv, "--test", str(files[1])]) == 0
    out = capsys.readouterr().out
    assert "hyperprior=shared-diagonal" in out
    assert "predicted from the prior and the known side" in out


def test_normal_wishart_constants_reach_the_estimator(files, capsys):
    argv = ["fit", "--train", str(files[0]), *FAST, "--json", "--mean-precision-prior", "0.5"]
    argv += ["--degrees-of-freedom-prior", "9", "--scale-prior", "0.25"]
    report = run_json(capsys, argv)
    params = report["params"]
    assert params["mean_precision_prior"] == 0.5
    assert (params["degrees_of_freedom_prior"], params["scale_prior"]) == (9.0, 0.25)
    train = pd.read_csv(files[0])
    errors = train["rating"].to_numpy() - BayesianMF(**params).fit(train).predict(train)
    assert report["train_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-9)
    default = run_json(capsys, ["fit", "--train", str(files[0]), *FAST, "--json"])
    assert report["train_rmse"] != default["train_rmse"]


def test_parameter_errors_come_before_any_data_is_read(tmp_path, capsys):
    absent = tmp_path / "absent.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--train", str(absent), "--model", "bayes", "--n-samples", "2"])
    assert exit_info.value.code == 2
    assert "n_kept must be at most n_samples=2, got 100" in capsys.readouterr().err


def test_sweep_and_setup_seconds_are_reported_for_als_too(files, capsys):
    report = run_json(capsys, ["fit", "--train", str(files[0]), "--n-iter", "3", "--json"])
    assert report["model"] == "BiasedMF" and report["sweep_seconds_median"] > 0
    assert 0 < report["setup_seconds"] < report["fit_seconds"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n-samples", "5"], "--n-samples does not apply to BiasedMF"),
        (["--model", "bayes", "--n-iter", "5"], "--n-iter does not apply to BayesianMF"),
        (["--model", "bayes", "--cg-steps", "2"], "--cg-steps does not apply to BayesianMF"),
        (["--model", "bayes", "--feature-kinds", "genres"], "does not combine with --model bayes"),
        (["--model", "bayes", "--noise-precision", "0"], "must be a finite number > 0"),
        (["--hyperprior", "shared-diagonal"], "--hyperprior does not apply to BiasedMF"),
        (["--model", "bayes", "--hyperprior", "shared"], "choose from normal-wishart, shared"),
        (["--model", "bayes", "--n-samples", "5", "--n-kept", "9"], "n_kept must be at most"),
        (
            ["--model", "bayes", "--n-factors", "4", "--degrees-of-freedom-prior", "4"],
            "degrees_of_freedom_prior must exceed K = 4",
        ),
        (
            ["--model", "bayes", "--hyperprior", "shared-diagonal", "--scale-prior", "2"],
            "scale_prior set the Normal–Wishart hyperprior",
        ),
        (["--scale-prior", "2"], "--scale-prior does not apply to BiasedMF"),
    ],
)
def test_options_of_another_model_are_usage_errors(files, extra, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--train", str(files[0]), *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_human_table_names_the_sampler_settings(files, capsys):
    assert main(["fit", "--train", str(files[0]), *FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("BayesianMF on ")
    assert "n_samples=6" in out and "burn_in=2" in out and "median sweep" in out


def test_recommend_from_a_saved_bayes_model_shows_the_spread(files, tmp_path, capsys):
    train_path, _ = files
    model_path = tmp_path / "bayes.npz"
    run_json(
        capsys, ["fit", "--train", str(train_path), *FAST, "--save", str(model_path), "--json"]
    )
    train = pd.read_csv(train_path)
    user = int(train["userId"].iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "-n", "4"]
    rows = run_json(capsys, [*argv, "--json"])["recommendations"]
    assert len(rows) == 4 and all(row["std"] > 0 for row in rows)
    assert main(argv) == 0
    header = capsys.readouterr().out.splitlines()[1].split()
    assert header == ["rank", "movieId", "score", "std"]
    movie = int(train["movieId"].iloc[0])
    new = run_json(
        capsys, ["recommend", "--model", str(model_path), "--rate", f"{movie}=5", "--json"]
    )
    assert all(row["std"] > 0 for row in new["recommendations"])
