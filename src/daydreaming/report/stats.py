"""The statistics of the report, as small pure functions over plain numbers.

Why these: judges are noisy, so a mean without its spread and sample size invites reading
noise as signal. Replicates are few (2-5), hence a t-based interval rather than a normal one;
Spearman's rho asks whether one series ranks essays like another, whatever its offset or scale
(two judges; a judge's score and the essay's length). Krippendorff's alpha is in ``alpha``,
intervals over clustered units in ``intervals``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
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
    half = float(t_half_width(np.array([sd]), np.array([n]), confidence)[0])
    return Summary(n, mean, sd, float(data.min()), float(data.max()), mean - half, mean + half)


def t_half_width(sd: np.ndarray, n: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
    """Half-width of the t-based interval of a mean, for arrays of sds and counts (NaN below 2)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile = sps.t.ppf((1 + confidence) / 2, np.where(n >= 2, n - 1, np.nan))
        return quantile * np.asarray(sd, dtype=float) / np.sqrt(n)


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, int]:
    """Spearman's rho over the positions where both ``x`` and ``y`` have a value; (rho, n).
    NaN below ``MIN_RANKED`` pairs or when one side does not vary."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    both = ~(np.isnan(a) | np.isnan(b))
    n = int(both.sum())
    if n < MIN_RANKED or np.ptp(a[both]) == 0 or np.ptp(b[both]) == 0:
        return math.nan, n
    return float(sps.spearmanr(a[both], b[both]).statistic), n


def spearman_interval(rho: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Confidence interval of Spearman's rho: Fisher's z with the Bonett-Wright (2000) standard
    error sqrt((1 + rho^2 / 2) / (n - 3)); NaN below 4 pairs. Analytic, because a bootstrap of
    a rank correlation over thousands of essays per judge cost seconds per judge."""
    if math.isnan(rho) or n < 4:
        return math.nan, math.nan
    clipped = max(min(rho, 1 - 1e-12), -1 + 1e-12)
    z = math.atanh(clipped)
    half = float(sps.norm.ppf((1 + confidence) / 2)) * math.sqrt((1 + rho**2 / 2) / (n - 3))
    return math.tanh(z - half), math.tanh(z + half)
