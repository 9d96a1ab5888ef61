"""Paired comparisons on synthetic cohorts with known answers: a planted essay-template effect is
found with the right sign, no effect gives intervals that cover 0 about 95 % of the time, and
the table's numbers equal an independent pandas computation (pairs, mean difference, Holm)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from daydreaming.report.columns import SCORE_COLUMNS
from daydreaming.report.intervals import BY_CLUSTER, BY_UNIT, MIN_CLUSTERS, clustered_mean
from daydreaming.report.paired import TOO_WIDE, level_means, paired_comparisons


def synthetic_scores(rng: np.random.Generator, combos: int = 30, effect: float = 0.0, judges=("j1", "j2"),
                     templates=("plain", "rich"), replicates: int = 2, combo_sd: float = 1.0) -> pd.DataFrame:
    """Drafts (one per combo) turned into an essay per essay template, each scored by each judge
    on one evaluation template; ``rich`` essays score ``effect`` higher. Combos shift every score
    of their essays together (combo_sd), judges have their own offset, replicates add noise."""
    rows = []
    for c in range(combos):
        combo_shift = rng.normal(0, combo_sd)
        for t, template in enumerate(templates):
            essay = f"e_{c}_{template}"
            for j, judge in enumerate(judges):
                for r in range(1, replicates + 1):
                    score = 5 + combo_shift + effect * t + 0.3 * j + rng.normal(0, 1)
                    rows.append({"gen_id": f"v_{c}_{template}_{judge}_{r}", "parent_gen_id": essay,
                                 "evaluation_template": "rubric", "evaluation_llm_model": judge, "score": score,
                                 "combo_id": f"combo_{c}", "draft_template": "sketch", "draft_model": "w",
                                 "generation_template": template, "generation_model": "m",
                                 "draft_gen_id": f"d_{c}", "draft_replicate": 1, "essay_replicate": 1,
                                 "evaluation_replicate": r, "scale_max": 10.0})
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _row(table: pd.DataFrame, axis: str) -> pd.Series:
    found = table[table["axis"] == axis]
    assert len(found) == 1
    return found.iloc[0]


def test_a_planted_template_effect_is_found_with_the_right_sign():
    scores = synthetic_scores(np.random.default_rng(1), effect=1.0)
    row = _row(paired_comparisons(scores), "generation_template")
    assert (row["level_a"], row["level_b"]) == ("plain", "rich")
    assert row["difference"] == pytest.approx(-1.0, abs=0.35)  # plain - rich
    assert row["ci_low"] < row["difference"] < row["ci_high"] < 0
    assert row["p_holm"] < 0.05 and row["verdict"] == "rich higher"
    assert (row["n_pairs"], row["n_clusters"], row["resampled"]) == (30 * 2, 30, BY_CLUSTER)


def test_without_an_effect_the_interval_covers_zero_about_95_percent_of_the_time():
    """The table's interval is ``clustered_mean`` of the unit differences; run it directly on
    cohorts drawn without effect from fixed random generators (through ``paired_comparisons``
    each run would also pay for statsmodels' Holm, which calls gc.collect())."""
    repetitions, covered = 300, 0
    for repetition in range(repetitions):
        rng = np.random.default_rng(1000 + repetition)
        scores = synthetic_scores(rng, combos=20, judges=("j1", "j2"), replicates=1)
        units = scores.pivot_table(index=["draft_gen_id", "evaluation_llm_model"], columns="generation_template",
                                   values="score")
        combos = ["combo_" + draft[2:] for draft in units.index.get_level_values(0)]
        interval = clustered_mean((units["plain"] - units["rich"]).to_numpy(), combos, rng)
        assert interval.resampled == BY_CLUSTER
        covered += interval.low <= 0 <= interval.high
    # 95 % nominal; BCa on 20 clusters is a little liberal. 300 runs: 3 sd is about 0.04.
    assert 0.89 <= covered / repetitions <= 0.99


def test_numbers_equal_an_independent_pairing():
    rng = np.random.default_rng(5)
    scores = synthetic_scores(rng, combos=12, effect=0.5, judges=("j1", "j2", "j3"))
    scores = scores.drop(index=rng.choice(len(scores), 25, replace=False))  # some cells lose a replicate or vanish
    table = paired_comparisons(scores)
    # templates: a unit is (draft, judge); its value the mean over replicates
    cells = scores.groupby(["draft_gen_id", "evaluation_llm_model", "generation_template"])["score"].mean().unstack()
    both = cells.dropna()
    row = _row(table, "generation_template")
    assert row["n_pairs"] == len(both)
    assert row["difference"] == pytest.approx((both["plain"] - both["rich"]).mean(), abs=1e-12)
    assert row["mean_a"] == pytest.approx(both["plain"].mean()) and row["mean_b"] == pytest.approx(both["rich"].mean())
    # judges: a unit is one essay
    judges = table[table["axis"] == "evaluation_llm_model"]
    essays = scores.groupby(["parent_gen_id", "evaluation_llm_model"])["score"].mean().unstack()
    assert [(a, b) for a, b in zip(judges["level_a"], judges["level_b"])] == [("j1", "j2"), ("j1", "j3"), ("j2", "j3")]
    for _, pair in judges.iterrows():
        shared = essays[[pair["level_a"], pair["level_b"]]].dropna()
        assert pair["n_pairs"] == len(shared)
        assert pair["difference"] == pytest.approx((shared[pair["level_a"]] - shared[pair["level_b"]]).mean())
    # Holm over the template's four comparisons, by hand
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        holm[i] = running
    assert table["p_holm"].to_numpy() == pytest.approx(holm)


def test_few_combos_resample_units_and_say_so():
    scores = synthetic_scores(np.random.default_rng(2), combos=MIN_CLUSTERS - 1, judges=("j1", "j2"))
    row = _row(paired_comparisons(scores), "generation_template")
    assert row["resampled"] == BY_UNIT and row["n_clusters"] == row["n_pairs"] == (MIN_CLUSTERS - 1) * 2
    assert row["ci_low"] < row["ci_high"]


def test_levels_without_shared_units_and_single_pairs_are_reported_not_dropped():
    scores = synthetic_scores(np.random.default_rng(3), combos=1, judges=("j1",), replicates=1)
    row = _row(paired_comparisons(scores), "generation_template")
    assert row["n_pairs"] == 1 and math.isnan(row["ci_low"]) and row["verdict"] == "too few pairs"
    apart = scores.copy()
    apart.loc[apart["generation_template"] == "rich", "draft_gen_id"] = "d_other"  # no draft has both templates
    row = _row(paired_comparisons(apart), "generation_template")
    assert row["n_pairs"] == 0 and row["verdict"] == "no shared units"


def test_a_wide_interval_around_zero_is_too_wide_to_rank():
    scores = synthetic_scores(np.random.default_rng(4), combos=6, judges=("j1",), replicates=1, combo_sd=0.0)
    scores["score"] = scores["score"] * 3  # noisy judge
    row = _row(paired_comparisons(scores), "generation_template")
    assert row["ci_low"] < 0 < row["ci_high"] and row["verdict"] == TOO_WIDE


def test_level_means_with_intervals_for_the_forest_plot():
    scores = synthetic_scores(np.random.default_rng(6), effect=2.0)
    means = level_means(scores)
    of_template = means[means["axis"] == "generation_template"].set_index("level")
    for level in ("plain", "rich"):
        units = scores[scores["generation_template"] == level].groupby(
            ["draft_gen_id", "evaluation_llm_model"])["score"].mean()
        assert of_template.loc[level, "mean"] == pytest.approx(units.mean())
        assert of_template.loc[level, "n_units"] == len(units)
        assert of_template.loc[level, "ci_low"] < units.mean() < of_template.loc[level, "ci_high"]
    assert of_template.loc["rich", "ci_low"] > of_template.loc["plain", "ci_high"]
