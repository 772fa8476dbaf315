"""IdIndex and RatingMatrix against dense references built with plain loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_helpers.data.ratings import IdIndex, RatingMatrix
from recsys_helpers.data.synthetic import make_ratings
from recsys_helpers.errors import DataError


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Six ratings, deliberately not sorted, with gapped raw ids and a stored 0 rating."""
    return pd.DataFrame(
        {
            "userId": np.array([42, 7, 42, 100, 7, 42], dtype=np.int32),
            "movieId": np.array([5, 300, 300, 5, 11, 11], dtype=np.int32),
            "rating": np.array([4.0, 3.5, 0.0, 5.0, 1.0, 2.5], dtype=np.float32),
            "timestamp": np.arange(6, dtype=np.int64),
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def dense_reference(df: pd.DataFrame) -> tuple[np.ndarray, list[int], list[int]]:
    """Dense user x movie matrix (NaN = unobserved) built row by row."""
    users = sorted(set(df["userId"].tolist()))
    items = sorted(set(df["movieId"].tolist()))
    dense = np.full((len(users), len(items)), np.nan)
    for user, item, rating in zip(df["userId"], df["movieId"], df["rating"], strict=True):
        dense[users.index(user), items.index(item)] = rating
    return dense, users, items


# --- IdIndex -------------------------------------------------------------------------------


def test_id_index_round_trip_keeps_dtype():
    raw = np.array([30, 10, 20, 10, 30], dtype=np.int32)
    index = IdIndex.from_ids(raw)
    assert index.ids.tolist() == [10, 20, 30]
    assert index.ids.dtype == np.int32
    assert len(index) == 3
    codes = index.to_index(raw)
    assert codes.dtype == np.int64
    assert codes.tolist() == [2, 0, 1, 0, 2]
    np.testing.assert_array_equal(index.to_ids(codes), raw)


def test_id_index_unknown_ids():
    index = IdIndex.from_ids([10, 20, 30])
    assert index.to_index([5, 10, 25, 30, 31]).tolist() == [-1, 0, -1, 2, -1]
    assert index.to_index([99], unknown=-7).tolist() == [-7]
    assert 20 in index and 21 not in index
    assert IdIndex.from_ids([]).to_index([1, 2]).tolist() == [-1, -1]


@pytest.mark.parametrize("high", [50, 10**12], ids=["compact-range-table", "wide-range-search"])
def test_id_index_matches_dict_oracle(high):
    rng = np.random.default_rng(0)
    raw = rng.integers(-high, high, size=400)
    index = IdIndex.from_ids(raw)
    position = {value: k for k, value in enumerate(sorted(set(raw.tolist())))}
    assert index.ids.tolist() == sorted(position)
    queries = np.concatenate([raw, rng.integers(-2 * high, 2 * high, size=1000)])
    expected = [position.get(q, -1) for q in queries.tolist()]
    assert index.to_index(queries).tolist() == expected
    assert index.to_index(queries, unknown=-7).tolist() == [-7 if e < 0 else e for e in expected]
    assert index.to_index(queries.astype(np.float64)).tolist() == expected
    assert index.to_index(queries.reshape(2, -1)).shape == (2, 700)


def test_id_index_to_ids_out_of_range():
    index = IdIndex.from_ids([10, 20, 30])
    with pytest.raises(IndexError, match=r"index out of range 0\.\.2: 1 bad \(e\.g\. \[-1\]\)"):
        index.to_ids([0, -1])
    with pytest.raises(IndexError, match="out of range"):
        index.to_ids([3])
    assert index.to_ids(np.array([[2, 0]])).tolist() == [[30, 10]]


def test_id_index_validation():
    assert IdIndex.from_ids(np.array([3.0, 1.0])).ids.tolist() == [1, 3]
    with pytest.raises(DataError, match=r"raw: ids must be whole numbers; 1 value\(s\) are not"):
        IdIndex.from_ids([1.0, 2.5])
    with pytest.raises(DataError, match="whole numbers"):
        IdIndex.from_ids([1.0, np.nan])
    with pytest.raises(DataError, match="one-dimensional"):
        IdIndex.from_ids(np.ones((2, 2), dtype=int))
    with pytest.raises(DataError, match="strictly increasing"):
        IdIndex([3, 1])
    with pytest.raises(DataError, match="ids must be integers, got non-numeric"):
        IdIndex.from_ids(np.array(["a", "b"], dtype=object))
    assert IdIndex([1, 5]) == IdIndex.from_ids([5, 1, 5])
    assert IdIndex([1, 5]) != IdIndex([1, 6])


# --- RatingMatrix --------------------------------------------------------------------------


def test_matrices_match_dense_reference(tiny):
    matrix = RatingMatrix.from_frame(tiny)
    dense, users, items = dense_reference(tiny)
    assert matrix.users.ids.tolist() == users
    assert matrix.items.ids.tolist() == items
    assert (matrix.n_users, matrix.n_items, matrix.nnz) == (3, 3, 6)
    for layout, reference in ((matrix.by_user, dense), (matrix.by_item, dense.T)):
        assert isinstance(layout, sp.csr_matrix)
        assert layout.has_canonical_format
        assert layout.shape == reference.shape
        observed = np.zeros(reference.shape, dtype=bool)
        rows = np.repeat(np.arange(layout.shape[0]), np.diff(layout.indptr))
        observed[rows, layout.indices] = True
        # the stored 0.0 rating stays an explicit entry
        np.testing.assert_array_equal(observed, ~np.isnan(reference))
        np.testing.assert_array_equal(layout.toarray(), np.nan_to_num(reference))
        for row in range(layout.shape[0]):
            indices = layout.indices[layout.indptr[row] : layout.indptr[row + 1]]
            assert np.all(np.diff(indices) > 0)
    assert matrix.by_user.dtype == np.float64
    assert matrix.global_mean == pytest.approx(np.nanmean(dense))
    np.testing.assert_array_equal(matrix.user_counts, (~np.isnan(dense)).sum(axis=1))
    np.testing.assert_array_equal(matrix.item_counts, (~np.isnan(dense)).sum(axis=0))
    assert matrix.user_counts.dtype == np.int64
    assert matrix.density == pytest.approx(6 / 9)


def test_matrices_match_scipy_on_synthetic_shuffled_frame():
    ratings, _ = make_ratings(300, 200, 6000, random_state=3)
    shuffled = ratings.sample(frac=1.0, random_state=0)
    matrix = RatingMatrix.from_frame(shuffled, dtype=np.float32)
    u, i = matrix.encode(shuffled)
    reference = sp.coo_matrix(
        (shuffled["rating"].to_numpy(), (u, i)), shape=(matrix.n_users, matrix.n_items)
    ).tocsr()
    assert matrix.by_user.dtype == np.float32
    assert (matrix.by_user != reference).nnz == 0
    assert (matrix.by_item != reference.T.tocsr()).nnz == 0
    assert matrix.by_item.has_canonical_format
    sorted_matrix = RatingMatrix.from_frame(ratings, dtype=np.float32)
    assert (sorted_matrix.by_user != matrix.by_user).nnz == 0


def test_matrices_do_not_alias_the_frame(tiny):
    frame = tiny.sort_values(["userId", "movieId"]).astype({"rating": np.float64})
    matrix = RatingMatrix.from_frame(frame)
    matrix.by_user.data[:] = -1.0
    assert (frame["rating"] >= 0).all()


def test_given_vocabularies_allow_empty_rows(tiny):
    users = IdIndex.from_ids([1, 7, 42, 100])
    items = IdIndex.from_ids([5, 11, 12, 300])
    matrix = RatingMatrix.from_frame(tiny, users=users, items=items)
    assert matrix.by_user.shape == (4, 4)
    assert matrix.user_counts.tolist() == [0, 2, 3, 1]
    assert matrix.item_counts.tolist() == [2, 2, 0, 2]
    assert matrix.users is users


def test_given_vocabulary_missing_ids_raises(tiny):
    with pytest.raises(
        DataError,
        match=r"column 'userId': 2 row\(s\) have ids not in the given vocabulary \(e\.g\. \[7\]\)",
    ):
        RatingMatrix.from_frame(tiny, users=IdIndex.from_ids([42, 100]))


def test_bad_frames_raise(tiny):
    with pytest.raises(DataError, match=r"missing column\(s\) \['rating'\]"):
        RatingMatrix.from_frame(tiny.drop(columns="rating"))
    duplicated = pd.concat([tiny, tiny.iloc[[1]]])
    with pytest.raises(
        DataError, match=r"1 duplicate \(userId, movieId\) pair\(s\), e\.g\. \[\(7, 300\)\]"
    ):
        RatingMatrix.from_frame(duplicated)
    with pytest.raises(DataError, match=r"1 duplicate \(userId, movieId\) pair\(s\)"):
        # sorted, so only the repeated key tells it apart from a frame ready to use
        RatingMatrix.from_frame(duplicated.sort_values(["userId", "movieId"]))
    broken = tiny.copy()
    broken.loc[12, "rating"] = np.nan
    with pytest.raises(
        DataError, match=r"column 'rating': 1 non-finite rating\(s\) \(e\.g\. at rows \[12\]\)"
    ):
        RatingMatrix.from_frame(broken)
    with pytest.raises(
        DataError, match=r"column 'rating': row 10 \(userId 42, movieId 5\): 'good' is not a number"
    ):
        RatingMatrix.from_frame(tiny.assign(rating="good"))


def test_custom_column_names(tiny):
    renamed = tiny.rename(columns={"userId": "u", "movieId": "m", "rating": "r"})
    matrix = RatingMatrix.from_frame(renamed, user_col="u", item_col="m", rating_col="r")
    assert matrix.nnz == 6
    assert matrix.ratings_of_user(42).to_dict() == {5: 4.0, 11: 2.5, 300: 0.0}
    assert matrix.to_frame().columns.tolist() == ["u", "m", "r"]


def test_encode_keeps_cold_start_rows(tiny):
    matrix = RatingMatrix.from_frame(tiny)
    test = pd.DataFrame({"userId": [7, 8, 42, 9], "movieId": [5, 5, 999, 999]}, index=[3, 2, 1, 0])
    user_index, item_index = matrix.encode(test)
    assert user_index.tolist() == [0, -1, 1, -1]
    assert item_index.tolist() == [0, 0, -1, -1]
    mask = matrix.cold_start_mask(test)
    assert mask.index.tolist() == [3, 2, 1, 0]
    assert mask["cold_user"].tolist() == [False, True, False, True]
    assert mask["cold_item"].tolist() == [False, False, True, True]
    assert mask["cold"].tolist() == [False, True, True, True]
    with pytest.raises(DataError, match=r"missing column\(s\) \['movieId'\]"):
        matrix.encode(test.drop(columns="movieId"))


def test_to_frame_and_user_ratings(tiny):
    matrix = RatingMatrix.from_frame(tiny)
    back = matrix.to_frame()
    expected = tiny.sort_values(["userId", "movieId"])[["userId", "movieId", "rating"]]
    np.testing.assert_array_equal(back.to_numpy(), expected.to_numpy())
    assert matrix.ratings_of_user(7).to_dict() == {11: 1.0, 300: 3.5}
    with pytest.raises(KeyError, match="userId 8 is not in this rating matrix"):
        matrix.ratings_of_user(8)


def test_real_small_release(mirror):
    path = mirror / "ml-latest-small" / "ratings.csv"
    if not path.is_file():
        pytest.skip(f"{path} not in the mirror")
    ratings = pd.read_csv(path, dtype={"userId": np.int32, "movieId": np.int32})
    matrix = RatingMatrix.from_frame(ratings)
    assert (matrix.n_users, matrix.n_items, matrix.nnz) == (610, 9724, 100_836)
    assert matrix.global_mean == pytest.approx(ratings["rating"].mean())
    assert matrix.user_counts.min() >= 20
    assert matrix.item_counts.sum() == 100_836


@pytest.mark.parametrize("shuffled", [False, True])
def test_extra_columns_follow_both_entry_orders(shuffled):
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(
        {"userId": np.repeat([3, 1, 7], 4), "movieId": np.tile([20, 5, 9, 14], 3)}
    ).assign(rating=rng.uniform(0.5, 5.0, 12), timestamp=rng.integers(0, 10**9, 12))
    if shuffled:
        frame = frame.sample(frac=1.0, random_state=1)
    matrix = RatingMatrix.from_frame(frame, extra_columns=("timestamp",))
    stamp = frame.set_index(["userId", "movieId"])["timestamp"]
    by_user = matrix.by_user.tocoo()
    users, items = matrix.users.ids[by_user.row], matrix.items.ids[by_user.col]
    expected = stamp.loc[list(zip(users, items, strict=True))]
    np.testing.assert_array_equal(matrix.extra_by_user["timestamp"], expected)
    by_item = matrix.by_item.tocoo()
    items, users = matrix.items.ids[by_item.row], matrix.users.ids[by_item.col]
    expected = stamp.loc[list(zip(users, items, strict=True))]
    np.testing.assert_array_equal(matrix.extra_by_item["timestamp"], expected)
    assert matrix.extra_by_user["timestamp"].dtype == frame["timestamp"].dtype
    assert not np.shares_memory(matrix.extra_by_user["timestamp"], frame["timestamp"].to_numpy())
    assert RatingMatrix.from_frame(frame).extra_by_user == {}  # nothing kept unless asked


def test_extra_columns_are_checked():
    frame = pd.DataFrame({"userId": [1, 2], "movieId": [3, 4], "rating": [4.0, 2.0]})
    with pytest.raises(DataError, match=r"missing column\(s\) \['timestamp'\]"):
        RatingMatrix.from_frame(frame, extra_columns=("timestamp",))
    with pytest.raises(DataError, match="column 'timestamp': 1 non-finite value.*rows \\[1\\]"):
        RatingMatrix.from_frame(frame.assign(timestamp=[5.0, np.nan]), extra_columns=("timestamp",))
    with pytest.raises(DataError, match="column 'timestamp': must hold real numbers"):
        RatingMatrix.from_frame(frame.assign(timestamp=["a", "b"]), extra_columns=("timestamp",))
