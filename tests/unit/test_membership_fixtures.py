"""The seed's spec fixtures compile into memberships with the seed's stage counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import ids
from daydreaming.cohort import design
from daydreaming.cohort.spec import compile_design, load_spec

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "spec_fixtures"


def membership_for(name: str, modes=None):
    rows = design.normalise(compile_design(load_spec(FIXTURES / name / "config.yaml")))
    return design.build_membership(rows, name, modes or {}, lambda stage, gen_id: None)


def counts(rows) -> dict[str, int]:
    return {stage: sum(1 for r in rows if r.stage == stage) for stage in ("draft", "essay", "evaluation")}


def test_cohort_cartesian_gives_2_drafts_8_essays_8_evaluations():
    rows = membership_for("cohort_cartesian")
    assert counts(rows) == {"draft": 2, "essay": 8, "evaluation": 8}
    drafts = {r.gen_id: r for r in rows if r.stage == "draft"}
    assert sorted(r.replicate for r in drafts.values()) == [1, 2]
    for row in rows:
        if row.stage == "essay":
            assert row.parent_gen_id in drafts
            assert row.gen_id == ids.deterministic_gen_id(
                "essay", ids.essay_signature(row.parent_gen_id, row.template_id, row.replicate))


def membership_for_with_defaults(name: str, modes=None):
    """Fixtures without combo/draft LLM axes get placeholders, as a catalog-free plan would."""
    rows = compile_design(load_spec(FIXTURES / name / "config.yaml"))
    filled = [{"combo_id": "combo-x", "draft_llm": "llm-x", "essay_llm": "llm-x", **row} for row in rows]
    return design.build_membership(design.normalise(filled), name, modes or {}, lambda stage, gen_id: None)


@pytest.mark.parametrize("name,evaluations", [
    ("baseline_cartesian", 12), ("dual_llm_cartesian", 4), ("paired_copy_mix", 2),
    # 64 design rows, but the essay id leaves out the essay LLM (seed contract): rows that
    # differ only in essay_llm are one essay, and so one evaluation per evaluator.
    ("full_two_phase_cartesian", 32),
])
def test_evaluations_per_fixture(name: str, evaluations: int):
    assert counts(membership_for_with_defaults(name))["evaluation"] == evaluations


def test_copy_templates_become_copy_mode_rows():
    modes = {"essay": {"essay-copy-v1": "copy", "essay-llm-v1": "llm"}}
    rows = membership_for_with_defaults("paired_copy_mix", modes)
    assert {(r.template_id, r.mode) for r in rows if r.stage == "essay"} == {
        ("essay-copy-v1", "copy"), ("essay-llm-v1", "llm")}
