"""``download`` and ``info`` commands."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the data commands to ``subparsers``."""
