"""Do the judges agree? Agreement between evaluator models, per essay set.

An essay set is the essays scored with one evaluation template (one rubric, one scale). Each
evaluator model's score of an essay is its mean over evaluation replicates, so replicate
counts that differ between models do not weigh one model more. Rows: one Krippendorff's alpha
(interval) per set, then Spearman's rho for every pair of models, each with the number of
essays it rests on. With one evaluator model there is nothing to compare: alpha is NaN.
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from .columns import valid_scores
from .stats import krippendorff_alpha_interval, spearman

ALPHA, SPEARMAN = "krippendorff_alpha_interval", "spearman"
AGREEMENT_COLUMNS = ("evaluation_template", "measure", "model_a", "model_b", "value", "n_essays", "n_models",
                     "n_values")


def rating_matrix(scores: pd.DataFrame, template: str) -> pd.DataFrame:
    """Essays x evaluator models: mean valid score over replicates (NaN where none)."""
    valid = valid_scores(scores)
    valid = valid[valid["evaluation_template"] == template]
    means = valid.groupby(["parent_gen_id", "evaluation_llm_model"])["score"].mean()
    return means.unstack("evaluation_llm_model").sort_index(axis=0).sort_index(axis=1)


def evaluator_agreement(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    templates = sorted(valid_scores(scores)["evaluation_template"].dropna().unique())
    for template in templates:
        matrix = rating_matrix(scores, template)
        models = list(matrix.columns)
        alpha, units, values = krippendorff_alpha_interval(matrix.to_numpy(dtype=float))
        rows.append({"evaluation_template": template, "measure": ALPHA, "value": alpha, "n_essays": units,
                     "n_models": len(models), "n_values": values})
        for a, b in combinations(models, 2):
            rho, n = spearman(matrix[a].to_numpy(dtype=float), matrix[b].to_numpy(dtype=float))
            rows.append({"evaluation_template": template, "measure": SPEARMAN, "model_a": a, "model_b": b,
                         "value": rho, "n_essays": n, "n_models": 2, "n_values": 2 * n})
    frame = pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
    frame["value"] = frame["value"].astype(float).round(4)
    return frame
