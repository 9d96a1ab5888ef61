"""Krippendorff's alpha, interval and ordinal, with a bootstrap interval over the rated units.

The point value is the ``krippendorff`` package's. Why the bootstrap does not simply call it
once per resample: on 5,000 essays one call took 10-165 ms (measured; ordinal on replicate
means is the slow case), so 2,000 resamples of a few evaluators took minutes, and
``scipy.stats.bootstrap`` driving a vectorised statistic still took about a second per alpha
(it materialises a units-long index array per resample). Alpha is a function of the
coincidence matrix, a sum over units, and a resample only changes how often each unit counts.
So units are grouped once into their distinct rating patterns, a resample is a multinomial
draw of pattern counts (the same distribution as drawing units with replacement), and a batch
of resamples is one sparse matrix product followed by the package's own formula
(alpha = 1 - sum(o*d) / sum(e*d)). The unit tests check this route against the package on the
full data and on explicit resamples. The interval is the percentile one.

Why ordinal as well as interval: judges' scores are ratings on a 0-N scale; the ordinal metric
asks only whether judges order essays alike, not whether a 7 is as far from 5 as 3 is from 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np
from scipy import sparse

LevelOfMeasurement = Literal["interval", "ordinal"]  # krippendorff's word for the metric
LEVELS: tuple[LevelOfMeasurement, ...] = ("interval", "ordinal")
CONFIDENCE = 0.95
RESAMPLES = 1999
BATCH = 500  # resamples per matrix product: bounds memory at BATCH x values^2 floats


@dataclass(frozen=True)
class Ratings:
    """Pairable units (rated at least twice) as counts per value, and the values."""

    counts: np.ndarray  # units x values
    domain: np.ndarray  # the distinct values, ascending

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Ratings:
        """From units x raters, NaN where a rater gave no rating."""
        matrix = np.asarray(matrix, dtype=float).reshape(len(matrix), -1) if len(matrix) else np.zeros((0, 0))
        domain = np.unique(matrix[~np.isnan(matrix)])
        counts = (matrix[:, :, None] == domain[None, None, :]).sum(axis=1)
        return cls(counts[counts.sum(axis=1) >= 2], domain)

    @property
    def units(self) -> int:
        return int(self.counts.shape[0])

    @property
    def values(self) -> int:
        return int(self.counts.sum())

    @property
    def defined(self) -> bool:
        """Alpha needs two units and two distinct values among them."""
        return self.units >= 2 and int((self.counts.sum(axis=0) > 0).sum()) >= 2


@dataclass(frozen=True)
class AlphaEstimate:
    value: float
    ci_low: float
    ci_high: float
    units: int
    values: int


def alpha(ratings: Ratings, level: LevelOfMeasurement) -> float:
    if not ratings.defined:
        return math.nan
    used = ratings.counts.sum(axis=0) > 0
    return float(krippendorff.alpha(value_counts=ratings.counts[:, used], value_domain=ratings.domain[used],
                                    level_of_measurement=level))


class Coincidences:
    """Per-pattern coincidence matrices of one set of ratings (computed once), and alpha for any
    weighting of the patterns."""

    def __init__(self, ratings: Ratings):
        self.ratings = ratings
        patterns, inverse = np.unique(ratings.counts, axis=0, return_inverse=True)
        self.pattern = inverse.ravel()
        self.frequency = np.bincount(self.pattern, minlength=len(patterns)) / max(ratings.units, 1)
        pairable = patterns.sum(axis=1)
        outer = patterns[:, :, None] * patterns[:, None, :]
        diagonal = patterns[:, None, :] * np.eye(patterns.shape[1])[None, :, :]
        per_pattern = (outer - diagonal) / (pairable - 1)[:, None, None]
        self.q = sparse.csr_matrix(per_pattern.reshape(len(patterns), -1))  # a few values per pattern

    def pattern_weights(self, unit_indices: np.ndarray) -> np.ndarray:
        """Resamples given as unit indices (B x units) as pattern counts (B x patterns)."""
        drawn = self.pattern[np.asarray(unit_indices)]
        rows, p = drawn.shape[0], self.q.shape[0]
        flat = (drawn + (np.arange(rows) * p)[:, None]).ravel()
        return np.bincount(flat, minlength=rows * p).reshape(rows, p)

    def alpha(self, weights: np.ndarray, level: LevelOfMeasurement) -> np.ndarray:
        """Alpha of each row of pattern weights (B x patterns)."""
        values = len(self.ratings.domain)
        o = np.asarray((self.q.T @ np.asarray(weights, dtype=float).T).T).reshape(-1, values, values)
        return alpha_of_coincidences(o, self.ratings.domain, level)


def alpha_of_coincidences(o: np.ndarray, domain: np.ndarray, level: LevelOfMeasurement) -> np.ndarray:
    """Alpha for each coincidence matrix of a batch (B x V x V), as the package computes it."""
    n_v = o.sum(axis=1)
    n = n_v.sum(axis=1)
    eye = np.eye(o.shape[1])[None, :, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        e = (n_v[:, :, None] * n_v[:, None, :] - n_v[:, :, None] * eye) / (n - 1)[:, None, None]
        if level == "interval":
            d = np.broadcast_to((domain[:, None] - domain[None, :]) ** 2, o.shape)
        elif level == "ordinal":  # (sum of n_g from c to k minus (n_c + n_k) / 2)^2 = midrank distance^2
            midrank = np.cumsum(n_v, axis=1) - n_v / 2
            d = (midrank[:, :, None] - midrank[:, None, :]) ** 2
        else:
            raise ValueError(f"unsupported level {level!r}")
        return 1 - (o * d).sum(axis=(1, 2)) / (e * d).sum(axis=(1, 2))


def estimate(ratings: Ratings, level: LevelOfMeasurement, rng: np.random.Generator,
             resamples: int = RESAMPLES) -> AlphaEstimate:
    """Alpha with a percentile bootstrap interval that resamples units (NaN when undefined, or
    when some resamples have no variation left to agree on: too few units to say)."""
    value = alpha(ratings, level)
    if math.isnan(value):
        return AlphaEstimate(value, math.nan, math.nan, ratings.units, ratings.values)
    coincidences = Coincidences(ratings)
    weights = rng.multinomial(ratings.units, coincidences.frequency, size=resamples)
    boot = np.concatenate([coincidences.alpha(weights[i:i + BATCH], level) for i in range(0, resamples, BATCH)])
    if not np.isfinite(boot).all():
        return AlphaEstimate(value, math.nan, math.nan, ratings.units, ratings.values)
    low, high = np.quantile(boot, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return AlphaEstimate(value, float(low), float(high), ratings.units, ratings.values)
