"""The report's tables on a hand-made cohort with known scores, each number recomputed here
from the known outcomes (numpy, a t table, pandas' own rank correlation, the coincidence-matrix
alpha), never by calling the code under test twice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import (
    CALL_FAILED,
    COHORT,
    DRAFTS,
    ESSAYS,
    FAILED,
    MISSING,
    OUTCOMES,
    SCALES,
    TRUNCATED,
    coincidence_alpha,
    eval_id,
    valid_outcomes,
)

from daydreaming.paths import Paths
from daydreaming.report import plots, sections
from daydreaming.report.agreement import ALPHA, ORDINAL_ALPHA, SPEARMAN, evaluator_agreement
from daydreaming.report.build import read_scores
from daydreaming.report.columns import EARLIER_COLUMNS
from daydreaming.report.generations import CohortScan, generations_frame, read_generations
from daydreaming.report.pivot import SUM_COLUMN, generation_scores_pivot
from daydreaming.report.scan import write_csv as _write_csv
from daydreaming.report.scores import cohort_scores
from daydreaming.report.status import completion, failures, status_counts
from daydreaming.report.summary import final_results
from daydreaming.report.top import top_essays

T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824}
ERRORS = {MISSING: ("DATA_MISSING", "missing_parsed"), FAILED: ("PARSER_FAILURE", "no_verdict"),
          TRUNCATED: ("INVALID_CONFIG", "truncated_raw"), "abc\n": ("PARSER_FAILURE", "invalid_score"),
          CALL_FAILED: ("IO_ERROR", "provider_unavailable")}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Paths:
    import report_fixtures

    paths = Paths(tmp_path_factory.mktemp("report") / "data")
    report_fixtures.build(paths)
    return paths


@pytest.fixture(scope="module")
def scores(cohort) -> pd.DataFrame:
    return cohort_scores(cohort, COHORT)


@pytest.fixture(scope="module")
def generations(cohort) -> pd.DataFrame:
    return generations_frame(CohortScan.read(cohort, COHORT).member_generations())


def _expected_rows():
    for (essay, judge, template), outcomes in OUTCOMES.items():
        for replicate, outcome in enumerate(outcomes, start=1):
            yield eval_id(essay, judge, template, replicate), essay, judge, template, replicate, outcome


def test_one_row_per_evaluation_with_the_earlier_systems_columns_and_errors_kept(cohort, scores):
    assert list(scores.columns[: len(EARLIER_COLUMNS)]) == list(EARLIER_COLUMNS)
    expected = list(_expected_rows())
    assert list(scores["gen_id"]) == [row[0] for row in expected]  # membership order, nothing dropped
    for (gen_id, essay, judge, template, replicate, outcome), (_, row) in zip(expected, scores.iterrows()):
        draft, generation_template, generation_model = ESSAYS[essay]
        assert (row["parent_gen_id"], row["evaluation_llm_model"]) == (essay, judge)
        assert row["evaluation_template"] == template
        assert (row["generation_template"], row["generation_model"]) == (generation_template, generation_model)
        assert (row["combo_id"], row["draft_template"], row["draft_model"]) == DRAFTS[draft]
        assert (row["draft_gen_id"], row["draft_replicate"], row["essay_replicate"]) == (draft, 1, 1)
        assert row["essay_chars"] == (None if essay == "e5" else len("essay text")) or pd.isna(row["essay_chars"])
        assert row["evaluation_replicate"] == replicate and row["scale_max"] == SCALES[template]
        assert row["origin_cohort_id"] == COHORT
        assert row["input_mode"] == "prompt" if outcome not in (MISSING, CALL_FAILED) else pd.isna(row["input_mode"])
        assert row["evaluation_response_path"] == str(cohort.parsed_path("evaluation", gen_id).absolute())
        assert row["generation_response_path"] == str(cohort.parsed_path("essay", essay).absolute())
        if isinstance(outcome, (int, float)):
            assert row["score"] == float(outcome) and pd.isna(row["error"]) and pd.isna(row["error_code"])
        else:
            assert math.isnan(row["score"]) and isinstance(row["error"], str)
            assert (row["error_code"], row["error_reason"]) == ERRORS[outcome], gen_id


def test_missing_metadata_falls_back_to_the_membership_row(tmp_path):
    import report_fixtures

    paths = Paths(tmp_path / "data")
    report_fixtures.build(paths)
    gen_id = eval_id("e1", "j2", "t", 1)
    paths.metadata_path("evaluation", gen_id).unlink()
    row = cohort_scores(paths, COHORT).set_index("gen_id").loc[gen_id]
    assert (row["evaluation_template"], row["evaluation_llm_model"], row["parent_gen_id"]) == ("t", "j2", "e1")
    assert row["score"] == 6.0 and row["generation_template"] == "g1"


def test_csv_round_trip_keeps_values_and_missing_cells(tmp_path, scores):
    path = tmp_path / "aggregated_scores.csv"
    _write_csv(str(path), scores)
    back = read_scores(str(path))
    pd.testing.assert_frame_equal(back, scores, check_dtype=False)


def test_pivot_matches_an_independent_computation(scores):
    pivot = generation_scores_pivot(scores)
    valid = valid_outcomes()
    keys = sorted({f"{judge}_{template}" for (_, judge, template) in OUTCOMES})
    def index(essay):  # the pivot's row order: combo, draft template, generation template, model, essay
        draft, template, model = ESSAYS[essay]
        return (*DRAFTS[draft][:2], template, model, essay)

    assert list(pivot["parent_gen_id"]) == sorted(ESSAYS, key=index)  # e5: no valid score, still a row
    assert list(pivot.columns[:5]) == ["combo_id", "draft_template", "generation_template", "generation_model",
                                       "parent_gen_id"]  # the earlier system's index, in its order
    assert list(pivot.columns[5:8]) == ["draft_model", "draft_replicate", "essay_replicate"]
    assert list(pivot.columns[8:8 + len(keys)]) == keys
    assert [DRAFTS[ESSAYS[e][0]][2] for e in pivot["parent_gen_id"]] == list(pivot["draft_model"])
    assert list(pivot.columns[-2:]) == [SUM_COLUMN, "generation_response_path"]
    for _, row in pivot.iterrows():
        means = []
        for key in keys:
            judge, template = key.split("_")
            values = np.array(valid.get((row["parent_gen_id"], judge, template), []))
            n = len(values)
            assert row[f"{key}_n"] == n
            if n == 0:
                assert all(math.isnan(row[f"{key}{s}"]) for s in ("", "_min", "_max", "_sd", "_ci_low"))
                continue
            mean = values.mean()
            means.append(round(mean, 2))
            assert row[key] == pytest.approx(mean, abs=0.005)
            assert (row[f"{key}_min"], row[f"{key}_max"]) == (values.min(), values.max())
            if n == 1:
                assert math.isnan(row[f"{key}_sd"]) and math.isnan(row[f"{key}_ci_high"])
                continue
            sd = values.std(ddof=1)
            half = T975[n - 1] * sd / math.sqrt(n)
            assert row[f"{key}_sd"] == pytest.approx(sd, abs=0.005)
            assert row[f"{key}_ci_low"] == pytest.approx(mean - half, abs=0.006)
            assert row[f"{key}_ci_high"] == pytest.approx(mean + half, abs=0.006)
        assert row[SUM_COLUMN] == pytest.approx(sum(means), abs=0.005)


def test_final_results_by_evaluator_and_overall(scores):
    results = final_results(scores)
    rows = [(j, t, v) for (_, j, t), values in valid_outcomes().items() for v in values]
    by_judge = results[results["analysis_type"] == "by_evaluation_model"].set_index("evaluation_llm_model")
    for judge in ("j1", "j2", "j3"):
        values = np.array([v for j, _, v in rows if j == judge])
        got = by_judge.loc[judge]
        assert got["count"] == len(values) and got["average"] == pytest.approx(values.mean(), abs=0.005)
        assert got["std_dev"] == pytest.approx(values.std(ddof=1), abs=0.005)
        assert (got["min_score"], got["max_score"]) == (values.min(), values.max())
    overall = results[results["analysis_type"] == "overall_statistics"].iloc[0]
    perfect = sum(1 for _, t, v in rows if v == SCALES[t])  # the top of each template's own scale
    assert overall["count"] == len(rows) and overall["perfect_scores"] == perfect == 3
    assert overall["high_scores_8plus"] == sum(v >= 8 for _, _, v in rows)
    assert overall["low_scores_3minus"] == sum(v <= 3 for _, _, v in rows)
    assert overall["perfect_score_pct"] == round(100 * perfect / len(rows), 1)
    assert set(results["analysis_type"]) >= {"by_generation_template", "by_generation_model", "by_combo_id",
                                             "by_template_and_generation_model", "by_generation_vs_evaluation_model"}


@pytest.mark.parametrize("analysis, column, key", [
    ("by_draft_model", "draft_model", lambda essay, judge, template, replicate: DRAFTS[ESSAYS[essay][0]][2]),
    ("by_draft_template", "draft_template", lambda essay, judge, template, replicate: DRAFTS[ESSAYS[essay][0]][1]),
    ("by_evaluation_replicate", "evaluation_replicate", lambda essay, judge, template, replicate: replicate),
    ("by_evaluation_template", "evaluation_template", lambda essay, judge, template, replicate: template),
    ("by_essay_replicate", "essay_replicate", lambda essay, judge, template, replicate: 1),
])
def test_final_results_has_every_axis(scores, analysis, column, key):
    """Each design axis (here those the earlier system had no analysis for) is a dimension."""
    results = final_results(scores)
    rows = results[results["analysis_type"] == analysis].set_index(column)
    expected: dict = {}
    for essay, judge, template in valid_outcomes():
        for replicate, value in enumerate(OUTCOMES[(essay, judge, template)], start=1):
            if isinstance(value, (int, float)):
                expected.setdefault(key(essay, judge, template, replicate), []).append(float(value))
    assert sorted(rows.index) == sorted(expected)
    for level, values in expected.items():
        assert rows.loc[level, "count"] == len(values)
        assert rows.loc[level, "average"] == pytest.approx(np.mean(values), abs=0.005)


def test_agreement_alpha_and_pairwise_spearman(scores):
    agreement = evaluator_agreement(scores)
    valid = valid_outcomes()
    essays = sorted(ESSAYS)
    matrix = pd.DataFrame({judge: [np.mean(valid[(e, judge, "t")]) if (e, judge, "t") in valid else np.nan
                                   for e in essays] for judge in ("j1", "j2", "j3")}, index=essays)
    for measure, level in ((ALPHA, "interval"), (ORDINAL_ALPHA, "ordinal")):
        alpha = agreement[(agreement["evaluation_template"] == "t") & (agreement["measure"] == measure)].iloc[0]
        assert alpha["value"] == pytest.approx(coincidence_alpha(matrix.to_numpy().tolist(), level), abs=1e-4)
        assert alpha["n_models"] == 3 and alpha["n_essays"] == 4  # e5 has no score at all
        # 4 essays cannot place the judges' agreement: the interval is missing or wide, and flagged
        assert alpha["too_wide_to_rank"] and not (alpha["ci_high"] - alpha["ci_low"] <= 0.3)
    pairs = agreement[(agreement["evaluation_template"] == "t") & (agreement["measure"] == SPEARMAN)]
    assert [(a, b) for a, b in zip(pairs["model_a"], pairs["model_b"])] == [("j1", "j2"), ("j1", "j3"), ("j2", "j3")]
    for _, pair in pairs.iterrows():
        both = matrix[[pair["model_a"], pair["model_b"]]].dropna()
        assert pair["n_essays"] == len(both)
        if len(both) < 3:
            assert math.isnan(pair["value"])
        else:
            assert pair["value"] == pytest.approx(both.corr(method="spearman").iloc[0, 1], abs=1e-4)
    single = agreement[agreement["evaluation_template"] == "u"]  # one judge: nothing to agree on
    assert list(single["measure"]) == [ALPHA, ORDINAL_ALPHA] and (single["n_models"] == 1).all()
    assert single["value"].isna().all() and not single["too_wide_to_rank"].any()


def test_top_essays_rank_by_mean_over_judges_of_each_best_replicate(scores):
    top = top_essays(scores, top_n=3)
    valid = valid_outcomes()
    for template in ("t", "u"):
        best = {}
        for (essay, judge, tmpl), values in valid.items():
            if tmpl == template:
                best.setdefault(essay, {})[judge] = max(values)
        ranked = sorted(best, key=lambda e: (-round(np.mean(list(best[e].values())), 2), e))[:3]
        got = top[top["evaluation_template"] == template]
        assert list(got["parent_gen_id"]) == ranked and list(got["rank"]) == list(range(1, len(ranked) + 1))
        for _, row in got.iterrows():
            judges = best[row["parent_gen_id"]]
            assert row["avg_score"] == pytest.approx(np.mean(list(judges.values())), abs=0.005)
            assert row["max_score"] == max(judges.values()) and row["models_covered"] == len(judges)
            for judge, value in judges.items():
                assert row[f"score__{judge}"] == value


def test_status_counts_and_failures(generations):
    counts = status_counts(generations).set_index("stage")
    outcomes = [o for values in OUTCOMES.values() for o in values]
    zero = {"truncated": 0, "parse_failed": 0, "job_failed": 0, "missing": 0, "excluded": 0}
    assert counts.loc["draft"].to_dict() == {"total": 2, "ok": 2, **zero}
    assert counts.loc["essay"].to_dict() == {"total": 5, "ok": 4, **zero, "parse_failed": 1}
    assert counts.loc["evaluation"].to_dict() == {
        "total": len(outcomes), "ok": len(outcomes) - 5, "truncated": 1, "parse_failed": 1, "job_failed": 1,
        "missing": 2, "excluded": 0}
    done = completion(generations)
    assert (done.complete, done.failed, done.missing) == (2 + 4 + len(outcomes) - 5, 1 + 3, 2)
    failed = failures(generations).set_index("gen_id")
    assert failed.loc["e5", "error_code"] == "PARSER_FAILURE" and failed.loc["e5", "error_reason"] == "no_verdict"
    assert failed.loc[eval_id("e4", "j2", "t", 2), "status"] == "truncated"
    assert failed.loc[eval_id("e5", "j1", "t", 1), "status"] == "missing"
    call = failed.loc[eval_id("e4", "j3", "u", 1)]  # a refused call leaves no answer, only its failure record
    assert (call["status"], call["error_phase"], call["error_code"], call["error_reason"]) == (
        "job_failed", "raw", "IO_ERROR", "provider_unavailable")


def test_generations_carry_lineage_tokens_and_cost_of_every_member(cohort, generations, tmp_path):
    from report_fixtures import answer_of, cost_of, prompt_of

    by_id = generations.set_index("gen_id")
    assert list(generations["gen_id"]) == [m["gen_id"] for m in _membership(cohort)]
    draft = by_id.loc["d2"]
    assert (draft["stage"], draft["combo_id"], draft["template_id"], draft["llm_model_id"]) == (
        "draft", "combo_b", "sketch", "w2")
    judged = by_id.loc[eval_id("e1", "j1", "t", 2)]
    answer = answer_of(eval_id("e1", "j1", "t", 2), 8)
    assert (judged["prompt_tokens"], judged["completion_tokens"]) == (len(prompt_of(judged.name)), len(answer))
    assert judged["cost_usd"] == pytest.approx(cost_of("j1", answer)) and judged["raw_chars"] == len(answer)
    assert pd.isna(by_id.loc[eval_id("e1", "j2", "t", 1), "cost_usd"])  # j2 has no price
    assert by_id.loc["e1", "parsed_chars"] == len("essay text")
    path = tmp_path / "generations.csv"
    _write_csv(str(path), generations)
    pd.testing.assert_frame_equal(read_generations(str(path)), generations, check_dtype=False)


def _membership(paths):
    import csv

    with open(paths.membership_csv(COHORT), newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_parse_failing_again_right_now_is_still_a_failure(tmp_path):
    """During a run that re-attempts failed parses, Snakemake has deleted the old record and the
    new one is parked under phases.FAILED_PARSE_RECORD until the run ends."""
    import report_fixtures

    from daydreaming.phases import FAILED_PARSE_RECORD

    paths = Paths(tmp_path / "data")
    report_fixtures.build(paths)
    failed, truncated = eval_id("e2", "j3", "t", 2), eval_id("e4", "j2", "t", 2)
    record = paths.parsed_metadata_path("evaluation", failed)
    record.replace(paths.generation_dir("evaluation", failed) / FAILED_PARSE_RECORD)
    paths.parsed_metadata_path("evaluation", truncated).unlink()  # re-parse still running
    rows = cohort_scores(paths, COHORT).set_index("gen_id")
    assert rows.loc[failed, "error_reason"] == "no_verdict"
    assert (rows.loc[truncated, "error_code"], rows.loc[truncated, "error_reason"]) == ("INVALID_CONFIG",
                                                                                         "truncated_raw")


def test_html_sections_escape_values_and_link_every_essay(scores):
    hostile = scores.copy()
    hostile.loc[hostile["evaluation_llm_model"] == "j1", "evaluation_llm_model"] = "<b>j1</b>"
    page = sections.pivot(generation_scores_pivot(hostile), hostile, lambda e: f"essays/{e}.html")
    assert "<b>j1</b>" not in page and "&lt;b&gt;j1&lt;/b&gt;" in page
    for essay in ESSAYS:
        assert f'href="essays/{essay}.html"' in page
    top = sections.top(top_essays(scores, top_n=2), lambda e: f"x/{e}.html")
    assert 'href="x/e1.html"' in top


def test_plots_are_svg_and_byte_stable(scores):
    first = plots.distribution_svg(scores)
    assert first.lstrip().startswith("<?xml") and "<svg" in first
    assert plots.distribution_svg(scores) == first
    assert "draft model" in first  # the draft model varies in this cohort: it gets its row of panels
    heatmap = plots.heatmap_svg(scores)
    assert "<svg" in heatmap and heatmap == plots.heatmap_svg(scores)
    empty = plots.heatmap_svg(scores[scores["error"].notna()])
    assert "<svg" in empty and len(empty) < len(heatmap)


def test_paths_know_every_report_file(tmp_path):
    from daydreaming.errors import DDError, Err
    from daydreaming.paths import REPORT_FILES

    paths = Paths(tmp_path)
    for name in REPORT_FILES:
        assert paths.cohort_report("c1", name) == tmp_path / "cohorts" / "c1" / "reports" / name
        assert paths.cohort_report_pattern(name) == str(Path(tmp_path) / "cohorts" / "{cohort}" / "reports" / name)
    with pytest.raises(DDError) as info:
        paths.cohort_report("c1", "../membership.csv")
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["reason"] == "unknown_report_file"


def test_a_cohort_without_evaluations_gives_empty_tables_not_errors(scores):
    empty = scores.iloc[0:0]
    assert generation_scores_pivot(empty).empty and final_results(empty).empty
    assert evaluator_agreement(empty).empty and top_essays(empty).empty
    assert "No evaluations yet" in sections.pivot(generation_scores_pivot(empty), empty, str)
    assert "No valid scores" in sections.top(top_essays(empty), str)
    assert "<svg" in plots.distribution_svg(empty) and "<svg" in plots.heatmap_svg(empty)
