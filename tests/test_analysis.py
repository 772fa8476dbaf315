"""Tests for recsys_helpers.analysis.descriptive: CCDF, power-law and Zipf fits, summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from recsys_helpers.analysis import descriptive
from recsys_helpers.errors import DataError


def _zipf_sample(alpha: float, xmin: int, size: int, seed: int) -> np.ndarray:
    """Exact draws from p(x) ∝ x^-alpha on x >= xmin (rejection from scipy's zipf)."""
    rng = np.random.default_rng(seed)
    kept = np.empty(0, dtype=np.int64)
    while kept.size < size:
        draws = stats.zipf(alpha).rvs(size * 4, random_state=rng)
        kept = np.concatenate([kept, draws[draws >= xmin]])
    return kept[:size]


def test_ccdf_counts_values_at_least_x():
    x, p = descriptive.ccdf([3, 1, 2, 2, 5])
    np.testing.assert_array_equal(x, [1, 2, 3, 5])
    np.testing.assert_allclose(p, [5 / 5, 4 / 5, 2 / 5, 1 / 5])


def test_ccdf_matches_brute_force_on_random_data():
    values = np.random.default_rng(3).integers(1, 30, size=400)
    x, p = descriptive.ccdf(values)
    expected = np.array([(values >= v).mean() for v in x])
    np.testing.assert_allclose(p, expected)


def test_ccdf_rejects_empty_input():
    with pytest.raises(DataError, match="ccdf: values is empty"):
        descriptive.ccdf([])


@pytest.mark.parametrize("alpha", [1.8, 2.5, 3.2])
def test_power_law_mle_recovers_planted_exponent_with_known_xmin(alpha):
    sample = _zipf_sample(alpha, xmin=1, size=20_000, seed=1)
    fit = descriptive.fit_power_law(sample, xmin=1)
    assert fit.xmin == 1 and fit.n_tail == sample.size
    assert abs(fit.alpha - alpha) < 3 * fit.alpha_stderr + 0.01


def _log_likelihood(alpha: float, tail: np.ndarray, xmin: int) -> float:
    """Oracle: ℓ(α) = -n ln ζ(α, x_min) - α Σ ln x_j (Clauset et al. 2009, eq. 3.5)."""
    tail = np.asarray(tail, dtype=np.float64)
    return float(-tail.size * np.log(special.zeta(alpha, xmin)) - alpha * np.log(tail).sum())


def test_power_law_mle_is_the_maximum_of_the_log_likelihood():
    sample = _zipf_sample(2.3, xmin=3, size=3_000, seed=7)
    fit = descriptive.fit_power_law(sample, xmin=3)
    tail = sample[sample >= 3]
    grid = np.linspace(1.5, 3.5, 2001)
    brute = grid[np.argmax([_log_likelihood(a, tail, 3) for a in grid])]
    assert abs(fit.alpha - brute) < 2e-3


def test_power_law_xmin_found_above_a_non_power_law_body():
    rng = np.random.default_rng(11)
    body = rng.integers(1, 10, size=5_000)  # flat body below the planted xmin = 10
    tail = _zipf_sample(2.2, xmin=10, size=5_000, seed=12)
    fit = descriptive.fit_power_law(np.concatenate([body, tail]))
    assert 8 <= fit.xmin <= 14
    assert abs(fit.alpha - 2.2) < 0.1
    assert fit.ks_distance < 0.02
    assert fit.n_total == 10_000


def test_power_law_xmin_search_over_a_subset_keeps_the_smallest_ks_distance():
    rng = np.random.default_rng(11)
    sample = np.concatenate(
        [rng.integers(1, 10, size=5_000), _zipf_sample(2.2, xmin=10, size=5_000, seed=12)]
    )
    fit = descriptive.fit_power_law(sample, max_candidates=12)
    distinct = np.unique(sample)
    largest, _ = descriptive._largest_xmin(sample, 50)
    tried = descriptive._log_spaced(distinct[distinct <= largest], 12)
    assert 2 <= tried.size <= 12 and tried[0] == sample.min() and tried[-1] == largest
    # oracle: a fixed-xmin fit at every tried cut-off; the search keeps the closest one
    distances = {int(x): descriptive.fit_power_law(sample, xmin=int(x)).ks_distance for x in tried}
    assert fit.xmin == min(distances, key=distances.get)
    assert fit.ks_distance == pytest.approx(distances[fit.xmin])
    assert abs(fit.alpha - 2.2) < 0.1  # the planted exponent, from a coarser cut-off


def test_power_law_xmin_search_is_exhaustive_below_max_candidates():
    rng = np.random.default_rng(11)
    sample = np.concatenate(
        [rng.integers(1, 10, size=2_000), _zipf_sample(2.2, xmin=10, size=2_000, seed=12)]
    )
    few = descriptive.fit_power_law(sample, min_tail=200)
    assert descriptive.fit_power_law(sample, min_tail=200, max_candidates=10_000) == few
    with pytest.raises(DataError, match="fit_power_law: max_candidates must be >= 2, got 1"):
        descriptive.fit_power_law(sample, max_candidates=1)


def test_power_law_is_preferred_to_a_lognormal_on_power_law_data():
    sample = _zipf_sample(2.2, xmin=10, size=5_000, seed=12)
    fit = descriptive.fit_power_law(sample, xmin=10)
    # the lognormal can mimic a power law, so R may be near 0, but never significantly < 0
    assert fit.lognormal_ratio > 0 or fit.lognormal_p > 0.1
    assert 0.0 <= fit.lognormal_p <= 1.0


def test_lognormal_data_favour_the_lognormal_significantly():
    rng = np.random.default_rng(5)
    sample = np.ceil(rng.lognormal(mean=3.0, sigma=0.6, size=5_000)).astype(np.int64)
    fit = descriptive.fit_power_law(sample, xmin=10)
    assert fit.lognormal_ratio < 0
    assert fit.lognormal_p < 0.01


def test_power_law_fit_record_is_plain_json():
    fit = descriptive.fit_power_law(_zipf_sample(2.5, xmin=1, size=2_000, seed=2), xmin=1)
    record = fit.to_dict()
    assert set(record) == {
        "alpha",
        "xmin",
        "n_tail",
        "n_total",
        "alpha_stderr",
        "ks_distance",
        "lognormal_ratio",
        "lognormal_p",
    }
    assert all(isinstance(value, int | float) for value in record.values())
    assert record["alpha_stderr"] == pytest.approx((fit.alpha - 1) / np.sqrt(fit.n_tail))


def test_power_law_ccdf_is_normalised_and_matches_the_pmf_sum():
    alpha, xmin = 2.5, 4
    assert descriptive.power_law_ccdf([xmin], alpha, xmin)[0] == pytest.approx(1.0)
    pmf = np.arange(xmin, 200_000, dtype=float) ** -alpha / special.zeta(alpha, xmin)
    assert descriptive.power_law_ccdf([10], alpha, xmin)[0] == pytest.approx(
        pmf[10 - xmin :].sum(), rel=1e-4
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "fit_power_law: values: empty array"),
        ([1, 2, 0], r"fit_power_law: values: values must be >= 1, found 0"),
        ([1.5, 2.0], "fit_power_law: values: values must be whole numbers"),
        ([[1, 2]], r"fit_power_law: values: expected a 1-D array, got shape \(1, 2\)"),
    ],
)
def test_power_law_rejects_bad_values(values, message):
    with pytest.raises(DataError, match=message):
        descriptive.fit_power_law(values, xmin=1)


def test_power_law_needs_two_distinct_values_in_the_tail():
    with pytest.raises(DataError, match="fewer than two distinct values >= xmin=5"):
        descriptive.fit_power_law([1, 2, 5, 5], xmin=5)
    with pytest.raises(DataError, match="no xmin leaves 50 observations"):
        descriptive.fit_power_law([1, 2, 3])


@pytest.mark.parametrize("exponent", [0.7, 1.0, 1.6])
def test_zipf_slope_recovered_on_exact_zipf_counts(exponent):
    ranks = np.arange(1, 2_001)
    counts = np.round(1e7 * ranks**-exponent).astype(np.int64)
    shuffled = np.random.default_rng(0).permutation(counts)
    fit = descriptive.fit_zipf(shuffled)
    assert fit.exponent == pytest.approx(exponent, abs=1e-3)
    assert fit.constant == pytest.approx(1e7, rel=1e-2)
    assert fit.r_squared > 0.9999


def test_zipf_rank_range_restricts_the_fit():
    ranks = np.arange(1, 1_001)
    counts = np.where(ranks <= 100, 1e6 * ranks**-1.0, 1e6 * 100**-1.0 * (ranks / 100) ** -2.0)
    fit = descriptive.fit_zipf(np.round(counts).astype(int), max_rank=100)
    assert (fit.min_rank, fit.max_rank) == (1, 100)
    assert fit.exponent == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(DataError, match=r"need 1 <= min_rank < max_rank <= 1000"):
        descriptive.fit_zipf(np.round(counts).astype(int), max_rank=2_000)


@pytest.fixture
def toy_ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "userId": np.array([1, 1, 1, 2, 2, 3], dtype=np.int32),
            "movieId": np.array([10, 20, 30, 10, 20, 10], dtype=np.int32),
            "rating": np.array([4.0, 3.0, 5.0, 2.0, 4.5, 1.5], dtype=np.float32),
            # 2000-01-01, 2000-06-01, 2001-01-01, 2001-01-01, 2003-05-05, 2003-05-05 (UTC)
            "timestamp": np.array(
                [946684800, 959817600, 978307200, 978307200, 1052092800, 1052092800],
                dtype=np.int64,
            ),
        }
    )


def test_degrees_counts_ratings_per_user_and_movie(toy_ratings):
    np.testing.assert_array_equal(descriptive.degrees(toy_ratings, "userId"), [3, 2, 1])
    np.testing.assert_array_equal(descriptive.degrees(toy_ratings, "movieId"), [3, 2, 1])
    with pytest.raises(DataError, match="degrees: ratings has no column 'itemId'"):
        descriptive.degrees(toy_ratings, "itemId")


def test_dataset_summary_on_toy_table(toy_ratings):
    summary = descriptive.dataset_summary(toy_ratings)
    assert summary["n_ratings"] == 6 and summary["n_users"] == 3 and summary["n_movies"] == 3
    assert summary["density"] == pytest.approx(6 / 9)
    assert summary["sparsity"] == pytest.approx(3 / 9)
    assert summary["mean_rating"] == pytest.approx(20.0 / 6)
    assert summary["median_ratings_per_user"] == 2.0
    assert (summary["first_rating"], summary["last_rating"]) == ("2000-01-01", "2003-05-05")
    with pytest.raises(DataError, match=r"dataset_summary: ratings lacks columns \['timestamp'\]"):
        descriptive.dataset_summary(toy_ratings.drop(columns="timestamp"))


def test_ratings_per_period_by_year(toy_ratings):
    table = descriptive.ratings_per_period(toy_ratings, freq="YS")
    assert [t.year for t in table.index] == [2000, 2001, 2002, 2003]
    assert table["n_ratings"].tolist() == [2, 2, 0, 2]
    assert table["n_users"].tolist() == [1, 2, 0, 2]
    assert table["mean_rating"].iloc[0] == pytest.approx(3.5)
    assert np.isnan(table["mean_rating"].iloc[2])


@pytest.mark.parametrize("freq", ["QS", "MS"])
def test_ratings_per_period_counts_match_a_per_row_calendar(freq):
    rng = np.random.default_rng(4)
    stamps = rng.integers(946_684_800, 1_041_379_200, size=500)  # 2000 .. 2002
    ratings = pd.DataFrame(
        {
            "userId": rng.integers(1, 20, 500),
            "rating": rng.integers(1, 6, 500) / 1.0,
            "timestamp": stamps,
        }
    )
    table = descriptive.ratings_per_period(ratings, freq=freq)
    when = pd.to_datetime(stamps, unit="s")
    months = 3 if freq == "QS" else 1
    starts = [pd.Timestamp(d.year, (d.month - 1) // months * months + 1, 1) for d in when]
    expected = pd.Series(starts).value_counts()
    assert table.index.tz is not None and table.index.is_monotonic_increasing
    got = table["n_ratings"][table["n_ratings"] > 0]
    assert dict(zip(got.index.tz_localize(None), got, strict=True)) == expected.to_dict()
    assert table["n_ratings"].sum() == 500


def test_ratings_per_period_refuses_an_unknown_frequency(toy_ratings):
    message = r"ratings_per_period: freq must be one of \['YS', 'QS', 'MS'\], got 'W'"
    with pytest.raises(DataError, match=message):
        descriptive.ratings_per_period(toy_ratings, freq="W")
