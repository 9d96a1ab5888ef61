"""Column names of the score tables, and which score rows count (pure; no I/O).

``SEED_COLUMNS`` are the seed system's ``aggregated_scores.csv`` columns in its order (inventory
§8.1), so its downstream scripts read our file unchanged; our additions come after them.
"""

from __future__ import annotations

import pandas as pd

SEED_COLUMNS = (
    "gen_id", "parent_gen_id", "evaluation_template", "evaluation_llm_model", "score", "error",
    "evaluation_response_path", "combo_id", "draft_template", "generation_template", "generation_model",
    "origin_cohort_id", "generation_response_path", "input_mode", "copied_from",
)
# replicate: the evaluation's; scale_max: top of its template's scale (parsers.scale);
# error_code/error_reason: the machine-readable form of ``error`` (a DDError code and ctx reason).
EXTRA_COLUMNS = ("replicate", "scale_max", "error_code", "error_reason")
SCORE_COLUMNS = SEED_COLUMNS + EXTRA_COLUMNS
NUMERIC_COLUMNS = ("score", "scale_max")
INTEGER_COLUMNS = ("replicate",)

# One row per essay in the pivot (the seed's GENERATION_INDEX_COLUMNS).
GENERATION_INDEX = ("combo_id", "draft_template", "generation_template", "generation_model", "parent_gen_id")


def scores_frame(rows: list[dict]) -> pd.DataFrame:
    """Score rows as a DataFrame with every column, in order, numbers as floats."""
    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    for column in NUMERIC_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in INTEGER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def valid_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Rows that carry a score: no error and a number (the seed's ``filter_valid_scores``)."""
    return scores[scores["error"].isna() & scores["score"].notna()].copy()


def evaluator_key(model: str, template: str) -> str:
    """The pivot's column for one evaluator: ``<model>_<template>`` as in the seed."""
    return f"{model}_{template}"
