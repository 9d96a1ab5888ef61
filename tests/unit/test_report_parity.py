"""The earlier system's evaluation_model_template_pivot, variance analysis and perfect-score paths,
recomputed here from the hand-made cohort's known outcomes (plain Python, no pandas groupby)."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from report_fixtures import COHORT, DRAFTS, ESSAYS, SCALES, eval_id, valid_outcomes

from daydreaming.paths import Paths
from daydreaming.report.parity import perfect_score_paths, stability_class, variance_analysis
from daydreaming.report.pivot import evaluation_model_template_pivot
from daydreaming.report.scores import cohort_scores


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> pd.DataFrame:
    import report_fixtures

    paths = Paths(tmp_path_factory.mktemp("parity") / "data")
    report_fixtures.build(paths)
    return cohort_scores(paths, COHORT)


def _essay_group(essay: str) -> tuple:
    draft, template, model = ESSAYS[essay]
    combo, draft_template, draft_model = DRAFTS[draft]
    return combo, draft_template, draft_model, template, model


def test_evaluation_model_template_pivot_is_the_mean_of_every_valid_score(scores):
    pivot = evaluation_model_template_pivot(scores).set_index("parent_gen_id")
    assert sorted(pivot.index) == sorted(ESSAYS)
    for (essay, judge, template), values in valid_outcomes().items():
        assert pivot.loc[essay, f"{judge}_{template}"] == pytest.approx(round(statistics.mean(values), 2))
    assert not any(c.endswith(("_n", "_min", "_max")) for c in pivot.columns)
    assert pivot.loc["e5", ["j1_t", "j2_t", "j3_t", "j1_u"]].isna().all()  # no valid score: a row, no means


def test_variance_analysis_overall_per_judge_and_per_template(scores):
    table = variance_analysis(scores)
    groups: dict = {}
    for (essay, judge, template), values in valid_outcomes().items():
        for value in values:
            groups.setdefault(_essay_group(essay), []).append((judge, template, value))
    overall = table[table["analysis_type"] == "overall_variance"]
    assert len(overall) == len(groups)
    for _, row in overall.iterrows():
        found = groups[tuple(row[c] for c in ("combo_id", "draft_template", "draft_model", "generation_template",
                                              "generation_model"))]
        values = [v for _, _, v in found]
        assert row["total_evaluations"] == len(values)
        assert row["num_templates"] == len({t for _, t, _ in found})
        assert row["num_models"] == len({j for j, _, _ in found})
        assert row["mean_score"] == pytest.approx(statistics.mean(values), abs=0.005)
        assert row["score_range"] == max(values) - min(values)
        if len(values) > 1:
            sd = statistics.stdev(values)
            assert row["std_dev"] == pytest.approx(sd, abs=0.005)
            assert row["coefficient_of_variation"] == pytest.approx(sd / statistics.mean(values), abs=1e-4)
    per_judge = table[table["analysis_type"] == "template_variance"]
    expected = {(g, j): [v for jj, _, v in found if jj == j] for g, found in groups.items() for j, _, _ in found}
    expected = {k: v for k, v in expected.items() if len(v) >= 2}
    assert len(per_judge) == len(expected)
    for _, row in per_judge.iterrows():
        key = (tuple(row[c] for c in ("combo_id", "draft_template", "draft_model", "generation_template",
                                       "generation_model")), row["evaluation_llm_model"])
        assert row["template_evaluations"] == len(expected[key])
    per_template = table[table["analysis_type"] == "model_variance"]
    assert (per_template["model_evaluations"] >= 2).all() and per_template["models_used"].notna().all()


@pytest.mark.parametrize("count, score_range, cv, expected", [
    (1, 0.0, math.nan, "insufficient_data"), (3, 0.5, 0.1, "high_agreement"), (3, 2.0, 0.2, "moderate_agreement"),
    (3, 2.5, 0.3, "low_agreement"), (3, 4.0, 0.5, "poor_agreement"), (2, 1.0, math.nan, "insufficient_data"),
])
def test_stability_classes(count, score_range, cv, expected):
    assert stability_class(count, score_range, cv) == expected


def test_perfect_score_paths_are_the_top_of_each_templates_own_scale(scores):
    paths = perfect_score_paths(scores)
    expected = sorted(eval_id(e, j, t, r) for (e, j, t), values in valid_outcomes().items()
                      for r, v in enumerate(values, start=1) if v == SCALES[t])
    # the fixture's u-scale 5s (scale 0-5) count; its t-scale 9s would not reach a fixed 10
    assert sorted(paths["gen_id"]) == expected and len(expected) == 3
    row = paths.iloc[0]
    assert row["notes"] == (f"Perfect score from {row['generation_model']} generation + "
                            f"{row['evaluation_llm_model']} evaluation")
    assert row["evaluation_response_path"].endswith(f"{row['gen_id']}/parsed.txt")
