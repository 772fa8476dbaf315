"""Rating matrices: raw MovieLens ids mapped to contiguous indices, stored both ways round.

:class:`IdIndex` is the vocabulary of one side (users or movies): the sorted unique raw
ids, so that raw id ``ids[k]`` has index ``k``. :class:`RatingMatrix` holds the observed
ratings ``r_ui`` as two canonical CSR matrices, ``by_user`` (row ``u`` lists ``Ω_u``, the
movies user ``u`` rated) and ``by_item`` (row ``i`` lists ``Ω_i``, the users who rated
movie ``i``), which are exactly what the two alternating half-steps of ALS iterate over.

Everything is vectorised over ratings: building the matrices for the 25 million ratings
of ML-25M costs a few sorts of integer arrays, no Python loop over rows.

Ids that a matrix does not know (cold-start users or movies in a test set) are encoded as
``-1`` rather than dropped, so that evaluation code can keep those rows visible and fall
back to the baseline for them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_helpers.data.checks import check_rating_range, require_columns, require_in_range
from recsys_helpers.errors import DataError

__all__ = ["IdIndex", "RatingMatrix"]

logger = logging.getLogger(__name__)

_N_EXAMPLES = 5
# Id ranges up to this many slots per id (plus a fixed allowance) use direct tables
# instead of sorting and binary search.
_DENSE_SLACK = 8
_DENSE_MIN = 1 << 20


class IdIndex:
    """Vocabulary of raw ids: sorted unique ids ↔ contiguous indices ``0 … n−1``.

    Parameters
    ----------
    ids : array_like of int, shape (n,)
        Raw ids, strictly increasing. Use :meth:`from_ids` to build one from any
        collection of ids (duplicates and order do not matter there).

    Attributes
    ----------
    ids : ndarray of int, shape (n,)
        Sorted unique raw ids; ``ids[k]`` is the raw id of index ``k``. The integer dtype
        of the input is kept (``int32`` for MovieLens frames).

    Examples
    --------
    >>> index = IdIndex.from_ids([30, 10, 20, 10])
    >>> index.ids.tolist(), len(index)
    ([10, 20, 30], 3)
    >>> index.to_index([20, 99]).tolist()
    [1, -1]
    >>> index.to_ids([2, 0]).tolist()
    [30, 10]
    """

    __slots__ = ("_table", "ids")

    def __init__(self, ids) -> None:
        ids = np.array(_as_id_array(ids, "ids"))  # a private copy: the cached table relies on it
        if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            raise DataError("ids: must be strictly increasing; use IdIndex.from_ids for raw ids")
        ids.setflags(write=False)
        self.ids = ids
        self._table: np.ndarray | None = None

    @classmethod
    def from_ids(cls, raw) -> IdIndex:
        """Vocabulary of the distinct values of ``raw`` (any order, duplicates allowed).

        Parameters
        ----------
        raw : array_like of int, shape (n,)
            Raw ids, e.g. the ``userId`` column of a ratings frame. Floats are accepted
            only when every value is a whole number (a column read with missing values).

        Raises
        ------
        DataError
            When ``raw`` is not one-dimensional or holds non-integer values.
        """
        raw = _as_id_array(raw, "raw")
        if raw.size == 0:
            return cls(raw)
        low, high = raw.min(), raw.max()
        span = int(high) - int(low) + 1
        if span > _DENSE_SLACK * raw.size + _DENSE_MIN:
            return cls(np.unique(raw))
        # Ids from a compact range (MovieLens's are): a presence mask is O(n), no sort.
        present = np.zeros(span, dtype=bool)
        present[raw - low] = True
        return cls((np.flatnonzero(present) + low).astype(raw.dtype, copy=False))

    def __len__(self) -> int:
        return int(self.ids.size)

    def __repr__(self) -> str:
        if len(self) == 0:
            return "IdIndex(n=0)"
        return f"IdIndex(n={len(self)}, ids {self.ids[0]}..{self.ids[-1]})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdIndex):
            return NotImplemented
        return bool(np.array_equal(self.ids, other.ids))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking container: compare, don't hash

    def __contains__(self, raw_id: object) -> bool:
        return bool(self.to_index(np.asarray([raw_id]))[0] >= 0)

    def to_index(self, raw, *, unknown: int = -1) -> np.ndarray:
        """Index of each raw id, ``unknown`` where the id is not in the vocabulary.

        Parameters
        ----------
        raw : array_like, any shape
            Raw ids to look up: ``O(m)`` through a direct table when the ids span a
            compact range (as MovieLens ids do), else ``np.searchsorted``, ``O(m log n)``.
        unknown : int, default -1
            Value returned for ids not in :attr:`ids` (cold-start ids).

        Returns
        -------
        ndarray of int64, same shape as ``raw``
        """
        raw = np.asarray(raw)
        if self.ids.size == 0:
            return np.full(raw.shape, unknown, dtype=np.int64)
        table = self._lookup_table()
        if table is not None and np.issubdtype(raw.dtype, np.integer):
            offset = np.subtract(raw, np.int64(self.ids[0]), dtype=np.int64)
            # one comparison finds both ends: a negative offset wraps to a huge unsigned one
            outside = offset.view(np.uint64) >= np.uint64(table.size)
            has_outside = bool(outside.any())
            codes = np.take(table, offset, mode="clip", out=offset)  # reuses the offsets
            if has_outside:
                codes[outside] = -1
            if unknown != -1:
                codes[codes < 0] = unknown
            return codes
        position = np.searchsorted(self.ids, raw)
        clipped = np.minimum(position, self.ids.size - 1)
        found = self.ids[clipped] == raw
        return np.where(found, clipped, unknown).astype(np.int64, copy=False)

    def _lookup_table(self) -> np.ndarray | None:
        """``table[id − ids[0]]`` = index or −1, when the id range is compact; else None."""
        if self._table is None:
            span = int(self.ids[-1]) - int(self.ids[0]) + 1
            if span > _DENSE_SLACK * self.ids.size + _DENSE_MIN:
                return None
            table = np.full(span, -1, dtype=np.int64)
            table[self.ids.astype(np.int64) - np.int64(self.ids[0])] = np.arange(self.ids.size)
            self._table = table
        return self._table

    def to_ids(self, index) -> np.ndarray:
        """Raw id of each index.

        Parameters
        ----------
        index : array_like of int, any shape
            Indices in ``0 … n−1``.

        Returns
        -------
        ndarray, same shape as ``index``, dtype of :attr:`ids`

        Raises
        ------
        IndexError
            When an index is negative (e.g. a ``-1`` cold-start code) or ``>= n``.
        """
        index = np.asarray(index)
        if index.size and not np.issubdtype(index.dtype, np.integer):
            raise IndexError(f"indices must be integers, got dtype {index.dtype}")
        index = index.astype(np.int64, copy=False)
        if index.size and (index.min() < 0 or index.max() >= self.ids.size):
            bad = index[(index < 0) | (index >= self.ids.size)]
            raise IndexError(
                f"index out of range 0..{self.ids.size - 1}: "
                f"{bad.size} bad (e.g. {bad[:_N_EXAMPLES].tolist()})"
            )
        return self.ids[index]


class RatingMatrix:
    """Observed ratings ``r_ui`` as sparse matrices indexed by user and by movie.

    Build one with :meth:`from_frame`; the constructor only stores its arguments.

    Attributes
    ----------
    users : IdIndex
        Row vocabulary of :attr:`by_user` (``n_users`` raw user ids).
    items : IdIndex
        Row vocabulary of :attr:`by_item` (``n_items`` raw movie ids).
    by_user : scipy.sparse.csr_matrix, shape (n_users, n_items)
        ``by_user[u, i] = r_ui``; row ``u`` holds ``Ω_u``. Canonical: column indices
        sorted within each row, no duplicates, explicit entries only (a stored rating of
        0 stays stored).
    by_item : scipy.sparse.csr_matrix, shape (n_items, n_users)
        The same ratings transposed (the CSC layout of ``by_user`` stored as CSR of the
        transpose); row ``i`` holds ``Ω_i``. Canonical as well.
    global_mean : float
        ``μ``: the mean of all stored ratings, computed in float64 (0.0 when there are none).
    user_counts : ndarray of int64, shape (n_users,)
        ``|Ω_u|``, ratings per user.
    item_counts : ndarray of int64, shape (n_items,)
        ``|Ω_i|``, ratings per movie.
    user_col, item_col, rating_col : str
        Column names used by :meth:`from_frame`, reused by :meth:`encode`.
    extra_by_user, extra_by_item : dict of str to ndarray, shape (nnz,) each
        Further per-rating columns kept on request (``from_frame(extra_columns=...)``, e.g.
        ``timestamp``), aligned with ``by_user.data`` and with ``by_item.data``; empty
        by default.
    """

    def __init__(
        self,
        users: IdIndex,
        items: IdIndex,
        by_user: sp.csr_matrix,
        by_item: sp.csr_matrix,
        *,
        user_col: str = "userId",
        item_col: str = "movieId",
        rating_col: str = "rating",
        extra_by_user: dict[str, np.ndarray] | None = None,
        extra_by_item: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.users = users
        self.items = items
        self.by_user = by_user
        self.by_item = by_item
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col
        self.extra_by_user = dict(extra_by_user or {})
        self.extra_by_item = dict(extra_by_item or {})
        self.global_mean = float(np.mean(by_user.data, dtype=np.float64)) if by_user.nnz else 0.0
        self.user_counts = np.diff(by_user.indptr).astype(np.int64)
        self.item_counts = np.diff(by_item.indptr).astype(np.int64)

    @property
    def n_users(self) -> int:
        """Number of users (rows of :attr:`by_user`)."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Number of movies (rows of :attr:`by_item`)."""
        return len(self.items)

    @property
    def nnz(self) -> int:
        """Number of stored ratings."""
        return int(self.by_user.nnz)

    @property
    def density(self) -> float:
        """``nnz / (n_users · n_items)``, the fraction of the matrix observed."""
        cells = self.n_users * self.n_items
        return self.nnz / cells if cells else 0.0

    def __repr__(self) -> str:
        return (
            f"RatingMatrix(n_users={self.n_users}, n_items={self.n_items}, nnz={self.nnz}, "
            f"global_mean={self.global_mean:.4f})"
        )

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        users: IdIndex | None = None,
        items: IdIndex | None = None,
        dtype=np.float64,
        user_col: str = "userId",
        item_col: str = "movieId",
        rating_col: str = "rating",
        extra_columns: Sequence[str] = (),
        rating_range: tuple[float, float] | None = None,
    ) -> RatingMatrix:
        """Build both sparse layouts from a ratings frame.

        Parameters
        ----------
        df : DataFrame
            One row per rating with integer ``user_col`` and ``item_col`` and numeric
            ``rating_col``; other columns are ignored. Row order does not matter.
        users, items : IdIndex, optional
            Vocabularies to use (e.g. a model's, or one shared by several splits). By
            default, the distinct ids present in ``df``. Given ones may hold ids with no
            rating in ``df`` (empty rows).
        dtype : numpy dtype, default float64
            Dtype of the stored ratings.
        user_col, item_col, rating_col : str
            Column names.
        extra_columns : sequence of str, default ()
            Further numeric per-rating columns to keep (finite values, dtype kept), in
            both entry orders: :attr:`extra_by_user` and :attr:`extra_by_item`.
        rating_range : (low, high), optional
            The rating scale's ends: every rating must lie in ``[low, high]``.

        Returns
        -------
        RatingMatrix

        Raises
        ------
        DataError
            When a column is missing, a rating is not a finite number or lies outside
            ``rating_range`` (the first such row is named by its index label, user and
            movie), a (user, movie) pair occurs more than once, or ``users``/``items`` are
            given and some rows carry ids not in them (the message gives how many and
            examples).

        Notes
        -----
        Cost: one ``O(nnz log nnz)`` sort of the keys ``u · n_items + i`` (skipped when
        the frame is already sorted by user then movie, as MovieLens files are) and one
        ``O(nnz)`` counting sort for the transposed layout.
        """
        require_columns(df, (user_col, item_col, rating_col, *extra_columns), "ratings")
        user_raw = _as_id_array(df[user_col].to_numpy(), f"column {user_col!r}")
        item_raw = _as_id_array(df[item_col].to_numpy(), f"column {item_col!r}")
        users = IdIndex.from_ids(user_raw) if users is None else users
        items = IdIndex.from_ids(item_raw) if items is None else items
        user_index = _encode_known(users, user_raw, user_col)
        item_index = _encode_known(items, item_raw, item_col)
        del user_raw, item_raw

        rating_values = df[rating_col].to_numpy()

        def row(k: int) -> str:  # the k-th rating, as people can find it in the frame
            label = df.index[k]
            label = label.item() if isinstance(label, np.generic) else label
            return (
                f"column {rating_col!r}: row {label!r} ({user_col} "
                f"{df[user_col].iloc[k]}, {item_col} {df[item_col].iloc[k]})"
            )

        if rating_values.dtype.kind not in "iuf":
            numbers = pd.to_numeric(pd.Series(rating_values, dtype=object), errors="coerce")
            text = numbers.isna().to_numpy() & pd.notna(rating_values)
            if rating_values.dtype.kind in "bc" or text.any():
                k = int(np.argmax(text)) if text.any() else 0
                raise DataError(f"{row(k)}: {rating_values[k]!r} is not a number")
            rating_values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        values = rating_values.astype(dtype, copy=False)
        finite = np.isfinite(values)
        if not finite.all():
            rows = np.flatnonzero(~finite)
            raise DataError(
                f"column {rating_col!r}: {rows.size} non-finite rating(s) "
                f"(e.g. at rows {df.index[rows[:_N_EXAMPLES]].tolist()})"
            )
        del finite
        require_in_range(values, check_rating_range(rating_range), row)
        if np.shares_memory(values, rating_values):
            values = values.copy()  # the matrices must never alias the caller's frame
        extras = {name: _extra_column(df, name) for name in extra_columns}

        n_users, n_items = len(users), len(items)
        key = user_index * np.int64(n_items)
        key += item_index
        # compared in place of np.diff: no (nnz,) int64 temporary, only a boolean one
        if not bool((key[1:] > key[:-1]).all()):  # not sorted by user, movie, without repeats
            # Valid keys are distinct, so stability buys nothing; NumPy's default argsort
            # (vectorised where the CPU allows) is 2-3x faster than its stable one here.
            order = np.argsort(key)
            key = key[order]
            user_index = user_index[order]
            item_index = item_index[order]
            values = values[order]
            extras = {name: column[order] for name, column in extras.items()}
            del order
            duplicated = key[1:] == key[:-1]
            if duplicated.any():
                first = np.flatnonzero(duplicated)
                pairs = [
                    (users.ids[k // n_items].item(), items.ids[k % n_items].item())
                    for k in key[first[:_N_EXAMPLES]]
                ]
                raise DataError(
                    f"ratings: {first.size} duplicate ({user_col}, {item_col}) pair(s), "
                    f"e.g. {pairs}"
                )
            del duplicated
        del key

        index_dtype = np.int32 if max(n_users, n_items, item_index.size) < 2**31 else np.int64
        indices = item_index.astype(index_dtype)
        del item_index
        indptr = np.zeros(n_users + 1, dtype=index_dtype)
        np.cumsum(np.bincount(user_index, minlength=n_users), out=indptr[1:])
        del user_index
        by_user = sp.csr_matrix(
            (np.ascontiguousarray(values), indices, indptr), shape=(n_users, n_items), copy=False
        )
        by_user.has_sorted_indices = True
        # CSR -> CSC is a stable counting sort, so row indices come out sorted per column.
        by_item = by_user.tocsc().T.tocsr(copy=False)
        by_item.has_sorted_indices = True
        # The same stable counting sort as a permutation: entries by movie, then by user.
        by_movie = np.argsort(indices, kind="stable") if extras else None
        logger.debug("RatingMatrix: %d users x %d items, %d ratings", n_users, n_items, by_user.nnz)
        return cls(
            users,
            items,
            by_user,
            by_item,
            user_col=user_col,
            item_col=item_col,
            rating_col=rating_col,
            extra_by_user=extras,
            extra_by_item={name: column[by_movie] for name, column in extras.items()},
        )

    def encode(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """User and movie index of every row of ``df``, ``-1`` for ids this matrix lacks.

        No row is dropped: cold-start users and movies stay visible as ``-1`` codes.

        Parameters
        ----------
        df : DataFrame
            Has the user and item columns named at construction (``userId``,
            ``movieId`` by default).

        Returns
        -------
        user_index, item_index : ndarray of int64, shape (len(df),)
        """
        require_columns(df, (self.user_col, self.item_col), "frame")
        return (
            self.users.to_index(df[self.user_col].to_numpy()),
            self.items.to_index(df[self.item_col].to_numpy()),
        )

    def cold_start_mask(self, df: pd.DataFrame) -> pd.DataFrame:
        """Which rows of ``df`` have a user or a movie this matrix has never seen.

        Parameters
        ----------
        df : DataFrame
            E.g. a test split; needs the user and item columns.

        Returns
        -------
        DataFrame, index of ``df``, boolean columns
            ``cold_user`` (user unknown), ``cold_item`` (movie unknown) and ``cold``
            (either). ``mask.sum()`` counts them; ``df[~mask["cold"]]`` is the warm part.
        """
        user_index, item_index = self.encode(df)
        cold_user = user_index < 0
        cold_item = item_index < 0
        return pd.DataFrame(
            {"cold_user": cold_user, "cold_item": cold_item, "cold": cold_user | cold_item},
            index=df.index,
        )

    def ratings_of_user(self, user_id) -> pd.Series:
        """The ratings of one raw user id as a Series indexed by raw movie id.

        Raises
        ------
        KeyError
            When the user is not in :attr:`users`.
        """
        u = int(self.users.to_index(np.asarray([user_id]))[0])
        if u < 0:
            raise KeyError(f"{self.user_col} {user_id!r} is not in this rating matrix")
        start, stop = self.by_user.indptr[u], self.by_user.indptr[u + 1]
        return pd.Series(
            self.by_user.data[start:stop],
            index=pd.Index(self.items.ids[self.by_user.indices[start:stop]], name=self.item_col),
            name=self.rating_col,
        )

    def to_frame(self) -> pd.DataFrame:
        """The stored ratings back as a frame (raw ids), sorted by user then movie."""
        user_index = np.repeat(np.arange(self.n_users), self.user_counts)
        return pd.DataFrame(
            {
                self.user_col: self.users.ids[user_index],
                self.item_col: self.items.ids[self.by_user.indices],
                self.rating_col: self.by_user.data,
            }
        )


def _as_id_array(values, what: str) -> np.ndarray:
    """``values`` as a 1-D integer array; whole-number floats are converted."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"{what}: ids must be one-dimensional, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        return array
    if array.dtype == object:
        try:
            array = pd.to_numeric(array)
        except (TypeError, ValueError):
            raise DataError(f"{what}: ids must be integers, got non-numeric values") from None
        return _as_id_array(np.asarray(array, dtype=np.float64 if array.size == 0 else None), what)
    if np.issubdtype(array.dtype, np.floating):
        whole = np.isfinite(array) & (array == np.round(array))
        if whole.all():
            return array.astype(np.int64)
        rows = np.flatnonzero(~whole)
        raise DataError(
            f"{what}: ids must be whole numbers; {rows.size} value(s) are not "
            f"(e.g. {array[rows[:_N_EXAMPLES]].tolist()} at positions "
            f"{rows[:_N_EXAMPLES].tolist()})"
        )
    raise DataError(f"{what}: ids must be integers, got dtype {array.dtype}")


def _extra_column(df: pd.DataFrame, name: str) -> np.ndarray:
    """A further per-rating column as a private array of finite real numbers."""
    values = df[name].to_numpy()
    if (
        values.dtype == bool
        or not np.issubdtype(values.dtype, np.number)
        or np.issubdtype(values.dtype, np.complexfloating)
    ):
        raise DataError(f"column {name!r}: must hold real numbers, got dtype {values.dtype}")
    finite = np.isfinite(values)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise DataError(
            f"column {name!r}: {rows.size} non-finite value(s) "
            f"(e.g. at rows {df.index[rows[:_N_EXAMPLES]].tolist()})"
        )
    return np.array(values)  # a copy: never alias the caller's frame


def _encode_known(index: IdIndex, raw: np.ndarray, column: str) -> np.ndarray:
    """``index.to_index(raw)``, raising when an id is unknown."""
    codes = index.to_index(raw)
    unknown = codes < 0
    if unknown.any():
        examples = np.unique(raw[unknown])[:_N_EXAMPLES].tolist()
        raise DataError(
            f"column {column!r}: {int(unknown.sum())} row(s) have ids not in the given "
            f"vocabulary (e.g. {examples})"
        )
    return codes
