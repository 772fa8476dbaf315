"""``fit`` and ``recommend`` commands."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the model commands to ``subparsers``."""
