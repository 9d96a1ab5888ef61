"""The report's statistics against published values and independent computations.

Krippendorff's alpha (the ``krippendorff`` package, and the report's own batched route used for
its bootstrap) is checked against the values published with two textbook reliability data sets
and against the coincidence-matrix algorithm written out with loops in report_fixtures;
intervals against t-table values; Spearman against pandas' own rank correlation (not scipy,
which the implementation uses).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from report_fixtures import coincidence_alpha

from daydreaming.report import alpha as kalpha
from daydreaming.report.stats import spearman, spearman_interval, summarize

nan = math.nan
# t(0.975, df) from a printed t table
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764}

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers x 12 units;
# interval alpha = 0.849.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]
# The reliability-data example of the Wikipedia article: 3 coders x 15 units; interval 0.811.
WIKIPEDIA = [
    [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
    [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
    [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
]


# Published ordinal values: Krippendorff (2011) 0.815 (the package's doctest data set).
@pytest.mark.parametrize("data, level, published", [(KRIPPENDORFF_2011, "interval", 0.849),
                                                    (WIKIPEDIA, "interval", 0.811),
                                                    (KRIPPENDORFF_2011, "ordinal", 0.815)])
def test_alpha_matches_published_values(data, level, published):
    units = np.array(data, dtype=float).T
    ratings = kalpha.Ratings.from_matrix(units)
    assert kalpha.alpha(ratings, level) == pytest.approx(published, abs=5e-4)
    assert kalpha.alpha(ratings, level) == pytest.approx(coincidence_alpha(units.tolist(), level), abs=1e-12)
    pairable = [u for u in units if np.sum(~np.isnan(u)) >= 2]
    assert ratings.units == len(pairable) and ratings.values == sum(int(np.sum(~np.isnan(u))) for u in pairable)


@pytest.mark.parametrize("level", kalpha.LEVELS)
def test_the_bootstrap_route_gives_the_package_alpha_on_the_data_and_on_resamples(level):
    """The report bootstraps alpha with batched coincidence matrices; each resample must give
    what the package gives on the resampled units."""
    import krippendorff

    rng = np.random.default_rng(7)
    ratings_matrix = rng.integers(0, 10, size=(40, 4)).astype(float) + rng.choice([0.0, 0.5], size=(40, 4))
    ratings_matrix[rng.random(ratings_matrix.shape) < 0.3] = nan
    ratings = kalpha.Ratings.from_matrix(ratings_matrix)
    route = kalpha.Coincidences(ratings)
    every_unit_once = np.arange(ratings.units)[None, :]
    assert route.alpha(route.pattern_weights(every_unit_once), level)[0] == pytest.approx(
        kalpha.alpha(ratings, level), abs=1e-12)
    resamples = rng.integers(0, ratings.units, size=(5, ratings.units))
    for drawn, got in zip(resamples, route.alpha(route.pattern_weights(resamples), level)):
        counts = ratings.counts[drawn]
        expected = krippendorff.alpha(value_counts=counts, value_domain=ratings.domain, level_of_measurement=level)
        assert got == pytest.approx(expected, abs=1e-12)


def test_alpha_interval_covers_the_value_and_narrows_with_more_units():
    rng = np.random.default_rng(3)

    def judged(units):
        truth = rng.integers(0, 10, units)
        return np.stack([np.clip(truth + rng.integers(-1, 2, units), 0, 9) for _ in range(3)], axis=1).astype(float)

    small = kalpha.estimate(kalpha.Ratings.from_matrix(judged(30)), "interval", np.random.default_rng(1))
    large = kalpha.estimate(kalpha.Ratings.from_matrix(judged(3000)), "interval", np.random.default_rng(1))
    for found in (small, large):
        assert found.ci_low <= found.value <= found.ci_high
    assert large.ci_high - large.ci_low < (small.ci_high - small.ci_low) / 4


@pytest.mark.parametrize("units", [[[5, 5], [5, 5]], [[3, 4]], [[1], [2], [3]], []])
def test_alpha_is_nan_without_variation_or_pairable_units(units):
    ratings = kalpha.Ratings.from_matrix(np.array(units, dtype=float))
    for level in kalpha.LEVELS:
        found = kalpha.estimate(ratings, level, np.random.default_rng(0))
        assert math.isnan(found.value) and math.isnan(found.ci_low)


def test_perfect_agreement_is_one():
    ratings = kalpha.Ratings.from_matrix(np.array([[1, 1, 1], [4, 4, nan], [7, 7, 7]]))
    assert kalpha.alpha(ratings, "interval") == pytest.approx(1.0) == kalpha.alpha(ratings, "ordinal")


@pytest.mark.parametrize("values", [[7, 8, 9], [4, 6], [2, 3, 5, 9], [1, 1, 2, 3, 8]])
def test_summary_mean_sd_and_t_interval(values):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = T975[n - 1] * sd / math.sqrt(n)
    s = summarize(values)
    assert (s.n, s.min, s.max) == (n, min(values), max(values))
    assert s.mean == pytest.approx(mean) and s.sd == pytest.approx(sd)
    assert s.ci_low == pytest.approx(mean - half, abs=1e-3) and s.ci_high == pytest.approx(mean + half, abs=1e-3)


def test_summary_of_one_or_no_value_has_no_spread():
    one = summarize([6.0, nan])
    assert (one.n, one.mean, one.min, one.max) == (1, 6.0, 6.0, 6.0)
    assert math.isnan(one.sd) and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    assert summarize([]).n == 0 and math.isnan(summarize([]).mean)


def test_spearman_matches_pandas_rank_correlation_on_shared_positions():
    x = [1.0, 2.5, nan, 4.0, 3.0, 7.0, 7.0]
    y = [2.0, 1.0, 5.0, nan, 6.0, 8.0, 9.0]
    both = pd.DataFrame({"x": x, "y": y}).dropna()
    rho, n = spearman(x, y)
    assert n == len(both) == 5
    assert rho == pytest.approx(both.corr(method="spearman").loc["x", "y"])


@pytest.mark.parametrize("x, y", [([1, 2], [2, 1]), ([1, 2, 3], [5, 5, 5]), ([1, nan, 3, 4], [nan, 2, 3, nan])])
def test_spearman_is_nan_below_three_pairs_or_without_variation(x, y):
    assert math.isnan(spearman(x, y)[0])


def test_spearman_interval_is_fisher_z_with_the_bonett_wright_error():
    rho, n = 0.6, 40
    z, se = math.atanh(rho), math.sqrt((1 + rho**2 / 2) / (n - 3))
    low, high = spearman_interval(rho, n)
    assert (low, high) == pytest.approx((math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)), abs=1e-6)
    assert all(math.isnan(v) for v in spearman_interval(0.5, 3))
