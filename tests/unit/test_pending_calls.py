"""Which LLM calls a run would make (StorePlan.pending_calls), and which provider resource each
``<stage>_raw`` job holds (jobs.llm_resources): what the pre-run checks and the caps rely on."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from daydreaming import jobs
from daydreaming import paths as P
from daydreaming.paths import Paths
from daydreaming.plan import StorePlan

ALL = (P.METADATA, P.PROMPT, P.RAW, P.RAW_METADATA, P.PARSED, P.PARSED_METADATA)
DRAFT, ESSAY, EVAL = "d_draft1", "e_essay1", "v_eval1"
FULL = "stage,gen_id,origin_cohort_id,parent_gen_id,combo_id,template_id,llm_model_id,replicate,mode"


def put(paths: Paths, stage: str, gen_id: str, files=ALL, parent: str | None = None) -> None:
    directory = paths.generation_dir(stage, gen_id)
    directory.mkdir(parents=True, exist_ok=True)
    for name in files:
        if name == P.METADATA:
            text = json.dumps({"stage": stage, "gen_id": gen_id, "mode": "llm", "template_id": "t",
                               "llm_model_id": "m", "parent_gen_id": parent, "combo_id": "combo_v1_x"})
        else:
            text = "{}" if name.endswith(".json") else f"{name} of {gen_id}\n"
        (directory / name).write_text(text)


def membership(paths: Paths, rows: list[tuple[str, str, str]], slim: bool = False) -> None:
    """rows: (stage, gen_id, parent_gen_id) of cohort ``c``."""
    path = paths.membership_csv("c")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["stage,gen_id" if slim else FULL]
    lines += [f"{s},{g}" if slim else f"{s},{g},c,{p},combo_v1_x,t,m,1,llm" for s, g, p in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths(tmp_path / "data")


def _chain(paths: Paths, slim: bool = False) -> None:
    membership(paths, [("draft", DRAFT, ""), ("essay", ESSAY, DRAFT), ("evaluation", EVAL, ESSAY)], slim=slim)


def _ids(plan: StorePlan) -> list[str]:
    return [c.gen_id for c in plan.pending_calls()]


def test_missing_answers_are_pending_and_complete_ones_are_not(paths):
    _chain(paths)
    put(paths, "draft", DRAFT)
    put(paths, "essay", ESSAY, files=(P.METADATA, P.PROMPT), parent=DRAFT)
    plan = StorePlan.build(paths, ["c"])
    assert _ids(plan) == [ESSAY, EVAL]
    assert plan.pending_calls()[0].model_id == "m" and plan.pending_calls()[0].template_id == "t"


@pytest.mark.parametrize("policy, forced, expected", [
    ("keep", ["draft_raw"], [DRAFT]),
    ("keep", ["essay_prompt"], [ESSAY]),
    ("make", ["draft_raw"], [DRAFT, ESSAY, EVAL]),  # make: a new draft makes its children stale
    ("keep", ["draft_parsed"], []),  # a re-parse calls nothing
])
def test_forced_stages(paths, policy, forced, expected):
    _chain(paths)
    for stage, gen_id, parent in (("draft", DRAFT, None), ("essay", ESSAY, DRAFT), ("evaluation", EVAL, ESSAY)):
        put(paths, stage, gen_id, files=ALL, parent=parent)
    assert _ids(StorePlan.build(paths, ["c"], policy=policy, forced_rules=forced)) == expected


def test_slim_membership_reads_metadata_and_copies_call_nothing(paths):
    _chain(paths, slim=True)
    put(paths, "draft", DRAFT, files=(P.METADATA,))
    put(paths, "essay", ESSAY, files=(P.METADATA,), parent=DRAFT)
    meta = paths.metadata_path("essay", ESSAY)
    meta.write_text(meta.read_text().replace('"mode": "llm"', '"mode": "copy"'))
    calls = StorePlan.build(paths, ["c"]).pending_calls()
    # the copy essay calls nothing; the evaluation has neither a full row nor metadata: model unknown
    assert [(c.gen_id, c.mode, c.model_id) for c in calls] == [(DRAFT, "llm", "m"), (EVAL, "llm", None)]


def test_each_raw_job_holds_one_unit_of_its_providers_resource(paths):
    csv = paths.data_root / "1_raw" / "llm_models.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text("id,model,provider,display_name,specialization\n"
                   "m,x/m,router,M,demo\njudge,x/judge,open-ai,J,demo\n")
    membership(paths, [("draft", DRAFT, ""), ("essay", ESSAY, DRAFT)])
    config = {"data_root": str(paths.data_root), "cohorts": ["c"], "llm": {"providers": {
        "router": {"base_url": "http://127.0.0.1:9/v1", "max_concurrent": 3},
        "open-ai": {"base_url": "http://127.0.0.1:9/v1"}}}}
    assert jobs.llm_caps(config) == {"llm_router": 3, "llm_open_ai": 8}
    plan = StorePlan.build(paths, ["c"])
    resources = jobs.llm_resources(config, lambda: plan, "draft")
    held = {name: amount(SimpleNamespace(gen_id=DRAFT)) for name, amount in resources.items()}
    assert held == {"llm_router": 1, "llm_open_ai": 0}
