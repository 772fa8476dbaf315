r"""One life-cycle for every rating model of the package.

Every model predicts ``r̂_ui = μ + b_u + b_i + U_u · V_i`` (symbols in ``NOTATION.md``),
possibly with further terms, and :class:`FactorModel` owns everything they share:

1. **input**: a ratings frame (or ``(n, 2)`` ids and ``y``) becomes the package's one
   rating structure, :class:`~recsys_helpers.data.ratings.RatingMatrix`, which validates
   it once (ids, finite ratings, no duplicate pairs);
2. **initialisation**: biases at 0, movie vectors ``N(0, σ²)`` (:meth:`_initialise`);
3. **sweeps**: :meth:`_sweep` updates one block of parameters after another; by default
   the user half-step then the movie half-step (:meth:`_update_side`), each the exact
   minimiser of the objective over that block, optionally around prior means
   (:meth:`_prior`);
4. **monitoring**: the objective ``J`` and training RMSE after each sweep, validation RMSE,
   early stopping, the convergence warning and the NaN report, in ``history_``;
5. **prediction, ranking and fold-in** (:class:`~recsys_helpers.models.serving.ServingMixin`)
   and **persistence** without pickle (:mod:`recsys_helpers.models.persistence`).

A model adds only what is its own by overriding the hooks: ``_sweep`` (another update
order, extra blocks, a sampler), ``_prior`` (shrink a side towards prior means),
``_extra_penalty`` (penalties on its own parameters), ``_targets`` (further terms of
``r̂``), ``_predict_index`` (the same terms at prediction time) and ``_item_scores`` (what
a ranking shows); ``_rating_columns`` names per-rating inputs its sweeps need (timestamps).
The kernels stay pure functions of arrays (:mod:`recsys_helpers.models.kernels` and its
compiled twin).
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from recsys_helpers.data.checks import (
    check_count,
    check_non_negative,
    check_rating_range,
    require_columns,
)
from recsys_helpers.data.ratings import IdIndex, RatingMatrix
from recsys_helpers.errors import DataError, NumericalError
from recsys_helpers.models import kernels as numpy_kernels
from recsys_helpers.models import persistence
from recsys_helpers.models.serving import ServingMixin
from recsys_helpers.models.training import (
    ITEM,
    ITEM_COL,
    RATING_COL,
    USER,
    TrainingData,
    id_columns,
    ratings_frame,
)

__all__ = ["ITEM", "USER", "FactorModel"]

logger = logging.getLogger(__name__)

SOLVERS = ("auto", "numpy", "numba")
HISTORY_COLUMNS = ["iteration", "objective", "train_rmse", "valid_rmse", "seconds"]


def _relative_change(previous: float, current: float) -> float:
    """``|J_prev − J| / |J_prev|`` between consecutive sweeps."""
    return abs(previous - current) / max(abs(previous), np.finfo(float).tiny)


#: Checks of the parameters a model may have, applied to those it has.
_PARAMETER_CHECKS = {
    "n_factors": lambda name, value: check_count(name, value, 0),
    "n_iter": lambda name, value: check_count(name, value, 1),
    "patience": lambda name, value: check_count(name, value, 1),
    "random_state": lambda name, value: check_count(name, value, 0),
    "reg": check_non_negative,
    "reg_bias": check_non_negative,
    "init_std": check_non_negative,
    "tol": lambda name, value: value is None or check_non_negative(name, value),
    "rating_range": lambda name, value: check_rating_range(value, name),
}


def _numba_kernels():
    """The compiled kernels module, or None when numba is unavailable."""
    try:
        from recsys_helpers.models import kernels_numba
    except ImportError:  # pragma: no cover - numba is a declared dependency
        return None
    return kernels_numba


class FactorModel(ServingMixin, RegressorMixin, BaseEstimator):
    """Base of the package's rating models: the shared life-cycle (see the module docstring).

    Subclasses declare their parameters in ``__init__`` (scikit-learn style: stored, not
    checked) and override the hooks they need. Fitted attributes common to all models:

    Attributes
    ----------
    global_mean_ : float
        ``μ``, the mean training rating.
    user_bias_, item_bias_ : ndarray (n_users,), (n_items,)
        ``b_u``, ``b_i``.
    user_factors_, item_factors_ : ndarray (n_users, K), (n_items, K)
        ``U``, ``V``.
    users_, items_ : IdIndex
        Raw id ↔ row maps.
    user_counts_, item_counts_ : ndarray of int
        Training ratings per user / movie (0 for a movie known only from side data).
    rating_range_ : (float, float)
        The range predictions are clipped to.
    n_iter_ : int
        Sweeps run.
    setup_seconds_ : float
        Wall time of ``fit`` before the first sweep: input checks, rating structure,
        initialisation (for the Bayesian model, its MAP start too) and kernel load.
    history_ : DataFrame
        ``iteration, objective, train_rmse, valid_rmse, seconds`` per sweep.
    """

    #: Per-rating columns besides the ratings that the sweeps need (e.g. ``timestamp``); the
    #: training frame must have them, and each side's entries carry them (``Side.extra``).
    _rating_columns: tuple[str, ...] = ()

    #: Fitted attributes saved and restored with the model (and snapshotted by early
    #: stopping); subclasses append their own.
    _state_attributes: tuple[str, ...] = (
        "user_bias_",
        "item_bias_",
        "user_factors_",
        "item_factors_",
    )

    # ------------------------------------------------------------------ parameters
    def check_params(self) -> None:
        """Raise ``ValueError`` naming the first invalid parameter or combination of
        parameters, as :meth:`fit` does before it reads any ratings."""
        self._check_params()

    def _check_params(self) -> None:
        """Check the parameters the model has; subclasses add their own checks."""
        params = self.get_params(deep=False)
        for name, value in params.items():
            check = _PARAMETER_CHECKS.get(name)
            if check is not None:
                check(name, value)
        solver = params.get("solver", "auto")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        if "dtype" in params:
            try:
                dtype = np.dtype(params["dtype"])
            except TypeError:
                dtype = np.dtype(object)  # not None: numpy reads None as float64
            if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
                raise ValueError(f"dtype must be float32 or float64, got {params['dtype']!r}")
        cg_steps = params.get("cg_steps")
        if cg_steps is not None:
            try:
                check_count("cg_steps", cg_steps, 1)
            except ValueError:
                raise ValueError(
                    f"cg_steps must be None or an integer >= 1, got {cg_steps!r}"
                ) from None
            if solver == "numpy":
                raise ValueError("cg_steps needs the numba kernels; use solver='auto' or 'numba'")
        if solver == "numba" and _numba_kernels() is None:
            raise ValueError("solver='numba' needs numba; use solver='numpy'")

    def _kernels(self):
        """The kernel module: NumPy reference or compiled twin (same functions)."""
        if getattr(self, "solver", "auto") == "numpy":
            return numpy_kernels
        compiled = _numba_kernels()
        return compiled if compiled is not None else numpy_kernels

    @property
    def _dtype(self) -> np.dtype:
        return np.dtype(getattr(self, "dtype", "float64"))

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, validation=None, **side_information):
        """Fit on training ratings.

        Parameters
        ----------
        X : DataFrame (``userId``, ``movieId``, ``rating``) or (n, 2) array of raw ids
        y : array-like (n,), optional
            Ratings when ``X`` has none.
        validation : DataFrame or (X, y) tuple, optional
            Scored every sweep into ``history_.valid_rmse``; drives early stopping.
        **side_information
            Further inputs a model needs (the hybrid model's ``movies`` and ``tags``).

        Returns
        -------
        self
        """
        started = time.perf_counter()
        self._check_params()
        frame = ratings_frame(X, y)
        items = self._item_vocabulary(**side_information)
        if items is not None:
            items = IdIndex.from_ids(np.concatenate([items.ids, frame[ITEM_COL].to_numpy()]))
        require_columns(frame, self._rating_columns, f"{type(self).__name__}: training ratings")
        matrix = RatingMatrix.from_frame(
            frame,
            items=items,
            dtype=np.float64,
            rating_range=getattr(self, "rating_range", None),
            extra_columns=self._rating_columns,
        )
        if matrix.nnz == 0:
            raise DataError("fit needs at least one rating")
        valid = self._validation_rows(validation)
        data = TrainingData(matrix)
        self._start(data)
        self._initialise(data, np.random.default_rng(self.random_state))
        self._kernels()  # loaded (or compiled) before the first sweep's clock starts
        self.setup_seconds_ = time.perf_counter() - started
        logger.info(
            "fitting %s K=%d on %d ratings (%d users, %d movies)",
            type(self).__name__,
            self._n_factors,
            matrix.nnz,
            matrix.n_users,
            matrix.n_items,
        )
        self._run_sweeps(data, valid)
        self._finish(data)
        return self

    @property
    def _n_factors(self) -> int:
        return int(self.n_factors)

    def _start(self, data: TrainingData) -> None:
        """Record what every model knows of its training data."""
        matrix = data.matrix
        self.global_mean_ = matrix.global_mean
        self.users_, self.items_ = matrix.users, matrix.items
        self.user_counts_, self.item_counts_ = matrix.user_counts, matrix.item_counts
        self._seen = (matrix.by_user.indptr, matrix.by_user.indices)
        ratings = matrix.by_user.data
        given = getattr(self, "rating_range", None)
        self.rating_range_ = (
            tuple(float(v) for v in given)
            if given is not None
            else (float(ratings.min()), float(ratings.max()))
        )

    def _item_vocabulary(self, **side_information) -> IdIndex | None:
        """Movies the model knows beyond the rated ones (hook; None: only rated movies)."""
        if side_information:
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected argument(s) "
                f"{', '.join(side_information)}"
            )
        return None

    def _initialise(self, data: TrainingData, rng: np.random.Generator) -> None:
        """Biases at 0, user vectors at 0, rated movies' vectors i.i.d. ``N(0, σ²)``.

        Movies without ratings start at 0 (their prior mean); the draws for rated movies
        are taken in row order, so the random numbers do not depend on unrated movies.
        """
        n_users, n_items, k = data.matrix.n_users, data.matrix.n_items, self._n_factors
        dtype = self._dtype
        self.user_bias_ = np.zeros(n_users, dtype=dtype)
        self.item_bias_ = np.zeros(n_items, dtype=dtype)
        self.user_factors_ = np.zeros((n_users, k), dtype=dtype)
        rated = data.matrix.item_counts > 0
        draws = rng.normal(0.0, getattr(self, "init_std", 0.1), (int(rated.sum()), k))
        self.item_factors_ = np.zeros((n_items, k), dtype=dtype)
        self.item_factors_[rated] = draws.astype(dtype)

    def _finish(self, data: TrainingData) -> None:
        """Anything a model does once the sweeps are over (hook)."""

    def _run_sweeps(self, data: TrainingData, valid) -> None:
        """Sweep, monitor and stop: fills ``history_`` and ``n_iter_``."""
        kernels = self._kernels()
        early_stopping = getattr(self, "early_stopping", False)
        patience = getattr(self, "patience", 2)
        tol = getattr(self, "tol", None)
        if early_stopping and valid is None:
            raise ValueError("early_stopping=True needs validation=")
        rows, best, stale = [], None, 0
        converged = stopped_early = False
        change = np.inf
        n_sweeps = self._n_sweeps()
        name = type(self).__name__
        bar = tqdm(range(1, n_sweeps + 1), desc=name, disable=not getattr(self, "verbose", False))
        for iteration in bar:
            started = time.perf_counter()
            self._sweep(data, kernels)
            seconds = time.perf_counter() - started
            self._check_finite(iteration)
            objective, train_rmse = self._objective(data, kernels)
            valid_rmse = self._validation_rmse(*valid) if valid is not None else np.nan
            rows.append((iteration, objective, train_rmse, valid_rmse, seconds))
            bar.set_postfix(train_rmse=f"{train_rmse:.4f}", valid_rmse=f"{valid_rmse:.4f}")
            logger.debug("sweep %d: J=%.6g train %.4f valid %.4f", *rows[-1][:4])
            if tol is not None and len(rows) >= 2:
                change = _relative_change(rows[-2][1], objective)
                converged = change < tol
            if valid is not None and (best is None or valid_rmse < best[0]):
                kept = self._snapshot() if early_stopping else None
                best, stale = (valid_rmse, iteration, kept), 0
            elif valid is not None:
                stale += 1
                if early_stopping and stale >= patience:
                    stopped_early = True
                    break
        self.history_ = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
        self.n_iter_ = len(rows)
        if early_stopping and best is not None and best[1] != self.n_iter_:
            self._restore(best[2])
            logger.info("early stopping: restored sweep %d (valid RMSE %.4f)", best[1], best[0])
        if tol is not None and not (converged or stopped_early):  # last sweep's change
            warnings.warn(
                f"{name} stopped after n_iter={n_sweeps} sweeps with relative objective "
                f"change {change:.2e} >= tol={tol}; raise n_iter",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _n_sweeps(self) -> int:
        """How many sweeps :meth:`_run_sweeps` runs at most."""
        return int(self.n_iter)

    def _snapshot(self) -> dict:
        return {name: np.copy(getattr(self, name)) for name in self._state_attributes}

    def _restore(self, snapshot: dict) -> None:
        for name, value in snapshot.items():
            setattr(self, name, value)

    def _validation_rows(self, validation):
        if validation is None:
            return None
        if isinstance(validation, tuple):
            frame = ratings_frame(*validation)
        else:
            frame = ratings_frame(validation)
        users, items = id_columns(frame)
        ratings = np.asarray(frame[RATING_COL], dtype=np.float64)
        if not np.isfinite(ratings).all():
            raise DataError("validation ratings contain NaN/inf")
        return users, items, ratings, frame

    # ------------------------------------------------------------------ one sweep
    def _sweep(self, data: TrainingData, kernels) -> None:
        """One sweep: all users given the movies, then all movies given the users."""
        self._update_side(data, USER, kernels)
        self._update_side(data, ITEM, kernels)

    def _params(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """``(b, factors)`` of a side."""
        return getattr(self, f"{side}_bias_"), getattr(self, f"{side}_factors_")

    def _other(self, side: str) -> str:
        return ITEM if side == USER else USER

    def _targets(self, data: TrainingData, side: str) -> np.ndarray:
        r"""Half-step targets: ``r_ui`` minus every term of ``r̂_ui`` but this side's.

        For the plain model ``t_ui = r_ui − μ − b_i`` (user side) and
        ``t_ui = r_ui − μ − b_u`` (movie side), float64, aligned with the side's entries.
        Models with further terms of ``r̂`` subtract them here.
        """
        entries = data.sides[side]
        other_bias, _ = self._params(self._other(side))
        return self._kernels().half_step_targets(
            entries.ratings, self.global_mean_, other_bias, entries.indices
        )

    def _prior(self, side: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Prior means ``(m^b, m)`` a side is shrunk towards (hook; None: zero)."""
        return None

    def _extra_penalty(self) -> float:
        """Penalty on parameters of the model's own beyond the two sides (hook)."""
        return 0.0

    def _update_side(self, data: TrainingData, side: str, kernels) -> None:
        """Exact ridge half-step of one side given everything else (or CG steps)."""
        entries = data.sides[side]
        _, other_factors = self._params(self._other(side))
        targets = self._targets(data, side)
        options = {
            "scale_reg": getattr(self, "scale_reg", False),
            "fit_bias": getattr(self, "fit_biases", True),
        }
        cg_steps = getattr(self, "cg_steps", None)
        if cg_steps is not None:
            options.update(cg_steps=int(cg_steps), initial=self._params(side))
        structure, penalties = (entries.indptr, entries.indices), (self.reg, self.reg_bias)
        prior = self._prior(side)
        if prior is None:
            bias, factors = kernels.solve_side(
                *structure, targets, other_factors, *penalties, **options
            )
        else:
            bias, factors = numpy_kernels.solve_side_around(
                *structure,
                targets,
                other_factors,
                *prior,
                *penalties,
                solve=kernels.solve_side,
                **options,
            )
        setattr(self, f"{side}_bias_", bias)
        setattr(self, f"{side}_factors_", factors)

    def _check_finite(self, iteration: int) -> None:
        for name in self._state_attributes:
            if not np.isfinite(getattr(self, name)).all():
                raise NumericalError(
                    f"{name} became NaN/inf at sweep {iteration}; raise reg/reg_bias "
                    f"(now {getattr(self, 'reg', None)}/{getattr(self, 'reg_bias', None)}) "
                    "or use dtype='float64'"
                )

    def _objective(self, data: TrainingData, kernels) -> tuple[float, float]:
        r"""``J`` and the training RMSE of the current parameters.

        .. math::

            J = \sum_{(u,i)\in\Omega} (r_{ui} - \hat r_{ui})^2
                + \sum_{s \in \{u, i\}} \big(c_s \lambda \|F_s - m_s\|^2
                + \lambda_b (b_s - m^b_s)^2\big) + \text{(model's own penalty)}
        """
        entries = data.sides[USER]
        bias, factors = self._params(USER)
        errors = kernels.residuals(
            entries.rows,
            entries.indices,
            self._targets(data, USER),
            bias,
            factors,
            self.item_factors_,
        )
        squared = float(np.dot(errors, errors))
        return squared + self._penalty(data), float(np.sqrt(squared / len(errors)))

    def _penalty(self, data: TrainingData) -> float:
        """Both sides' ridge penalties around their priors, plus the model's own."""
        total = 0.0
        for side in (USER, ITEM):
            bias, factors = self._params(side)
            prior = self._prior(side)
            if prior is not None:
                bias, factors = bias - prior[0], factors - prior[1]
            total += numpy_kernels.penalty_value(
                bias,
                factors,
                data.sides[side].counts,
                self.reg,
                self.reg_bias,
                getattr(self, "scale_reg", False),
            )
        return total + self._extra_penalty()

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write the fitted model to ``path`` (``.npz`` with JSON metadata), atomically.

        See :func:`recsys_helpers.models.persistence.save_model`.
        """
        check_is_fitted(self, "history_")
        return persistence.save_model(self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save` (no pickle); its recorded class decides.

        Raises
        ------
        DataError
            The file is not a saved model, or holds a class that is not a ``cls``.
        """
        return persistence.load_model(path, expected=cls)

    def _get_state(self) -> tuple[dict, dict]:
        """``(metadata, arrays)`` describing the fitted model, for :mod:`persistence`."""
        meta = {
            "global_mean": float(self.global_mean_),
            "rating_range": list(self.rating_range_),
            "n_iter": int(self.n_iter_),
            "history_columns": list(self.history_.columns),
        }
        arrays = {
            "user_ids": self.users_.ids,
            "item_ids": self.items_.ids,
            "user_counts": self.user_counts_,
            "item_counts": self.item_counts_,
            "seen_indptr": self._seen[0],
            "seen_indices": self._seen[1],
            "history": self.history_.to_numpy(dtype=np.float64),
        }
        for name in self._state_attributes:
            arrays[name.rstrip("_")] = getattr(self, name)
        return meta, arrays

    def _state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape each fitted array must have, checked when a model is loaded."""
        n_users, n_items, k = len(self.users_), len(self.items_), self._n_factors
        return {
            "user_bias_": (n_users,),
            "item_bias_": (n_items,),
            "user_factors_": (n_users, k),
            "item_factors_": (n_items, k),
            "user_counts_": (n_users,),
            "item_counts_": (n_items,),
        }

    def _set_state(self, meta: dict, arrays: dict) -> None:
        """Restore what :meth:`_get_state` described (after the model is constructed)."""
        self.global_mean_ = float(meta["global_mean"])
        rating_range = meta.get("rating_range", meta.get("train_range"))  # 0.1.0 files
        self.rating_range_ = tuple(float(v) for v in rating_range)
        self.n_iter_ = int(meta["n_iter"])
        self.users_ = IdIndex.from_ids(arrays["user_ids"])
        self.items_ = IdIndex.from_ids(arrays["item_ids"])
        self.user_counts_, self.item_counts_ = arrays["user_counts"], arrays["item_counts"]
        self._seen = (arrays["seen_indptr"], arrays["seen_indices"])
        self.history_ = pd.DataFrame(
            arrays["history"], columns=meta.get("history_columns", HISTORY_COLUMNS)
        ).astype({"iteration": np.int64})
        for name in self._state_attributes:
            setattr(self, name, arrays[name.rstrip("_")])
