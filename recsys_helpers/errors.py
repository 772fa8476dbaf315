"""Exceptions the package raises on bad input.

``DataError`` is a ``ValueError`` so callers that already catch ``ValueError`` keep
working; the CLI turns any :class:`RecsysError` into one line on stderr and exit code 1.
"""

from __future__ import annotations


class RecsysError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(RecsysError, ValueError):
    """A data file or frame is missing, corrupt or malformed.

    The message names the file (and line or column where known) and the problem.
    """


class DownloadError(RecsysError, OSError):
    """A release could not be fetched or failed its checksum."""


class NumericalError(RecsysError, FloatingPointError):
    """Model parameters became NaN or infinite during fitting."""


class UnverifiedDataWarning(UserWarning):
    """A release was loaded from files whose checksums the package does not know."""
