"""Every copy of a release is checked before it is used or cached (data/fetch, data/provenance).

Mirror archives are checked against the pinned hash (or member by member against known
MD5s), unpacked folders file by file, synthetic releases are recognised by their marker, a
release failing validation is never left in the data directory, and the ratings cache
records its source so that a stale or unverified cache is noticed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _movielens_files import (
    file_hash,
    synthetic_ratings,
    write_csv_ratings,
    write_csv_release,
    write_dat_release,
    zip_folder,
)

from recsys_helpers.data import fetch, movielens, provenance
from recsys_helpers.data.releases import DATASETS, Release
from recsys_helpers.errors import DataError, UnverifiedDataWarning

REAL = DATASETS["ml-latest-small"]


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def _entries(folder: Path) -> list[str]:
    """What a folder holds (nothing when it does not exist)."""
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _no_cache(data_dir: Path) -> bool:
    return _entries(data_dir / "cache") == []


def _left_nothing(data_dir: Path) -> bool:
    """No folder, no temporary, no cache: the data directory holds no file at all."""
    return [p for p in data_dir.rglob("*") if not p.is_dir()] == [] and not any(
        p.name != "cache" for p in data_dir.glob("*")
    )


def _source_of_cache(data_dir: Path, name: str) -> dict:
    (cache,) = (data_dir / "cache").glob(f"{name}.ratings.*.parquet")
    return json.loads(pq.read_schema(cache).metadata[b"recsys_helpers.source"])


def _make_old(path: Path) -> None:
    old = time.time() - 2 * 3600
    os.utime(path, (old, old))


# --------------------------------------------------------------------------- the registry


def test_registry_records_the_known_file_checksums():
    assert REAL.file_md5 == {
        "ratings.csv": "325a6f09399d1c45671f187505e1a100",
        "movies.csv": "ed94fab72b62442ef8150d9446e000d6",
        "tags.csv": "1b2d21a7be1cc23d327b11155a4a6aea",
        "links.csv": "316913f95cdad64c745ca22f3630e230",
        "README.txt": "9bc20a696092024abe52696ee6c5837f",
    }
    assert DATASETS["ml-32m"].file_md5["ratings.csv"] == "cf12b74f9ad4b94a011f079e26d4270a"
    assert DATASETS["ml-1m"].known_hash == "md5:c4d9eecfca2ab87c1945afe126590906"
    assert DATASETS["ml-100k"].rating_range == (1.0, 5.0)
    assert REAL.rating_range == (0.5, 5.0)


# --------------------------------------------------------------------------- mirror archives


def test_mirror_zip_with_a_changed_rating_is_refused_naming_the_member(tmp_path, data_dir):
    """ml-latest-small has file MD5s: an archive that is not GroupLens's is checked member by
    member, and the member that differs is named."""
    folder = write_csv_release(tmp_path / "made", synthetic=False)
    archive = zip_folder(folder, tmp_path / "mirror" / "ml-latest-small.zip", top="ml-latest-small")
    with pytest.raises(DataError) as caught:
        movielens.load_ratings(mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    message = str(caught.value)
    assert f"{archive}/ratings.csv: md5 {file_hash(folder / 'ratings.csv')} differs" in message
    assert "(md5 325a6f09399d1c45671f187505e1a100)" in message
    assert _left_nothing(data_dir)  # nothing extracted or cached


def test_mirror_zip_differing_from_the_pinned_hash_is_refused(tmp_path, data_dir):
    """ml-25m has only an archive hash: a different archive is refused before extraction."""
    folder = write_csv_release(tmp_path / "made", synthetic=False)
    archive = zip_folder(folder, tmp_path / "mirror" / "ml-25m.zip", top="ml-25m")
    with pytest.raises(DataError) as caught:
        movielens.load_ratings("ml-25m", mirror=tmp_path / "mirror", data_dir=data_dir)
    assert str(caught.value).startswith(
        f"{archive}: md5 {file_hash(archive)} differs from the pinned ml-25m archive "
        "(md5 6b51fb2759a8657d3bfcbfc42b592ada)"
    )
    assert _left_nothing(data_dir)


def test_archive_matching_the_pinned_hash_is_verified_and_the_cache_says_so(tmp_path, data_dir):
    ratings = synthetic_ratings(seed=21)
    folder = write_csv_release(tmp_path / "made", ratings, synthetic=False)
    archive = zip_folder(folder, tmp_path / "mirror" / "ml-pinned.zip", top="ml-pinned")
    pinned = f"sha256:{file_hash(archive, 'sha256')}"
    release = Release("ml-pinned", "ml-pinned", "csv", known_hash=pinned)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedDataWarning)
        fetched = fetch.fetch_release(release, mirror=tmp_path / "mirror", data_dir=data_dir)
        frame = movielens.load_ratings(release, mirror=tmp_path / "mirror", data_dir=data_dir)
    assert fetched.source.status == "verified" and fetched.source.checksum == pinned
    assert len(frame) == len(ratings)
    recorded = _source_of_cache(data_dir, "ml-pinned")
    assert recorded["origin"] == str(archive) and recorded["checksum"] == pinned
    assert recorded["status"] == "verified"
    assert recorded["origin_size"] == archive.stat().st_size


@pytest.mark.mirror
def test_real_release_repacked_is_verified_file_by_file(mirror, tmp_path, data_dir):
    archive = zip_folder(
        mirror / "ml-latest-small", tmp_path / "m" / "ml-latest-small.zip", top="my-copy"
    )
    assert file_hash(archive, "sha256") != REAL.known_hash.split(":")[1]  # not the original
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedDataWarning)
        fetched = fetch.fetch_release(mirror=tmp_path / "m", data_dir=data_dir, progress=False)
    assert fetched.source.status == "verified"
    assert "ratings.csv" in fetched.source.detail and len(fetched.ratings) == 100_836


@pytest.mark.mirror
def test_real_release_with_one_rating_changed_is_refused_and_not_cached(mirror, tmp_path, data_dir):
    copy = shutil.copytree(mirror / "ml-latest-small", tmp_path / "made" / "ml-latest-small")
    copy.chmod(0o755)
    ratings = copy / "ratings.csv"
    ratings.chmod(0o644)
    text = ratings.read_bytes()
    ratings.write_bytes(text.replace(b"\r\n1,1,4.0,", b"\r\n1,1,3.0,", 1))
    assert ratings.read_bytes() != text
    zip_folder(copy, tmp_path / "m" / "ml-latest-small.zip", top="ml-latest-small")
    with pytest.raises(DataError, match=r"ml-latest-small\.zip/ratings\.csv: md5 \w+ differs"):
        movielens.load_ratings(mirror=tmp_path / "m", data_dir=data_dir, progress=False)
    assert _left_nothing(data_dir)


# --------------------------------------------------------------------------- unpacked folders


def test_unpacked_folder_with_half_the_ratings_is_refused_naming_the_file(tmp_path, data_dir):
    ratings = synthetic_ratings(n_users=20, seed=22)
    folder = write_csv_release(
        tmp_path / "mirror" / "ml-latest-small", ratings.iloc[: len(ratings) // 2], synthetic=False
    )
    with pytest.raises(DataError) as caught:
        movielens.load(mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'ratings.csv'}: md5 ")
    assert "differs from ml-latest-small's published ratings.csv" in message
    assert _no_cache(data_dir)


def test_folder_of_unknown_checksums_loads_with_a_warning(tmp_path, data_dir):
    ratings = synthetic_ratings(seed=23)
    folder = write_csv_release(tmp_path / "mirror" / "ml-20m", ratings, synthetic=False)
    with pytest.warns(UnverifiedDataWarning, match=rf"{folder}: ml-20m is unverified"):
        ml = movielens.load("ml-20m", mirror=tmp_path / "mirror", data_dir=data_dir)
    assert ml.source.status == "unverified" and len(ml.ratings) == len(ratings)
    assert _source_of_cache(data_dir, "ml-20m")["checksum"] == (
        f"md5:{file_hash(folder / 'ratings.csv')}"
    )


@pytest.mark.mirror
def test_real_folder_is_verified_file_by_file(mirror, data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedDataWarning)
        ml = movielens.load(mirror=mirror, data_dir=data_dir, progress=False, genome=False)
    assert ml.source.status == "verified"
    assert ml.source.detail.startswith("md5 of ratings.csv, movies.csv, tags.csv, links.csv")
    assert _source_of_cache(data_dir, "ml-latest-small")["checksum"] == (
        "md5:325a6f09399d1c45671f187505e1a100"
    )


# --------------------------------------------------------------------------- synthetic releases


def test_synthetic_marker_round_trip_and_a_damaged_marker_is_named(tmp_path):
    marker = provenance.write_synthetic_marker(
        tmp_path / "rel",
        generator="python -m recsys_helpers synthetic",
        parameters={"scale": 0.1, "random_state": 3},
        like="ml-25m",
    )
    assert marker.name == "SYNTHETIC.json"
    read = provenance.read_synthetic_marker(tmp_path / "rel")
    assert read == {
        "synthetic": True,
        "generator": "python -m recsys_helpers synthetic",
        "like": "ml-25m",
        "scale": 0.1,
        "random_state": 3,
    }
    assert provenance.read_synthetic_marker(tmp_path) is None
    with pytest.raises(ValueError, match="parameters may not be named synthetic"):
        provenance.write_synthetic_marker(tmp_path, generator="x", parameters={"synthetic": 0})
    marker.write_text("[1, 2]")
    with pytest.raises(DataError, match=r"rel/SYNTHETIC\.json: unreadable synthetic-release"):
        provenance.read_synthetic_marker(tmp_path / "rel")


def test_synthetic_release_loads_without_the_check_and_says_so(tmp_path, data_dir):
    ratings = synthetic_ratings(seed=24)
    folder = write_csv_release(tmp_path / "mirror" / "ml-latest-small", ratings, synthetic=False)
    provenance.write_synthetic_marker(
        folder, generator="python -m recsys_helpers synthetic", parameters={}, like="ml-25m"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedDataWarning)
        ml = movielens.load(mirror=tmp_path / "mirror", data_dir=data_dir, progress=False)
    assert ml.source.synthetic and len(ml.ratings) == len(ratings)
    assert ml.source.describe() == (
        "synthetic (like ml-25m, generated by python -m recsys_helpers synthetic)"
    )
    assert _source_of_cache(data_dir, "ml-latest-small")["status"] == "synthetic"


def test_synthetic_archive_is_recognised_by_its_marker(tmp_path, data_dir):
    folder = write_csv_release(tmp_path / "made", synthetic_ratings(seed=25))
    zip_folder(folder, tmp_path / "mirror" / "ml-25m.zip", top="ml-25m")
    fetched = fetch.fetch_release("ml-25m", mirror=tmp_path / "mirror", data_dir=data_dir)
    assert fetched.source.synthetic
    assert fetch.locate("ml-25m", mirror=tmp_path / "mirror", data_dir=data_dir).synthetic


# --------------------------------------------------------------------------- validation first


def test_release_failing_validation_leaves_nothing_that_shadows_the_mirror(tmp_path, data_dir):
    ratings = synthetic_ratings(scale=(1.0, 5.0, 1.0), seed=26)
    bad = ratings.copy()
    bad.loc[4, "rating"] = 7.0
    mirror = tmp_path / "mirror"
    made = write_dat_release(tmp_path / "bad", bad)
    archive = zip_folder(made, mirror / "ml-1m.zip", top="ml-1m")
    with pytest.raises(DataError, match=rf"{archive}/ratings\.dat: line 5: rating 7 is not on"):
        movielens.load_ratings("ml-1m", mirror=mirror, data_dir=data_dir)
    assert _left_nothing(data_dir)  # no folder, no temporary
    good = write_dat_release(tmp_path / "good", ratings)
    zip_folder(good, archive, top="ml-1m")  # the mirror is fixed
    frame = movielens.load_ratings("ml-1m", mirror=mirror, data_dir=data_dir)
    assert frame["rating"].max() <= 5 and len(frame) == len(ratings)


def test_extracted_unverified_copy_follows_a_changed_archive(tmp_path, data_dir):
    mirror = tmp_path / "mirror"
    first = synthetic_ratings(seed=27)
    zip_folder(
        write_csv_release(tmp_path / "a", first, synthetic=False), mirror / "ml-20m.zip", top="x"
    )
    with pytest.warns(UnverifiedDataWarning):
        assert len(movielens.load_ratings("ml-20m", mirror=mirror, data_dir=data_dir)) == len(first)
    second = synthetic_ratings(n_users=12, seed=28)
    zip_folder(
        write_csv_release(tmp_path / "b", second, synthetic=False), mirror / "ml-20m.zip", top="x"
    )
    with pytest.warns(UnverifiedDataWarning):
        frame = movielens.load_ratings("ml-20m", mirror=mirror, data_dir=data_dir)
    pd.testing.assert_series_equal(
        frame["userId"], second["userId"].astype("int32"), check_names=False
    )
    assert (data_dir / "ml-20m" / "PROVENANCE.json").is_file()
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


def test_extracted_copy_edited_by_hand_is_extracted_again_from_its_origin(tmp_path, data_dir):
    mirror = tmp_path / "mirror"
    ratings = synthetic_ratings(seed=34)
    zip_folder(write_csv_release(tmp_path / "a", ratings), mirror / "ml-25m.zip", top="ml-25m")
    movielens.fetch("ml-25m", mirror=mirror, data_dir=data_dir)
    edited = data_dir / "ml-25m" / "ratings.csv"
    edited.write_text("userId,movieId,rating,timestamp\n1,1,5,0\n")
    frame = movielens.load_ratings("ml-25m", mirror=None, data_dir=data_dir)  # origin recorded
    assert len(frame) == len(ratings)
    assert len(edited.read_text().splitlines()) == len(ratings) + 1


# --------------------------------------------------------------------------- the cache


def test_unverified_cache_is_rebuilt_when_its_source_changes(tmp_path, data_dir):
    mirror = tmp_path / "mirror"
    folder = write_csv_release(mirror / "ml-20m", synthetic_ratings(seed=29), synthetic=False)
    with pytest.warns(UnverifiedDataWarning):
        movielens.load_ratings("ml-20m", mirror=mirror, data_dir=data_dir)
    fixed = synthetic_ratings(n_users=9, seed=30)
    write_csv_ratings(folder / "ratings.csv", fixed)  # the mirror is fixed
    with pytest.warns(UnverifiedDataWarning):
        frame = movielens.load_ratings("ml-20m", mirror=mirror, data_dir=data_dir)
    assert len(frame) == len(fixed)
    assert _source_of_cache(data_dir, "ml-20m")["checksum"] == (
        f"md5:{file_hash(folder / 'ratings.csv')}"
    )


def test_unverified_cache_whose_source_is_gone_is_used_with_a_warning(tmp_path, data_dir):
    mirror = tmp_path / "mirror"
    ratings = synthetic_ratings(seed=31)
    write_csv_release(mirror / "ml-20m", ratings, synthetic=False)
    with pytest.warns(UnverifiedDataWarning):
        movielens.load_ratings("ml-20m", mirror=mirror, data_dir=data_dir)
    shutil.rmtree(mirror)
    with pytest.warns(UnverifiedDataWarning, match=r"no longer there; using the cache"):
        frame = movielens.load_ratings("ml-20m", mirror=None, data_dir=data_dir)
    assert len(frame) == len(ratings)


def test_cache_without_a_recorded_source_is_rebuilt(tmp_path, data_dir, caplog):
    mirror = tmp_path / "mirror"
    ratings = synthetic_ratings(seed=32)
    write_csv_release(mirror / "ml-latest-small", ratings)
    movielens.load_ratings(mirror=mirror, data_dir=data_dir)
    (cache,) = (data_dir / "cache").iterdir()
    stale = ratings.iloc[:3].astype({"userId": "int32", "movieId": "int32", "rating": "float32"})
    stale.to_parquet(cache, index=False)  # as an older version wrote it: no source recorded
    frame = movielens.load_ratings(mirror=mirror, data_dir=data_dir)
    assert len(frame) == len(ratings) and "records no source; rebuilding it" in caplog.text
    assert _source_of_cache(data_dir, "ml-latest-small")["status"] == "synthetic"


# --------------------------------------------------------------------------- the data directory


def test_data_dir_that_is_a_file_is_named(tmp_path):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("x")
    for call in (movielens.fetch, movielens.load_ratings):
        with pytest.raises(DataError, match=rf"{not_a_folder}: the data directory is a file"):
            call(data_dir=not_a_folder)
    assert not_a_folder.read_text() == "x"


def test_stale_temporaries_of_a_killed_run_are_removed_fresh_ones_kept(tmp_path, data_dir):
    mirror = tmp_path / "mirror"
    write_csv_release(mirror / "ml-latest-small")
    stale_folder = data_dir / ".ml-latest-small.0123abcd.tmp"
    (stale_folder / "sub").mkdir(parents=True)
    stale_download = data_dir / ".ml-25m.zip.89abcdef.tmp.download"
    stale_cache = data_dir / "cache" / ".ml-1m.ratings.v1.parquet.4567cdef.tmp"
    fresh = data_dir / ".ml-20m.zip.fedcba98.tmp.download"  # another run, still writing
    mine = data_dir / "notes.tmp"  # not a name the package makes
    stale_cache.parent.mkdir(parents=True)
    for path in (stale_download, stale_cache, fresh, mine):
        path.write_bytes(b"partial")
    for path in (stale_folder, stale_download, stale_cache):
        _make_old(path)
    _make_old(mine)
    movielens.load_ratings(mirror=mirror, data_dir=data_dir)
    assert not stale_folder.exists() and not stale_download.exists() and not stale_cache.exists()
    assert fresh.exists() and mine.exists()


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]
)
def test_extracted_files_and_cache_follow_the_umask(
    tmp_path, data_dir, umask, file_mode, folder_mode
):
    folder = write_csv_release(tmp_path / "made", synthetic_ratings(seed=33))
    zip_folder(folder, tmp_path / "mirror" / "ml-25m.zip", top="ml-25m")
    previous = os.umask(umask)
    try:
        movielens.load_ratings("ml-25m", mirror=tmp_path / "mirror", data_dir=data_dir)
    finally:
        os.umask(previous)
    extracted = data_dir / "ml-25m"
    assert extracted.stat().st_mode & 0o777 == folder_mode
    for path in [*extracted.iterdir(), *(data_dir / "cache").iterdir()]:
        assert path.stat().st_mode & 0o777 == file_mode, path


def test_verified_digests_are_remembered_between_runs_until_a_file_changes(tmp_path, monkeypatch):
    folder = write_csv_release(tmp_path / "ml-known", synthetic=False)
    release = Release(
        "ml-known",
        "ml-known",
        "csv",
        file_md5={name: file_hash(folder / name) for name in ("ratings.csv", "movies.csv")},
    )
    memo = tmp_path / "cache" / "digests.json"
    hashed = []
    real_new = provenance.hashlib.new
    monkeypatch.setattr(
        provenance.hashlib, "new", lambda name: hashed.append(name) or real_new(name)
    )

    def new_run():  # another process: nothing remembered in memory
        monkeypatch.setattr(provenance, "_digests", {})
        hashed.clear()
        return provenance.verify_folder(release, folder, memo=memo)

    assert new_run().status == "verified" and len(hashed) == 2
    assert new_run().status == "verified" and hashed == []  # read from the memo
    (folder / "movies.csv").write_bytes((folder / "movies.csv").read_bytes() + b"9,X,Drama\r\n")
    with pytest.raises(DataError, match=r"movies\.csv: md5 \w+ differs"):
        new_run()
    assert hashed == ["md5"]  # only the changed file
