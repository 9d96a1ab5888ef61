"""Intervals and p-values for means of units that come in clusters (essays of one combo).

Why clusters: essays written from the same combo share its concepts, so their scores move
together; resampling essays one by one would treat them as independent and give intervals that
are too narrow. The bootstrap therefore resamples whole combos (``scipy.stats.bootstrap``, BCa,
on per-combo sums and counts: the statistic is their ratio, the mean over units). With fewer than
``MIN_CLUSTERS`` combos there is nothing to resample at that level (two combos give three
distinct resamples), so units are resampled instead and the table says so (``resampled``).

The p-value of a mean difference is a sign-flip permutation test on the same clusters
(``scipy.stats.permutation_test``): under "no difference" each combo's summed difference is as
likely negative as positive. p-values of one family are Holm-adjusted (statsmodels).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

CONFIDENCE = 0.95
RESAMPLES = 4999
MIN_CLUSTERS = 5
BY_CLUSTER, BY_UNIT = "combo", "unit"


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int  # units
    clusters: int  # resampled groups
    resampled: str  # BY_CLUSTER or BY_UNIT

    @property
    def width(self) -> float:
        return self.high - self.low


def _groups(clusters: np.ndarray, n: int) -> tuple[np.ndarray, str]:
    labels, uniques = pd.factorize(pd.Series(clusters, dtype=object), use_na_sentinel=False)
    if len(uniques) >= MIN_CLUSTERS:
        return labels, BY_CLUSTER
    return np.arange(n), BY_UNIT


def _ratio(sums: np.ndarray, counts: np.ndarray, axis: int = -1) -> np.ndarray:
    return sums.sum(axis=axis) / counts.sum(axis=axis)


def clustered_mean(values: npt.ArrayLike, clusters: npt.ArrayLike, rng: np.random.Generator,
                   resamples: int = RESAMPLES) -> Interval:
    """The mean of ``values`` with a bootstrap interval resampling ``clusters`` (one label per
    value); NaN bounds below two resampling groups."""
    values = np.asarray(values, dtype=float)
    n = int(values.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, 0, BY_UNIT)
    labels, resampled = _groups(np.asarray(clusters, dtype=object), n)
    sums = np.bincount(labels, weights=values)
    counts = np.bincount(labels).astype(float)
    mean = float(values.mean())
    if len(sums) < 2:
        return Interval(mean, math.nan, math.nan, n, len(sums), resampled)
    if np.ptp(sums / counts) == 0:  # every resample gives the same mean
        return Interval(mean, mean, mean, n, len(sums), resampled)
    low, high = math.nan, math.nan
    for method in ("BCa", "percentile"):  # BCa is undefined when the bootstrap distribution is degenerate
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = sps.bootstrap((sums, counts), _ratio, paired=True, vectorized=True, method=method,
                                   n_resamples=resamples, confidence_level=CONFIDENCE, rng=rng)
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            break
    return Interval(mean, low, high, n, len(sums), resampled)


def sign_flip_p(differences: npt.ArrayLike, clusters: npt.ArrayLike, rng: np.random.Generator,
                resamples: int = RESAMPLES) -> float:
    """Two-sided p-value of "the mean difference is 0", flipping the sign of whole clusters."""
    differences = np.asarray(differences, dtype=float)
    if differences.size == 0:
        return math.nan
    labels, _ = _groups(np.asarray(clusters, dtype=object), differences.size)
    sums = np.bincount(labels, weights=differences)
    if len(sums) < 2:
        return math.nan
    if not np.any(sums):
        return 1.0
    total = float(differences.size)
    result = sps.permutation_test((sums,), lambda s, axis=-1: s.sum(axis=axis) / total, permutation_type="samples",
                                  vectorized=True, n_resamples=resamples, alternative="two-sided", rng=rng)
    return float(result.pvalue)


def holm(p_values: npt.ArrayLike) -> np.ndarray:
    """Holm-adjusted p-values of one family; NaN entries stay NaN and are not counted."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, math.nan)
    known = ~np.isnan(p)
    if known.any():
        adjusted[known] = multipletests(p[known], method="holm")[1]
    return adjusted
