"""The ``fit`` and ``recommend`` commands, and the rating-file readers behind them."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.cli import main
from recsys_helpers.cli.fit import DEFAULT_SPLIT
from recsys_helpers.cli.options import feature_kinds as parse_feature_kinds
from recsys_helpers.cli.options import rating_pair as parse_rating
from recsys_helpers.cli.options import split_spec as parse_split
from recsys_helpers.data.split import SplitSpec
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.data.userfiles import read_movies_file, read_ratings_file
from recsys_helpers.errors import DataError
from recsys_helpers.models import MODEL_CLASSES
from recsys_helpers.models.als import BiasedMF

FAST = ["--n-factors", "3", "--n-iter", "4"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def planted_ratings(n_users=50, n_items=30, n_ratings=700, seed=0) -> pd.DataFrame:
    """Small MovieLens-shaped ratings drawn from a planted rank-2 biased model."""
    ratings, _ = make_ratings(
        n_users, n_items, n_ratings, n_factors=2, noise_std=0.2, random_state=seed
    )
    return ratings


@pytest.fixture
def files(tmp_path):
    """train.csv / test.csv with 2 test-only users (4 ratings) and 3 test-only movies."""
    ratings = planted_ratings()
    order = np.random.default_rng(1).permutation(len(ratings))
    test_mask = np.zeros(len(ratings), dtype=bool)
    test_mask[order[: len(ratings) // 10]] = True
    train, test = ratings[~test_mask], ratings[test_mask]
    train_users, train_movies = train["userId"].unique(), train["movieId"].unique()
    cold = pd.DataFrame(
        {
            "userId": [90_001, 90_001, 90_002, 90_002, *train_users[:3]],
            "movieId": [*train_movies[:2], *train_movies[:2], 90_001, 90_002, 90_003],
            "rating": [4.0, 3.5, 2.0, 5.0, 3.0, 4.5, 1.0],
            "timestamp": [1_600_000_000] * 7,
        }
    ).astype(ratings.dtypes.to_dict())
    test = pd.concat([test, cold])
    train_path, test_path = tmp_path / "train.csv", tmp_path / "test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    return train_path, test_path


def run_json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def fail(capsys, argv) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err.strip()
    assert "\n" not in message and message.startswith("error: ")
    return message


# ----------------------------------------------------------------------------- readers


def test_read_ratings_file_any_column_order_extra_columns_and_crlf(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"movieId,note,rating,userId\r\n10,a,4.5,3\r\n11,b,2,3\r\n10,c,0.5,8\r\n")
    frame = read_ratings_file(path)
    assert list(frame.columns) == ["userId", "movieId", "rating"]
    assert frame.dtypes.astype(str).tolist() == ["int32", "int32", "float32"]
    assert frame["userId"].tolist() == [3, 3, 8]
    assert frame["movieId"].tolist() == [10, 11, 10]
    assert frame["rating"].tolist() == [4.5, 2.0, 0.5]


def test_read_ratings_file_strips_spaces_around_numbers(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("userId,movieId,rating\n1, 2,4.5 \n1,3,  3\n")
    frame = read_ratings_file(path)
    assert frame["movieId"].tolist() == [2, 3] and frame["rating"].tolist() == [4.5, 3.0]


def test_read_ratings_file_parquet_round_trip_keeps_timestamp(tmp_path):
    ratings = planted_ratings()
    path = tmp_path / "r.parquet"
    ratings[["timestamp", "rating", "movieId", "userId"]].astype({"userId": "int64"}).to_parquet(
        path
    )
    pd.testing.assert_frame_equal(read_ratings_file(path), ratings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "userId,rating\n1,4\n",
            r"r\.csv: missing column\(s\) movieId; expected userId, movieId, rating, "
            r"found userId, rating$",
        ),
        ("userId,movieId,rating\n1,2,4\n1,3,four\n", r"line 3, column rating: 'four' is not"),
        ("userId,movieId,rating\n1,2,4\n1,3,\n", r"line 3, column rating: an empty value"),
        ("userId,movieId,rating\n1,2.5,4\n", r"line 2, column movieId: '2.5' is not a whole"),
        (
            "userId,movieId,rating\n1,2,4\n1,3,4\n1,2,5\n",
            r"line 4: duplicate rating of movie 2 by user 1",
        ),
    ],
)
def test_read_ratings_file_errors_name_file_line_and_column(tmp_path, content, message):
    path = tmp_path / "r.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_ratings_file(path)


def test_read_ratings_file_refuses_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "r.txt").write_text("userId,movieId,rating\n")
    with pytest.raises(DataError, match=r"r\.txt: unknown file type"):
        read_ratings_file(tmp_path / "r.txt")
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_ratings_file(tmp_path / "nope.csv")


def test_read_movies_file_keeps_quoted_titles(tmp_path):
    path = tmp_path / "movies.csv"
    path.write_text('movieId,title,genres\n1,"Toy Story (1995)",Animation\n2,"Good, Bad",Drama\n')
    movies = read_movies_file(path)
    assert movies["title"].tolist() == ["Toy Story (1995)", "Good, Bad"]
    assert movies["movieId"].dtype == np.int32


# ----------------------------------------------------------------------------- parsing


def test_parse_split_forms():
    assert parse_split("random:0.9:7") == SplitSpec("random", 0.9, 7)
    assert parse_split("peruser:0.8") == SplitSpec("peruser", 0.8, 0)
    assert parse_split("temporal:0.9") == SplitSpec("temporal", 0.9, 0)
    assert parse_split("random:0.9:0").test_fraction == 0.1
    assert str(parse_split(DEFAULT_SPLIT)) == DEFAULT_SPLIT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("shuffle:0.9", "unknown split 'shuffle'"),
        ("random:1.5:0", "strictly between 0 and 1"),
        ("random:x:0", "training fraction 'x' is not a number"),
        ("random:0.9:y", "seed 'y' is not an integer"),
        ("temporal:0.9:3", "must look like temporal:TRAIN_FRACTION"),
    ],
)
def test_parse_split_errors(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_split(text)


def test_parse_rating():
    assert parse_rating("318=4.5") == (318, 4.5)
    with pytest.raises(argparse.ArgumentTypeError, match="must look like movieId=stars"):
        parse_rating("318:4.5")


@pytest.mark.parametrize(
    "argv",
    [
        ["fit"],  # no data
        ["fit", "--train", "a.csv", "--dataset", "ml-latest-small"],  # two sources
        ["fit", "--train", "a.csv", "--n-iter", "0"],
        ["fit", "--train", "a.csv", "--n-factors", "-1"],
        ["fit", "--train", "a.csv", "--reg", "-0.1"],
        ["fit", "--train", "a.csv", "--reg-bias", "nan"],
        ["recommend", "--model", "m.npz"],  # neither --user nor --rate
        ["recommend", "--model", "m.npz", "--user", "1", "--rate", "1=3"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_split_with_train_files_is_a_usage_error(files, capsys):
    train, _ = files
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--train", str(train), "--split", "random:0.9:0"])
    assert exit_info.value.code == 2
    assert "--split needs --dataset" in capsys.readouterr().err


# ----------------------------------------------------------------------------- fit


def test_fit_json_matches_the_estimator_and_counts_cold_start(files, capsys):
    train_path, test_path = files
    report = run_json(
        capsys, ["fit", "--train", str(train_path), "--test", str(test_path), *FAST, "--json"]
    )
    train, test = read_ratings_file(train_path), read_ratings_file(test_path)
    model = BiasedMF(n_factors=3, n_iter=4).fit(train)
    expected = test["rating"].to_numpy() - model.predict(test)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean(expected**2)), rel=1e-9)
    assert report["mae"] == pytest.approx(np.mean(np.abs(expected)), rel=1e-9)
    train_errors = train["rating"].to_numpy() - model.predict(train)
    assert report["train_rmse"] == pytest.approx(np.sqrt(np.mean(train_errors**2)), rel=1e-9)
    assert report["n_train"] == len(train) and report["n_test"] == len(test)
    assert report["n_cold_users"] == 2  # users 90001 and 90002
    assert report["n_cold_items"] == 3  # movies 90001-90003
    assert report["n_cold_ratings"] == 7
    assert report["sweeps"] == 4 and report["n_factors"] == 3
    assert report["fit_seconds"] > 0


def test_fit_defaults_come_from_the_estimator(files, capsys):
    train_path, _ = files
    report = run_json(capsys, ["fit", "--train", str(train_path), "--json"])
    defaults = BiasedMF().get_params()
    # every parameter but the scale, which a ratings file is read on (MovieLens's by default)
    scale = {"rating_range": [0.5, 5.0]}
    assert report["params"] == json.loads(json.dumps({**defaults, **scale}))
    assert report["n_factors"] == defaults["n_factors"]
    assert report["reg"] == defaults["reg"] and report["reg_bias"] == defaults["reg_bias"]
    assert report["rmse"] is None and report["mae"] is None and report["n_test"] == 0
    assert report["n_cold_users"] is None
    train = read_ratings_file(train_path)["rating"]
    assert report["train_rmse"] < train.std(ddof=0)  # beats predicting the mean


def test_fit_options_reach_the_estimator(files, capsys):
    train_path, _ = files
    argv = ["fit", "--train", str(train_path), "--json", "--n-factors", "0", "--reg", "0.3"]
    argv += ["--reg-bias", "7", "--n-iter", "2", "--random-state", "5"]
    params = run_json(capsys, argv)["params"]
    assert (params["n_factors"], params["reg"], params["reg_bias"]) == (0, 0.3, 7.0)
    assert (params["n_iter"], params["random_state"]) == (2, 5)


def test_fit_human_table(files, capsys):
    train_path, test_path = files
    assert main(["fit", "--train", str(train_path), "--test", str(test_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "RMSE" in out and "MAE" in out
    assert any(line.split()[:1] == ["train"] for line in out.splitlines())
    assert any(line.split()[:1] == ["test"] for line in out.splitlines())
    assert "cold start: 2 users, 3 movies" in out


def test_fit_reads_parquet_like_csv(files, tmp_path, capsys):
    train_path, test_path = files
    parquet = tmp_path / "train.parquet"
    pd.read_csv(train_path).to_parquet(parquet)
    from_csv = run_json(capsys, ["fit", "--train", str(train_path), *FAST, "--json"])
    from_parquet = run_json(capsys, ["fit", "--train", str(parquet), *FAST, "--json"])
    assert from_parquet["train_rmse"] == pytest.approx(from_csv["train_rmse"], rel=1e-12)


def test_fit_bad_file_is_one_line_exit_1(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("user,movieId,rating\n1,2,3\n")
    message = fail(capsys, ["fit", "--train", str(path)])
    assert "bad.csv: missing column(s) userId" in message


@pytest.mark.parametrize("spec", ["random:0.9:4", "peruser:0.9:4", "temporal:0.9"])
def test_fit_named_dataset_applies_the_split(spec, monkeypatch, capsys):
    from recsys_helpers.data import movielens, split

    ratings = planted_ratings()
    calls = []

    def load_ratings(name, *, mirror=None, progress=True, **_):
        calls.append((name, mirror))
        return ratings

    monkeypatch.setattr(movielens, "load_ratings", load_ratings)
    argv = ["fit", "--dataset", "ml-fake", "--mirror", "/somewhere", "--split", spec]
    report = run_json(capsys, [*argv, *FAST, "--json"])
    assert calls == [("ml-fake", "/somewhere")]
    assert report["source"] == {"dataset": "ml-fake", "split": spec}
    kind = spec.split(":")[0]
    if kind == "random":
        expected_train, expected_test = split.random_split(ratings, 0.1, random_state=4)
    elif kind == "peruser":
        expected_train, expected_test = split.per_user_split(
            ratings, test_fraction=0.1, random_state=4
        )
        assert report["n_cold_users"] == 0
    else:
        expected_train, expected_test = split.temporal_split(ratings, cutoff_quantile=0.9)
    assert (report["n_train"], report["n_test"]) == (len(expected_train), len(expected_test))
    assert report["n_users"] == expected_train["userId"].nunique()


def test_fit_dataset_default_split(monkeypatch, capsys):
    from recsys_helpers.data import movielens

    monkeypatch.setattr(movielens, "load_ratings", lambda *a, **k: planted_ratings())
    report = run_json(capsys, ["fit", "--dataset", "ml-fake", *FAST, "--json"])
    assert report["source"]["split"] == DEFAULT_SPLIT


def test_fit_empty_test_file_is_one_line_exit_1(files, tmp_path, capsys):
    train_path, _ = files
    empty = tmp_path / "empty.csv"
    empty.write_text("userId,movieId,rating\n")
    message = fail(capsys, ["fit", "--train", str(train_path), "--test", str(empty), *FAST])
    assert "empty.csv: no ratings to test on" in message


# ----------------------------------------------------------------------------- recommend


@pytest.fixture
def saved(files, tmp_path, capsys):
    train_path, _ = files
    model_path = tmp_path / "model.npz"
    report = run_json(
        capsys, ["fit", "--train", str(train_path), *FAST, "--save", str(model_path), "--json"]
    )
    assert report["saved"] == str(model_path)
    return model_path, pd.read_csv(train_path)


def test_recommend_known_user_json(saved, tmp_path, capsys):
    model_path, train = saved
    movies = pd.DataFrame({"movieId": np.sort(train["movieId"].unique())})
    movies["title"] = "Movie " + movies["movieId"].astype(str)
    movies_path = tmp_path / "movies.csv"
    movies.to_csv(movies_path, index=False)
    user = int(train["userId"].iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "-n", "5"]
    payload = run_json(capsys, [*argv, "--movies", str(movies_path), "--json"])
    rows = payload["recommendations"]
    assert payload["user"] == user and len(rows) == 5
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5]
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    seen = set(train.loc[train["userId"] == user, "movieId"])
    assert not seen & {row["movieId"] for row in rows}
    assert all(row["title"] == f"Movie {row['movieId']}" for row in rows)


def test_recommend_ranking_options_reach_the_model(saved, capsys):
    model_path, train = saved
    model = BiasedMF.load(model_path)
    user = int(train["userId"].iloc[-1])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "-n", "4", "--json"]
    rows = run_json(capsys, [*argv, "--item-bias-weight", "0"])["recommendations"]
    row = model.users_.to_index([user])[0]
    vectors = model.item_factors_.astype(np.float64)
    scores = model.global_mean_ + model.user_bias_[row] + vectors @ model.user_factors_[row]
    seen = model.items_.to_index(train.loc[train["userId"] == user, "movieId"])
    scores[seen] = -np.inf
    chosen = model.items_.to_index([r["movieId"] for r in rows])
    np.testing.assert_allclose([r["score"] for r in rows], scores[chosen], rtol=1e-6)
    others = np.delete(scores, chosen)
    assert min(r["score"] for r in rows) >= others.max() - 1e-6  # a true top 4, ties aside

    counts = train["movieId"].value_counts()
    floor = int(counts.quantile(0.75))
    rows = run_json(capsys, [*argv, "--min-ratings", str(floor)])["recommendations"]
    assert rows and all(counts[r["movieId"]] >= floor for r in rows)


def test_recommend_human_table_with_titles(saved, tmp_path, capsys):
    model_path, train = saved
    movies_path = tmp_path / "movies.parquet"
    movie_ids = np.sort(train["movieId"].unique())
    titles = pd.DataFrame({"title": [f"Film {m}, the" for m in movie_ids], "movieId": movie_ids})
    titles.to_parquet(movies_path)
    user = int(train["userId"].iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "-n", "3"]
    assert main([*argv, "--movies", str(movies_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"top 3 for user {user}"
    assert lines[1].split() == ["rank", "movieId", "score", "title"]
    assert [line.split()[0] for line in lines[2:]] == ["1", "2", "3"]
    assert all(line.rstrip().endswith(", the") for line in lines[2:])


def test_recommend_unknown_user_is_one_line_exit_1(saved, capsys):
    model_path, _ = saved
    message = fail(capsys, ["recommend", "--model", str(model_path), "--user", "99999"])
    assert "user 99999 is not in the model" in message


def test_recommend_new_user_by_fold_in(saved, capsys):
    model_path, train = saved
    first, second = (int(m) for m in train["movieId"].unique()[:2])
    rates = [f"{first}=5", f"{second}=4.5", "123456=3"]
    payload = run_json(
        capsys, ["recommend", "--model", str(model_path), "--rate", *rates, "-n", "3", "--json"]
    )
    assert payload["user"] is None
    assert payload["rated"] == {str(first): 5.0, str(second): 4.5}
    assert payload["ignored_movies"] == [123456]
    assert len(payload["recommendations"]) == 3
    assert not {first, second} & {row["movieId"] for row in payload["recommendations"]}


def test_recommend_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    message = fail(capsys, ["recommend", "--model", str(path), "--user", "1"])
    assert "other.npz: not a saved model" in message


def test_recommend_missing_model_file(tmp_path, capsys):
    message = fail(capsys, ["recommend", "--model", str(tmp_path / "m.npz"), "--user", "1"])
    assert "m.npz: no such model file" in message


# ----------------------------------------------------------------------------- real data


@pytest.mark.mirror
def test_recommend_titles_from_a_named_dataset(mirror, tmp_path, capsys):
    ratings = pd.read_csv(mirror / "ml-latest-small" / "ratings.csv")
    train_path, model_path = tmp_path / "train.csv", tmp_path / "model.npz"
    ratings[ratings["userId"] <= 60].to_csv(train_path, index=False)
    assert main(["fit", "--train", str(train_path), *FAST, "--save", str(model_path)]) == 0
    capsys.readouterr()
    argv = ["recommend", "--model", str(model_path), "--rate", "1=5", "-n", "20"]
    payload = run_json(
        capsys, [*argv, "--dataset", "ml-latest-small", "--mirror", str(mirror), "--json"]
    )
    titles = [row["title"] for row in payload["recommendations"]]
    assert len(titles) == 20 and all(isinstance(t, str) and t for t in titles)
    assert sum(t.endswith(")") and t[-5:-1].isdigit() for t in titles) >= 15  # "Title (year)"


@pytest.mark.mirror
def test_fit_named_dataset_with_split(mirror, capsys):
    argv = ["fit", "--dataset", "ml-latest-small", "--mirror", str(mirror)]
    report = run_json(capsys, [*argv, "--split", "random:0.9:0", "--n-factors", "0", "--json"])
    assert report["n_train"] + report["n_test"] == 100_836
    assert report["n_test"] == pytest.approx(10_084, abs=1)
    assert 0.85 < report["rmse"] < 0.90  # bias-only band on this protocol


# ----------------------------------------------------------------- movie features (HybridMF)

HYBRID_FAST = ["--n-factors", "2", "--n-iter", "6"]


@pytest.fixture
def genre_files(tmp_path):
    """Ratings with planted genre effects, held out by whole movies, and the movies file.

    ``movies.csv`` is written as MovieLens writes it: ``|``-separated genres and the year
    at the end of the title (read back without the year column).
    """
    from recsys_helpers.data.split import item_holdout_split
    from recsys_helpers.data.synthetic import make_movies

    movies = make_movies(120, random_state=3)
    ratings, _ = make_ratings(
        250,
        n_ratings=6000,
        n_factors=2,
        noise_std=0.3,
        bias_std=(0.4, 0.15),
        movies=movies,
        genre_bias_std=0.8,
        random_state=3,
    )
    train, test = item_holdout_split(ratings, 0.2, random_state=0)
    paths = {name: tmp_path / f"{name}.csv" for name in ("train", "test", "movies")}
    train.to_csv(paths["train"], index=False)
    test.to_csv(paths["test"], index=False)
    table = movies.assign(genres=movies["genres"].str.join("|")).drop(columns="year")
    table.to_csv(paths["movies"], index=False)
    return paths


def _hybrid_argv(paths, kinds="genres,year"):
    return [
        "fit",
        "--train",
        str(paths["train"]),
        "--test",
        str(paths["test"]),
        "--movies",
        str(paths["movies"]),
        "--feature-kinds",
        kinds,
        *HYBRID_FAST,
        "--json",
    ]


def test_parse_feature_kinds():

    assert parse_feature_kinds("genres") == ("genres",)
    assert parse_feature_kinds(" Genres, year ,tags") == ("genres", "year", "tags")
    with pytest.raises(argparse.ArgumentTypeError, match=r"unknown feature kind\(s\) 'genre'"):
        parse_feature_kinds("genre,year")
    with pytest.raises(argparse.ArgumentTypeError, match="names a feature kind twice"):
        parse_feature_kinds("year,year")
    with pytest.raises(argparse.ArgumentTypeError, match="at least one feature kind"):
        parse_feature_kinds("")


def test_item_features_options_reach_the_hybrid_estimator(genre_files, capsys):
    from recsys_helpers.models.hybrid import HybridMF

    argv = _hybrid_argv(genre_files) + ["--feature-reg", "3.5", "--reg", "9", "--random-state", "2"]
    report = run_json(capsys, argv)
    assert report["model"] == "HybridMF" and report["feature_kinds"] == ["genres", "year"]
    params = report["params"]
    assert params["feature_kinds"] == ["genres", "year"] and params["feature_reg"] == 3.5
    assert (params["n_factors"], params["n_iter"], params["reg"]) == (2, 6, 9.0)
    assert params["random_state"] == 2 and report["feature_reg"] == 3.5
    # the same fit through the library gives the same test error
    train, test = (read_ratings_file(genre_files[k]) for k in ("train", "test"))
    movies = read_movies_file(genre_files["movies"])
    model = HybridMF(
        n_factors=2,
        n_iter=6,
        reg=9.0,
        feature_reg=3.5,
        random_state=2,
        feature_kinds=("genres", "year"),
    ).fit(train, movies=movies)
    errors = test["rating"].to_numpy() - model.predict(test)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-9)
    assert report["source"]["movies"] == str(genre_files["movies"])


def test_plain_fit_reports_its_class_and_no_features(files, capsys):
    report = run_json(capsys, ["fit", "--train", str(files[0]), *FAST, "--json"])
    assert report["model"] == "BiasedMF" and report.get("feature_kinds") is None
    assert "feature_reg" not in report


def test_hybrid_beats_plain_on_held_out_movies(genre_files, capsys):
    plain_argv = ["fit", "--train", str(genre_files["train"]), "--test", str(genre_files["test"])]
    plain = run_json(
        capsys, [*plain_argv, *HYBRID_FAST, "--reg", "15", "--reg-bias", "5", "--json"]
    )
    hybrid = run_json(capsys, _hybrid_argv(genre_files))
    assert plain["n_cold_items"] == hybrid["n_cold_items"] > 0
    assert plain["n_cold_ratings"] == hybrid["n_test"]  # every test movie is cold
    # plain ALS can only say μ + b_u for a movie it never saw; the genre prior does better
    assert hybrid["rmse"] < plain["rmse"] - 0.05


def test_hybrid_human_table_names_the_model(genre_files, capsys):
    argv = [a for a in _hybrid_argv(genre_files) if a != "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("HybridMF with genres,year priors on ")
    assert "predicted from features and biases" in out


def test_item_features_without_movies_is_one_line_exit_1(files, capsys):
    message = fail(capsys, ["fit", "--train", str(files[0]), "--feature-kinds", "genres"])
    assert "--feature-kinds needs the movies: give --movies FILE" in message


def test_tags_kind_without_tags_is_one_line_exit_1(genre_files, capsys):
    message = fail(capsys, _hybrid_argv(genre_files, kinds="genres,tags"))
    assert "--feature-kinds tags needs --tags FILE" in message


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--feature-kinds", "genres,colour"], "unknown feature kind(s) 'colour'"),
        (["--feature-kinds", "genres", "--feature-reg", "0"], "must be a finite number > 0"),
        (["--movies", "m.csv"], "--movies only with --feature-kinds KINDS"),
    ],
)
def test_feature_usage_errors_exit_2(files, extra, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--train", str(files[0]), *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_tags_file_reaches_the_features(genre_files, tmp_path, capsys):
    movies = pd.read_csv(genre_files["movies"])["movieId"].to_numpy()
    tags = pd.DataFrame({"movieId": movies[:40], "tag": ["Twist"] * 20 + ["slow"] * 20})
    tags.to_csv(tmp_path / "tags.csv", index=False)
    argv = _hybrid_argv(genre_files, kinds="tags") + ["--tags", str(tmp_path / "tags.csv")]
    argv = [a for a in argv if a != "--json"] + ["--save", str(tmp_path / "m.npz"), "--json"]
    report = run_json(capsys, argv)
    assert report["feature_kinds"] == ["tags"]
    from recsys_helpers.cli.recommend import load_model

    model = load_model(tmp_path / "m.npz")
    assert type(model).__name__ == "HybridMF"


def test_fit_dataset_item_split_with_release_movies(monkeypatch, capsys):
    from recsys_helpers.data import movielens, split
    from recsys_helpers.data.synthetic import make_movies

    movies = make_movies(80, random_state=1)
    ratings, _ = make_ratings(120, n_ratings=2500, n_factors=2, movies=movies, random_state=1)
    calls = []

    def load(name, *, mirror=None, progress=True, genome=True, **_):
        calls.append((name, mirror, genome))
        return movielens.MovieLens(name, ratings, movies, None, None, None, None)

    monkeypatch.setattr(movielens, "load", load)
    argv = ["fit", "--dataset", "ml-fake", "--mirror", "/m", "--split", "item:0.8:3"]
    report = run_json(capsys, [*argv, "--feature-kinds", "genres,year", *HYBRID_FAST, "--json"])
    assert calls == [("ml-fake", "/m", False)]
    expected_train, expected_test = split.item_holdout_split(ratings, 0.2, random_state=3)
    assert (report["n_train"], report["n_test"]) == (len(expected_train), len(expected_test))
    assert report["n_cold_items"] == expected_test["movieId"].nunique()
    assert report["source"] == {"dataset": "ml-fake", "split": "item:0.8:3"}
    # this release has no tags: asking for them is one clear line
    message = fail(capsys, [*argv, "--feature-kinds", "genres,tags", *HYBRID_FAST])
    assert "--feature-kinds tags: ml-fake has no tags; give --tags FILE" in message


def test_recommend_loads_a_saved_hybrid_and_ranks_unrated_movies(genre_files, tmp_path, capsys):
    model_path = tmp_path / "hybrid.npz"
    run_json(capsys, [*_hybrid_argv(genre_files), "--save", str(model_path)])
    train = read_ratings_file(genre_files["train"])
    user = int(train["userId"].iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "-n", "500"]
    result = run_json(capsys, [*argv, "--min-ratings", "0", "--json"])
    ranked = {row["movieId"] for row in result["recommendations"]}
    held_out = set(read_ratings_file(genre_files["test"])["movieId"].tolist())
    assert ranked & held_out  # movies nobody rated in training are ranked by their features


def test_recommend_from_a_saved_hybrid_leaves_out_seen_movies(genre_files, tmp_path, capsys):
    model_path = tmp_path / "hybrid.npz"
    run_json(capsys, [*_hybrid_argv(genre_files), "--save", str(model_path)])
    train = read_ratings_file(genre_files["train"])
    user = int(train["userId"].iloc[0])
    argv = ["recommend", "--model", str(model_path), "--user", str(user), "-n", "500"]
    result = run_json(capsys, [*argv, "--min-ratings", "0", "--json"])
    ranked = {row["movieId"] for row in result["recommendations"]}
    assert not ranked & set(train.loc[train["userId"] == user, "movieId"].tolist())


def test_recommend_refuses_an_unknown_saved_class(saved, tmp_path, capsys):
    model_path, _ = saved
    with np.load(model_path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta["class"] = "Mystery"
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "odd.npz", **arrays)
    message = fail(capsys, ["recommend", "--model", str(tmp_path / "odd.npz"), "--user", "1"])
    loadable = ", ".join(sorted(MODEL_CLASSES))
    assert f"odd.npz: a saved 'Mystery'; this package loads {loadable}" in message
    assert {"BiasOnly", "BiasedMF", "HybridMF"} <= set(MODEL_CLASSES)


def test_fit_release_item_split_hybrid_beats_plain_on_cold_movies(mirror, capsys):
    argv = ["fit", "--dataset", "ml-latest-small", "--mirror", str(mirror), "--split"]
    argv += ["item:0.9:0", "--n-factors", "8", "--n-iter", "5", "--reg", "15", "--reg-bias", "5"]
    plain = run_json(capsys, [*argv, "--json"])
    hybrid = run_json(capsys, [*argv, "--feature-kinds", "genres,year,tags", "--json"])
    assert plain["n_cold_ratings"] == plain["n_test"] == hybrid["n_test"] > 9_000
    assert hybrid["params"]["feature_kinds"] == ["genres", "year", "tags"]
    # features give held-out movies more than μ + b_u (about 0.98 vs 0.92 stars RMSE)
    assert hybrid["rmse"] < plain["rmse"] - 0.03
