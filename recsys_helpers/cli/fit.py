"""``fit``: train a model on a ratings file or a named release, report its errors, save it.

``--model als`` (the default) trains :class:`~recsys_helpers.models.als.BiasedMF`; with
``--feature-kinds genres[,year,tags]`` it trains :class:`~recsys_helpers.models.hybrid.
HybridMF`, whose movie vectors and biases are shrunk towards a prior learned from the
movies' features (movies from ``--movies FILE`` or the ``--dataset`` release), so that
movies without ratings get a useful prediction; the split ``item:0.9:SEED`` holds out whole
movies to measure exactly that. With ``--time-effects user-day,user-drift,item-bins`` (or
``all``) it trains :class:`~recsys_helpers.models.temporal.TimeAwareMF`, whose biases move
with the ratings' timestamps (the training file needs a ``timestamp`` column).
``--model bayes`` trains :class:`~recsys_helpers.models.bayes.BayesianMF`, Bayesian PMF
sampled by Gibbs sweeps (``--n-samples``, ``--burn-in``); with ``--time-effects`` it trains
:class:`~recsys_helpers.models.bayes_time.BayesianTimeMF`, the same time terms sampled with
the rest.

Every model option is named as the estimator's parameter (``--n-factors`` is
``n_factors``, see ``NOTATION.md``); options left out take the estimator's own defaults,
so the command line and the library never disagree. ``--rating-range LOW HIGH`` is the
estimator's ``rating_range``: the scale every rating read must lie on (default: the
release's, or MovieLens's 0.5 to 5 for files) and the range predictions are clipped to.

The model's parameters are checked before any data is read (a combination the estimator
refuses, such as ``--n-kept`` above ``--n-samples``, is a usage error), and so is
``--save``: it must end in ``.npz``, must not be an input file, must not exist unless
``--force`` is given, and must be writable.
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

MOVIELENS_RATING_RANGE = (0.5, 5.0)
"""``rating_range`` of a ratings file when ``--rating-range`` is not given."""

MODELS = {"als": "BiasedMF", "bayes": "BayesianMF"}
"""``--model`` choices -> registered class name (the hybrid is chosen by ``--feature-kinds``)."""

TIME_MODELS = {"als": "TimeAwareMF", "bayes": "BayesianTimeMF"}
"""``--model`` choices -> the class ``--time-effects`` trains."""

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
    (
        "--hyperprior",
        options.hyperprior,
        "NAME",
        "bayes: normal-wishart (one per side, the default) or shared-diagonal",
    ),
    ("--init-iter", options.non_negative_int, "N", "bayes: ALS sweeps of the MAP start"),
    ("--mean-precision-prior", options.positive_float, "B", "bayes: β₀ (default 2)"),
    (
        "--degrees-of-freedom-prior",
        options.positive_float,
        "NU",
        "bayes: Wishart ν₀, above K (default K + 1)",
    ),
    ("--scale-prior", options.positive_float, "W", "bayes: Wishart W₀ = W·I (default 1)"),
)

#: Other spellings a model option also answers to (the flag above stays the documented one).
ALIASES = {"--n-samples": ("--samples",)}

HYBRID_OPTIONS = ("feature_kinds", "feature_reg")
"""Parameters only :class:`~recsys_helpers.models.hybrid.HybridMF` has."""

#: Options of the time-aware model besides --time-effects: (flag, type, metavar, help).
TIME_OPTIONS = (
    ("--reg-day", options.non_negative_float, "R", "penalty λ_d on the day offsets b_{u,t}"),
    ("--reg-drift", options.non_negative_float, "R", "penalty λ_α on the drift slopes α_u"),
    ("--reg-bin", options.non_negative_float, "R", "penalty λ_bin on the bin offsets b_{i,k}"),
    ("--n-bins", options.positive_int, "N", "time bins of the movie biases"),
)


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
        fit.add_argument(
            flag, *ALIASES.get(flag, ()), dest=_dest(flag), type=kind, metavar=metavar, help=text
        )
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
    timed = fit.add_argument_group(
        "time effects",
        "--time-effects switches to TimeAwareMF (BayesianTimeMF with --model bayes): biases "
        "that move with the ratings' timestamps (a day offset per user and day, a user's "
        "drift, a movie's bias per time bin); the ratings need a timestamp column",
    )
    timed.add_argument(
        "--time-effects",
        type=options.time_effects,
        metavar="TERMS",
        help="all, or a comma list of user-day, user-drift, item-bins",
    )
    for flag, kind, metavar, text in TIME_OPTIONS:
        timed.add_argument(flag, type=kind, metavar=metavar, help=text)
    fit.add_argument(
        "--rating-range",
        type=options.finite_float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="the rating scale's ends: ratings outside are refused, predictions clipped to it "
        "(default: the release's scale; 0.5 5 for --train files)",
    )
    fit.add_argument("--save", type=Path, metavar="FILE", help="write the fitted model (.npz)")
    fit.add_argument(
        "--force", action="store_true", help="with --save: overwrite an existing model file"
    )
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.set_defaults(run=run_fit, parser=fit)


def model_class(args: argparse.Namespace) -> type:
    """The estimator class ``fit`` trains: HybridMF with ``--feature-kinds``, TimeAwareMF
    (BayesianTimeMF with ``--model bayes``) with ``--time-effects``, else ``--model``."""
    from recsys_helpers.models import MODEL_CLASSES

    if getattr(args, "time_effects", None) is not None:
        if getattr(args, "feature_kinds", None) is not None:
            args.parser.error("--feature-kinds and --time-effects are two models: choose one")
        return MODEL_CLASSES[TIME_MODELS[getattr(args, "model", "als")]]
    given = [flag for flag, *_ in TIME_OPTIONS if getattr(args, _dest(flag), None) is not None]
    if given:
        args.parser.error(f"{', '.join(given)} only with --time-effects TERMS")
    if getattr(args, "feature_kinds", None) is not None:
        return MODEL_CLASSES["HybridMF"]
    return MODEL_CLASSES[MODELS[getattr(args, "model", "als")]]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def require_timestamps(args: argparse.Namespace, train, test) -> None:
    """With ``--time-effects``, refuse rating files without a ``timestamp`` column."""
    if getattr(args, "time_effects", None) is None:
        return
    for frame, path in ((train, args.train), (test, args.test)):
        if frame is not None and "timestamp" not in frame.columns:
            where = path if path is not None else args.dataset
            raise DataError(
                f"{where}: --time-effects needs a 'timestamp' column (Unix seconds); "
                f"it has {', '.join(map(str, frame.columns))}"
            )


def check_model_options(args: argparse.Namespace, cls: type) -> None:
    """Refuse (usage error) a model option the chosen estimator does not have."""
    params = cls().get_params(deep=False)
    chosen = getattr(args, "model", "als")
    if getattr(args, "feature_kinds", None) is not None and chosen != "als":
        args.parser.error(
            f"--feature-kinds trains HybridMF; it does not combine with --model {chosen}"
        )
    for flag, *_ in MODEL_OPTIONS:
        name = _dest(flag)
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
        scale = args.rating_range
        train = userfiles.read_ratings_file(args.train, rating_range=scale)
        if train.empty:
            raise DataError(f"{args.train}: no ratings to train on (the file has only a header)")
        test = None
        if args.test is not None:
            test = userfiles.read_ratings_file(args.test, rating_range=scale)
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
        release = movielens.load(  # the features need movies and tags, not links or genome
            args.dataset, mirror=args.mirror, progress=args.verbose, genome=False, links=False
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


def resolve_rating_range(args: argparse.Namespace) -> None:
    """Set ``args.rating_range``: as given (LOW < HIGH), else the release's or MovieLens's."""
    from recsys_helpers.data.checks import check_rating_range
    from recsys_helpers.data.releases import DATASETS

    if args.rating_range is not None:
        try:
            args.rating_range = check_rating_range(args.rating_range, "--rating-range")
        except ValueError:
            low, high = args.rating_range
            args.parser.error(f"--rating-range {low:g} {high:g}: LOW must be below HIGH")
    elif args.dataset is not None:  # an unknown name is refused when it is loaded
        release = DATASETS.get(args.dataset)
        args.rating_range = release.rating_range if release is not None else None
    else:
        args.rating_range = MOVIELENS_RATING_RANGE


def check_save_target(args: argparse.Namespace) -> None:
    """Refuse ``--save`` before any work: wrong suffix, an input file, existing, unwritable."""
    from recsys_helpers.models.persistence import check_model_path

    if args.save is None:
        if args.force:
            args.parser.error("--force only with --save FILE")
        return
    inputs = [getattr(args, name, None) for name in ("train", "test", "movies", "tags")]
    check_model_path(args.save, overwrite=args.force, inputs=inputs, overwrite_option="--force")


def _number(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _cold_source(report: dict) -> str:
    """What ``fit``'s model predicts an unseen user's or movie's ratings from."""
    if report["model"].startswith("Bayesian"):
        return "the prior and the known side"
    return "features and biases" if report.get("feature_kinds") else "biases"


def format_fit_report(report: dict) -> str:
    """The short human table printed by ``fit`` without ``--json``."""
    where = report.get("source", {})
    title = where.get("train") or f"{where.get('dataset')} ({where.get('split')})"
    kinds = report.get("feature_kinds")
    features = f" with {','.join(kinds)} priors" if kinds else ""
    if report.get("time_effects"):
        features = f" with time effects {','.join(report['time_effects'])}"
    shown = ("n_factors", "reg", "reg_bias", "feature_reg", "random_state", "cg_steps")
    shown += ("n_samples", "burn_in", "noise_precision", "hyperprior")
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
            f"{report['n_cold_ratings']} ratings (predicted from {_cold_source(report)})"
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
    resolve_rating_range(args)
    model = cls(**hyperparameters(args, cls))
    try:
        model.check_params()
    except ValueError as error:
        args.parser.error(str(error))
    check_save_target(args)
    train, test, source, release_tables = load_fit_data(args)
    movies, tags = load_movie_features(args, release_tables)
    require_timestamps(args, train, test)
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
