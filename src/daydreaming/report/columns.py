"""Column names of the score tables, the cohort's design axes, and which score rows count (pure).

``EARLIER_COLUMNS`` are the earlier system's ``aggregated_scores.csv`` columns in its order, so its
downstream scripts read our file unchanged; our additions come after them. In those columns
``generation_template``/``generation_model`` are the *essay's* template and model (the model
falls back to the draft's for a copied essay); the draft's model and every replicate number
are additions, so that every axis a cohort spec can vary is a column of every table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EARLIER_COLUMNS = (
    "gen_id", "parent_gen_id", "evaluation_template", "evaluation_llm_model", "score", "error",
    "evaluation_response_path", "combo_id", "draft_template", "generation_template", "generation_model",
    "origin_cohort_id", "generation_response_path", "input_mode", "copied_from",
)
# draft_model/draft_gen_id: the essay's parent draft; *_replicate: each stage's replicate number;
# essay_chars: the length of the essay text the judge read (for the length-bias diagnostic);
# scale_max: top of the evaluation template's scale (parsers.scale); error_code/error_reason:
# the machine-readable form of ``error`` (a DDError code and ctx reason).
EXTRA_COLUMNS = ("draft_model", "draft_replicate", "essay_replicate", "evaluation_replicate", "draft_gen_id",
                 "essay_chars", "scale_max", "error_code", "error_reason")
SCORE_COLUMNS = EARLIER_COLUMNS + EXTRA_COLUMNS
NUMERIC_COLUMNS = ("score", "scale_max")
INTEGER_COLUMNS = ("draft_replicate", "essay_replicate", "evaluation_replicate", "essay_chars")

# The axes a cohort spec varies, in pipeline order. An essay is fixed by the first five (and its
# replicates); a score adds the judge's two.
ESSAY_AXES = ("combo_id", "draft_template", "draft_model", "generation_template", "generation_model")
JUDGE_AXES = ("evaluation_template", "evaluation_llm_model")
REPLICATE_AXES = ("draft_replicate", "essay_replicate", "evaluation_replicate")
AXIS_LABELS = {
    "combo_id": "combo", "draft_template": "draft template", "draft_model": "draft model",
    "generation_template": "essay template", "generation_model": "essay model",
    "evaluation_template": "evaluation template", "evaluation_llm_model": "judge model",
    "draft_replicate": "draft replicate", "essay_replicate": "essay replicate",
    "evaluation_replicate": "evaluation replicate",
}

# One row per essay in the pivot: the earlier system's index, then the axes it did not have.
GENERATION_INDEX = ("combo_id", "draft_template", "generation_template", "generation_model", "parent_gen_id")
ESSAY_DIMENSIONS = ("draft_model", "draft_replicate", "essay_replicate")
ESSAY_INDEX = GENERATION_INDEX + ESSAY_DIMENSIONS


def scores_frame(rows: list[dict]) -> pd.DataFrame:
    """Score rows as a DataFrame with every column, in order, numbers typed."""
    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return typed(frame)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores as floats, counts as nullable integers and missing text as NaN (as a CSV reads
    back), whatever pandas guessed."""
    for column in frame.columns.difference(list(NUMERIC_COLUMNS + INTEGER_COLUMNS)):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), np.nan)
    for column in NUMERIC_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in INTEGER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def read_dtypes() -> dict[str, str]:
    """How ``aggregated_scores.csv`` is read back: only numbers are numbers (an id such as
    ``NA`` stays text)."""
    return {c: "float64" if c in NUMERIC_COLUMNS else "Int64" if c in INTEGER_COLUMNS else "object"
            for c in SCORE_COLUMNS}


def valid_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Rows that carry a score: no error and a number (what the earlier system counted)."""
    return scores[scores["error"].isna() & scores["score"].notna()].copy()


def evaluator_key(model: str, template: str) -> str:
    """The pivot's column for one evaluator: ``<model>_<template>``, as the earlier system named it."""
    return f"{model}_{template}"
