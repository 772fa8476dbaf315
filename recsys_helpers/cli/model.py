"""``fit`` and ``recommend`` commands.

``fit`` trains :class:`recsys_helpers.als.BiasedMF` on a ratings file (or a named
MovieLens release split on the fly), reports training and test RMSE/MAE and can save
the model. With ``--item-features genres[,year,tags]`` it trains
:class:`recsys_helpers.hybrid.HybridMF` instead, whose movie vectors and biases are
shrunk towards a prior learned from the movies' features (movies from ``--movies FILE``
or the ``--dataset`` release), so that movies without ratings get a useful prediction;
the split ``item:0.9:SEED`` holds out whole movies to measure exactly that.
``recommend`` loads a saved model of either class (the class is recorded in the file)
and ranks movies for a known user, or for a new user described by a few
``movieId=stars`` ratings (folded in without retraining).

Hyperparameters left out on the command line take the estimator's own defaults, read
from ``get_params()`` of the class trained, so that the command line and the library
never disagree.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_helpers.errors import DataError

SPLIT_KINDS = ("random", "peruser", "temporal", "item")
"""Split strategies understood by ``fit --split``."""

DEFAULT_SPLIT = "random:0.9:0"
"""Split used by ``fit --dataset NAME`` when ``--split`` is not given."""

MODEL_CLASSES = ("BiasedMF", "BiasOnly", "HybridMF")
"""Estimator classes ``recommend --model`` can load, by the name recorded in the file."""

HYPERPARAMETER_OPTIONS = {
    "factors": "n_factors",
    "reg": "reg",
    "reg_bias": "reg_bias",
    "iters": "n_iter",
    "seed": "random_state",
}
"""Command-line option (argparse dest) -> :class:`BiasedMF` parameter name."""

HYBRID_OPTIONS = {"feature_reg": "feature_reg", "item_features": "kinds"}
"""Command-line option (argparse dest) -> :class:`HybridMF`-only parameter name."""


@dataclass(frozen=True)
class SplitSpec:
    """A parsed ``--split`` value: ``KIND:TRAIN_FRACTION[:SEED]``.

    Attributes
    ----------
    kind : str
        ``"random"`` (by rating), ``"peruser"`` (within each user), ``"temporal"``
        (global timestamp cut-off at the ``train_fraction`` quantile) or ``"item"``
        (every rating of a random ``1 - train_fraction`` of the movies held out).
    train_fraction : float
        Share of ratings (for ``temporal`` the timestamp quantile, for ``item`` the share
        of movies) kept for training, in (0, 1).
    seed : int
        Seed of the random splits (ignored by ``temporal``).
    """

    kind: str
    train_fraction: float
    seed: int = 0

    @property
    def test_fraction(self) -> float:
        """``1 - train_fraction``, rounded to remove binary noise (0.9 -> 0.1, not 0.0999…)."""
        return round(1.0 - self.train_fraction, 12)

    def __str__(self) -> str:
        if self.kind == "temporal":
            return f"{self.kind}:{self.train_fraction:g}"
        return f"{self.kind}:{self.train_fraction:g}:{self.seed}"


def parse_split(text: str) -> SplitSpec:
    """Parse ``random:0.9:SEED``, ``peruser:0.9:SEED``, ``item:0.9:SEED`` or ``temporal:0.9``.

    Raises
    ------
    argparse.ArgumentTypeError
        Unknown kind, fraction outside (0, 1), a non-integer seed, or a seed given to
        ``temporal``.
    """
    parts = text.strip().split(":")
    kind = parts[0].lower()
    if kind not in SPLIT_KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown split {parts[0]!r}: use random:0.9:SEED, peruser:0.9:SEED, "
            "item:0.9:SEED or temporal:0.9"
        )
    max_parts = 2 if kind == "temporal" else 3
    if not 2 <= len(parts) <= max_parts:
        form = "temporal:TRAIN_FRACTION" if kind == "temporal" else f"{kind}:TRAIN_FRACTION:SEED"
        raise argparse.ArgumentTypeError(f"split {text!r} must look like {form}")
    try:
        fraction = float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"split {text!r}: training fraction {parts[1]!r} is not a number"
        ) from None
    if not 0.0 < fraction < 1.0:
        raise argparse.ArgumentTypeError(
            f"split {text!r}: training fraction must be strictly between 0 and 1"
        )
    seed = 0
    if len(parts) == 3:
        try:
            seed = int(parts[2])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"split {text!r}: seed {parts[2]!r} is not an integer"
            ) from None
    return SplitSpec(kind, fraction, seed)


def parse_feature_kinds(text: str) -> tuple[str, ...]:
    """Parse ``--item-features``: a comma list of distinct kinds from genres, year, tags.

    Raises
    ------
    argparse.ArgumentTypeError
        An empty list, an unknown kind or a kind given twice.
    """
    from recsys_helpers.content import FEATURE_KINDS

    kinds = tuple(part.strip().lower() for part in text.split(","))
    choices = ", ".join(FEATURE_KINDS)
    if not any(kinds):
        raise argparse.ArgumentTypeError(f"give at least one feature kind from {choices}")
    unknown = [kind for kind in kinds if kind not in FEATURE_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown feature kind(s) {', '.join(map(repr, unknown))} in {text!r}: "
            f"choose from {choices}, e.g. genres,year"
        )
    if len(set(kinds)) != len(kinds):
        raise argparse.ArgumentTypeError(f"{text!r} names a feature kind twice")
    return kinds


def parse_rating(text: str) -> tuple[int, float]:
    """Parse one ``movieId=stars`` pair of ``recommend --rate``.

    Raises
    ------
    argparse.ArgumentTypeError
        Not of the form ``INT=NUMBER``.
    """
    movie, sep, stars = text.partition("=")
    try:
        if not sep:
            raise ValueError
        movie_id, value = int(movie), float(stars)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"rating {text!r} must look like movieId=stars, e.g. 318=5"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"rating {text!r}: stars must be a finite number")
    return movie_id, value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def register(subparsers) -> None:
    """Add the model commands to ``subparsers``."""
    fit = subparsers.add_parser(
        "fit",
        help="train a biased MF model by ALS and report RMSE/MAE",
        description=(
            "Train BiasedMF (r̂ = μ + b_u + b_i + U_u·V_i) by alternating least squares on a "
            "ratings file or a named MovieLens release, and report training and test errors. "
            "Options left out take the estimator's defaults."
        ),
    )
    source = fit.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--train",
        type=Path,
        metavar="FILE",
        help="training ratings, .csv or .parquet with columns userId,movieId,rating",
    )
    source.add_argument(
        "--dataset", metavar="NAME", help="a MovieLens release, e.g. ml-latest-small"
    )
    fit.add_argument("--test", type=Path, metavar="FILE", help="test ratings (with --train)")
    fit.add_argument(
        "--split",
        type=parse_split,
        metavar="SPEC",
        help=(
            "with --dataset: random:0.9:SEED, peruser:0.9:SEED, temporal:0.9 or "
            f"item:0.9:SEED (whole movies held out: cold start) (default {DEFAULT_SPLIT})"
        ),
    )
    fit.add_argument("--mirror", metavar="DIR", help="local folder of MovieLens releases")
    fit.add_argument(
        "--factors", type=_non_negative_int, metavar="K", help="latent dimension K (0: biases only)"
    )
    fit.add_argument(
        "--reg", type=_non_negative_float, metavar="R", help="penalty λ on the latent vectors"
    )
    fit.add_argument(
        "--reg-bias", type=_non_negative_float, metavar="R", help="penalty λ_b on the biases"
    )
    fit.add_argument("--iters", type=_positive_int, metavar="N", help="ALS sweeps")
    fit.add_argument("--seed", type=int, metavar="S", help="seed of the factor initialisation")
    hybrid = fit.add_argument_group(
        "movie features",
        "--item-features switches to HybridMF: movie vectors and biases get a prior "
        "learned from the movies' features, so unrated movies are predicted from them",
    )
    hybrid.add_argument(
        "--item-features",
        type=parse_feature_kinds,
        metavar="KINDS",
        help="comma list of genres, year, tags, e.g. genres,year",
    )
    hybrid.add_argument(
        "--movies",
        type=Path,
        metavar="FILE",
        help="movies .csv or .parquet (movieId, title ending '(YYYY)', genres 'A|B'); "
        "with --dataset the release's movies are used",
    )
    hybrid.add_argument(
        "--tags",
        type=Path,
        metavar="FILE",
        help="tag applications .csv or .parquet (movieId, tag); with --dataset the release's",
    )
    hybrid.add_argument(
        "--feature-reg",
        type=_positive_float,
        metavar="R",
        help="penalty λ_W on the feature weights W, w",
    )
    fit.add_argument("--save", type=Path, metavar="FILE", help="write the fitted model (.npz)")
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.set_defaults(run=run_fit, parser=fit)

    rec = subparsers.add_parser(
        "recommend",
        help="top-N movies for a user of a saved model, or for a new user",
        description=(
            "Rank unseen movies by predicted rating for a user of a saved model (--user), or "
            "fold in a new user from a few ratings (--rate movieId=stars ...)."
        ),
    )
    rec.add_argument(
        "--model",
        type=Path,
        required=True,
        metavar="FILE",
        help="a model saved by fit --save (BiasedMF, or HybridMF with --item-features)",
    )
    who = rec.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int, metavar="ID", help="a userId seen in training")
    who.add_argument(
        "--rate",
        type=parse_rating,
        nargs="+",
        metavar="MOVIE=STARS",
        help="ratings of a new user, e.g. --rate 318=5 296=4.5 1=3",
    )
    rec.add_argument("-n", type=_positive_int, default=10, help="how many movies (default 10)")
    rec.add_argument(
        "--min-ratings",
        type=_non_negative_int,
        metavar="N",
        help="only movies with at least N training ratings (default: the model's)",
    )
    rec.add_argument(
        "--item-bias-weight",
        type=float,
        metavar="W",
        help="rank by μ + b_u + W·b_i + U_u·V_i (default: the model's)",
    )
    titles = rec.add_mutually_exclusive_group()
    titles.add_argument("--movies", type=Path, metavar="FILE", help="movies file for titles")
    titles.add_argument("--dataset", metavar="NAME", help="take titles from a MovieLens release")
    rec.add_argument("--mirror", metavar="DIR", help="local folder of MovieLens releases")
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(run=run_recommend, parser=rec)


# ---------------------------------------------------------------------------- fit


def _estimator_class(name: str = "BiasedMF"):
    """The estimator class called ``name`` (one of :data:`MODEL_CLASSES`)."""
    if name == "HybridMF":
        from recsys_helpers.hybrid import HybridMF

        return HybridMF
    from recsys_helpers import als

    return getattr(als, name)


def uses_item_features(args: argparse.Namespace) -> bool:
    """Whether ``fit`` trains :class:`~recsys_helpers.hybrid.HybridMF` (``--item-features``)."""
    return getattr(args, "item_features", None) is not None


def hyperparameters(args: argparse.Namespace) -> dict:
    """Estimator parameters: ``get_params()`` of the class trained, overridden by the options.

    The class is :class:`~recsys_helpers.hybrid.HybridMF` with ``--item-features`` (whose
    kinds become ``kinds``), :class:`~recsys_helpers.als.BiasedMF` otherwise.
    """
    hybrid = uses_item_features(args)
    params = _estimator_class("HybridMF" if hybrid else "BiasedMF")().get_params()
    options = {**HYPERPARAMETER_OPTIONS, **(HYBRID_OPTIONS if hybrid else {})}
    for option, name in options.items():
        value = getattr(args, option, None)
        if value is not None:
            params[name] = value
    if "verbose" in params and getattr(args, "verbose", False):
        params["verbose"] = True
    return params


def _apply_split(ratings: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    from recsys_helpers import split

    if spec.kind == "random":
        return split.random_split(ratings, spec.test_fraction, seed=spec.seed)
    if spec.kind == "peruser":
        return split.per_user_split(ratings, test_fraction=spec.test_fraction, seed=spec.seed)
    if spec.kind == "item":
        return split.item_holdout_split(ratings, spec.test_fraction, seed=spec.seed)
    return split.temporal_split(ratings, cutoff_quantile=spec.train_fraction)


def load_fit_data(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """Training frame, test frame (or None) and a description of where they came from."""
    from recsys_helpers.io import read_ratings_file

    if args.train is not None:
        if args.split is not None:
            args.parser.error("--split needs --dataset (with --train, give --test instead)")
        train = read_ratings_file(args.train)
        test = read_ratings_file(args.test) if args.test is not None else None
        if test is not None and test.empty:
            raise DataError(f"{args.test}: no ratings to test on (the file has only a header)")
        source = {"train": str(args.train), "test": None if test is None else str(args.test)}
        return train, test, source
    if args.test is not None:
        args.parser.error("--test needs --train (with --dataset, use --split)")
    from recsys_helpers import datasets

    spec = args.split or parse_split(DEFAULT_SPLIT)
    if uses_item_features(args):  # the movies (and tags) come with the ratings
        release = datasets.load(
            args.dataset, mirror=args.mirror, progress=args.verbose, genome=False
        )
        ratings = release.ratings
        args.release_movies, args.release_tags = release.movies, release.tags
    else:
        ratings = datasets.load_ratings(args.dataset, mirror=args.mirror, progress=args.verbose)
    train, test = _apply_split(ratings, spec)
    return train, test, {"dataset": args.dataset, "split": str(spec)}


def read_tags_file(path: Path) -> pd.DataFrame:
    """Tag applications (``movieId`` int32, ``tag`` str) from a CSV or parquet file.

    Raises
    ------
    DataError
        Missing file or columns, or a movieId that is not a whole number.
    """
    from recsys_helpers.io import _integer_ids, _read_table

    path = Path(path)
    frame = _read_table(path, ("movieId", "tag"), ())
    return pd.DataFrame(
        {"movieId": _integer_ids(path, frame, "movieId"), "tag": frame["tag"].astype(str)}
    )


def load_movie_features(
    args: argparse.Namespace,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Movies and tags for ``fit --item-features`` (``(None, None)`` without the option).

    ``--movies`` / ``--tags`` files win over the ``--dataset`` release's tables.

    Raises
    ------
    DataError
        ``--item-features`` with neither ``--movies`` nor ``--dataset``.
    """
    if not uses_item_features(args):
        given = [o for o, v in (("--movies", args.movies), ("--tags", args.tags),
                                ("--feature-reg", args.feature_reg)) if v is not None]  # fmt: skip
        if given:
            args.parser.error(f"{', '.join(given)} only with --item-features KINDS")
        return None, None
    from recsys_helpers.io import read_movies_file

    if args.movies is not None:
        movies = read_movies_file(args.movies)
    elif getattr(args, "release_movies", None) is not None:
        movies = args.release_movies
    else:
        raise DataError(
            "--item-features needs the movies: give --movies FILE (movieId,title,genres) "
            "or --dataset NAME"
        )
    kinds = args.item_features
    if "genres" in kinds and "genres" not in movies.columns:
        raise DataError(f"{args.movies}: the 'genres' feature needs a genres column")
    tags = read_tags_file(args.tags) if args.tags is not None else None
    if tags is None:
        tags = getattr(args, "release_tags", None)
    if "tags" in kinds and tags is None:
        if getattr(args, "dataset", None) is not None:
            raise DataError(
                f"--item-features tags: {args.dataset} has no tags; give --tags FILE "
                "(movieId,tag) or leave tags out"
            )
        raise DataError("--item-features tags needs --tags FILE (movieId,tag) or --dataset NAME")
    return movies, tags


def _errors(model, frame: pd.DataFrame) -> tuple[float, float]:
    from recsys_helpers.metrics import mae, rmse

    truth = frame["rating"].to_numpy(dtype=np.float64)
    predicted = np.asarray(model.predict(frame), dtype=np.float64)
    return float(rmse(truth, predicted)), float(mae(truth, predicted))


def _json_safe(value):
    """Plain JSON value: numpy scalars unwrapped, NaN/inf as None, types by name."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, type):
        return getattr(value, "__name__", str(value))
    return str(value)


def fit_report(model, train: pd.DataFrame, test: pd.DataFrame | None, fit_seconds: float) -> dict:
    """Figures of one fit: errors, sizes, cold-start counts and the hyperparameters.

    Returns
    -------
    dict
        ``rmse``, ``mae`` (test; None without a test set), ``train_rmse``, ``train_mae``,
        ``n_train``, ``n_test``, ``n_users``, ``n_items`` (in training), ``n_cold_users``,
        ``n_cold_items`` (distinct test users / movies absent from training),
        ``n_cold_ratings`` (test rows with either), ``fit_seconds``, ``iters`` (sweeps
        run), ``factors``, ``reg``, ``reg_bias``, ``seed``, ``model`` (the class name),
        ``item_features`` (the feature kinds, None for a model without them),
        ``feature_reg`` (HybridMF only) and ``params`` (all of ``get_params()``).
    """
    params = model.get_params()
    kinds = params.get("kinds")
    train_rmse, train_mae = _errors(model, train)
    report = {
        "rmse": None,
        "mae": None,
        "train_rmse": train_rmse,
        "train_mae": train_mae,
        "n_train": len(train),
        "n_test": 0 if test is None else len(test),
        "n_users": int(train["userId"].nunique()),
        "n_items": int(train["movieId"].nunique()),
        "n_cold_users": None,
        "n_cold_items": None,
        "n_cold_ratings": None,
        "fit_seconds": fit_seconds,
        "iters": int(getattr(model, "n_iter_", params.get("n_iter"))),
        "model": type(model).__name__,
        "item_features": None if kinds is None else list(kinds),
    }
    if test is not None:
        report["rmse"], report["mae"] = _errors(model, test)
        cold_user = ~test["userId"].isin(train["userId"]).to_numpy()
        cold_item = ~test["movieId"].isin(train["movieId"]).to_numpy()
        report["n_cold_users"] = int(test.loc[cold_user, "userId"].nunique())
        report["n_cold_items"] = int(test.loc[cold_item, "movieId"].nunique())
        report["n_cold_ratings"] = int((cold_user | cold_item).sum())
    for option, name in HYPERPARAMETER_OPTIONS.items():
        if option != "iters" and name in params:
            report[option] = params[name]
    if "feature_reg" in params:
        report["feature_reg"] = params["feature_reg"]
    report["params"] = params
    return _json_safe(report)


def _format_number(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_fit_report(report: dict) -> str:
    """The short human table printed by ``fit`` without ``--json``."""
    where = report.get("source", {})
    title = where.get("train") or f"{where.get('dataset')} ({where.get('split')})"
    model = report.get("model", "BiasedMF")
    kinds = report.get("item_features")
    features = f" with {','.join(kinds)} priors" if kinds else ""
    lines = [
        f"{model}{features} on {title}: {report['n_train']:,} training ratings, "
        f"{report['n_users']:,} users, {report['n_items']:,} movies",
        "  "
        + "  ".join(
            f"{k}={report[k]}"
            for k in ("factors", "reg", "reg_bias", "feature_reg", "seed")
            if k in report
        ),
        f"  {report['iters']} sweeps in {report['fit_seconds']:.2f} s",
        "",
        f"  {'':6} {'ratings':>9} {'RMSE':>8} {'MAE':>8}",
        f"  {'train':6} {report['n_train']:>9,} {_format_number(report['train_rmse']):>8} "
        f"{_format_number(report['train_mae']):>8}",
    ]
    if report["rmse"] is not None:
        lines.append(
            f"  {'test':6} {report['n_test']:>9,} {_format_number(report['rmse']):>8} "
            f"{_format_number(report['mae']):>8}"
        )
        lines.append(
            f"  test cold start: {report['n_cold_users']} users, {report['n_cold_items']} movies, "
            f"{report['n_cold_ratings']} ratings (predicted from "
            f"{'features and biases' if kinds else 'biases'})"
        )
    if report.get("saved"):
        lines.append(f"  saved to {report['saved']}")
    return "\n".join(lines)


def run_fit(args: argparse.Namespace) -> int:
    """``fit``: train, evaluate, optionally save; print a table or one JSON object.

    The JSON object is :func:`fit_report`'s plus ``source`` (files, or dataset and split;
    ``movies`` and ``tags`` files when given),
    ``warnings`` (messages the estimator issued, also printed to stderr) and ``saved``.
    """
    train, test, source = load_fit_data(args)
    movies, tags = load_movie_features(args)
    params = hyperparameters(args)
    model = _estimator_class("HybridMF" if movies is not None else "BiasedMF")(**params)
    extra = {} if movies is None else {"movies": movies, "tags": tags}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        model.fit(train, **extra)
        fit_seconds = time.perf_counter() - started
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    report = fit_report(model, train, test, fit_seconds)
    for option in ("movies", "tags"):
        if getattr(args, option, None) is not None:
            source[option] = str(getattr(args, option))
    report["source"] = source
    report["warnings"] = notes
    if args.save is not None:
        model.save(args.save)
        report["saved"] = str(args.save)
    print(json.dumps(report, allow_nan=False) if args.json else format_fit_report(report))
    return 0


# ---------------------------------------------------------------------- recommend


def saved_model_class(path: Path) -> str:
    """Name of the estimator class recorded in a file written by ``save`` (no pickle).

    Raises
    ------
    DataError
        The file is not a saved model, or records a class this command cannot load.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"])) if "meta" in data.files else None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a saved model ({exc})") from exc
    if not isinstance(meta, dict):
        raise DataError(f"{path}: not a saved model (no metadata)")
    name = meta.get("class", "BiasedMF")
    if name not in MODEL_CLASSES:
        raise DataError(
            f"{path}: a saved {name!r}; recommend loads {', '.join(MODEL_CLASSES)} models"
        )
    return name


def load_model(path: Path):
    """A saved :class:`BiasedMF` or :class:`HybridMF`, by the class recorded in the file.

    Raises
    ------
    DataError
        The file is missing, not a model, or records an unknown class.
    """
    if not Path(path).is_file():
        raise DataError(f"{path}: no such model file (write one with `fit --save FILE`)")
    name = saved_model_class(path)
    try:
        return _estimator_class(name).load(path)
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a saved {name} model ({exc})") from exc


def movie_titles(args: argparse.Namespace) -> pd.Series | None:
    """``movieId -> title`` from ``--movies`` or ``--dataset`` (None when neither is given)."""
    if args.movies is not None:
        from recsys_helpers.io import read_movies_file

        movies = read_movies_file(args.movies)
    elif args.dataset is not None:
        from recsys_helpers import datasets

        movies = datasets.load_movies(args.dataset, mirror=args.mirror, progress=args.verbose)
    else:
        return None
    titles = movies["title"].astype(str)
    if "year" in movies.columns:  # titles of named releases come with the year split off
        year = pd.to_numeric(movies["year"], errors="coerce")
        with_year = titles + " (" + year.astype("Int64").astype(str) + ")"
        titles = titles.where(year.isna(), with_year)
    return pd.Series(titles.to_numpy(), index=movies["movieId"].to_numpy())


def _known_ids(model, attribute: str) -> np.ndarray:
    index = getattr(model, attribute)
    return np.asarray(getattr(index, "ids", index))


def _ranking_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``recommend`` given on the command line (others keep defaults)."""
    options = {"min_ratings": args.min_ratings, "item_bias_weight": args.item_bias_weight}
    return {name: value for name, value in options.items() if value is not None}


def _recommendations(args: argparse.Namespace, model) -> tuple[pd.DataFrame, dict]:
    if args.user is not None:
        users = _known_ids(model, "users_")
        if not np.isin(args.user, users):
            raise DataError(
                f"user {args.user} is not in the model ({len(users):,} users, ids "
                f"{users.min()}..{users.max()}); for a new user give --rate movieId=stars ..."
            )
        table = model.recommend(args.user, n=args.n, **_ranking_options(args))
        return table, {"user": args.user}
    ratings: dict[int, float] = {}
    for movie, stars in args.rate:
        if movie in ratings:
            raise DataError(f"--rate: movie {movie} is rated twice")
        ratings[movie] = stars
    items = _known_ids(model, "items_")
    known = {m: s for m, s in ratings.items() if np.isin(m, items)}
    unknown = sorted(set(ratings) - set(known))
    if not known:
        raise DataError(
            f"--rate: none of the movies {', '.join(map(str, unknown))} is in the model; "
            "rate movies seen in training"
        )
    table = model.recommend_new_user(known, n=args.n, **_ranking_options(args))
    return table, {"user": None, "rated": known, "ignored_movies": unknown}


def run_recommend(args: argparse.Namespace) -> int:
    """``recommend``: top-N for a known user or a folded-in new one."""
    model = load_model(args.model)
    table, who = _recommendations(args, model)
    table = table.reset_index(drop=True)
    titles = movie_titles(args)
    if titles is not None:
        table["title"] = titles.reindex(table["movieId"].to_numpy()).to_numpy()
    if args.json:
        rows = table.to_dict(orient="records")
        payload = {**who, "n": args.n, "recommendations": rows}
        print(json.dumps(_json_safe(payload), allow_nan=False))
        return 0
    if who["user"] is not None:
        print(f"top {len(table)} for user {who['user']}")
    else:
        print(f"top {len(table)} for a new user with {len(who['rated'])} ratings")
        if who["ignored_movies"]:
            print(f"  ignored (not in the model): {', '.join(map(str, who['ignored_movies']))}")
    columns = [c for c in ("rank", "movieId", "score", "title") if c in table.columns]
    print(table[columns].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0
