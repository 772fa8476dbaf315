"""Command-line interface: ``python -m recsys_helpers COMMAND ...``.

Each command lives in a submodule that exposes ``register(subparsers)``; this module
only assembles the parser and turns the package's errors into one clear line and a
non-zero exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from recsys_helpers.errors import RecsysError

COMMAND_MODULES = ("data", "fit", "recommend", "serve", "synthetic")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's subparser registered."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="python -m recsys_helpers",
        description="MovieLens data and biased matrix factorisation by ALS.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"recsys_helpers.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code (0 on success, 1 on a handled error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args) or 0)
    except (RecsysError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
