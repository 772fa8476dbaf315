"""Command-line interface: ``python -m recsys_helpers COMMAND ...``.

Each command lives in a submodule that exposes ``register(subparsers)``; this module
only assembles the parser and turns the package's errors (and the operating system's:
a full disk, a folder given for a file) into one clear line and a non-zero exit code.
Output piped into a reader that stops early (``| head``) ends quietly, as with any other
command-line tool.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from recsys_helpers.errors import RecsysError

COMMAND_MODULES = ("data", "fit", "recommend", "synthetic")


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
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader stopped reading (`| head`): nothing to report. Further writes at exit
        # go to /dev/null, and the exit status is the one of a tool killed by SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13
    except (RecsysError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
