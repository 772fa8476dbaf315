"""``synthetic``: write a synthetic release shaped and formatted like a MovieLens release.

``python -m recsys_helpers synthetic --like ml-25m --out DIR`` writes ``DIR/ml-25m/``; then
``make report DATASET=ml-25m MIRROR=DIR`` (or ``--mirror DIR`` on any command) reads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recsys_helpers.cli import options


def register(subparsers) -> None:
    """Add ``synthetic`` to ``subparsers``."""
    from recsys_helpers.data.releases import DATASETS

    command = subparsers.add_parser(
        "synthetic",
        help="write a synthetic release shaped like a MovieLens release",
        description=(
            "Write OUT/NAME/ in the files of release NAME (its size, layout, rating scale "
            "and dates, with ML-25M's skew), drawn from a planted biased low-rank model and "
            f"marked as synthetic. Releases: {', '.join(DATASETS)}."
        ),
    )
    command.add_argument("--like", required=True, metavar="NAME", help="e.g. ml-25m")
    command.add_argument("--out", required=True, type=Path, metavar="DIR", help="mirror folder")
    command.add_argument(
        "--scale", type=options.positive_float, default=1.0, help="fraction of the size (0, 1]"
    )
    command.add_argument("--random-state", type=options.non_negative_int, default=0, metavar="S")
    command.set_defaults(run=run_synthetic)


def run_synthetic(args: argparse.Namespace) -> int:
    """Write the release and print its folder."""
    from recsys_helpers.data.synthetic_release import write_release_like

    print(write_release_like(args.like, args.out, scale=args.scale, random_state=args.random_state))
    return 0
