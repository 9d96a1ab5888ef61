"""Judge diagnostics on synthetic judges with planted behaviour: a judge that rewards length, a
judge that prefers its own model's essays, a judge that agrees with itself and one that does not;
each number against an independent computation (pandas' rank correlation, a Welch interval from
the formula, the loop-written coincidence-matrix alpha)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from report_fixtures import coincidence_alpha

from daydreaming.report.columns import SCORE_COLUMNS
from daydreaming.report.judges import judge_diagnostics


def judged(rng: np.random.Generator, essays: int = 200, replicates: int = 2, length_weight: float = 0.0,
           self_bonus: float = 0.0, replicate_noise: float = 0.3) -> pd.DataFrame:
    """Judges j1 (rewards length by ``length_weight`` per log-char, adds ``self_bonus`` to essays
    of model j1) and j2 (neither) score essays written by models j1 and m2; a replicate adds
    ``replicate_noise``; scores are rounded to whole points on 0-10, as judges give them."""
    rows = []
    for e in range(essays):
        quality = rng.normal(5, 1.5)
        chars = int(rng.integers(300, 6000))
        model = "j1" if e % 2 else "m2"
        for judge in ("j1", "j2"):
            for r in range(1, replicates + 1):
                score = quality + rng.normal(0, replicate_noise)
                if judge == "j1":
                    score += length_weight * (math.log(chars) - 7.5) + (self_bonus if model == "j1" else 0.0)
                rows.append({"gen_id": f"v_{e}_{judge}_{r}", "parent_gen_id": f"e_{e}", "evaluation_template": "t",
                             "evaluation_llm_model": judge, "score": float(np.clip(round(score), 0, 10)),
                             "combo_id": f"c{e % 7}", "generation_template": "g", "generation_model": model,
                             "evaluation_replicate": r, "essay_chars": chars, "scale_max": 10.0})
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _judge(table: pd.DataFrame, judge: str) -> pd.Series:
    return table.set_index("evaluation_llm_model").loc[judge]


def test_a_judge_that_rewards_length_shows_it_and_a_fair_one_does_not():
    scores = judged(np.random.default_rng(1), length_weight=1.5)
    table = judge_diagnostics(scores)
    biased, fair = _judge(table, "j1"), _judge(table, "j2")
    assert biased["length_rho_ci_low"] > 0.2 and biased["length_rho"] > 0.3
    assert fair["length_rho_ci_low"] < 0 < fair["length_rho_ci_high"]
    cells = scores[scores["evaluation_llm_model"] == "j1"].groupby("parent_gen_id").agg(
        score=("score", "mean"), chars=("essay_chars", "first"))
    expected = pd.DataFrame({"s": cells["score"], "l": np.log(cells["chars"].astype(float))}).corr("spearman")
    assert biased["length_rho"] == pytest.approx(expected.loc["s", "l"])
    assert biased["length_n"] == 200 and biased["n_essays"] == 200


def test_a_judge_that_prefers_its_own_model_shows_it():
    scores = judged(np.random.default_rng(2), self_bonus=2.0)
    table = judge_diagnostics(scores)
    own = _judge(table, "j1")
    cells = scores[scores["evaluation_llm_model"] == "j1"].groupby("parent_gen_id").agg(
        score=("score", "mean"), model=("generation_model", "first"))
    mine, others = cells.loc[cells["model"] == "j1", "score"], cells.loc[cells["model"] != "j1", "score"]
    assert (own["n_self"], own["n_other"]) == (len(mine), len(others)) == (100, 100)
    assert own["self_minus_other"] == pytest.approx(mine.mean() - others.mean())
    # Welch's interval from the formula
    va, vb = mine.var(ddof=1) / len(mine), others.var(ddof=1) / len(others)
    df = (va + vb) ** 2 / (va**2 / (len(mine) - 1) + vb**2 / (len(others) - 1))
    from scipy.stats import t

    half = t.ppf(0.975, df) * math.sqrt(va + vb)
    assert own["self_minus_other_ci_low"] == pytest.approx(mine.mean() - others.mean() - half)
    assert own["self_minus_other_ci_low"] > 1.0  # the planted +2 is found
    # j2 never judges essays of its own model: nothing to compare, and nothing flagged for it
    other = _judge(table, "j2")
    assert other["n_self"] == 0 and math.isnan(other["self_minus_other"])
    assert "self_minus_other" not in other["too_wide_to_rank"]


def test_replicate_alpha_separates_a_consistent_judge_from_a_noisy_one():
    consistent = judge_diagnostics(judged(np.random.default_rng(3), replicate_noise=0.2))
    noisy = judge_diagnostics(judged(np.random.default_rng(3), replicate_noise=3.0))
    for level in ("interval", "ordinal"):
        name = f"replicate_alpha_{level}"
        good, bad = _judge(consistent, "j2"), _judge(noisy, "j2")
        assert good[name] > 0.8 and bad[name] < 0.5
        assert bad[f"{name}_ci_high"] < good[f"{name}_ci_low"]
        assert good[f"{name}_ci_low"] <= good[name] <= good[f"{name}_ci_high"]


def test_replicate_alpha_equals_the_coincidence_matrix_alpha():
    scores = judged(np.random.default_rng(4), essays=30, replicates=3, replicate_noise=1.0)
    row = _judge(judge_diagnostics(scores), "j2")
    matrix = scores[scores["evaluation_llm_model"] == "j2"].pivot_table(
        index="parent_gen_id", columns="evaluation_replicate", values="score")
    for level in ("interval", "ordinal"):
        assert row[f"replicate_alpha_{level}"] == pytest.approx(coincidence_alpha(matrix.to_numpy().tolist(), level))
    assert row["replicate_units"] == 30


def test_few_essays_are_too_wide_to_rank():
    row = _judge(judge_diagnostics(judged(np.random.default_rng(5), essays=6)), "j1")
    assert {"length_rho", "replicate_alpha_interval"} <= set(row["too_wide_to_rank"].split("; "))
    many = _judge(judge_diagnostics(judged(np.random.default_rng(5), essays=2000, replicate_noise=0.2)), "j2")
    assert many["too_wide_to_rank"] == ""
