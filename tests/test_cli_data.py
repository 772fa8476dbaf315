"""Tests of the ``download`` and ``info`` commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _movielens_files import MOVIES, synthetic_ratings, write_100k_release, write_csv_release

from recsys_helpers.cli import main


@pytest.fixture
def mirror_with_ratings(tmp_path):
    ratings = synthetic_ratings(seed=11)
    write_csv_release(tmp_path / "mirror" / "ml-latest-small", ratings)
    return tmp_path / "mirror", ratings


def test_download_prints_the_release_folder(mirror_with_ratings, tmp_path, capsys):
    mirror, _ = mirror_with_ratings
    code = main(["download", "--mirror", str(mirror), "--data-dir", str(tmp_path / "d")])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(mirror / "ml-latest-small")


def test_info_json_counts_match_the_frame(mirror_with_ratings, tmp_path, capsys):
    mirror, ratings = mirror_with_ratings
    argv = ["info", "ml-latest-small", "--mirror", str(mirror), "--data-dir", str(tmp_path / "d")]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    n_users, n_movies = ratings["userId"].nunique(), ratings["movieId"].nunique()
    assert summary["n_ratings"] == len(ratings)
    assert (summary["n_users"], summary["n_rated_movies"]) == (n_users, n_movies)
    assert summary["n_listed_movies"] == len(MOVIES) and summary["n_tags"] == 3
    assert summary["density"] == pytest.approx(len(ratings) / (n_users * n_movies))
    assert summary["sparsity"] == pytest.approx(1 - summary["density"])
    expected = ratings["rating"].value_counts()
    assert list(summary["rating_histogram"]) == [f"{x / 2:g}" for x in range(1, 11)]
    for level, count in summary["rating_histogram"].items():
        assert count == expected.get(float(level), 0)
    first, last = pd.to_datetime(ratings["timestamp"].agg(["min", "max"]), unit="s")
    assert (summary["first_rating"], summary["last_rating"]) == (
        first.date().isoformat(),
        last.date().isoformat(),
    )


def test_info_text_lists_counts_and_whole_star_histogram(tmp_path, capsys):
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0), seed=12)
    write_100k_release(tmp_path / "mirror" / "ml-100k", ratings)
    argv = ["info", "ml-100k", "--mirror", str(tmp_path / "mirror"), "--data-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "ml-100k (SYNTHETIC data)"  # the test files are marked
    assert f"ratings        {len(ratings):>12,}" in out
    assert "tags                   none" in out
    histogram = [line.split()[:2] for line in out.splitlines()[-5:]]
    counts = ratings["rating"].value_counts()
    assert histogram == [[f"{s}", f"{counts.get(float(s), 0):,}"] for s in range(1, 6)]


@pytest.mark.parametrize("command", ["download", "info"])
def test_unknown_release_is_one_line_and_exit_1(command, tmp_path, capsys):
    assert main([command, "ml-5m", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: unknown dataset 'ml-5m'; known: ml-latest-small, ml-25m, ml-32m, ml-20m, "
        "ml-10m, ml-1m, ml-100k"
    ]


def test_bad_file_is_one_line_naming_it(mirror_with_ratings, tmp_path, capsys):
    mirror, _ = mirror_with_ratings
    path = mirror / "ml-latest-small" / "ratings.csv"
    path.write_text(path.read_text() + "1,1,9,5\n")
    assert main(["info", "--mirror", str(mirror), "--data-dir", str(tmp_path / "d")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "ratings.csv: line" in line and "rating 9" in line


@pytest.mark.mirror
def test_info_on_the_real_release(mirror, tmp_path, capsys):
    argv = ["info", "--mirror", str(mirror), "--data-dir", str(tmp_path), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_ratings"], summary["n_users"]) == (100_836, 610)
    assert (summary["n_rated_movies"], summary["n_listed_movies"]) == (9_724, 9_742)
    assert summary["n_tags"] == 3_683
    assert sum(summary["rating_histogram"].values()) == 100_836
    assert (summary["first_rating"], summary["last_rating"]) == ("1996-03-29", "2018-09-24")
