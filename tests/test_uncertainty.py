"""Tests for recsys_helpers.evaluation.uncertainty: interval coverage and its subsample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_helpers.evaluation.uncertainty import interval_coverage


class _HalfCovering:
    """Intervals of half-width ``level`` around the truth on even ``movieId`` rows, beside it
    on odd ones: coverage 1/2 and mean width ``2 level`` whatever the level."""

    def __init__(self):
        self.calls = []

    def predict_interval(self, frame, level):
        self.calls.append(len(frame))
        centre = frame["rating"].to_numpy() + np.where(frame["movieId"] % 2 == 0, 0.0, 10.0)
        return centre - level, centre + level


def _pairs(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"userId": np.arange(n), "movieId": rng.integers(0, 1000, n), "rating": rng.random(n) * 5}
    )


def test_coverage_and_width_are_the_shares_computed_by_hand():
    frame = _pairs(1_000)
    table = interval_coverage(_HalfCovering(), frame, (0.5, 0.8))
    expected = float(np.mean(frame["movieId"] % 2 == 0))
    assert table["coverage"].tolist() == pytest.approx([expected, expected])
    assert table["mean_width"].tolist() == pytest.approx([1.0, 1.6])
    assert table["n"].tolist() == [1_000, 1_000]


def test_max_pairs_scores_a_seeded_sample_within_its_binomial_error():
    frame = _pairs(50_000)
    model = _HalfCovering()
    table = interval_coverage(model, frame, (0.5,), max_pairs=5_000, random_state=1)
    assert model.calls == [5_000] and table["n"].tolist() == [5_000]
    full = float(np.mean(frame["movieId"] % 2 == 0))
    # four binomial standard errors of a share near 1/2 from 5,000 draws
    assert abs(table["coverage"].iloc[0] - full) < 4 * np.sqrt(0.25 / 5_000)
    again = interval_coverage(_HalfCovering(), frame, (0.5,), max_pairs=5_000, random_state=1)
    other = interval_coverage(_HalfCovering(), frame, (0.5,), max_pairs=5_000, random_state=2)
    assert again.equals(table) and not other.equals(table)
    small = interval_coverage(_HalfCovering(), frame.iloc[:100], (0.5,), max_pairs=5_000)
    assert small["n"].tolist() == [100]


def test_max_pairs_must_be_a_positive_count():
    with pytest.raises(ValueError, match="max_pairs must be an integer >= 1, got 0"):
        interval_coverage(_HalfCovering(), _pairs(10), (0.5,), max_pairs=0)
