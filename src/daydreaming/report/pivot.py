"""The generation scores pivot: one row per essay, one column group per evaluator.

The earlier system's ``generation_scores.csv`` columns come first and mean the same
(``<model>_<template>`` is the mean over evaluation replicates, rounded to 2; ``_min``, ``_max``,
``_n``), after its index the axes it lacked (draft model, draft and essay replicate), then what
makes a mean readable: ``_sd`` and the t-based 95 % interval ``_ci_low``/``_ci_high``. Every
essay that has an evaluation row appears, even when none of its evaluations could be read
(``_n`` = 0): a missing score is visible instead of silently absent.

``evaluation_model_template_pivot`` is the earlier system's second pivot: the same rows, the
mean columns only.
"""

from __future__ import annotations

import pandas as pd

from .columns import ESSAY_INDEX, evaluator_key, valid_scores
from .stats import summarize

STABILITY = ("min", "max", "n", "sd", "ci_low", "ci_high")
SUM_COLUMN = "allowlisted_template_score_sum"
DIGITS = 2


def evaluator_keys(scores: pd.DataFrame) -> list[str]:
    """Every evaluator (model x template) of the cohort, also those with no valid score."""
    named = scores.dropna(subset=["evaluation_llm_model", "evaluation_template"])
    return sorted({evaluator_key(m, t) for m, t in zip(named["evaluation_llm_model"], named["evaluation_template"])})


def essays(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluated essay with its lineage and text path, sorted."""
    rows = scores.dropna(subset=["parent_gen_id"]).drop_duplicates("parent_gen_id")
    rows = rows[list(ESSAY_INDEX) + ["generation_response_path"]]
    return rows.sort_values(list(ESSAY_INDEX), na_position="last").reset_index(drop=True)


def _valid_with_keys(scores: pd.DataFrame) -> pd.DataFrame:
    valid = valid_scores(scores)
    valid["key"] = [evaluator_key(m, t) for m, t in zip(valid["evaluation_llm_model"], valid["evaluation_template"])]
    return valid


def generation_scores_pivot(scores: pd.DataFrame) -> pd.DataFrame:
    valid = _valid_with_keys(scores)
    groups = {key: group["score"].tolist() for key, group in valid.groupby(["parent_gen_id", "key"])}
    keys = evaluator_keys(scores)
    table = essays(scores)
    means: dict[str, list] = {key: [] for key in keys}
    stability: dict[str, list] = {f"{key}_{s}": [] for key in keys for s in STABILITY}
    for essay in table["parent_gen_id"]:
        for key in keys:
            summary = summarize(groups.get((essay, key), []))
            means[key].append(summary.mean)
            for stat in STABILITY:
                stability[f"{key}_{stat}"].append(getattr(summary, stat))
    columns = {column: (pd.Series(values, dtype=float).round(DIGITS) if not column.endswith("_n") else
                        pd.Series(values, dtype=int)) for column, values in {**means, **stability}.items()}
    pivot = pd.concat([table[list(ESSAY_INDEX)], pd.DataFrame(columns, index=table.index)], axis=1)
    pivot[SUM_COLUMN] = pivot[keys].sum(axis=1, skipna=True).round(DIGITS) if keys else 0.0
    pivot["generation_response_path"] = table["generation_response_path"]
    return pivot


def evaluation_model_template_pivot(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per essay, ``<model>_<template>`` = the mean of every valid score (rounded to 2)."""
    valid = _valid_with_keys(scores)
    table = essays(scores)[list(ESSAY_INDEX)]
    if valid.empty:
        return table
    means = valid.groupby(["parent_gen_id", "key"])["score"].mean().unstack("key").round(DIGITS)
    means = means.reindex(columns=evaluator_keys(scores))
    return table.merge(means, left_on="parent_gen_id", right_index=True, how="left")
