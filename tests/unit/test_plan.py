"""StorePlan: which files the workflow requests and which inputs each phase job declares.

The default rule (``rerun_policy: keep``) is "regenerate only what is missing or forced", so an
upstream edge (which makes Snakemake re-run a job) is declared only when needed. Each test builds a tiny store by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daydreaming import paths as P
from daydreaming.errors import DDError, Err
from daydreaming.membership import MEMBERSHIP_COLUMNS
from daydreaming.paths import Paths
from daydreaming.plan import StorePlan
from daydreaming.repairs import regenerate_command

ALL = (P.METADATA, P.PROMPT, P.RAW, P.RAW_METADATA, P.PARSED, P.PARSED_METADATA)
DRAFT, ESSAY, EVAL = "d_draft1", "e_essay1", "v_eval1"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data")


def put(paths: Paths, stage: str, gen_id: str, files=ALL, parent: str | None = None) -> None:
    directory = paths.generation_dir(stage, gen_id)
    directory.mkdir(parents=True, exist_ok=True)
    for name in files:
        if name == P.METADATA:
            meta = {"stage": stage, "gen_id": gen_id, "origin_cohort_id": "c", "mode": "llm", "template_id": "t",
                    "llm_model_id": "m", "replicate": 1}
            if parent:
                meta["parent_gen_id"] = parent
            else:
                meta["combo_id"] = "combo_v1_x"
            text = json.dumps(meta)
        elif name.endswith(".json"):
            text = json.dumps({"stage": stage, "gen_id": gen_id})
        else:
            text = f"{name} of {gen_id}\n"
        (directory / name).write_text(text, encoding="utf-8")


def membership(paths: Paths, rows: list[tuple[str, str, str]], cohort: str = "c", slim: bool = False) -> None:
    """rows: (stage, gen_id, parent_gen_id)."""
    path = paths.membership_csv(cohort)
    path.parent.mkdir(parents=True, exist_ok=True)
    if slim:
        lines = ["stage,gen_id"] + [f"{s},{g}" for s, g, _ in rows]
    else:
        lines = [",".join(MEMBERSHIP_COLUMNS)]
        for stage, gen_id, parent in rows:
            values = {"stage": stage, "gen_id": gen_id, "origin_cohort_id": cohort, "parent_gen_id": parent,
                      "combo_id": "combo_v1_x", "template_id": "t", "llm_model_id": "m", "replicate": "1",
                      "mode": "llm"}
            lines.append(",".join(values[c] for c in MEMBERSHIP_COLUMNS))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def chain(paths: Paths, essay_files=ALL, draft_files=ALL, slim: bool = False) -> None:
    put(paths, "draft", DRAFT, draft_files)
    put(paths, "essay", ESSAY, essay_files, parent=DRAFT)
    membership(paths, [("draft", DRAFT, ""), ("essay", ESSAY, DRAFT)], slim=slim)


def f(paths: Paths, stage: str, gen_id: str, name: str) -> str:
    return str(paths.gen_file(stage, gen_id, name))


def without(*names: str) -> tuple[str, ...]:
    return tuple(n for n in ALL if n not in names)


# --- complete generations ---------------------------------------------------------------------

def test_complete_generations_have_no_edges_and_no_target_under_keep(paths: Paths) -> None:
    chain(paths)
    plan = StorePlan.build(paths, ["c"])
    assert plan.targets() == []  # nothing to do: they stay out of the DAG entirely
    for stage, gen_id in (("draft", DRAFT), ("essay", ESSAY)):
        assert plan.prompt_inputs(stage, gen_id) == []
        assert plan.raw_inputs(stage, gen_id) == []
        assert plan.parsed_inputs(stage, gen_id) == []


def test_fresh_generation_requests_every_file_and_declares_every_edge(paths: Paths) -> None:
    chain(paths, essay_files=(P.METADATA,))
    plan = StorePlan.build(paths, ["c"])
    # one target for the fresh generation; its missing files are reached through the edges
    assert plan.targets() == [f(paths, "essay", ESSAY, P.PARSED_METADATA)]
    assert plan.prompt_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]
    assert plan.raw_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.PROMPT)]
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]


def test_a_new_generation_is_one_parse_job_that_declares_what_its_prompt_reads(paths: Paths) -> None:
    chain(paths, essay_files=(P.METADATA,))
    plan = StorePlan.build(paths, ["c"], one_job_stages=["essay"])
    assert plan.in_one_job("essay", ESSAY) and not plan.in_one_job("draft", DRAFT)  # the draft is complete
    assert plan.targets() == [f(paths, "essay", ESSAY, P.PARSED_METADATA)]
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]
    assert plan.reached_by(plan.targets()) == {("essay", ESSAY), ("draft", DRAFT)}
    assert [c.gen_id for c in plan.pending_calls()] == [ESSAY]


@pytest.mark.parametrize("one_job", [(), ("draft", "essay", "evaluation")])
def test_targets_leave_out_what_the_other_targets_or_the_reports_reach(paths: Paths, one_job) -> None:
    put(paths, "draft", DRAFT, (P.METADATA,))
    put(paths, "essay", ESSAY, (P.METADATA,), parent=DRAFT)
    put(paths, "evaluation", EVAL, (P.METADATA,), parent=ESSAY)
    put(paths, "draft", "d_draft2", (P.METADATA,))  # no child: only its own target reaches it
    membership(paths, [("draft", DRAFT, ""), ("draft", "d_draft2", ""), ("essay", ESSAY, DRAFT),
                       ("evaluation", EVAL, ESSAY)])
    plan = StorePlan.build(paths, ["c"], one_job_stages=one_job)
    leaf, lone = f(paths, "evaluation", EVAL, P.PARSED_METADATA), f(paths, "draft", "d_draft2", P.PARSED_METADATA)
    assert sorted(plan.targets()) == sorted([leaf, lone])  # the essay and its draft are reached through it
    assert plan.reached_by([leaf]) == {("evaluation", EVAL), ("essay", ESSAY), ("draft", DRAFT)}
    # the report's scan asks for the evaluation's parsed.txt: its parse record is made anyway
    assert plan.targets(requested=[f(paths, "evaluation", EVAL, P.PARSED)]) == [lone]


def test_a_generation_whose_children_wait_for_a_batch_is_still_a_target(paths: Paths) -> None:
    """The draft is reached through its essay's target; when the essay (and its evaluation) wait
    for a batch (batch.gate), they are no target, and the draft must become one itself."""
    put(paths, "draft", DRAFT, (P.METADATA,))
    put(paths, "essay", ESSAY, (P.METADATA,), parent=DRAFT)
    put(paths, "evaluation", EVAL, (P.METADATA,), parent=ESSAY)
    membership(paths, [("draft", DRAFT, ""), ("essay", ESSAY, DRAFT), ("evaluation", EVAL, ESSAY)])
    plan = StorePlan.build(paths, ["c"])
    waiting = {("essay", ESSAY), ("evaluation", EVAL)}
    assert plan.targets(waiting=waiting) == [f(paths, "draft", DRAFT, P.PARSED_METADATA)]


@pytest.mark.parametrize("present", [P.PROMPT, P.RAW, P.RAW_METADATA, P.PARSED, P.PARSED_METADATA])
def test_a_generation_with_any_phase_file_keeps_its_phases_apart(paths: Paths, present: str) -> None:
    chain(paths, essay_files=(P.METADATA, present))
    plan = StorePlan.build(paths, ["c"], one_job_stages=["draft", "essay", "evaluation"])
    assert not plan.in_one_job("essay", ESSAY)


@pytest.mark.parametrize("forced, one_job", [("essay_prompt", False), ("essay_raw", False),
                                             ("essay_parsed", True), ("draft_raw", True)])
def test_forcing_its_prompt_or_answer_keeps_a_new_generation_in_three_jobs(paths: Paths, forced: str,
                                                                         one_job: bool) -> None:
    chain(paths, essay_files=(P.METADATA,))
    plan = StorePlan.build(paths, ["c"], forced_rules=[forced], one_job_stages=["essay"])
    assert plan.in_one_job("essay", ESSAY) is one_job


def test_missing_metadata_is_declared_as_a_prompt_input(paths: Paths) -> None:
    membership(paths, [("draft", DRAFT, "")])
    plan = StorePlan.build(paths, ["c"])
    assert plan.prompt_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.METADATA)]
    # reached from the parse record through parse -> raw -> prompt -> metadata edges
    assert plan.targets() == [f(paths, "draft", DRAFT, P.PARSED_METADATA)]
    assert plan.parsed_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.RAW)]
    assert plan.raw_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.PROMPT)]


# --- a missing raw answer ---------------------------------------------------------------------

def test_missing_raw_requests_raw_and_a_new_parse(paths: Paths) -> None:
    chain(paths, essay_files=without(P.RAW))
    plan = StorePlan.build(paths, ["c"])
    essay_targets = [t for t in plan.targets() if f"/{ESSAY}/" in t]
    # the parse is complete, so raw.txt is requested by name; the parse then re-runs on it
    assert essay_targets == [f(paths, "essay", ESSAY, P.PARSED_METADATA), f(paths, "essay", ESSAY, P.RAW)]
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]
    assert plan.raw_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.PROMPT)]
    assert plan.prompt_inputs("essay", ESSAY) == []  # the existing prompt is reused


def test_missing_raw_metadata_only_is_a_new_answer(paths: Paths) -> None:
    chain(paths, essay_files=without(P.RAW, P.RAW_METADATA))
    plan = StorePlan.build(paths, ["c"])
    essay_targets = [t for t in plan.targets() if f"/{ESSAY}/" in t]
    assert essay_targets == [f(paths, "essay", ESSAY, P.PARSED_METADATA), f(paths, "essay", ESSAY, P.RAW)]
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]
    assert plan.raw_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.PROMPT)]


def test_missing_parse_only_reparses_without_a_new_answer(paths: Paths) -> None:
    chain(paths, essay_files=without(P.PARSED, P.PARSED_METADATA))
    plan = StorePlan.build(paths, ["c"])
    assert set(t for t in plan.targets() if f"/{ESSAY}/" in t) <= {
        f(paths, "essay", ESSAY, P.PARSED), f(paths, "essay", ESSAY, P.PARSED_METADATA)}
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]
    assert plan.raw_inputs("essay", ESSAY) == []


# --- a new prompt does not re-buy the answer --------------------------------------------------

def test_missing_prompt_with_raw_present_keeps_the_answer(paths: Paths) -> None:
    chain(paths, essay_files=without(P.PROMPT))
    plan = StorePlan.build(paths, ["c"], policy="keep")
    assert [t for t in plan.targets() if f"/{ESSAY}/" in t] == [
        f(paths, "essay", ESSAY, P.PARSED_METADATA), f(paths, "essay", ESSAY, P.PROMPT)]
    assert plan.raw_inputs("essay", ESSAY) == []  # the new prompt.txt does not make raw.txt stale
    assert plan.parsed_inputs("essay", ESSAY) == []
    assert plan.prompt_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]  # to rebuild the prompt


# --- rerun_policy: make -----------------------------------------------------------------------

def test_policy_make_declares_every_edge(paths: Paths) -> None:
    chain(paths)
    plan = StorePlan.build(paths, ["c"], policy="make")
    assert plan.prompt_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]  # child prompt <- parent parse
    assert plan.raw_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.PROMPT)]
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]
    assert plan.prompt_inputs("draft", DRAFT) == []  # a draft has no parent
    assert plan.raw_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.PROMPT)]
    assert plan.parsed_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.RAW)]
    assert len(plan.targets()) == 2  # still one target per complete generation


def test_policy_keep_declares_no_parent_edge_for_complete_child(paths: Paths) -> None:
    chain(paths)
    assert StorePlan.build(paths, ["c"], policy="keep").prompt_inputs("essay", ESSAY) == []


# --- forced rules -----------------------------------------------------------------------------

def test_forced_essay_raw_makes_essay_parse_declare_raw(paths: Paths) -> None:
    chain(paths)
    plan = StorePlan.build(paths, ["c"], forced_rules=["essay_raw"])
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]
    assert plan.parsed_inputs("draft", DRAFT) == []  # other stages are untouched
    assert plan.prompt_inputs("essay", ESSAY) == []  # forcing raw does not rebuild the prompt


def test_forced_essay_prompt_declares_the_chain(paths: Paths) -> None:
    chain(paths)
    plan = StorePlan.build(paths, ["c"], forced_rules=["essay_prompt"])
    assert plan.prompt_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]
    assert plan.raw_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.PROMPT)]
    assert plan.parsed_inputs("essay", ESSAY) == [f(paths, "essay", ESSAY, P.RAW)]
    assert plan.raw_inputs("draft", DRAFT) == []


def test_forceall_declares_every_edge(paths: Paths) -> None:
    chain(paths)
    plan = StorePlan.build(paths, ["c"], forceall=True)
    assert plan.prompt_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]
    assert plan.raw_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.PROMPT)]
    assert plan.parsed_inputs("draft", DRAFT) == [f(paths, "draft", DRAFT, P.RAW)]


# --- the raw invariant ------------------------------------------------------------------------

def broken_store(paths: Paths, count: int = 2) -> list[str]:
    put(paths, "draft", DRAFT)
    rows = [("draft", DRAFT, "")]
    ids = [f"e_broken{i}" for i in range(count)]
    for gen_id in ids:
        put(paths, "essay", gen_id, without(P.RAW_METADATA, P.PARSED, P.PARSED_METADATA), parent=DRAFT)
        rows.append(("essay", gen_id, DRAFT))
    membership(paths, rows)
    return ids


def test_raw_without_metadata_stops_targets(paths: Paths) -> None:
    ids = broken_store(paths, 2)
    plan = StorePlan.build(paths, ["c"])
    with pytest.raises(DDError) as info:
        plan.targets()
    err = info.value
    assert err.code is Err.DATA_MISSING
    assert err.ctx["reason"] == "raw_metadata_missing_for_existing_raw"
    assert err.ctx["stage"] == "essay"
    assert err.ctx["count"] == 2
    assert sorted(err.ctx["paths"]) == sorted(str(paths.generation_dir("essay", g)) for g in ids)
    assert err.ctx["fix"].endswith(regenerate_command(paths, "essay", sorted(ids)))  # exactly the broken ones
    for gen_id in ids:  # nothing was touched
        assert paths.raw_path("essay", gen_id).exists()


def test_raw_invariant_lists_at_most_twenty_paths(paths: Paths) -> None:
    broken_store(paths, 23)
    with pytest.raises(DDError) as info:
        StorePlan.build(paths, ["c"]).targets()
    assert info.value.ctx["count"] == 23
    assert len(info.value.ctx["paths"]) == 20


@pytest.mark.parametrize("forced", [["essay_raw"], ["essay_prompt"], ["essay_raw", "draft_parsed"]])
def test_forcing_the_stage_repairs_the_raw_invariant(paths: Paths, forced: list[str]) -> None:
    ids = broken_store(paths, 2)
    targets = StorePlan.build(paths, ["c"], forced_rules=forced).targets()
    plan = StorePlan.build(paths, ["c"], forced_rules=forced)
    for gen_id in ids:
        assert f(paths, "essay", gen_id, P.PARSED_METADATA) in targets
        assert plan.parsed_inputs("essay", gen_id) == [f(paths, "essay", gen_id, P.RAW)]


def test_forceall_repairs_the_raw_invariant(paths: Paths) -> None:
    broken_store(paths, 1)
    assert StorePlan.build(paths, ["c"], forceall=True).targets()


@pytest.mark.parametrize("forced", [["draft_raw"], ["essay_parsed"], ["evaluation_raw"]])
def test_forcing_another_rule_does_not_hide_the_invariant(paths: Paths, forced: list[str]) -> None:
    broken_store(paths, 1)
    with pytest.raises(DDError) as info:
        StorePlan.build(paths, ["c"], forced_rules=forced).targets()
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx["count"] == 1


# --- membership shapes ------------------------------------------------------------------------

def test_two_column_membership_takes_parent_from_metadata(paths: Paths) -> None:
    chain(paths, essay_files=(P.METADATA,), slim=True)
    plan = StorePlan.build(paths, ["c"])
    assert plan.parent_of("essay", ESSAY) == DRAFT
    assert plan.prompt_inputs("essay", ESSAY) == [f(paths, "draft", DRAFT, P.PARSED)]


def test_two_column_membership_evaluation_parent(paths: Paths) -> None:
    put(paths, "draft", DRAFT)
    put(paths, "essay", ESSAY, parent=DRAFT)
    put(paths, "evaluation", EVAL, (P.METADATA,), parent=ESSAY)
    membership(paths, [("draft", DRAFT, ""), ("essay", ESSAY, ""), ("evaluation", EVAL, "")], slim=True)
    plan = StorePlan.build(paths, ["c"])
    assert plan.prompt_inputs("evaluation", EVAL) == [f(paths, "essay", ESSAY, P.PARSED)]
    assert plan.parent_of("draft", DRAFT) is None


def test_generation_shared_by_two_cohorts_is_requested_once(paths: Paths) -> None:
    chain(paths)
    membership(paths, [("draft", DRAFT, ""), ("essay", ESSAY, DRAFT)], cohort="other")
    plan = StorePlan.build(paths, ["c", "other"], policy="make")
    assert plan.targets() == [f(paths, "draft", DRAFT, P.PARSED_METADATA), f(paths, "essay", ESSAY, P.PARSED_METADATA)]


def test_unknown_member_is_invalid_membership(paths: Paths) -> None:
    chain(paths)
    plan = StorePlan.build(paths, ["c"])
    assert plan.member("essay", ESSAY).parent_gen_id == DRAFT
    with pytest.raises(DDError) as info:
        plan.member("essay", "e_unknown")
    assert info.value.code is Err.INVALID_MEMBERSHIP
    assert info.value.ctx == {"reason": "not_a_member", "stage": "essay", "gen_id": "e_unknown"}


def test_missing_membership_is_data_missing(paths: Paths) -> None:
    with pytest.raises(DDError) as info:
        StorePlan.build(paths, ["nope"])
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx["reason"] == "membership_missing"
    assert info.value.ctx["path"] == str(paths.membership_csv("nope"))


def test_bad_membership_row_names_line(paths: Paths) -> None:
    path = paths.membership_csv("c")
    path.parent.mkdir(parents=True)
    path.write_text("stage,gen_id\ndraft,d_ok\nessay,../escape\n", encoding="utf-8")
    with pytest.raises(DDError) as info:
        StorePlan.build(paths, ["c"])
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "invalid_gen_id"
    assert info.value.ctx["path"] == str(path)
    assert info.value.ctx["line"] == 3


def test_membership_saved_with_bom_and_crlf_loads(paths: Paths) -> None:
    """A hand-made membership saved by a spreadsheet ("CSV UTF-8": BOM, CRLF) reads like the catalogs do."""
    put(paths, "draft", DRAFT)
    path = paths.membership_csv("c")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbfstage,gen_id\r\ndraft," + DRAFT.encode() + b"\r\n")
    plan = StorePlan.build(paths, ["c"])
    assert [(m.stage, m.gen_id) for m in plan.members] == [("draft", DRAFT)]
    assert StorePlan.build(paths, ["c"], policy="make").targets() == [f(paths, "draft", DRAFT, P.PARSED_METADATA)]


def test_complete_generations_stay_in_the_dag_when_forced_or_under_make(paths: Paths) -> None:
    chain(paths)
    both = [f(paths, "draft", DRAFT, P.PARSED_METADATA), f(paths, "essay", ESSAY, P.PARSED_METADATA)]
    assert StorePlan.build(paths, ["c"], policy="make").targets() == both
    assert StorePlan.build(paths, ["c"], forceall=True).targets() == both
    assert StorePlan.build(paths, ["c"], forced_rules=["essay_parsed"]).targets() == [both[1]]
