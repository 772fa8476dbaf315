"""Per-iteration time of a library that runs all its iterations inside one call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def epochs_by_difference(
    fit: Callable[[int], object], n_epochs: int, *, clock: Callable[[], float] = time.perf_counter
) -> dict[str, Any]:
    """Seconds per iteration as (T(1 + n) − T(1)) / n, from fits of 1 and 1 + n iterations.

    Libraries without a per-iteration hook (Spark, cmfrec) are timed this way: the
    difference cancels what every fit repeats (copying or blocking the ratings,
    initialisation, work after the last iteration). A first fit of one iteration, not
    timed, pays what only the first fit costs (library start-up, compilation, caches), which
    would otherwise land in T(1) alone and bias the difference low.

    Parameters
    ----------
    fit : callable
        ``fit(n)`` fits a fresh model with ``n`` iterations on data prepared beforehand.
    n_epochs : int
        ``n``.
    clock : callable, default time.perf_counter
        Seconds, read before and after each timed fit.

    Returns
    -------
    dict
        ``fit_1_seconds``, ``fit_n_seconds`` and ``epoch_seconds`` (the mean per-iteration
        time repeated ``n_epochs`` times).
    """
    fit(1)  # warm-up, not timed
    seconds = {}
    for n in (1, 1 + n_epochs):
        start = clock()
        fit(n)
        seconds[n] = clock() - start
    per_iteration = (seconds[1 + n_epochs] - seconds[1]) / n_epochs
    return {
        "fit_1_seconds": seconds[1],
        "fit_n_seconds": seconds[1 + n_epochs],
        "epoch_seconds": [per_iteration] * n_epochs,
    }
