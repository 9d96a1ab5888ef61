"""``daydreaming estimate`` counts each pending call's prompt as its own rendering would, though
it renders each distinct prompt once (a fresh 20,000-generation cohort has a handful)."""

from __future__ import annotations

from pathlib import Path

from store_fixtures import create, run_phase

from daydreaming.estimate import Estimator, completion_averages, tokens_of
from daydreaming.plan import StorePlan
from daydreaming.runtime import Runtime


def test_each_pending_prompt_is_counted_as_its_own_rendering(tmp_path: Path) -> None:
    project = create(tmp_path)
    plan = StorePlan.build(project.paths, ["c1"])
    drafts = [m.gen_id for m in plan.members if m.stage == "draft"]
    for phase in ("prompt", "raw", "parsed"):  # one draft has an answer: its essays render its text
        assert run_phase(project.config, "draft", phase, drafts[0])

    rt = Runtime.from_config(project.config)
    estimator = Estimator(rt, StorePlan.build(project.paths, ["c1"]))
    calls = estimator.calls()
    by_key = {(c.stage, c.gen_id): c.prompt_tokens for c in calls}
    rendered = {key: tokens_of(estimator.prompt(*key)) for key in by_key}

    assert by_key == rendered
    assert {stage for stage, _ in by_key} == {"draft", "essay", "evaluation"}
    assert ("draft", drafts[0]) not in by_key
    draft_tokens = {by_key[("draft", d)] for d in drafts[1:]}
    assert len(draft_tokens) > 1  # the combos' concepts differ: so do their drafts' prompts


def test_answer_lengths_are_averaged_alike_with_templates_from_the_membership(tmp_path: Path) -> None:
    project = create(tmp_path)
    plan = StorePlan.build(project.paths, ["c1"])
    drafts = [m for m in plan.members if m.stage == "draft"]
    for member in drafts:
        for phase in ("prompt", "raw", "parsed"):
            assert run_phase(project.config, "draft", phase, member.gen_id)
    templates = {(m.stage, m.gen_id): m.row["template_id"] for m in plan.members}

    from_rows = completion_averages(project.paths, templates)
    from_metadata = completion_averages(project.paths)

    assert from_rows == from_metadata
    assert set(from_rows) == {("draft", m.row["template_id"]) for m in drafts}
