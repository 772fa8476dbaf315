"""``recommend``: top-N movies from a saved model, for a training user or a new one.

The model file records its class, which decides how it is rebuilt
(:func:`recsys_helpers.models.persistence.load_model`). A new user is described by a few
``movieId=stars`` ratings and folded in without retraining.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from recsys_helpers.cli import options
from recsys_helpers.errors import DataError
from recsys_helpers.serialise import json_safe


def register(subparsers) -> None:
    """Add ``recommend`` to ``subparsers``."""
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
        help="a model saved by fit --save",
    )
    who = rec.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int, metavar="ID", help="a userId seen in training")
    who.add_argument(
        "--rate",
        type=options.rating_pair,
        nargs="+",
        metavar="MOVIE=STARS",
        help="ratings of a new user, e.g. --rate 318=5 296=4.5 1=3",
    )
    rec.add_argument("-n", type=options.positive_int, default=10, help="how many movies")
    rec.add_argument(
        "--min-ratings",
        type=options.non_negative_int,
        metavar="N",
        help="only movies with at least N training ratings (default 0)",
    )
    rec.add_argument(
        "--item-bias-weight",
        type=options.finite_float,
        metavar="W",
        help="rank by μ + b_u + W·b_i + U_u·V_i (default 1)",
    )
    titles = rec.add_mutually_exclusive_group()
    titles.add_argument("--movies", type=Path, metavar="FILE", help="movies file for titles")
    titles.add_argument("--dataset", metavar="NAME", help="take titles from a MovieLens release")
    rec.add_argument("--mirror", metavar="DIR", help="local folder of MovieLens releases")
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(run=run_recommend, parser=rec)


def load_model(path: Path):
    """The saved model at ``path``, as the class its file records."""
    from recsys_helpers.models import load_model as load

    if not Path(path).is_file():
        raise DataError(f"{path}: no such model file (write one with `fit --save FILE`)")
    return load(path)


def movie_titles(args: argparse.Namespace):
    """``movieId -> "Title (YYYY)"`` from ``--movies`` or ``--dataset`` (None when neither)."""
    from recsys_helpers.data import movielens, userfiles

    if args.movies is not None:
        movies = userfiles.read_movies_file(args.movies)
    elif args.dataset is not None:
        movies = movielens.load_movies(args.dataset, mirror=args.mirror, progress=args.verbose)
    else:
        return None
    return movielens.display_titles(movies)


def _ranking_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``recommend`` given on the command line (others keep defaults)."""
    given = {"min_ratings": args.min_ratings, "item_bias_weight": args.item_bias_weight}
    return {name: value for name, value in given.items() if value is not None}


def _recommendations(args: argparse.Namespace, model):
    if args.user is not None:
        users = model.users_.ids
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
    items = model.items_.ids
    known = {m: s for m, s in ratings.items() if np.isin(m, items)}
    unknown = sorted(set(ratings) - set(known))
    if not known:
        raise DataError(
            f"--rate: none of the movies {', '.join(map(str, unknown))} is in the model; "
            "rate movies seen in training"
        )
    # Every rating goes to the model, which checks them all (unknown movies are ignored).
    table = model.recommend_new_user(ratings, n=args.n, **_ranking_options(args))
    return table, {"user": None, "rated": known, "ignored_movies": unknown}


def run_recommend(args: argparse.Namespace) -> int:
    """Top-N for a known user or a folded-in new one, as a table or one JSON object."""
    model = load_model(args.model)
    table, who = _recommendations(args, model)
    table = table.reset_index(drop=True)
    titles = movie_titles(args)
    if titles is not None:
        table["title"] = titles.reindex(table["movieId"].to_numpy()).to_numpy()
    if args.json:
        rows = table.to_dict(orient="records")
        payload = {**who, "n": args.n, "recommendations": rows}
        print(json.dumps(json_safe(payload), allow_nan=False))
        return 0
    if who["user"] is not None:
        print(f"top {len(table)} for user {who['user']}")
    else:
        print(f"top {len(table)} for a new user with {len(who['rated'])} ratings")
        if who["ignored_movies"]:
            print(f"  ignored (not in the model): {', '.join(map(str, who['ignored_movies']))}")
    columns = [c for c in ("rank", "movieId", "score", "std", "title") if c in table.columns]
    print(table[columns].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0
