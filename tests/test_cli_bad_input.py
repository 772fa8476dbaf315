"""Bad input on the command line gets one line naming the file, line or option, and nothing
is overwritten, half-written or cached (cli, through its entry point)."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from _movielens_files import write_csv_release

from recsys_helpers.cli import main
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.models import load_model
from recsys_helpers.models.base import FactorModel

FAST = ["--n-factors", "2", "--n-iter", "2"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def ratings_csv(tmp_path):
    ratings, _ = make_ratings(30, 20, 300, n_factors=2, random_state=0)
    path = tmp_path / "ratings.csv"
    ratings.to_csv(path, index=False)
    return path


@pytest.fixture
def model_file(ratings_csv, tmp_path, capsys):
    path = tmp_path / "model.npz"
    assert main(["fit", "--train", str(ratings_csv), *FAST, "--save", str(path)]) == 0
    capsys.readouterr()
    return path


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a model is fitted: the check must come before the work."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was trained before the target was checked")

    monkeypatch.setattr(FactorModel, "fit", refuse)


def fail(capsys, argv) -> str:
    """Run a command that must fail with one line on stderr, nothing on stdout."""
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err.strip()
    assert "\n" not in message and message.startswith("error: "), captured.err
    return message


def usage_error(capsys, argv) -> str:
    """Run a command argparse must refuse (exit 2); return its one error line."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


# --------------------------------------------------------------------------- 1. fit --save


def test_save_over_the_training_file_is_refused_before_training(ratings_csv, capsys, no_training):
    before = ratings_csv.read_bytes()
    message = fail(capsys, ["fit", "--train", str(ratings_csv), "--save", str(ratings_csv)])
    assert message == f"error: {ratings_csv}: a model file must end in .npz"
    assert ratings_csv.read_bytes() == before


def test_save_over_an_existing_model_needs_force(ratings_csv, model_file, capsys):
    before = model_file.read_bytes()
    argv = ["fit", "--train", str(ratings_csv), *FAST, "--random-state", "3"]
    message = fail(capsys, [*argv, "--save", str(model_file)])
    assert message == f"error: {model_file}: exists; choose another name, or give --force"
    assert model_file.read_bytes() == before
    assert main([*argv, "--save", str(model_file), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["saved"] == str(model_file)
    assert model_file.read_bytes() != before  # another seed, another model
    assert sorted(p.name for p in model_file.parent.iterdir()) == ["model.npz", "ratings.csv"]


@pytest.mark.parametrize("where", ["folder", "below-a-file", "no-suffix"])
def test_unwritable_save_target_is_refused_before_training(
    ratings_csv, tmp_path, capsys, no_training, where
):
    (tmp_path / "models.npz").mkdir()
    target = {
        "folder": tmp_path / "models.npz",
        "below-a-file": ratings_csv / "model.npz",
        "no-suffix": tmp_path / "model",
    }[where]
    expected = {
        "folder": f"{target}: is a folder; give a file name ending in .npz",
        "below-a-file": f"{target}: cannot be written: {ratings_csv} is a file, not a folder",
        "no-suffix": f"{target}: a model file must end in .npz",
    }[where]
    assert fail(capsys, ["fit", "--train", str(ratings_csv), "--save", str(target)]) == (
        f"error: {expected}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.npz", "ratings.csv"]


def test_force_without_save_is_a_usage_error(ratings_csv, capsys):
    line = usage_error(capsys, ["fit", "--train", str(ratings_csv), "--force"])
    assert line.endswith("error: --force only with --save FILE")


def test_stale_temporary_beside_the_model_is_removed_by_the_next_save(
    ratings_csv, tmp_path, capsys
):
    stale = tmp_path / ".model.npz.0badc0de.tmp"  # left by a save killed outright
    stale.write_bytes(b"half a model")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    target = tmp_path / "model.npz"
    assert main(["fit", "--train", str(ratings_csv), *FAST, "--save", str(target)]) == 0
    assert not stale.exists() and target.is_file()


# --------------------------------------------------------------------------- 4. the rating scale


@pytest.mark.parametrize("stars", ["7", "-1", "500"])
def test_rating_outside_the_scale_names_file_and_line(tmp_path, capsys, stars):
    train = tmp_path / "train.csv"
    train.write_text(f"userId,movieId,rating\n1,1,4\n1,2,3.5\n2,1,{stars}\n2,2,1\n")
    save = tmp_path / "model.npz"
    message = fail(capsys, ["fit", "--train", str(train), *FAST, "--save", str(save)])
    assert message == (
        f"error: {train}: line 4: rating {stars} is outside the rating range 0.5 to 5 "
        "(1 such rating(s))"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["train.csv"]  # no model, no temporary


def test_rating_outside_the_scale_in_the_test_file_is_named(ratings_csv, tmp_path, capsys):
    test = tmp_path / "test.csv"
    test.write_text("userId,movieId,rating\n1,1,4\n1,2,9\n")
    message = fail(capsys, ["fit", "--train", str(ratings_csv), "--test", str(test), *FAST])
    assert message.startswith(f"error: {test}: line 3: rating 9 is outside the rating range")


def test_declared_rating_range_accepts_its_scale_and_is_the_models(tmp_path, capsys):
    train = tmp_path / "train.csv"
    rows = [f"{u},{m},{(u * m) % 10 + 1}" for u in range(1, 6) for m in range(1, 5)]
    train.write_text("userId,movieId,rating\n" + "\n".join(rows) + "\n")
    save = tmp_path / "ten.npz"
    argv = ["fit", "--train", str(train), *FAST, "--rating-range", "1", "10", "--save", str(save)]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["rating_range"] == [1.0, 10.0]
    top = ["recommend", "--model", str(save), "--rate", "1=10", "2=7", "--json"]
    assert main(top) == 0
    assert json.loads(capsys.readouterr().out)["recommendations"]
    assert fail(capsys, [*top[:-2], "2=11"]).startswith(
        "error: new user's ratings: movieId 2: rating 11 is outside the rating range 1 to 10"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["5", "1"], "error: --rating-range 5 1: LOW must be below HIGH"),
        (["1", "nan"], "error: argument --rating-range: must be a finite number, got nan"),
    ],
)
def test_bad_rating_range_is_a_usage_error(ratings_csv, capsys, given, expected):
    line = usage_error(capsys, ["fit", "--train", str(ratings_csv), "--rating-range", *given])
    assert line.endswith(expected)


def test_recommend_rate_outside_the_models_range_is_refused(model_file, capsys):
    movie = int(load_model(model_file).items_.ids[0])
    message = fail(capsys, ["recommend", "--model", str(model_file), "--rate", f"{movie}=9"])
    assert message == (
        f"error: new user's ratings: movieId {movie}: rating 9 is outside the rating range "
        "0.5 to 5 of this model (1 such rating(s))"
    )


# --------------------------------------------------------------------------- 5. damaged files


@pytest.mark.parametrize(
    ("suffix", "compress"), [(".csv.gz", gzip.compress), (".csv.bz2", bz2.compress)]
)
def test_truncated_compressed_ratings_file_is_one_line(
    ratings_csv, tmp_path, capsys, suffix, compress
):
    data = compress(ratings_csv.read_bytes())
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    save = tmp_path / "model.npz"
    message = fail(capsys, ["fit", "--train", str(cut), *FAST, "--save", str(save)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ratings.csv", cut.name])
    assert message.startswith(f"error: {cut}: cannot read the csv ")
    assert "ended before the end-of-stream marker" in message


@pytest.mark.parametrize("damage", ["truncated", "empty", "corrupted", "nan"])
def test_damaged_model_file_is_one_line_naming_it(model_file, tmp_path, capsys, damage):
    data = model_file.read_bytes()
    target = tmp_path / f"{damage}.npz"
    if damage == "nan":
        with np.load(model_file, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
        arrays["item_factors"][0, 0] = np.nan
        np.savez(target, **arrays)
    else:
        target.write_bytes(
            {
                "truncated": data[: len(data) // 3],
                "empty": b"",
                "corrupted": data[:40] + bytes(len(data) - 40),
            }[damage]
        )
    message = fail(capsys, ["recommend", "--model", str(target), "--user", "1"])
    assert message.startswith(f"error: {target}: ")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--random-state", "-5"], "argument --random-state: must be an integer >= 0, got -5"),
        (["--reg", "abc"], "argument --reg: must be a number, got 'abc'"),
        (["--n-factors", "2.5"], "argument --n-factors: must be an integer, got '2.5'"),
        (["--split", "random:0.9:-5"], "split 'random:0.9:-5': seed must be >= 0, got -5"),
    ],
    ids=["negative-seed", "reg-word", "fractional-k", "negative-split-seed"],
)
def test_bad_option_value_is_one_line_naming_the_option(ratings_csv, capsys, argv, expected):
    source = (
        ["--dataset", "ml-latest-small"] if argv[0] == "--split" else ["--train", str(ratings_csv)]
    )
    line = usage_error(capsys, ["fit", *source, *argv])
    assert line.endswith(expected)
    assert "_float" not in line and "_int" not in line  # no internal function names


def test_item_bias_weight_nan_is_refused(model_file, capsys):
    argv = ["recommend", "--model", str(model_file), "--user", "1", "--item-bias-weight", "nan"]
    line = usage_error(capsys, argv)
    assert line.endswith("argument --item-bias-weight: must be a finite number, got nan")


@pytest.mark.parametrize("command", ["info", "download"])
def test_data_dir_that_is_a_file_is_one_line(tmp_path, capsys, command):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("notes")
    write_csv_release(tmp_path / "mirror" / "ml-latest-small")
    argv = [command, "--mirror", str(tmp_path / "mirror"), "--data-dir", str(not_a_folder)]
    message = fail(capsys, argv)
    assert message == f"error: {not_a_folder}: the data directory is a file, not a folder"
    assert not_a_folder.read_text() == "notes"


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    write_csv_release(tmp_path / "mirror" / "ml-latest-small")
    argv = ["info", "--mirror", str(tmp_path / "mirror"), "--data-dir", str(tmp_path / "d")]
    process = subprocess.Popen(
        [sys.executable, "-m", "recsys_helpers", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader is gone before anything is written, as with `| head`
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 141  # 128 + SIGPIPE, as other tools exit
    assert err == ""


# --------------------------------------------------------------------------- 11. wording


def test_folder_given_as_training_file_is_called_a_folder(tmp_path, capsys):
    message = fail(capsys, ["fit", "--train", str(tmp_path), *FAST])
    assert message == f"error: {tmp_path}: is a folder; give a file"


def test_header_only_training_file_is_named(tmp_path, capsys):
    train = tmp_path / "empty.csv"
    train.write_text("userId,movieId,rating\n")
    message = fail(capsys, ["fit", "--train", str(train)])
    assert message == f"error: {train}: no ratings to train on (the file has only a header)"


def test_non_numeric_rating_names_line_and_column(tmp_path, capsys):
    train = tmp_path / "train.csv"
    pd.DataFrame({"userId": [1, 1], "movieId": [1, 2], "rating": ["4", "good"]}).to_csv(
        train, index=False
    )
    message = fail(capsys, ["fit", "--train", str(train), *FAST])
    assert message.startswith(f"error: {train}: line 3, column rating: 'good' is not a number")


def test_synthetic_release_over_an_existing_one_or_at_a_bad_scale_is_one_line(tmp_path, capsys):
    argv = ["synthetic", "--like", "ml-latest-small", "--out", str(tmp_path)]
    assert main([*argv, "--scale", "0.01"]) == 0
    capsys.readouterr()
    folder = tmp_path / "ml-latest-small"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    message = fail(capsys, [*argv, "--scale", "0.02"])
    assert message == f"error: {folder} exists; remove it or choose another --out"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert fail(capsys, [*argv[:-1], str(tmp_path / "x"), "--scale", "2"]) == (
        "error: scale must be in (0, 1], got 2.0"
    )
    assert not (tmp_path / "x").exists()
