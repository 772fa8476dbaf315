"""``download`` and ``info`` commands.

``download NAME`` makes a release available locally (from the mirror or GroupLens, with its
checksum verified) and prints the folder holding its files; ``info NAME`` prints its
headline counts, density, rating histogram and date range, and where its files came from
(verified, unverified or synthetic), as text or one JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path

from recsys_helpers import config


def _add_source_options(parser, *, data_dir: bool = True) -> None:
    parser.add_argument(
        "name",
        nargs="?",
        default=config.DEFAULT_DATASET,
        metavar="NAME",
        help=f"a MovieLens release (default {config.DEFAULT_DATASET})",
    )
    parser.add_argument(
        "--mirror", metavar="DIR", help=f"local folder of releases (default ${config.MIRROR_ENV})"
    )
    if data_dir:
        parser.add_argument(
            "--data-dir",
            type=Path,
            metavar="DIR",
            help=f"where downloads and caches go (default ${config.DATA_DIR_ENV} or ./data)",
        )


def register(subparsers) -> None:
    """Add the data commands to ``subparsers``."""
    from recsys_helpers.data.movielens import DATASETS

    known = ", ".join(DATASETS)
    download = subparsers.add_parser(
        "download",
        help="fetch a MovieLens release and print its folder",
        description=(
            "Make a MovieLens release available locally: use the mirror's copy if there is "
            "one, else download it from GroupLens and verify its checksum. Prints the folder "
            f"holding the release's files. Known releases: {known}."
        ),
    )
    _add_source_options(download)
    download.add_argument("--quiet", action="store_true", help="no progress bars")
    download.set_defaults(run=run_download)

    info = subparsers.add_parser(
        "info",
        help="counts, sparsity, rating histogram and dates of a release",
        description=(
            "Summarise a MovieLens release: ratings, users, rated and listed movies, tags, "
            f"density, rating histogram and date range. Known releases: {known}."
        ),
    )
    _add_source_options(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(run=run_info)


def run_download(args) -> int:
    """Fetch the release and print its folder."""
    from recsys_helpers.data import movielens

    folder = movielens.fetch(
        args.name, mirror=args.mirror, data_dir=args.data_dir, progress=not args.quiet
    )
    print(folder)
    return 0


def format_summary(summary: dict) -> str:
    """The summary as aligned text, with a bar per rating value."""
    tags = "none" if summary["n_tags"] is None else f"{summary['n_tags']:,}"
    source = summary.get("source") or {}
    lines = [
        f"{summary['name']}" + (" (SYNTHETIC data)" if source.get("status") == "synthetic" else ""),
        f"  ratings        {summary['n_ratings']:>12,}",
        f"  users          {summary['n_users']:>12,}",
        f"  rated movies   {summary['n_rated_movies']:>12,}",
        f"  listed movies  {summary['n_listed_movies']:>12,}",
        f"  tags           {tags:>12}",
        f"  density        {summary['density']:>12.4%}   (sparsity {summary['sparsity']:.4%})",
        f"  mean rating    {summary['mean_rating']:>12.3f}",
        f"  dates          {summary['first_rating']} to {summary['last_rating']}",
    ]
    if source:
        lines.append(f"  source         {source['origin']}")
        lines.append(f"                 {source['description']}")
    lines.append("  rating histogram")
    histogram = summary["rating_histogram"]
    largest = max(histogram.values()) or 1
    for level, count in histogram.items():
        share = count / summary["n_ratings"] if summary["n_ratings"] else 0.0
        bar = "#" * round(40 * count / largest)
        lines.append(f"    {level:>4}  {count:>12,}  {share:6.1%}  {bar}")
    return "\n".join(lines)


def run_info(args) -> int:
    """Load the release and print its summary."""
    from recsys_helpers.analysis.descriptive import release_summary
    from recsys_helpers.data import movielens

    ml = movielens.load(
        args.name, mirror=args.mirror, data_dir=args.data_dir, progress=args.verbose, genome=False
    )
    summary = release_summary(ml, movielens.get_release(args.name).scale)
    if ml.source is not None:
        summary["source"] = {**ml.source.to_dict(), "description": ml.source.describe()}
    print(json.dumps(summary) if args.json else format_summary(summary))
    return 0
