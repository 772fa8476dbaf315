"""Tests of the MovieLens data layer on small synthetic files in every release format."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _movielens_files import (
    EXPECTED_TITLES,
    EXPECTED_YEARS,
    MOVIES,
    file_hash,
    synthetic_ratings,
    write_100k_release,
    write_csv_ratings,
    write_csv_release,
    write_dat_release,
    zip_folder,
)

from recsys_helpers.data import movielens
from recsys_helpers.data.movielens import DATASETS, Release
from recsys_helpers.errors import DataError, DownloadError

RATING_DTYPES = {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}


def expected_ratings(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.astype(RATING_DTYPES).reset_index(drop=True)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def csv_mirror(tmp_path):
    """A mirror holding an extracted ml-latest-small-shaped folder; returns (mirror, ratings)."""
    ratings = synthetic_ratings(seed=1)
    mirror = tmp_path / "mirror"
    write_csv_release(mirror / "ml-latest-small", ratings)
    return mirror, ratings


# --------------------------------------------------------------------------- registry


def test_registry_knows_every_release_with_its_folder_format_and_scale():
    assert list(DATASETS) == [
        "ml-latest-small",
        "ml-25m",
        "ml-32m",
        "ml-20m",
        "ml-10m",
        "ml-1m",
        "ml-100k",
    ]
    assert DATASETS["ml-10m"].folder == "ml-10M100K"
    assert DATASETS["ml-1m"].layout == "dat" and DATASETS["ml-100k"].layout == "100k"
    assert DATASETS["ml-1m"].scale == DATASETS["ml-100k"].scale == (1.0, 5.0, 1.0)
    assert DATASETS["ml-25m"].scale == (0.5, 5.0, 0.5)
    assert DATASETS["ml-25m"].url == "https://files.grouplens.org/datasets/movielens/ml-25m.zip"
    assert DATASETS["ml-latest-small"].known_hash.startswith("sha256:696d65a3")
    assert DATASETS["ml-20m"].known_hash is None
    assert DATASETS["ml-20m"].checksum_url.endswith("/ml-20m.zip.md5")


@pytest.mark.parametrize("call", [movielens.fetch, movielens.load_ratings, movielens.load])
def test_unknown_name_lists_the_known_ones(call, data_dir):
    with pytest.raises(DataError, match=r"unknown dataset 'ml-5m'; known: ml-latest-small, ml-25m"):
        call("ml-5m", data_dir=data_dir)


# --------------------------------------------------------------------------- csv layout


def test_load_from_mirror_folder_parses_every_table(csv_mirror, data_dir):
    mirror, ratings = csv_mirror
    ml = movielens.load(mirror=mirror, data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(ml.ratings, expected_ratings(ratings))
    assert ml.movies["movieId"].tolist() == [m for m, _, _ in MOVIES]
    assert ml.movies["title"].tolist() == EXPECTED_TITLES
    assert ml.movies["year"].astype("float").fillna(-1).tolist() == [
        -1 if y is None else y for y in EXPECTED_YEARS
    ]
    assert str(ml.movies["year"].dtype) == "Int16" and str(ml.movies["movieId"].dtype) == "int32"
    assert ml.movies["genres"].tolist() == [g for _, _, g in MOVIES]
    assert ml.tags["tag"].tolist() == ["heist", "space, opera", "dull"]
    assert ml.tags.dtypes.astype(str).tolist() == ["int32", "int32", "str", "int64"]
    assert ml.links["tmdbId"].isna().tolist() == [m == 8 for m, _, _ in MOVIES]
    assert ml.genome_scores is None and ml.genome_tags is None
    assert ml.n_users == ratings["userId"].nunique()
    assert ml.density == pytest.approx(len(ratings) / (ml.n_users * ml.n_rated_movies))
    # the mirror folder is used in place, nothing is copied
    assert not (data_dir / "ml-latest-small").exists()


def test_genome_tables_are_read_when_present(tmp_path, data_dir):
    write_csv_release(tmp_path / "mirror" / "ml-25m", genome=True)
    ml = movielens.load("ml-25m", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    assert ml.genome_tags["tag"].tolist() == ["007", "action"]
    assert len(ml.genome_scores) == 2 * len(MOVIES)
    assert ml.genome_scores.dtypes.astype(str).tolist() == ["int32", "int32", "float32"]
    skipped = movielens.load(
        "ml-25m", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False, genome=False
    )
    assert skipped.genome_scores is None


def test_genre_matrix_matches_a_loop_over_the_lists(csv_mirror, data_dir):
    movies = movielens.load_movies(mirror=csv_mirror[0], data_dir=data_dir, progress=False)
    matrix, genres = movielens.genre_matrix(movies)
    assert genres == sorted({g for _, _, gs in MOVIES for g in gs})
    dense = np.zeros((len(movies), len(genres)))
    for row, movie_genres in enumerate(movies["genres"]):
        for genre in movie_genres:
            dense[row, genres.index(genre)] = 1.0
    np.testing.assert_array_equal(matrix.toarray(), dense)
    assert matrix.getrow(4).nnz == 0  # the movie without genres


def test_mirror_zip_is_extracted_into_the_data_dir(tmp_path, data_dir):
    ratings = synthetic_ratings(seed=2)
    folder = write_csv_release(tmp_path / "made" / "ml-latest-small", ratings)
    mirror = tmp_path / "mirror"
    zip_folder(folder, mirror / "ml-latest-small.zip", top="ml-latest-small")
    path = movielens.fetch(mirror=mirror, data_dir=data_dir, progress=False)
    assert path == data_dir / "ml-latest-small"
    extracted = sorted(p.name for p in path.iterdir())
    assert extracted == sorted([p.name for p in folder.iterdir()] + ["PROVENANCE.json"])
    assert list(mirror.iterdir()) == [mirror / "ml-latest-small.zip"]
    assert [p.name for p in data_dir.iterdir()] == ["ml-latest-small"]  # no temporary left
    frame = movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(frame, expected_ratings(ratings))


def test_ml10m_archive_extracts_from_its_own_folder_name(tmp_path, data_dir):
    folder = write_dat_release(tmp_path / "made", encoding="utf-8", tags=True, scale=(0.5, 5, 0.5))
    zip_folder(folder, tmp_path / "mirror" / "ml-10m.zip", top="ml-10M100K")
    ml = movielens.load("ml-10m", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    assert (data_dir / "ml-10m" / "ratings.dat").is_file()
    assert ml.tags["tag"].tolist() == ["heist", "space: opera"]
    assert ml.movies["title"].tolist() == EXPECTED_TITLES


def test_cache_hit_reads_neither_mirror_nor_archive(csv_mirror, data_dir, monkeypatch):
    mirror, ratings = csv_mirror
    first = movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    mirror.rename(mirror.with_name("gone"))

    def no_fetch(*args, **kwargs):
        raise AssertionError("the source was read again")

    monkeypatch.setattr(movielens, "fetch", no_fetch)
    monkeypatch.setattr(movielens, "fetch_release", no_fetch)
    second = movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(second, first)
    pd.testing.assert_frame_equal(second, expected_ratings(ratings))


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[:50]),
        lambda path: pd.DataFrame({"userId": [1.5]}).to_parquet(path),
    ],
    ids=["truncated", "wrong-schema"],
)
def test_corrupt_cache_is_rebuilt(csv_mirror, data_dir, damage):
    mirror, ratings = csv_mirror
    movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    (cache,) = (data_dir / "cache").iterdir()
    damage(cache)
    rebuilt = movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(rebuilt, expected_ratings(ratings))
    pd.testing.assert_frame_equal(pd.read_parquet(cache), rebuilt)


def test_truncated_mirror_zip_names_the_archive_and_leaves_nothing(tmp_path, data_dir):
    folder = write_csv_release(tmp_path / "made")
    archive = zip_folder(folder, tmp_path / "mirror" / "ml-latest-small.zip", top="x")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match=r"ml-latest-small\.zip: corrupt or truncated zip"):
        movielens.fetch(mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    assert not data_dir.exists() or list(data_dir.iterdir()) == []
    assert archive.is_file()  # the mirror is never written to


def test_zip_without_ratings_file_is_refused(tmp_path, data_dir):
    (tmp_path / "made").mkdir()
    (tmp_path / "made" / "README.txt").write_text("hello")
    zip_folder(tmp_path / "made", tmp_path / "mirror" / "ml-20m.zip", top="ml-20m")
    with pytest.raises(DataError, match=r"ml-20m\.zip: the archive has no ml-20m/ratings\.csv"):
        movielens.fetch("ml-20m", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)


def test_repacked_archive_with_another_top_folder_is_accepted(tmp_path, data_dir):
    ratings = synthetic_ratings(seed=8)
    folder = write_csv_release(tmp_path / "made", ratings)
    zip_folder(folder, tmp_path / "mirror" / "ml-32m.zip", top="my-copy")
    frame = movielens.load_ratings(
        "ml-32m", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False
    )
    pd.testing.assert_frame_equal(frame, expected_ratings(ratings))
    assert (data_dir / "ml-32m" / "movies.csv").is_file()


def test_missing_movies_file_is_named(tmp_path, data_dir):
    folder = write_csv_release(tmp_path / "mirror" / "ml-latest-small")
    (folder / "movies.csv").unlink()
    with pytest.raises(DataError, match=r"movies\.csv: missing file"):
        movielens.load_movies(mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)


def test_missing_mirror_folder_is_named(tmp_path, data_dir):
    with pytest.raises(DataError, match=r"nowhere: mirror folder does not exist"):
        movielens.fetch(mirror=tmp_path / "nowhere", data_dir=data_dir, progress=False)


# --------------------------------------------------------------------------- downloads


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1 by a threaded HTTP server; yields (folder, base URL)."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _served_release(http_root, tmp_path, *, known_hash="pinned", publish_md5=True):
    root, base = http_root
    ratings = synthetic_ratings(seed=3)
    folder = write_csv_release(tmp_path / "made" / "ml-test", ratings)
    archive = zip_folder(folder, root / "ml-test.zip", top="ml-test")
    if publish_md5:
        (root / "ml-test.zip.md5").write_text(f"MD5 (ml-test.zip) = {file_hash(archive)}\n")
    if known_hash == "pinned":
        known_hash = f"sha256:{file_hash(archive, 'sha256')}"
    release = Release("ml-test", "ml-test", "csv", url=f"{base}ml-test.zip", known_hash=known_hash)
    return release, ratings


@pytest.mark.parametrize("known_hash", ["pinned", None], ids=["pinned-hash", "published-md5"])
def test_download_verifies_and_extracts(http_root, tmp_path, data_dir, known_hash):
    release, ratings = _served_release(http_root, tmp_path, known_hash=known_hash)
    path = movielens.fetch(release, mirror=None, data_dir=data_dir, progress=False)
    assert path == data_dir / "ml-test"
    assert sorted(p.name for p in data_dir.iterdir()) == ["ml-test", "ml-test.zip"]
    frame = movielens.load_ratings(release, data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(frame, expected_ratings(ratings))


def test_checksum_mismatch_names_both_hashes_and_deletes_the_file(http_root, tmp_path, data_dir):
    release, _ = _served_release(http_root, tmp_path, known_hash="md5:" + "0" * 32)
    actual = file_hash(http_root[0] / "ml-test.zip")
    with pytest.raises(
        DownloadError, match=rf"checksum mismatch: expected md5 0{{32}}, got {actual}"
    ):
        movielens.fetch(release, data_dir=data_dir, progress=False)
    assert list(data_dir.iterdir()) == []


def test_missing_published_checksum_is_a_download_error(http_root, tmp_path, data_dir):
    release, _ = _served_release(http_root, tmp_path, known_hash=None, publish_md5=False)
    with pytest.raises(DownloadError, match=r"ml-test\.zip\.md5: cannot fetch the checksum"):
        movielens.fetch(release, data_dir=data_dir, progress=False)


def test_missing_archive_on_the_server_is_a_download_error(http_root, tmp_path, data_dir):
    release, _ = _served_release(http_root, tmp_path)
    (http_root[0] / "ml-test.zip").unlink()
    with pytest.raises(DownloadError, match=r"ml-test\.zip: download failed"):
        movielens.fetch(release, data_dir=data_dir, progress=False)
    assert list(data_dir.iterdir()) == []


def test_corrupt_downloaded_archive_is_deleted(http_root, tmp_path, data_dir):
    root, base = http_root
    folder = write_csv_release(tmp_path / "made" / "ml-test")
    archive = zip_folder(folder, root / "ml-test.zip", top="ml-test")
    archive.write_bytes(archive.read_bytes()[:-200])
    release = Release(
        "ml-test",
        "ml-test",
        "csv",
        url=f"{base}ml-test.zip",
        known_hash=f"md5:{file_hash(archive)}",
    )
    with pytest.raises(DataError, match=r"ml-test\.zip: corrupt or truncated zip"):
        movielens.fetch(release, data_dir=data_dir, progress=False)
    assert list(data_dir.iterdir()) == []


def test_cache_of_another_parser_version_is_not_used(csv_mirror, data_dir, monkeypatch):
    mirror, ratings = csv_mirror
    movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    monkeypatch.setattr(movielens, "PARSER_VERSION", movielens.PARSER_VERSION + 1)
    calls = []
    real_fetch = movielens.fetch_release
    monkeypatch.setattr(
        movielens, "fetch_release", lambda *a, **k: calls.append(a) or real_fetch(*a, **k)
    )
    frame = movielens.load_ratings(mirror=mirror, data_dir=data_dir, progress=False)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(frame, expected_ratings(ratings))


# --------------------------------------------------------------------------- bad files


def _ratings_file(tmp_path, lines: list[str], name="ratings.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_renamed_column_lists_expected_and_found(tmp_path):
    path = write_csv_ratings(
        tmp_path / "ratings.csv", synthetic_ratings(), header="user,movieId,rating,timestamp"
    )
    with pytest.raises(
        DataError,
        match=r"ratings\.csv: missing column\(s\) userId; expected userId, movieId, rating, "
        r"timestamp, found user, movieId, rating, timestamp",
    ):
        movielens.read_ratings(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1,2,3.5,10", "1,3,four,11"], r"line 3: column 'rating' has non-numeric value 'four'"),
        (["1,2,3.5,10", "x1,3,4,11"], r"line 3: column 'userId' has non-numeric value 'x1'"),
        (["1,2,3.5,10", "1,3,4,11", "2,2,,12"], r"line 4: column 'rating' has a missing"),
        (["1,2.5,3.5,10"], r"line 2: column 'movieId' must hold integers, found 2.5"),
        (["1,2,5.5,10"], r"line 2: rating 5.5 is not on the scale 0.5 to 5 in steps of 0.5"),
        (["1,2,3.5,10", "1,3,3.25,11"], r"line 3: rating 3.25 is not on the scale"),
        (["1,2,0,10"], r"line 2: rating 0 is not on the scale"),
        (["-1,2,3,10"], r"line 2: column 'userId' value -1 is outside 0..2147483647"),
        (
            ["1,2,3.5,10", "2,2,4,11", "1,3,1,12", "1,2,5,13"],
            r"line 5: duplicate rating of movieId 2 by userId 1 \(first rated on line 2\)",
        ),
        (["1,2,3.5,10", "1,3,4,11,99"], r"ratings\.csv: cannot parse .*line 3"),
        (["1,2,3.5,10", "", "1,3,4,11"], r"line 3: column 'userId' has a missing"),
    ],
    ids=[
        "non-numeric-rating",
        "non-numeric-id",
        "missing",
        "fractional-id",
        "above-scale",
        "off-step",
        "below-scale",
        "negative-id",
        "duplicate",
        "extra-field",
        "blank-line",
    ],
)
def test_bad_values_name_file_line_and_column(tmp_path, lines, message):
    path = _ratings_file(tmp_path, ["userId,movieId,rating,timestamp", *lines])
    with pytest.raises(DataError, match=message):
        movielens.read_ratings(path, scale=(0.5, 5.0, 0.5))


def test_blank_lines_after_the_last_record_are_ignored(tmp_path):
    path = _ratings_file(tmp_path, ["userId,movieId,rating,timestamp", "1,2,3.5,10", "", ""])
    assert movielens.read_ratings(path)["movieId"].tolist() == [2]


def test_bad_release_ratings_are_refused_on_load(tmp_path, data_dir):
    folder = write_csv_release(tmp_path / "mirror" / "ml-1m-like")
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0), seed=4)
    ratings.loc[3, "rating"] = 2.5
    write_dat_release(tmp_path / "mirror" / "ml-1m", ratings)
    with pytest.raises(DataError, match=r"ratings\.dat: line 4: rating 2.5 is not on the scale 1"):
        movielens.load_ratings("ml-1m", mirror=tmp_path / "mirror", data_dir=data_dir)
    assert not (data_dir / "cache").exists()  # nothing cached from a refused file
    assert folder.is_dir()


@pytest.mark.parametrize("seed", range(6))
def test_first_duplicate_matches_a_loop_oracle(seed):
    rng = np.random.default_rng(seed)
    n = 40
    frame = pd.DataFrame(
        {
            "userId": rng.integers(1, 6, n),
            "movieId": rng.integers(1, 30 if seed % 2 else 400, n),
            "rating": rng.integers(1, 11, n) / 2,
        }
    )
    if seed >= 4:  # sorted input takes the fast path
        frame = frame.drop_duplicates(["userId", "movieId"]).sort_values(["userId", "movieId"])
    seen, expected = {}, None
    pairs = zip(frame["userId"], frame["movieId"], strict=True)
    for line, (user, movie) in enumerate(pairs, start=2):
        if (user, movie) in seen:
            expected = (line, seen[(user, movie)])
            break
        seen[(user, movie)] = line
    if expected is None:
        assert len(movielens.validate_ratings(frame, source="f")) == len(frame)
    else:
        with pytest.raises(
            DataError, match=rf"f: line {expected[0]}: .*\(first rated on line {expected[1]}\)"
        ):
            movielens.validate_ratings(frame, source="f")


def test_validate_ratings_keeps_order_and_casts(tmp_path):
    frame = pd.DataFrame(
        {"rating": ["4.5", "1"], "movieId": [10.0, 3.0], "userId": [7, 7], "extra": [0, 0]}
    )
    out = movielens.validate_ratings(frame, source="frame", scale=(0.5, 5.0, 0.5))
    assert out.columns.tolist() == ["userId", "movieId", "rating"]
    assert out.dtypes.astype(str).tolist() == ["int32", "int32", "float32"]
    assert out["movieId"].tolist() == [10, 3] and out["rating"].tolist() == [4.5, 1.0]


# --------------------------------------------------------------------------- old formats


def test_ml1m_dat_files_with_latin1_titles(tmp_path, data_dir):
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0), seed=5)
    write_dat_release(tmp_path / "mirror" / "ml-1m", ratings, encoding="latin-1")
    assert "Café".encode("latin-1") in (tmp_path / "mirror/ml-1m/movies.dat").read_bytes()
    ml = movielens.load("ml-1m", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(ml.ratings, expected_ratings(ratings))
    assert ml.movies["title"].tolist() == EXPECTED_TITLES
    assert ml.movies["genres"].tolist() == [g for _, _, g in MOVIES]
    assert ml.tags is None and ml.links is None


def test_malformed_dat_line_is_named(tmp_path):
    path = _ratings_file(tmp_path, ["1::2::3::10", "1::3::4:11"], name="ratings.dat")
    with pytest.raises(DataError, match=r"ratings\.dat: line 2: expected 4 fields separated by"):
        movielens.read_ratings(path)


def test_ml100k_udata_and_item_genre_flags(tmp_path, data_dir):
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0), seed=6)
    write_100k_release(tmp_path / "mirror" / "ml-100k", ratings)
    ml = movielens.load("ml-100k", mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    pd.testing.assert_frame_equal(ml.ratings, expected_ratings(ratings))
    assert ml.movies["genres"].tolist() == [g for _, _, g in MOVIES]  # "unknown" flag -> []
    titles = list(EXPECTED_TITLES)
    titles[4] = "unknown"
    assert ml.movies["title"].tolist() == titles
    years = [1995, 1995, 1977, 2016, 1999, 2006]  # the genre-less one from its release date
    assert ml.movies["year"].tolist() == years


def test_ml100k_without_genre_file_uses_the_documented_flags(tmp_path):
    folder = write_100k_release(tmp_path / "ml-100k", genre_file=False)
    from recsys_helpers.data import movie_formats

    movies = movie_formats.parse_movies(folder / "u.item", layout="100k", encoding="latin-1")
    assert movies["genres"].tolist() == [g for _, _, g in MOVIES]


def test_read_ratings_detects_each_format(tmp_path):
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0), seed=7)
    csv = write_csv_ratings(tmp_path / "a" / "ratings.csv", ratings)
    dat = write_dat_release(tmp_path / "b", ratings) / "ratings.dat"
    udata = write_100k_release(tmp_path / "c", ratings) / "u.data"
    for path in (csv, dat, udata):
        frame = movielens.read_ratings(path, scale=(1.0, 5.0, 1.0))
        pd.testing.assert_frame_equal(frame, expected_ratings(ratings))


# --------------------------------------------------------------------------- real data


@pytest.mark.mirror
def test_real_ml_latest_small(mirror, data_dir):
    ml = movielens.load(mirror=mirror, data_dir=data_dir, progress=False)
    assert ml.n_ratings == 100_836 and ml.n_users == 610
    assert ml.n_rated_movies == 9_724 and ml.n_movies == 9_742
    assert len(ml.tags) == 3_683 and len(ml.links) == 9_742
    assert ml.links["tmdbId"].isna().sum() == 8
    assert {c: str(t) for c, t in ml.ratings.dtypes.items()} == RATING_DTYPES
    assert sorted(ml.ratings["rating"].unique().tolist()) == [x / 2 for x in range(1, 11)]
    assert ml.movies["year"].notna().mean() > 0.99
    assert ml.movies.loc[ml.movies["movieId"] == 1, "title"].item() == "Toy Story"
    assert sum(len(g) == 0 for g in ml.movies["genres"]) == 34
    matrix, genres = ml.genre_matrix()
    assert matrix.shape == (9_742, len(genres)) and "Sci-Fi" in genres
    start, end = pd.to_datetime(ml.ratings["timestamp"].agg(["min", "max"]), unit="s")
    assert (start.date().isoformat(), end.date().isoformat()) == ("1996-03-29", "2018-09-24")
