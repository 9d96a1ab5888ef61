"""Spec fixtures compile into memberships with the stage counts the earlier system's id rules give."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import ids
from daydreaming.cohort import design
from daydreaming.cohort.spec import expand_design, load_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"


def membership_for(spec_dir: Path, modes=None):
    rows = design.normalise(expand_design(load_spec(spec_dir / "config.yaml")))
    return design.build_membership(rows, spec_dir.name, modes or {}, lambda stage, gen_id: None)


def counts(rows) -> dict[str, int]:
    return {stage: sum(1 for r in rows if r.stage == stage) for stage in ("draft", "essay", "evaluation")}


def check_parents_and_ids(rows) -> None:
    drafts = {r.gen_id: r for r in rows if r.stage == "draft"}
    essays = {r.gen_id: r for r in rows if r.stage == "essay"}
    for row in rows:
        if row.stage == "essay":
            assert row.parent_gen_id in drafts
            assert row.gen_id == ids.deterministic_gen_id(
                "essay", ids.essay_signature(row.parent_gen_id, row.template_id, row.replicate))
        if row.stage == "evaluation":
            assert row.parent_gen_id in essays


def test_replicates_of_every_stage_multiply_generations():
    rows = membership_for(FIXTURES / "replicates_tuple")
    # 2 draft replicates; 2 essay templates x 2 essay replicates per draft; 3 evaluations each
    assert counts(rows) == {"draft": 2, "essay": 8, "evaluation": 24}
    assert sorted(r.replicate for r in rows if r.stage == "draft") == [1, 2]
    assert sorted({r.replicate for r in rows if r.stage == "evaluation"}) == [1, 2, 3]
    check_parents_and_ids(rows)


def test_the_older_replicate_column_name_is_read():
    rows = membership_for_with_defaults(FIXTURES / "pair_with_tuple_side")
    assert counts(rows) == {"draft": 4, "essay": 4, "evaluation": 4}
    assert sorted(r.replicate for r in rows if r.stage == "draft") == [1, 1, 2, 2]  # draft_template_replicate


def test_a_tie_gives_each_draft_its_own_essay_model():
    rows = membership_for(FIXTURES / "ties_and_subsets")
    assert counts(rows) == {"draft": 8, "essay": 8, "evaluation": 8}
    drafts = {r.gen_id: r for r in rows if r.stage == "draft"}
    for essay in (r for r in rows if r.stage == "essay"):
        assert essay.llm_model_id == drafts[essay.parent_gen_id].llm_model_id


@pytest.mark.shared
def test_earlier_systems_cohort_cartesian_gives_2_drafts_8_essays_8_evaluations(shared: Path):
    rows = membership_for(shared / "reference" / "spec_fixtures" / "cohort_cartesian")
    assert counts(rows) == {"draft": 2, "essay": 8, "evaluation": 8}
    assert sorted(r.replicate for r in rows if r.stage == "draft") == [1, 2]
    check_parents_and_ids(rows)


def membership_for_with_defaults(spec_dir: Path, modes=None):
    """Fixtures without combo/draft LLM axes get placeholders, as a catalog-free plan would."""
    rows = expand_design(load_spec(spec_dir / "config.yaml"))
    filled = [{"combo_id": "combo-x", "draft_llm": "llm-x", "essay_llm": "llm-x", **row} for row in rows]
    return design.build_membership(design.normalise(filled), spec_dir.name, modes or {}, lambda stage, gen_id: None)


@pytest.mark.parametrize("name,evaluations", [
    ("pairs_from_files", 12), ("pair_with_tuple_side", 4), ("copy_mix", 2),
    # 24 design rows, but the essay id leaves out the essay LLM (the earlier system's contract): bundles that
    # differ only in essay_llm would be one essay; here the two bundles differ in template.
    ("replicates_tuple", 24),
])
def test_evaluations_per_fixture(name: str, evaluations: int):
    assert counts(membership_for_with_defaults(FIXTURES / name))["evaluation"] == evaluations


@pytest.mark.shared
def test_evaluations_per_earlier_systems_fixture(shared: Path):
    fixtures = shared / "reference" / "spec_fixtures"
    # full_two_phase_cartesian: 64 design rows, but the essay id leaves out the essay LLM (the earlier system's
    # contract): rows that differ only in essay_llm are one essay, so one evaluation per evaluator.
    expected = {"baseline_cartesian": 12, "dual_llm_cartesian": 4, "paired_copy_mix": 2, "full_two_phase_cartesian": 32}
    found = {name: counts(membership_for_with_defaults(fixtures / name))["evaluation"] for name in expected}
    assert found == expected


def test_copy_templates_become_copy_mode_rows():
    modes = {"essay": {"final-idea-copy": "copy", "notes-to-essay": "llm"}}
    rows = membership_for_with_defaults(FIXTURES / "copy_mix", modes)
    assert {(r.template_id, r.mode) for r in rows if r.stage == "essay"} == {
        ("final-idea-copy", "copy"), ("notes-to-essay", "llm")}


@pytest.mark.shared
def test_earlier_systems_copy_templates_become_copy_mode_rows(shared: Path):
    modes = {"essay": {"essay-copy-v1": "copy", "essay-llm-v1": "llm"}}
    rows = membership_for_with_defaults(shared / "reference" / "spec_fixtures" / "paired_copy_mix", modes)
    assert {(r.template_id, r.mode) for r in rows if r.stage == "essay"} == {
        ("essay-copy-v1", "copy"), ("essay-llm-v1", "llm")}
