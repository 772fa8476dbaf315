"""User rating files (data/userfiles): damaged, compressed-and-cut, or not files at all, each
named in one line."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest

from recsys_helpers.data.userfiles import read_ratings_file
from recsys_helpers.errors import DataError

CSV = b"userId,movieId,rating\n" + b"".join(
    b"%d,%d,4.5\n" % (u, m) for u in range(50) for m in range(9)
)


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".csv.gz", gzip.compress), (".csv.bz2", bz2.compress), (".csv.xz", lzma.compress)],
)
def test_cut_compressed_file_is_named(tmp_path, suffix, compress):
    whole = tmp_path / f"whole{suffix}"
    whole.write_bytes(compress(CSV))
    assert len(read_ratings_file(whole)) == 450
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DataError, match=rf"^{cut}: cannot read the csv "):
        read_ratings_file(cut)


def test_corrupt_gzip_is_named(tmp_path):
    data = bytearray(gzip.compress(CSV))
    data[30:60] = bytes(30)
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"^{bad}: cannot read the csv "):
        read_ratings_file(bad)


def test_folder_and_missing_file_are_told_apart(tmp_path):
    with pytest.raises(DataError, match=rf"^{tmp_path}: is a folder; give a file$"):
        read_ratings_file(tmp_path)
    with pytest.raises(DataError, match=rf"^{tmp_path / 'nope.csv'}: no such file$"):
        read_ratings_file(tmp_path / "nope.csv")
