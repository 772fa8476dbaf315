"""Saved models (models/persistence): damaged or altered files are refused on load with one
line naming them, targets are checked before any work, files follow the umask, and a killed
save leaves nothing that the next save does not remove."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from _saved_models import altered_copy  # helper beside this file

from recsys_helpers.errors import DataError
from recsys_helpers.models import HybridMF, load_model
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.persistence import check_model_path

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    pairs = [(u, m) for u in range(1, 9) for m in (10, 20, 30, 40, 50) if rng.random() < 0.7]
    users, movies = zip(*pairs, strict=True)
    stars = rng.integers(1, 11, len(pairs)) / 2
    return pd.DataFrame({"userId": users, "movieId": movies, "rating": stars})


@pytest.fixture(scope="module")
def saved(ratings, tmp_path_factory):
    """A fitted model's file and its arrays (to alter copies of)."""
    model = BiasedMF(n_factors=2, n_iter=3).fit(ratings)
    path = model.save(tmp_path_factory.mktemp("model") / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return path, arrays


def _altered(saved, tmp_path, **changes) -> os.PathLike:
    """A copy of the saved model with some arrays (or metadata entries) replaced."""
    _, arrays = saved
    arrays = dict(arrays)
    meta = json.loads(str(arrays["meta"]))
    for name, value in changes.items():
        if name in arrays:
            arrays[name] = value(arrays[name].copy())
        else:
            meta[name] = value(meta[name])
    arrays["meta"] = np.array(json.dumps(meta))
    path = tmp_path / "altered.npz"
    np.savez(path, **arrays)
    return path


def _with_nan(values):
    values.flat[0] = np.nan
    return values


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user_factors": _with_nan}, r"user_factors holds 1 NaN/inf"),
        ({"item_bias": lambda b: b + np.inf}, r"item_bias holds \d+ NaN/inf"),
        ({"global_mean": lambda _: float("nan")}, r"global mean is nan"),
        ({"rating_range": lambda _: [5.0, 1.0]}, r"rating range is \(5.0, 1.0\)"),
        ({"item_factors": lambda f: f[:-1]}, r"item_factors has shape \(4, 2\), expected \(5, 2\)"),
        (
            {"user_factors": lambda f: f[:, :1]},
            r"user_factors has shape \(8, 1\), expected \(8, 2\)",
        ),
        ({"item_ids": lambda ids: ids[::-1].copy()}, r"item_ids are not unique sorted integers"),
        ({"user_ids": lambda ids: np.r_[ids[:1], ids[:-1]]}, r"user_ids are not unique sorted"),
        ({"seen_indices": lambda i: i + 100}, r"the users' rated movies .* are inconsistent"),
        ({"item_counts": lambda c: -c}, r"a rating count is negative"),
        ({"user_bias": lambda b: b.astype(str)}, r"user_bias holds <U\d+ values, not numbers"),
    ],
    ids=[
        "nan-factor",
        "inf-bias",
        "nan-mean",
        "reversed-range",
        "short-factors",
        "narrow-factors",
        "reordered-ids",
        "repeated-id",
        "seen-out-of-range",
        "negative-count",
        "text-bias",
    ],
)
def test_altered_model_is_refused_naming_file_and_array(saved, tmp_path, changes, message):
    path = _altered(saved, tmp_path, **changes)
    with pytest.raises(DataError, match=rf"^{path}: {message}"):
        load_model(path)


def test_loaded_model_predicts_as_saved(saved, ratings):
    path, _ = saved
    model = BiasedMF.load(path)
    refitted = BiasedMF(n_factors=2, n_iter=3).fit(ratings)
    np.testing.assert_array_equal(model.predict(ratings), refitted.predict(ratings))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], r"not a saved model, or damaged \(File is not a zip"),
        (lambda data: b"", r"not a saved model, or damaged \(No data left in file\)"),
        (
            lambda data: data[:1500] + bytes(20) + data[1520:],
            r"not a saved model, or damaged \((Bad CRC-32|Error -3 while decompressing|File is)",
        ),
    ],
    ids=["truncated", "empty", "corrupted"],
)
def test_damaged_model_file_is_one_clear_error(saved, tmp_path, damage, message):
    path, _ = saved
    target = tmp_path / "damaged.npz"
    target.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=rf"^{target}: {message}"):
        load_model(target)


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("ratings.csv", lambda path: path.write_text("userId,movieId,rating\n1,2,4.0\n")),
        ("array.npy", lambda path: np.save(path, np.arange(3))),
    ],
)
def test_a_file_that_is_not_an_npz_archive_is_one_clear_error(tmp_path, name, write):
    path = tmp_path / name
    write(path)
    with pytest.raises(DataError, match=rf"^{path}: not a saved model \(not an \.npz archive\)$"):
        load_model(path)


def test_hybrid_model_checks_its_feature_weights(ratings, tmp_path):
    movies = pd.DataFrame(
        {
            "movieId": [10, 20, 30, 40, 50],
            "title": ["A (1990)", "B (1991)", "C (1992)", "D (1993)", "E (1994)"],
            "genres": ["Drama", "Comedy", "Drama|Comedy", "Action", "Drama"],
        }
    )
    model = HybridMF(n_factors=2, n_iter=2, feature_kinds=("genres",)).fit(ratings, movies=movies)
    path = model.save(tmp_path / "hybrid.npz")
    assert load_model(path).feature_weights_.shape == model.feature_weights_.shape
    bad = altered_copy(path, tmp_path / "bad.npz", "feature_weights", lambda w: w[:, :1])
    with pytest.raises(DataError, match=r"bad\.npz: feature_weights has shape \(\d+, 1\)"):
        load_model(bad)


# --------------------------------------------------------------------------- the target


def test_model_path_must_end_in_npz_and_not_be_an_input(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("userId,movieId,rating\n1,1,4\n")
    with pytest.raises(DataError, match=r"train\.csv: a model file must end in \.npz"):
        check_model_path(train, inputs=[train])
    same = tmp_path / "data.npz"
    same.write_bytes(b"input")
    spelled_otherwise = tmp_path / "sub" / ".." / "data.npz"
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match=r"data\.npz: is an input file of this run"):
        check_model_path(spelled_otherwise, overwrite=True, inputs=[None, same])
    assert same.read_bytes() == b"input"


def test_model_path_existing_folder_or_below_a_file_is_refused(tmp_path):
    existing = tmp_path / "old.npz"
    existing.write_bytes(b"old model")
    with pytest.raises(DataError, match=r"old\.npz: exists; choose another name, or give --force"):
        check_model_path(existing, overwrite_option="--force")
    assert check_model_path(existing, overwrite=True) == existing
    assert existing.read_bytes() == b"old model"  # the check writes nothing over it
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(DataError, match=r"folder\.npz: is a folder"):
        check_model_path(tmp_path / "folder.npz", overwrite=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match=rf"{blocker}/m\.npz: cannot be written: {blocker} is a"):
        check_model_path(blocker / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.npz", "old.npz"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_model_path_in_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(DataError, match=r"locked/m\.npz: cannot be written \(Permission denied"):
        check_model_path(locked / "m.npz")


# --------------------------------------------------------------------------- files on disk


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_model_follows_the_umask(ratings, tmp_path, umask, mode):
    model = BiasedMF(n_factors=1, n_iter=1).fit(ratings)
    previous = os.umask(umask)
    try:
        path = model.save(tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode


_KILLED_SAVE = """
import sys, time
from recsys_helpers import atomic
with atomic.atomic_path(sys.argv[1]) as temporary:
    temporary.write_bytes(b"half a model")
    print(temporary, flush=True)
    time.sleep(60)
"""


def test_save_after_a_killed_save_removes_its_temporary(ratings, tmp_path):
    target = tmp_path / "model.npz"
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, str(target)], stdout=subprocess.PIPE, text=True
    )
    temporary = tmp_path / process.stdout.readline().strip()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert temporary.is_file() and temporary.name.startswith(".model.npz.")
    assert not target.exists()
    model = BiasedMF(n_factors=1, n_iter=1).fit(ratings)
    model.save(target)
    assert temporary.exists()  # younger than an hour: maybe another process still writing
    old = time.time() - 2 * 3600
    os.utime(temporary, (old, old))
    model.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
