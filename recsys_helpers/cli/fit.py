"""``fit``: train a model on a ratings file or a named release, report its errors, save it.

``--model als`` (the default) trains :class:`~recsys_helpers.models.als.BiasedMF`; with
``--feature-kinds genres[,year,tags]`` it trains :class:`~recsys_helpers.models.hybrid.
HybridMF`, whose movie vectors and biases are shrunk towards a prior learned from the
movies' features (movies from ``--movies FILE`` or the ``--dataset`` release), so that
movies without ratings get a useful prediction; the split ``item:0.9:SEED`` holds out whole
movies to measure exactly that. ``--model bayes`` trains :class:`~recsys_helpers.models.
bayes.BayesianMF`, Bayesian PMF sampled by Gibbs sweeps (``--n-samples``, ``--burn-in``).

Every model option is named as the estimator's parameter (``--n-factors`` is
``n_factors``, see ``NOTATION.md``); options left out take the estimator's own defaults,
so the command line and the library never disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from recsys_helpers.cli import options
from recsys_helpers.errors import DataError

DEFAULT_SPLIT = "random:0.9:0"
"""Split used by ``fit --dataset NAME`` when ``--split`` is not given."""

MODELS = {"als": "BiasedMF", "bayes": "BayesianMF"}
"""``--model`` choices -> registered class name (the hybrid is chosen by ``--feature-kinds``)."""

#: Model options: (flag, type, metavar, help). The flag's name is the parameter's.
MODEL_OPTIONS = (
    ("--n-factors", options.non_negative_int, "K", "latent dimension K (0: biases only)"),
    ("--reg", options.non_negative_float, "R", "penalty λ on the latent vectors"),
    ("--reg-bias", options.non_negative_float, "R", "penalty λ_b on the biases"),
    ("--n-iter", options.positive_int, "N", "ALS sweeps"),
    ("--random-state", options.non_negative_int, "S", "seed of the initialisation"),
    ("--cg-steps", options.positive_int, "N", "conjugate-gradient steps per row (default exact)"),
    ("--n-samples", options.positive_int, "N", "bayes: Gibbs samples averaged after the burn-in"),
    ("--burn-in", options.non_negative_int, "N", "bayes: Gibbs sweeps discarded before them"),
    ("--n-kept", options.positive_int, "N", "bayes: samples kept for serving and --save"),
    ("--noise-precision", options.positive_float, "A", "bayes: fixed noise precision α"),
    ("--init-iter", options.non_negative_int, "N", "bayes: ALS sweeps of the MAP start"),
)

HYBRID_OPTIONS = ("feature_kinds", "feature_reg")
"""Parameters only :class:`~recsys_helpers.models.hybrid.HybridMF` has."""


def register(subparsers) -> None:
    """Add ``fit`` to ``subparsers``."""
    fit = subparsers.add_parser(
        "fit",
        help="train a model and report RMSE/MAE",
        description=(
            "Train a model (default BiasedMF, r̂ = μ + b_u + b_i + U_u·V_i, by alternating "
            "least squares) on a ratings file or a named MovieLens release, and report "
            "training and test errors. Options left out take the estimator's defaults."
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
        type=options.split_spec,
        metavar="SPEC",
        help=(
            "with --dataset: random:0.9:SEED, peruser:0.9:SEED, temporal:0.9 or "
            f"item:0.9:SEED (whole movies held out: cold start) (default {DEFAULT_SPLIT})"
        ),
    )
    fit.add_argument("--mirror", metavar="DIR", help="local folder of MovieLens releases")
    fit.add_argument(
        "--model", choices=sorted(MODELS), default="als", help="which model (default als)"
    )
    for flag, kind, metavar, text in MODEL_OPTIONS:
        fit.add_argument(flag, type=kind, metavar=metavar, help=text)
    hybrid = fit.add_argument_group(
        "movie features",
        "--feature-kinds switches to HybridMF: movie vectors and biases get a prior "
        "learned from the movies' features, so unrated movies are predicted from them",
    )
    hybrid.add_argument(
        "--feature-kinds",
        type=options.feature_kinds,
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
        type=options.positive_float,
        metavar="R",
        help="penalty λ_W on the feature weights W, w",
    )
    fit.add_argument("--save", type=Path, metavar="FILE", help="write the fitted model (.npz)")
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.set_defaults(run=run_fit, parser=fit)


def model_class(args: argparse.Namespace) -> type:
    """The estimator class ``fit`` trains: HybridMF with ``--feature-kinds``, else ``--model``."""
    from recsys_helpers.models import MODEL_CLASSES

    if getattr(args, "feature_kinds", None) is not None:
        return MODEL_CLASSES["HybridMF"]
    return MODEL_CLASSES[MODELS[getattr(args, "model", "als")]]


def check_model_options(args: argparse.Namespace, cls: type) -> None:
    """Refuse (usage error) a model option the chosen estimator does not have."""
    params = cls().get_params(deep=False)
    if getattr(args, "feature_kinds", None) is not None and getattr(args, "model", "als") != "als":
        args.parser.error(
            f"--feature-kinds trains HybridMF; it does not combine with --model {args.model}"
        )
    for flag, *_ in MODEL_OPTIONS:
        name = flag[2:].replace("-", "_")
        if getattr(args, name, None) is not None and name not in params:
            args.parser.error(f"{flag} does not apply to {cls.__name__}")


def hyperparameters(args: argparse.Namespace, cls: type) -> dict:
    """``cls().get_params()`` overridden by every option given with a parameter's name."""
    params = cls().get_params(deep=False)
    for name in params:
        value = getattr(args, name, None)
        if value is not None and name != "verbose":
            params[name] = value
    if "verbose" in params and getattr(args, "verbose", False):
        params["verbose"] = True
    return params


def load_fit_data(args: argparse.Namespace):
    """Training frame, test frame (or None), a description of the source, and the release's
    movies and tags when ``--feature-kinds`` needs them from ``--dataset``."""
    from recsys_helpers.data import split, userfiles

    if args.train is not None:
        if args.split is not None:
            args.parser.error("--split needs --dataset (with --train, give --test instead)")
        train = userfiles.read_ratings_file(args.train)
        test = userfiles.read_ratings_file(args.test) if args.test is not None else None
        if test is not None and test.empty:
            raise DataError(f"{args.test}: no ratings to test on (the file has only a header)")
        source = {"train": str(args.train), "test": None if test is None else str(args.test)}
        return train, test, source, (None, None)
    if args.test is not None:
        args.parser.error("--test needs --train (with --dataset, use --split)")
    from recsys_helpers.data import movielens

    spec = args.split or split.parse_split(DEFAULT_SPLIT)
    tables = (None, None)
    if args.feature_kinds is not None:  # the movies (and tags) come with the ratings
        release = movielens.load(
            args.dataset, mirror=args.mirror, progress=args.verbose, genome=False
        )
        ratings, tables = release.ratings, (release.movies, release.tags)
    else:
        ratings = movielens.load_ratings(args.dataset, mirror=args.mirror, progress=args.verbose)
    train, test = spec.apply(ratings)
    return train, test, {"dataset": args.dataset, "split": str(spec)}, tables


def load_movie_features(args: argparse.Namespace, release_tables):
    """Movies and tags for ``--feature-kinds`` (``(None, None)`` without the option).

    ``--movies`` / ``--tags`` files win over the ``--dataset`` release's tables.
    """
    if args.feature_kinds is None:
        given = [
            o
            for o, v in (
                ("--movies", args.movies),
                ("--tags", args.tags),
                ("--feature-reg", args.feature_reg),
            )
            if v is not None
        ]
        if given:
            args.parser.error(f"{', '.join(given)} only with --feature-kinds KINDS")
        return None, None
    from recsys_helpers.data import userfiles

    release_movies, release_tags = release_tables
    if args.movies is not None:
        movies = userfiles.read_movies_file(args.movies)
    elif release_movies is not None:
        movies = release_movies
    else:
        raise DataError(
            "--feature-kinds needs the movies: give --movies FILE (movieId,title,genres) "
            "or --dataset NAME"
        )
    kinds = args.feature_kinds
    if "genres" in kinds and "genres" not in movies.columns:
        raise DataError(f"{args.movies}: the 'genres' feature needs a genres column")
    tags = userfiles.read_tags_file(args.tags) if args.tags is not None else release_tags
    if "tags" in kinds and tags is None:
        if args.dataset is not None:
            raise DataError(
                f"--feature-kinds tags: {args.dataset} has no tags; give --tags FILE "
                "(movieId,tag) or leave tags out"
            )
        raise DataError("--feature-kinds tags needs --tags FILE (movieId,tag) or --dataset NAME")
    return movies, tags


def _number(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_fit_report(report: dict) -> str:
    """The short human table printed by ``fit`` without ``--json``."""
    where = report.get("source", {})
    title = where.get("train") or f"{where.get('dataset')} ({where.get('split')})"
    kinds = report.get("feature_kinds")
    features = f" with {','.join(kinds)} priors" if kinds else ""
    shown = ("n_factors", "reg", "reg_bias", "feature_reg", "random_state", "cg_steps")
    shown += ("n_samples", "burn_in", "noise_precision")
    lines = [
        f"{report['model']}{features} on {title}: {report['n_train']:,} training ratings, "
        f"{report['n_users']:,} users, {report['n_items']:,} movies",
        "  " + "  ".join(f"{k}={report[k]}" for k in shown if report.get(k) is not None),
        f"  {report['sweeps']} sweeps in {report['fit_seconds']:.2f} s "
        f"(median sweep {report['sweep_seconds_median']:.3f} s)",
        "",
        f"  {'':6} {'ratings':>9} {'RMSE':>8} {'MAE':>8}",
        f"  {'train':6} {report['n_train']:>9,} {_number(report['train_rmse']):>8} "
        f"{_number(report['train_mae']):>8}",
    ]
    if report["rmse"] is not None:
        lines.append(
            f"  {'test':6} {report['n_test']:>9,} {_number(report['rmse']):>8} "
            f"{_number(report['mae']):>8}"
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
    """Train, evaluate, optionally save; print a table or one JSON object.

    The JSON object is :func:`~recsys_helpers.evaluation.summary.fit_summary`'s plus
    ``source`` (files, or dataset and split; ``movies`` and ``tags`` files when given),
    ``warnings`` (messages the estimator issued, also printed to stderr) and ``saved``.
    """
    from recsys_helpers.evaluation.summary import fit_summary

    cls = model_class(args)
    check_model_options(args, cls)
    train, test, source, release_tables = load_fit_data(args)
    movies, tags = load_movie_features(args, release_tables)
    model = cls(**hyperparameters(args, cls))
    extra = {} if movies is None else {"movies": movies, "tags": tags}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        model.fit(train, **extra)
        fit_seconds = time.perf_counter() - started
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    report = fit_summary(model, train, test, fit_seconds)
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
