"""Can this judge be trusted? Diagnostics per evaluator (judge model x evaluation template).

* Length bias: Spearman's rho of the judge's score of an essay against the log of the essay's
  length (rank-based, so the log changes nothing but the plot; it is what the question is
  usually asked about). A judge that rewards length shows rho well above 0.
* Self-preference: the judge's mean score of essays its own model wrote against the essays of
  other models, with a Welch interval of the difference. (Other judges scoring the same essays
  tell whether the gap is the essays' or the judge's: compare the rows.)
* Self-consistency: Krippendorff's alpha across the judge's evaluation replicates (each
  replicate a rater), interval and ordinal, with a bootstrap interval: a judge that disagrees
  with itself cannot rank essays, whatever its mean.
* ``too_wide_to_rank`` names the measures whose interval is missing (too few essays) or wider
  than what ranking needs: 0.3 for a correlation or alpha (the gap between the conventional
  "unreliable" 0.667 and "reliable" 0.8 plus a margin), a fifth of the scale for a score gap.

Every measure uses the essay-level mean over replicates (except the replicate alpha, which
needs the replicates), so a judge with more replicates does not count its essays twice.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import alpha as kalpha
from .columns import valid_scores
from .stats import CONFIDENCE, spearman, spearman_interval

MAX_COEFFICIENT_WIDTH = 0.3
MAX_SCALE_FRACTION = 0.2
RNG_KEY = 13
DIAGNOSTIC_COLUMNS = (
    "evaluation_template", "evaluation_llm_model", "n_essays", "mean_score",
    "length_rho", "length_rho_ci_low", "length_rho_ci_high", "length_n",
    "self_mean", "other_mean", "self_minus_other", "self_minus_other_ci_low", "self_minus_other_ci_high",
    "n_self", "n_other",
    "replicate_alpha_interval", "replicate_alpha_interval_ci_low", "replicate_alpha_interval_ci_high",
    "replicate_alpha_ordinal", "replicate_alpha_ordinal_ci_low", "replicate_alpha_ordinal_ci_high",
    "replicate_units", "too_wide_to_rank",
)


def essay_cells(valid: pd.DataFrame) -> pd.DataFrame:
    """One row per (template, judge, essay): mean score over replicates, essay length and model."""
    keys = ["evaluation_template", "evaluation_llm_model", "parent_gen_id"]
    return valid.groupby(keys, sort=True).agg(score=("score", "mean"), essay_chars=("essay_chars", "first"),
                                              generation_model=("generation_model", "first")).reset_index()


def length_bias(cells: pd.DataFrame) -> dict:
    chars = pd.to_numeric(cells["essay_chars"], errors="coerce").to_numpy(dtype=float)
    usable = chars > 0
    rho, n = spearman(cells["score"].to_numpy(dtype=float)[usable], np.log(chars[usable]))
    low, high = spearman_interval(rho, n)
    return {"length_rho": rho, "length_rho_ci_low": low, "length_rho_ci_high": high, "length_n": n}


def self_preference(cells: pd.DataFrame, judge: str) -> dict:
    own = cells["generation_model"] == judge
    mine, others = cells.loc[own, "score"].to_numpy(dtype=float), cells.loc[~own, "score"].to_numpy(dtype=float)
    low = high = math.nan
    if len(mine) >= 2 and len(others) >= 2 and (np.ptp(mine) > 0 or np.ptp(others) > 0):
        ci = sps.ttest_ind(mine, others, equal_var=False).confidence_interval(CONFIDENCE)
        low, high = float(ci.low), float(ci.high)
    self_mean = float(mine.mean()) if len(mine) else math.nan
    other_mean = float(others.mean()) if len(others) else math.nan
    return {"self_mean": self_mean, "other_mean": other_mean, "self_minus_other": self_mean - other_mean,
            "self_minus_other_ci_low": low, "self_minus_other_ci_high": high,
            "n_self": len(mine), "n_other": len(others)}


def replicate_agreement(rows: pd.DataFrame, rng: np.random.Generator) -> dict:
    """Alpha across the judge's evaluation replicates (raters) over essays (units)."""
    matrix = rows.pivot_table(index="parent_gen_id", columns="evaluation_replicate", values="score", aggfunc="mean")
    ratings = kalpha.Ratings.from_matrix(matrix.to_numpy(dtype=float))
    out: dict = {"replicate_units": ratings.units}
    for level in kalpha.LEVELS:
        found = kalpha.estimate(ratings, level, rng)
        name = f"replicate_alpha_{level}"
        out.update({name: found.value, f"{name}_ci_low": found.ci_low, f"{name}_ci_high": found.ci_high})
    return out


def too_wide(row: dict, scale: float) -> str:
    """The measures of ``row`` whose interval is missing or too wide to rank on."""
    checks = [("length_rho", MAX_COEFFICIENT_WIDTH), ("self_minus_other", MAX_SCALE_FRACTION * scale),
              ("replicate_alpha_interval", MAX_COEFFICIENT_WIDTH), ("replicate_alpha_ordinal", MAX_COEFFICIENT_WIDTH)]
    wide = []
    for name, limit in checks:
        value, low, high = row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"]
        if isinstance(value, float) and math.isnan(value):
            continue  # nothing to rank on (e.g. no essay of the judge's own model)
        if math.isnan(low) or math.isnan(high) or high - low > limit:
            wide.append(name)
    return "; ".join(wide)


def judge_diagnostics(scores: pd.DataFrame) -> pd.DataFrame:
    valid = valid_scores(scores)
    cells = essay_cells(valid)
    rows: list[dict[str, Any]] = []
    for (template, judge), group in cells.groupby(["evaluation_template", "evaluation_llm_model"], sort=True):
        of_judge = valid[(valid["evaluation_template"] == template) & (valid["evaluation_llm_model"] == judge)]
        rng = np.random.default_rng([RNG_KEY, len(rows)])
        row = {"evaluation_template": template, "evaluation_llm_model": judge, "n_essays": len(group),
               "mean_score": float(group["score"].mean()), **length_bias(group), **self_preference(group, judge),
               **replicate_agreement(of_judge, rng)}
        top = of_judge["scale_max"].max()
        row["too_wide_to_rank"] = too_wide(row, float(top) if not math.isnan(top) else 10.0)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(DIAGNOSTIC_COLUMNS))
