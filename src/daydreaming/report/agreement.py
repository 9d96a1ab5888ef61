"""Do the judges agree? Agreement between evaluator models, per essay set.

An essay set is the essays scored with one evaluation template (one rubric, one scale). Each
evaluator model's score of an essay is its mean over evaluation replicates, so replicate
counts that differ between models do not weigh one model more. Rows: Krippendorff's alpha
across models, interval and ordinal, each with a bootstrap interval over essays; then
Spearman's rho for every pair of models with its interval. ``too_wide_to_rank`` marks an
interval missing (too few essays) or wider than ``judges.MAX_COEFFICIENT_WIDTH``. With one
evaluator model there is nothing to compare: alpha is NaN.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd

from . import alpha as kalpha
from .columns import valid_scores
from .judges import MAX_COEFFICIENT_WIDTH
from .stats import spearman, spearman_interval

ALPHA, ORDINAL_ALPHA, SPEARMAN = "krippendorff_alpha_interval", "krippendorff_alpha_ordinal", "spearman"
AGREEMENT_COLUMNS = ("evaluation_template", "measure", "model_a", "model_b", "value", "ci_low", "ci_high",
                     "n_essays", "n_models", "n_values", "too_wide_to_rank")
RNG_KEY = 17


def rating_matrix(scores: pd.DataFrame, template: str) -> pd.DataFrame:
    """Essays x evaluator models: mean valid score over replicates (NaN where none)."""
    valid = valid_scores(scores)
    valid = valid[valid["evaluation_template"] == template]
    means = valid.groupby(["parent_gen_id", "evaluation_llm_model"])["score"].mean()
    return means.unstack("evaluation_llm_model").sort_index(axis=0).sort_index(axis=1)


def _too_wide(value: float, low: float, high: float) -> bool:
    return not math.isnan(value) and (math.isnan(low) or math.isnan(high) or high - low > MAX_COEFFICIENT_WIDTH)


def evaluator_agreement(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    templates = sorted(valid_scores(scores)["evaluation_template"].dropna().unique())
    for index, template in enumerate(templates):
        matrix = rating_matrix(scores, template)
        models = list(matrix.columns)
        ratings = kalpha.Ratings.from_matrix(matrix.to_numpy(dtype=float))
        rng = np.random.default_rng([RNG_KEY, index])
        measures: tuple[tuple[str, kalpha.LevelOfMeasurement], ...] = ((ALPHA, "interval"), (ORDINAL_ALPHA, "ordinal"))
        for measure, level in measures:
            found = kalpha.estimate(ratings, level, rng)
            rows.append({"evaluation_template": template, "measure": measure, "value": found.value,
                         "ci_low": found.ci_low, "ci_high": found.ci_high, "n_essays": found.units,
                         "n_models": len(models), "n_values": found.values,
                         "too_wide_to_rank": _too_wide(found.value, found.ci_low, found.ci_high)})
        for a, b in combinations(models, 2):
            rho, n = spearman(matrix[a].to_numpy(dtype=float), matrix[b].to_numpy(dtype=float))
            low, high = spearman_interval(rho, n)
            rows.append({"evaluation_template": template, "measure": SPEARMAN, "model_a": a, "model_b": b,
                         "value": rho, "ci_low": low, "ci_high": high, "n_essays": n, "n_models": 2,
                         "n_values": 2 * n, "too_wide_to_rank": _too_wide(rho, low, high)})
    frame = pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
    for column in ("value", "ci_low", "ci_high"):
        frame[column] = frame[column].astype(float).round(4)
    return frame
