"""``final_results.csv``: score statistics by every axis of the cohort and some pairs of them.

The earlier system's analysis types and columns first, so existing notebooks keep working, then
the axes it had no analysis for (evaluation template, draft template and model, each replicate
number) and their key columns after its own: templates use different rubrics, a draft model
can matter as much as the essay's, and a replicate number that moves the mean means the
replicates are not exchangeable. One deliberate fix: a *perfect* score is the top of the row's
own template scale (``scale_max``), not a hard-coded 10.0, which no 0-9 template can reach; rows
whose scale is unknown fall back to 10.0.
"""

from __future__ import annotations

import pandas as pd

from .columns import valid_scores

ANALYSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("by_generation_template", ("generation_template",)),
    ("by_generation_model", ("generation_model",)),
    ("by_evaluation_model", ("evaluation_llm_model",)),
    ("by_evaluation_template", ("evaluation_template",)),
    ("by_combo_id", ("combo_id",)),
    ("by_template_and_generation_model", ("generation_template", "generation_model")),
    ("by_generation_vs_evaluation_model", ("generation_model", "evaluation_llm_model")),
    ("by_draft_template", ("draft_template",)),
    ("by_draft_model", ("draft_model",)),
    ("by_draft_replicate", ("draft_replicate",)),
    ("by_essay_replicate", ("essay_replicate",)),
    ("by_evaluation_replicate", ("evaluation_replicate",)),
    ("overall_statistics", ()),
)
KEY_COLUMNS = ("generation_template", "generation_model", "evaluation_llm_model", "combo_id")
EXTRA_KEY_COLUMNS = ("evaluation_template", "draft_template", "draft_model", "draft_replicate", "essay_replicate",
                     "evaluation_replicate")
STAT_COLUMNS = ("count", "average", "std_dev", "min_score", "max_score", "perfect_scores", "perfect_score_pct",
                "high_scores_8plus", "high_score_pct", "low_scores_3minus")
FINAL_RESULTS_COLUMNS = ("analysis_type",) + KEY_COLUMNS + STAT_COLUMNS + EXTRA_KEY_COLUMNS
HIGH, LOW, LEGACY_PERFECT = 8.0, 3.0, 10.0


def _stats(group: pd.DataFrame) -> dict:
    scores = group["score"]
    count = int(scores.size)
    top = group["scale_max"].fillna(LEGACY_PERFECT)
    perfect = int((scores == top).sum())
    high = int((scores >= HIGH).sum())
    return {
        "count": count,
        "average": round(float(scores.mean()), 2),
        "std_dev": round(float(scores.std(ddof=1)), 2) if count > 1 else float("nan"),
        "min_score": round(float(scores.min()), 2),
        "max_score": round(float(scores.max()), 2),
        "perfect_scores": perfect,
        "perfect_score_pct": round(100.0 * perfect / count, 1),
        "high_scores_8plus": high,
        "high_score_pct": round(100.0 * high / count, 1),
        "low_scores_3minus": int((scores <= LOW).sum()),
    }


def final_results(scores: pd.DataFrame) -> pd.DataFrame:
    valid = valid_scores(scores)
    rows = []
    for analysis, keys in ANALYSES:
        if valid.empty:
            break
        groups = valid.groupby(list(keys), dropna=False, sort=True) if keys else [((), valid)]
        for values, group in groups:
            values = values if isinstance(values, tuple) else (values,)
            rows.append({"analysis_type": analysis, **dict(zip(keys, values)), **_stats(group)})
    frame = pd.DataFrame(rows, columns=list(FINAL_RESULTS_COLUMNS))
    for column in ("draft_replicate", "essay_replicate", "evaluation_replicate"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame
