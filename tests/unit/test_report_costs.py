"""Cost and tokens per stage, model and template: actual figures against the answers the fixture
wrote (their lengths and prices), pending figures against ``daydreaming estimate`` on a real
compiled cohort with nothing run yet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from report_fixtures import (
    CALL_FAILED,
    COHORT,
    DRAFTS,
    ESSAYS,
    FAILED_ESSAY,
    MISSING,
    OUTCOMES,
    answer_of,
    cost_of,
    eval_id,
    prompt_of,
)

from daydreaming.paths import Paths
from daydreaming.report.build import pending_calls
from daydreaming.report.costs import TOTAL, actual_costs, cost_table, pending_costs
from daydreaming.report.generations import CohortScan, generations_frame
from daydreaming.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generations(tmp_path_factory) -> pd.DataFrame:
    import report_fixtures

    paths = Paths(tmp_path_factory.mktemp("costs") / "data")
    report_fixtures.build(paths)
    return generations_frame(CohortScan.read(paths, COHORT).member_generations())


def _answers():
    """(stage, model, template, gen_id, answer text) of every answer the fixture bought."""
    for draft, (_, template, model) in DRAFTS.items():
        yield "draft", model, template, draft, answer_of(draft, "draft text")
    for essay, (_, template, model) in ESSAYS.items():
        yield "essay", model, template, essay, answer_of(essay, "<failed>" if essay == FAILED_ESSAY else "essay text")
    for (essay, judge, template), outcomes in OUTCOMES.items():
        for replicate, outcome in enumerate(outcomes, start=1):
            if outcome not in (MISSING, CALL_FAILED):
                gen_id = eval_id(essay, judge, template, replicate)
                yield "evaluation", judge, template, gen_id, answer_of(gen_id, outcome)


def test_actual_tokens_and_cost_per_stage_model_and_template(generations):
    table = actual_costs(generations).set_index(["stage", "llm_model_id", "template_id"])
    expected: dict = {}
    for stage, model, template, gen_id, answer in _answers():
        row = expected.setdefault((stage, model, template), {"answered": 0, "prompt": 0, "completion": 0, "usd": 0.0,
                                                              "unpriced": 0})
        row["answered"] += 1
        row["prompt"] += len(prompt_of(gen_id))
        row["completion"] += len(answer)
        cost = cost_of(model, answer)
        row["usd"] += cost or 0.0
        row["unpriced"] += cost is None
    assert set(expected) <= set(table.index)
    for key, row in expected.items():
        got = table.loc[key]
        assert (got["answered"], got["prompt_tokens"], got["completion_tokens"], got["unpriced_answers"]) == (
            row["answered"], row["prompt"], row["completion"], row["unpriced"])
        assert got["cost_usd"] == pytest.approx(row["usd"])
    # the call that failed and the evaluations never run count as generations, not as answers
    j3u = table.loc[("evaluation", "j3", "u")]
    assert (j3u["generations"], j3u["answered"]) == (1, 0)


def test_cost_table_puts_actual_and_pending_side_by_side_with_a_total(generations):
    pending = pending_costs([
        {"stage": "evaluation", "model_id": "j3", "template_id": "u", "prompt_tokens": 10, "completion_tokens": 5,
         "usd": None},
        {"stage": "evaluation", "model_id": "j9", "template_id": "u", "prompt_tokens": 7, "completion_tokens": 3,
         "usd": 0.25},
    ])
    table = cost_table(actual_costs(generations), pending)
    assert table.iloc[-1]["stage"] == TOTAL
    rows = table.set_index(["stage", "llm_model_id", "template_id"])
    assert rows.loc[("evaluation", "j3", "u"), "pending_calls"] == 1
    assert rows.loc[("evaluation", "j3", "u"), "pending_unpriced_calls"] == 1
    assert rows.loc[("evaluation", "j9", "u"), "generations"] == 0  # only pending so far
    total = table.iloc[-1]
    assert total["pending_usd"] == pytest.approx(0.25) and total["pending_calls"] == 2
    assert total["cost_usd"] == pytest.approx(sum(cost_of(m, a) or 0.0 for _, m, _, _, a in _answers()))
    assert total["generations"] == len(generations)


def test_pending_calls_of_a_cohort_with_nothing_run_are_the_estimate(tmp_path):
    from daydreaming import estimate
    from daydreaming.cohort.compile import compile_cohort
    from daydreaming.plan import StorePlan

    root = tmp_path / "data"
    shutil.copytree(REPO / "data" / "1_raw", root / "1_raw")
    shutil.copy(REPO / "data" / "combo_mappings.csv", root / "combo_mappings.csv")
    spec = Paths(root).cohort_spec("c")
    spec.parent.mkdir(parents=True)
    shutil.copy(REPO / "data" / "cohorts" / "demo" / "spec" / "config.yaml", spec)
    compile_cohort(Paths(root), "c")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update({"data_root": str(root), "cohorts": ["c"]})
    rt = Runtime.from_config(config)
    calls = pending_calls(rt, "c")
    reference = estimate.report(rt, StorePlan.build(rt.paths, ["c"]))
    assert len(calls) == reference["total"]["calls"] == 4 + 4 + 64  # drafts, LLM essays, evaluations (no copies)
    table = pending_costs(calls)
    assert table["pending_prompt_tokens"].sum() == reference["total"]["prompt_tokens"]
    assert table["pending_completion_tokens"].sum() == reference["total"]["completion_tokens"]
    by_template = table.set_index(["stage", "llm_model_id", "template_id"])["pending_calls"]
    assert by_template[("essay", "writer", "short-essay")] == 4 and ("essay", "writer", "copy-draft") not in by_template
    assert by_template[("evaluation", "critic", "clarity-score")] == 16
