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
from .stats import t_half_width

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


def _stability(valid: pd.DataFrame) -> pd.DataFrame:
    """Per (essay, evaluator key): mean, min, max, n, sd and the t-based interval (vectorised:
    one row per essay of a 20,000-evaluation cohort, one call per statistic)."""
    stats = valid.groupby(["parent_gen_id", "key"])["score"].agg(["mean", "min", "max", "count", "std"])
    half = t_half_width(stats["std"].to_numpy(), stats["count"].to_numpy())
    return pd.DataFrame({"": stats["mean"], "min": stats["min"], "max": stats["max"], "n": stats["count"],
                         "sd": stats["std"], "ci_low": stats["mean"] - half, "ci_high": stats["mean"] + half})


def generation_scores_pivot(scores: pd.DataFrame) -> pd.DataFrame:
    keys = evaluator_keys(scores)
    table = essays(scores)
    per_key = _stability(_valid_with_keys(scores))
    wide = per_key.unstack("key") if len(per_key) else per_key
    columns: dict[str, pd.Series] = {}
    for stat in ("",) + STABILITY:
        for key in keys:
            column = f"{key}_{stat}" if stat else key
            values = (wide[(stat, key)] if (stat, key) in wide.columns else pd.Series(dtype=float))
            values = values.reindex(table["parent_gen_id"]).to_numpy()
            columns[column] = (pd.Series(values, index=table.index).fillna(0).astype(int) if stat == "n"
                               else pd.Series(values, index=table.index, dtype=float).round(DIGITS))
    order = keys + [f"{key}_{stat}" for key in keys for stat in STABILITY]
    pivot = pd.concat([table[list(ESSAY_INDEX)], pd.DataFrame({c: columns[c] for c in order}, index=table.index)],
                      axis=1)
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
