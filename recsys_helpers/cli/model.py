"""``fit`` and ``recommend`` commands.

``fit`` trains :class:`recsys_helpers.als.BiasedMF` on a ratings file (or a named
MovieLens release split on the fly), reports training and test RMSE/MAE and can save
the model; ``recommend`` loads a saved model and ranks movies for a known user, or for a
new user described by a few ``movieId=stars`` ratings (folded in without retraining).

Hyperparameters left out on the command line take the estimator's own defaults, read
from ``BiasedMF().get_params()`` so that the command line and the library never disagree.
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

SPLIT_KINDS = ("random", "peruser", "temporal")
"""Split strategies understood by ``fit --split``."""

DEFAULT_SPLIT = "random:0.9:0"
"""Split used by ``fit --dataset NAME`` when ``--split`` is not given."""

HYPERPARAMETER_OPTIONS = {
    "factors": "n_factors",
    "reg": "reg",
    "reg_bias": "reg_bias",
    "iters": "n_iter",
    "seed": "random_state",
}
"""Command-line option (argparse dest) -> :class:`BiasedMF` parameter name."""


@dataclass(frozen=True)
class SplitSpec:
    """A parsed ``--split`` value: ``KIND:TRAIN_FRACTION[:SEED]``.

    Attributes
    ----------
    kind : str
        ``"random"`` (by rating), ``"peruser"`` (within each user) or ``"temporal"``
        (global timestamp cut-off at the ``train_fraction`` quantile).
    train_fraction : float
        Share of ratings (or, for ``temporal``, the timestamp quantile) kept for training,
        in (0, 1).
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
    """Parse ``random:0.9:SEED``, ``peruser:0.9:SEED`` or ``temporal:0.9`` into a SplitSpec.

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
            f"unknown split {parts[0]!r}: use random:0.9:SEED, peruser:0.9:SEED or temporal:0.9"
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
            "with --dataset: random:0.9:SEED, peruser:0.9:SEED or temporal:0.9 "
            f"(default {DEFAULT_SPLIT})"
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
    rec.add_argument("--model", type=Path, required=True, metavar="FILE", help="a saved model")
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


def _estimator_class():
    from recsys_helpers.als import BiasedMF

    return BiasedMF


def hyperparameters(args: argparse.Namespace) -> dict:
    """Estimator parameters: ``BiasedMF().get_params()`` overridden by the options given."""
    params = _estimator_class()().get_params()
    for option, name in HYPERPARAMETER_OPTIONS.items():
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
    ratings = datasets.load_ratings(args.dataset, mirror=args.mirror, progress=args.verbose)
    train, test = _apply_split(ratings, spec)
    return train, test, {"dataset": args.dataset, "split": str(spec)}


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
        run), ``factors``, ``reg``, ``reg_bias``, ``seed`` and ``params`` (all of
        ``get_params()``).
    """
    params = model.get_params()
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
    lines = [
        f"BiasedMF on {title}: {report['n_train']:,} training ratings, "
        f"{report['n_users']:,} users, {report['n_items']:,} movies",
        "  "
        + "  ".join(
            f"{k}={report[k]}" for k in ("factors", "reg", "reg_bias", "seed") if k in report
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
            f"{report['n_cold_ratings']} ratings (predicted from biases)"
        )
    if report.get("saved"):
        lines.append(f"  saved to {report['saved']}")
    return "\n".join(lines)


def run_fit(args: argparse.Namespace) -> int:
    """``fit``: train, evaluate, optionally save; print a table or one JSON object.

    The JSON object is :func:`fit_report`'s plus ``source`` (files, or dataset and split),
    ``warnings`` (messages the estimator issued, also printed to stderr) and ``saved``.
    """
    train, test, source = load_fit_data(args)
    params = hyperparameters(args)
    model = _estimator_class()(**params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - started
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    report = fit_report(model, train, test, fit_seconds)
    report["source"] = source
    report["warnings"] = notes
    if args.save is not None:
        model.save(args.save)
        report["saved"] = str(args.save)
    print(json.dumps(report, allow_nan=False) if args.json else format_fit_report(report))
    return 0


# ---------------------------------------------------------------------- recommend


def load_model(path: Path):
    """A saved :class:`BiasedMF`; DataError when the file is missing or not a model."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such model file (write one with `fit --save FILE`)")
    try:
        return _estimator_class().load(path)
    except DataError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: not a saved BiasedMF model ({exc})") from exc


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
