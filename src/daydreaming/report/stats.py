"""The statistics of the report, as small pure functions over plain numbers.

Why these: judges are noisy, so a mean without its spread and sample size invites reading
noise as signal. Replicates are few (2-5), hence a t-based interval rather than a normal one;
agreement between judges is Krippendorff's alpha (interval metric: scores are numbers, and
alpha copes with missing ratings, which unequal replicate/model coverage produces) and
Spearman's rho per pair (does one judge rank essays like another, whatever its offset?).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
MIN_RANKED = 3  # a rank correlation of two points is always +-1


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    sd: float  # sample standard deviation (ddof=1); NaN below 2 values
    min: float
    max: float
    ci_low: float  # t-based CI of the mean; NaN below 2 values
    ci_high: float


def summarize(values: Iterable[float], confidence: float = CONFIDENCE) -> Summary:
    """n, mean, sd, min, max and the t-based confidence interval of the mean of ``values``."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = int(data.size)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean = float(data.mean())
    if n < 2:
        return Summary(1, mean, math.nan, float(data.min()), float(data.max()), math.nan, math.nan)
    sd = float(data.std(ddof=1))
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(n, mean, sd, float(data.min()), float(data.max()), mean - half, mean + half)


def krippendorff_alpha_interval(units: Iterable[Sequence[float]]) -> tuple[float, int, int]:
    """Krippendorff's alpha, interval metric, over ``units`` (each: the values its raters gave,
    missing ones left out). Returns (alpha, pairable units, pairable values).

    alpha = 1 - D_o / D_e with D_o the mean squared difference within a unit (each unit's pairs
    weighted 1/(m_u - 1)) and D_e the mean squared difference between any two pairable values.
    Units with fewer than 2 values are not pairable. NaN when fewer than 2 units are pairable or
    every pairable value is the same (no variation to agree on).
    """
    within = 0.0
    pooled: list[float] = []
    count = 0
    for unit in units:
        values = np.asarray([v for v in unit if v is not None and not math.isnan(v)], dtype=float)
        m = values.size
        if m < 2:
            continue
        count += 1
        # sum over ordered pairs of (a - b)^2 = 2 (m * sum(v^2) - sum(v)^2)
        within += 2 * (m * float(np.sum(values**2)) - float(values.sum()) ** 2) / (m - 1)
        pooled.extend(values.tolist())
    n = len(pooled)
    if count < 2:
        return math.nan, count, n
    all_values = np.asarray(pooled)
    between = 2 * (n * float(np.sum(all_values**2)) - float(all_values.sum()) ** 2)
    if between <= 0:
        return math.nan, count, n
    observed = within / n
    expected = between / (n * (n - 1))
    return 1.0 - observed / expected, count, n


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, int]:
    """Spearman's rho over the positions where both ``x`` and ``y`` have a value; (rho, n).
    NaN below ``MIN_RANKED`` pairs or when one side does not vary."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    both = ~(np.isnan(a) | np.isnan(b))
    n = int(both.sum())
    if n < MIN_RANKED or np.ptp(a[both]) == 0 or np.ptp(b[both]) == 0:
        return math.nan, n
    return float(sps.spearmanr(a[both], b[both]).statistic), n
