"""Is template (or model) A better than B? Paired differences per evaluation template.

For one axis (draft template, draft model, essay template, essay model, judge model) two levels
are compared on the units they share: a unit is everything else held fixed. Comparing essay
templates, a unit is one draft (same combo, draft template, model and replicate) judged by one
judge model: the essay written from it under template A against the one under B. Comparing draft
templates, a unit is a combo with the essay template, essay model and judge fixed (draft and
essay replicates averaged). Comparing judges, a unit is one essay. A unit's value at a level is
its mean score there (over evaluation replicates and the replicates the unit averages), so one
unit is one pair whatever its replicate counts.

Per pair of levels: the mean difference A - B over shared units, a bootstrap interval that
resamples combos (``intervals.clustered_mean``), the number of pairs, a sign-flip p-value and
the Holm-adjusted p-value over every comparison of the evaluation template (one family: a
researcher reading the table reads all of it). ``verdict`` says what a reader may conclude.
Scores of different evaluation templates are never pooled (rubrics and scales differ).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import combinations

import numpy as np
import pandas as pd

from .columns import valid_scores
from .intervals import Interval, clustered_mean, holm, sign_flip_p

# axis -> the columns that, with the axis, fix a unit (replicates of the axis's stage and later
# are averaged within it; an earlier stage's identity is kept through its gen_id)
UNIT_KEYS: dict[str, tuple[str, ...]] = {
    "draft_template": ("combo_id", "draft_model", "generation_template", "generation_model", "evaluation_llm_model"),
    "draft_model": ("combo_id", "draft_template", "generation_template", "generation_model", "evaluation_llm_model"),
    "generation_template": ("draft_gen_id", "combo_id", "generation_model", "evaluation_llm_model"),
    "generation_model": ("draft_gen_id", "combo_id", "generation_template", "evaluation_llm_model"),
    "evaluation_llm_model": ("parent_gen_id", "combo_id"),
}
SIGNIFICANCE = 0.05
# A difference whose whole interval lies within this fraction of the scale (0.5 on 0-10) is
# "no difference": smaller than a judge's own replicate noise in practice.
EQUIVALENCE = 0.05
RNG_KEY = 11  # fixed, so a report is byte-stable for the same scores

HIGHER, NO_DIFFERENCE, TOO_WIDE, TOO_FEW, NO_SHARED = (
    "{} higher", "no difference", "too wide to rank", "too few pairs", "no shared units")
COMPARISON_COLUMNS = (
    "evaluation_template", "axis", "level_a", "level_b", "mean_a", "mean_b", "difference", "ci_low", "ci_high",
    "n_pairs", "n_clusters", "resampled", "p_value", "p_holm", "verdict",
)
MEAN_COLUMNS = ("evaluation_template", "axis", "level", "mean", "ci_low", "ci_high", "n_units", "n_clusters",
                "resampled")


def unit_means(valid: pd.DataFrame, axis: str) -> pd.DataFrame:
    """One row per (unit, level of ``axis``): the unit's mean score at that level."""
    keys = list(UNIT_KEYS[axis])
    known = valid.dropna(subset=keys + [axis])
    return known.groupby(keys + [axis], sort=True, dropna=False)["score"].mean().reset_index()


def _scale(valid: pd.DataFrame) -> float:
    top = valid["scale_max"].max()
    return float(top) if not math.isnan(top) else float(valid["score"].max() - valid["score"].min())


def verdict(a: str, b: str, interval: Interval, p_holm: float, scale: float) -> str:
    if interval.n == 0:
        return NO_SHARED
    if math.isnan(interval.low):
        return TOO_FEW
    if not math.isnan(p_holm) and p_holm < SIGNIFICANCE and (interval.low > 0 or interval.high < 0):
        return HIGHER.format(a if interval.estimate > 0 else b)
    if max(abs(interval.low), abs(interval.high)) <= EQUIVALENCE * scale:
        return NO_DIFFERENCE
    return TOO_WIDE


def _compare(units: pd.DataFrame, axis: str, a: str, b: str, rng: np.random.Generator) -> dict:
    keys = list(UNIT_KEYS[axis])
    wide = units[units[axis].isin([a, b])].pivot_table(index=keys, columns=axis, values="score", aggfunc="first")
    both = wide.dropna(subset=[a, b]) if {a, b} <= set(wide.columns) else wide.iloc[0:0]
    clusters = both.index.get_level_values("combo_id").to_numpy(dtype=object) if len(both) else np.array([])
    differences = (both[a] - both[b]).to_numpy(dtype=float) if len(both) else np.array([])
    interval = clustered_mean(differences, clusters, rng)
    return {"level_a": a, "level_b": b,
            "mean_a": float(both[a].mean()) if len(both) else math.nan,
            "mean_b": float(both[b].mean()) if len(both) else math.nan,
            "difference": interval.estimate, "ci_low": interval.low, "ci_high": interval.high,
            "n_pairs": interval.n, "n_clusters": interval.clusters, "resampled": interval.resampled,
            "p_value": sign_flip_p(differences, clusters, rng), "_interval": interval}


def _levels(valid: pd.DataFrame, axis: str) -> list[str]:
    return sorted(valid[axis].dropna().astype(str).unique())


def _varying_axes(scores: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame, str, list[str], pd.DataFrame]]:
    """(evaluation template, its valid scores, axis, levels, unit means) for every axis with two
    or more levels, per evaluation template (whose scores are never pooled with another's)."""
    valid = valid_scores(scores)
    for template in sorted(valid["evaluation_template"].dropna().unique()):
        of_template = valid[valid["evaluation_template"] == template]
        for axis in UNIT_KEYS:
            levels = _levels(of_template, axis)
            if len(levels) >= 2:
                units = unit_means(of_template, axis)
                units[axis] = units[axis].astype(str)
                yield template, of_template, axis, levels, units


def paired_comparisons(scores: pd.DataFrame) -> pd.DataFrame:
    """Every pair of levels of every axis that varies, per evaluation template; Holm over each
    template's comparisons."""
    families: dict[str, list[dict]] = {}
    scales: dict[str, float] = {}
    for index, (template, of_template, axis, levels, units) in enumerate(_varying_axes(scores)):
        rng = np.random.default_rng([RNG_KEY, index])
        scales[template] = _scale(of_template)
        families.setdefault(template, []).extend(
            {"evaluation_template": template, "axis": axis, **_compare(units, axis, a, b, rng)}
            for a, b in combinations(levels, 2))
    rows = []
    for template, family in families.items():
        for row, p in zip(family, holm([row["p_value"] for row in family])):
            interval = row.pop("_interval")
            rows.append({**row, "p_holm": p,
                         "verdict": verdict(row["level_a"], row["level_b"], interval, p, scales[template])})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def level_means(scores: pd.DataFrame) -> pd.DataFrame:
    """The mean of each level of each varying axis over its units, with a combo-clustered
    interval: what the forest plot shows beside the differences."""
    rows = []
    for index, (template, _, axis, levels, units) in enumerate(_varying_axes(scores)):
        rng = np.random.default_rng([RNG_KEY + 1, index])
        for level in levels:
            at = units[units[axis] == level]
            interval = clustered_mean(at["score"].to_numpy(dtype=float), at["combo_id"].to_numpy(dtype=object), rng)
            rows.append({"evaluation_template": template, "axis": axis, "level": level, "mean": interval.estimate,
                         "ci_low": interval.low, "ci_high": interval.high, "n_units": interval.n,
                         "n_clusters": interval.clusters, "resampled": interval.resampled})
    return pd.DataFrame(rows, columns=list(MEAN_COLUMNS))
