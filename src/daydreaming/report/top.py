"""The best essays per evaluation template, ranked as the earlier system ranks them.

Per template: each evaluator model's best score of an essay (max over replicates, the earlier system's
rule), then ``avg_score`` = the mean over models, ``max_score``, ``models_covered``; ranked by
``avg_score`` (highest first), ties by ``parent_gen_id``. Kept with the essay's lineage and text
path so the report can show what won.
"""

from __future__ import annotations

import pandas as pd

from .columns import GENERATION_INDEX, valid_scores
from .pivot import essays

TOP_N = 10
SCORE_PREFIX = "score__"
TOP_COLUMNS = ("evaluation_template", "rank", "parent_gen_id", "avg_score", "max_score", "models_covered")


def rank_essays(scores: pd.DataFrame, template: str) -> pd.DataFrame:
    """All essays with a valid score for ``template``, best first (``rank`` from 1)."""
    valid = valid_scores(scores)
    valid = valid[valid["evaluation_template"] == template]
    best = valid.groupby(["parent_gen_id", "evaluation_llm_model"])["score"].max().unstack("evaluation_llm_model")
    best = best.sort_index(axis=1)
    ranked = pd.DataFrame({
        "parent_gen_id": best.index,
        "avg_score": best.mean(axis=1).round(2).to_numpy(),
        "max_score": best.max(axis=1).to_numpy(),
        "models_covered": best.notna().sum(axis=1).to_numpy(),
    })
    for model in best.columns:
        ranked[f"{SCORE_PREFIX}{model}"] = best[model].to_numpy()
    ranked = ranked.sort_values(["avg_score", "parent_gen_id"], ascending=[False, True], kind="mergesort")
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    ranked.insert(0, "evaluation_template", template)
    return ranked.reset_index(drop=True)


def top_essays(scores: pd.DataFrame, top_n: int = TOP_N) -> pd.DataFrame:
    """The ``top_n`` best essays of every evaluation template, with their lineage."""
    templates = sorted(valid_scores(scores)["evaluation_template"].dropna().unique())
    ranked = [rank_essays(scores, t).head(top_n) for t in templates]
    lineage = [c for c in GENERATION_INDEX if c != "parent_gen_id"] + ["generation_response_path"]
    if not ranked:
        return pd.DataFrame(columns=list(TOP_COLUMNS) + lineage)
    table = pd.concat(ranked, ignore_index=True)
    model_columns = sorted(c for c in table.columns if c.startswith(SCORE_PREFIX))
    table = table.merge(essays(scores), on="parent_gen_id", how="left")
    return table[list(TOP_COLUMNS) + lineage + model_columns]
