"""Two tables of the earlier system's reports that researchers' notebooks still read.

* ``variance_analysis.csv``: how much an essay's scores spread, over everything
  (``overall_variance``), across evaluation templates for one judge (``template_variance``) and
  across judges for one template (``model_variance``), with a stability class from the score
  range. An essay group is the earlier system's (combo, essay template, essay model) plus the
  draft template and model (otherwise essays of different drafts would be pooled silently).
  Groups with fewer than two scores are left out of the two per-axis analyses.
* ``perfect_score_paths.csv``: every score at the top of its template's scale, with the paths
  to the essay and the judge's answer. The top is the template's own (``scale_max``, 10.0 when
  unknown), not a fixed 10.0 that a 0-9 template never reaches.
"""

from __future__ import annotations

import math

import pandas as pd

from .columns import valid_scores
from .summary import LEGACY_PERFECT

ESSAY_GROUP = ("combo_id", "draft_template", "draft_model", "generation_template", "generation_model")
VARIANCE_COLUMNS = (
    "analysis_type", *ESSAY_GROUP, "evaluation_llm_model", "evaluation_template", "total_evaluations",
    "template_evaluations", "model_evaluations", "num_templates", "num_models", "templates_used", "models_used",
    "mean_score", "std_dev", "min_score", "max_score", "score_range", "coefficient_of_variation",
    "stability_classification",
)
# score range -> class (first bound that holds); fewer than 2 scores or no CV: insufficient_data
STABILITY = ((1.0, "high_agreement"), (2.0, "moderate_agreement"), (3.0, "low_agreement"))
PERFECT_COLUMNS = (
    "combo_id", "generation_template", "generation_model", "evaluation_llm_model", "score",
    "generation_response_path", "evaluation_response_path", "notes",
    "draft_template", "draft_model", "evaluation_template", "parent_gen_id", "gen_id",
)


def stability_class(count: int, score_range: float, cv: float) -> str:
    if count < 2 or math.isnan(cv):
        return "insufficient_data"
    return next((name for bound, name in STABILITY if score_range <= bound), "poor_agreement")


def _spread(scores: pd.Series) -> dict:
    count = int(scores.size)
    mean = float(scores.mean())
    sd = float(scores.std(ddof=1)) if count > 1 else math.nan
    low, high = float(scores.min()), float(scores.max())
    cv = sd / mean if mean and not math.isnan(sd) else math.nan
    return {"mean_score": round(mean, 2), "std_dev": round(sd, 2), "min_score": low, "max_score": high,
            "score_range": high - low, "coefficient_of_variation": round(cv, 4),
            "stability_classification": stability_class(count, high - low, cv)}


def variance_analysis(scores: pd.DataFrame) -> pd.DataFrame:
    valid = valid_scores(scores)
    rows = []
    group = list(ESSAY_GROUP)
    for keys, of_group in valid.groupby(group, dropna=False, sort=True):
        rows.append({"analysis_type": "overall_variance", **dict(zip(group, keys)),
                     "total_evaluations": len(of_group), "num_templates": of_group["evaluation_template"].nunique(),
                     "num_models": of_group["evaluation_llm_model"].nunique(), **_spread(of_group["score"])})
    for keys, of_group in valid.groupby(group + ["evaluation_llm_model"], dropna=False, sort=True):
        if len(of_group) >= 2:
            rows.append({"analysis_type": "template_variance", **dict(zip(group + ["evaluation_llm_model"], keys)),
                         "template_evaluations": len(of_group),
                         "templates_used": of_group["evaluation_template"].nunique(), **_spread(of_group["score"])})
    for keys, of_group in valid.groupby(group + ["evaluation_template"], dropna=False, sort=True):
        if len(of_group) >= 2:
            rows.append({"analysis_type": "model_variance", **dict(zip(group + ["evaluation_template"], keys)),
                         "model_evaluations": len(of_group),
                         "models_used": of_group["evaluation_llm_model"].nunique(), **_spread(of_group["score"])})
    frame = pd.DataFrame(rows, columns=list(VARIANCE_COLUMNS))
    for column in ("total_evaluations", "template_evaluations", "model_evaluations", "num_templates", "num_models",
                   "templates_used", "models_used"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def perfect_score_paths(scores: pd.DataFrame) -> pd.DataFrame:
    valid = valid_scores(scores)
    perfect = valid[valid["score"] == valid["scale_max"].fillna(LEGACY_PERFECT)].copy()
    perfect["notes"] = [f"Perfect score from {g} generation + {e} evaluation"
                        for g, e in zip(perfect["generation_model"], perfect["evaluation_llm_model"])]
    return perfect[list(PERFECT_COLUMNS)].reset_index(drop=True)
