"""The report's statistics against published values and independent computations.

Krippendorff's alpha is checked against the values published with two textbook reliability
data sets and against the coincidence-matrix algorithm written out here (a different route to
alpha than the implementation's sums of squares); intervals against t-table values; Spearman
against pandas' own rank correlation (not scipy, which the implementation uses).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from daydreaming.report.stats import krippendorff_alpha_interval, spearman, summarize
from report_fixtures import coincidence_alpha

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


@pytest.mark.parametrize("data, published", [(KRIPPENDORFF_2011, 0.849), (WIKIPEDIA, 0.811)])
def test_alpha_matches_published_values(data, published):
    units = list(zip(*data))
    alpha, pairable, values = krippendorff_alpha_interval(units)
    assert alpha == pytest.approx(published, abs=5e-4)
    assert alpha == pytest.approx(coincidence_alpha([list(u) for u in units]), abs=1e-12)
    assert pairable == sum(1 for u in units if sum(not math.isnan(v) for v in u) >= 2)
    assert values == sum(sum(not math.isnan(v) for v in u) for u in units if sum(not math.isnan(v) for v in u) >= 2)


def test_alpha_on_random_ratings_with_gaps_matches_the_coincidence_matrix():
    rng = np.random.default_rng(7)
    ratings = rng.integers(0, 10, size=(30, 4)).astype(float)
    ratings[rng.random(ratings.shape) < 0.3] = nan
    alpha, _, _ = krippendorff_alpha_interval(ratings)
    assert alpha == pytest.approx(coincidence_alpha(ratings.tolist()), abs=1e-12)


@pytest.mark.parametrize("units", [[[5, 5], [5, 5]], [[3, 4]], [[1], [2], [3]], []])
def test_alpha_is_nan_without_variation_or_pairable_units(units):
    assert math.isnan(krippendorff_alpha_interval(units)[0])


def test_perfect_agreement_is_one():
    assert krippendorff_alpha_interval([[1, 1, 1], [4, 4], [7, 7, 7]])[0] == pytest.approx(1.0)


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
