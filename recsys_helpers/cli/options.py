"""Argument types shared by the commands: each turns one command-line word into a value or
refuses it with a message argparse prints beside the option's name."""

from __future__ import annotations

import argparse
import math

from recsys_helpers.data import split

__all__ = [
    "feature_kinds",
    "finite_float",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "rating_pair",
    "split_spec",
    "time_effects",
]


def _number(text: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {noun}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def finite_float(text: str) -> float:
    """Any finite number."""
    value = _number(text, float)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text, float)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _number(text, float)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def split_spec(text: str) -> split.SplitSpec:
    """``--split``: see :func:`recsys_helpers.data.split.parse_split`."""
    try:
        return split.parse_split(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def feature_kinds(text: str) -> tuple[str, ...]:
    """``--feature-kinds``: a comma list of distinct kinds from genres, year, tags."""
    from recsys_helpers.models.features import FEATURE_KINDS

    kinds = tuple(part.strip().lower() for part in text.split(","))
    choices = ", ".join(FEATURE_KINDS)
    if not any(kinds):
        raise argparse.ArgumentTypeError(f"give at least one feature kind from {choices}")
    unknown = [kind for kind in kinds if kind not in FEATURE_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown feature kind(s) {', '.join(map(repr, unknown))} in {text!r}: "
            f"choose from {choices}, e.g. genres,year"
        )
    if len(set(kinds)) != len(kinds):
        raise argparse.ArgumentTypeError(f"{text!r} names a feature kind twice")
    return kinds


def time_effects(text: str) -> tuple[str, ...]:
    """``--time-effects``: ``all`` or a comma list of user-day, user-drift, item-bins.

    Each word is the parameter value with ``-`` for ``_`` (``user-day`` is ``"user_day"``);
    the result is the ``time_effects`` tuple of
    :class:`~recsys_helpers.models.temporal.TimeAwareMF`.
    """
    from recsys_helpers.models.time_effects import TIME_EFFECTS

    words = [part.strip().lower() for part in text.split(",")]
    if words == ["all"]:
        return TIME_EFFECTS
    choices = ", ".join(effect.replace("_", "-") for effect in TIME_EFFECTS)
    effects = tuple(word.replace("-", "_") for word in words)
    unknown = [
        word for word, effect in zip(words, effects, strict=True) if effect not in TIME_EFFECTS
    ]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown time effect(s) {', '.join(map(repr, unknown))} in {text!r}: "
            f"choose from {choices}, or all"
        )
    if len(set(effects)) != len(effects):
        raise argparse.ArgumentTypeError(f"{text!r} names a time effect twice")
    return effects


def hyperprior(text: str) -> str:
    """``--hyperprior``: one of :data:`recsys_helpers.models.bayes.HYPERPRIORS`."""
    from recsys_helpers.models.bayes import HYPERPRIORS

    if text not in HYPERPRIORS:
        raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(HYPERPRIORS)}")
    return text


def rating_pair(text: str) -> tuple[int, float]:
    """One ``movieId=stars`` pair of ``recommend --rate``."""
    movie, sep, stars = text.partition("=")
    try:
        if not sep:
            raise ValueError
        movie_id, value = int(movie), float(stars)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"rating {text!r} must look like movieId=stars, e.g. 318=5"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"rating {text!r}: stars must be a finite number")
    return movie_id, value
