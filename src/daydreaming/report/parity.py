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


def _spread(valid: pd.DataFrame, keys: list[str], count_name: str, distinct: str, distinct_name: str,
            min_count: int = 1) -> pd.DataFrame:
    """Per group of ``keys``: count, distinct ``distinct``, mean, sd, min, max, range, CV and
    stability class (one groupby, not one pandas call per group: 5,000 groups took seconds)."""
    groups = valid.groupby(keys, dropna=False, sort=True).agg(**{
        count_name: ("score", "size"), distinct_name: (distinct, "nunique"), "mean_score": ("score", "mean"),
        "std_dev": ("score", "std"), "min_score": ("score", "min"), "max_score": ("score", "max")}).reset_index()
    groups = groups[groups[count_name] >= min_count].copy()
    groups["score_range"] = groups["max_score"] - groups["min_score"]
    groups["coefficient_of_variation"] = (groups["std_dev"] / groups["mean_score"].where(groups["mean_score"] != 0)
                                          ).round(4)
    groups["stability_classification"] = [stability_class(int(c), float(r), float(v)) for c, r, v in zip(
        groups[count_name], groups["score_range"], groups["coefficient_of_variation"])]
    groups["mean_score"] = groups["mean_score"].round(2)
    groups["std_dev"] = groups["std_dev"].round(2)
    return groups


def variance_analysis(scores: pd.DataFrame) -> pd.DataFrame:
    valid = valid_scores(scores)
    group = list(ESSAY_GROUP)
    overall = _spread(valid, group, "total_evaluations", "evaluation_template", "num_templates")
    models = valid.groupby(group, dropna=False, sort=True)["evaluation_llm_model"].nunique()
    overall["num_models"] = models.to_numpy() if len(overall) else []
    parts = [overall.assign(analysis_type="overall_variance"),
             _spread(valid, group + ["evaluation_llm_model"], "template_evaluations", "evaluation_template",
                     "templates_used", min_count=2).assign(analysis_type="template_variance"),
             _spread(valid, group + ["evaluation_template"], "model_evaluations", "evaluation_llm_model",
                     "models_used", min_count=2).assign(analysis_type="model_variance")]
    parts = [part for part in parts if len(part)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    frame = frame.reindex(columns=list(VARIANCE_COLUMNS))
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
