"""Catalogs in the earlier system's formats load unchanged and a cohort over them runs end to end.

By default on the project's own catalogs (``tests/fixtures/catalogs``: every parser, a copy
essay with no template file, quoted CSV cells, the concept fallback chain); under
``-m shared`` on the earlier system's real catalogs in ``../shared``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from daydreaming import catalogs
from daydreaming import paths as P

from .project import Project

FIXTURE_RAW = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "1_raw"


def _over_catalogs(tmp_path: Path, base_url: str, raw: Path, concepts: list[str], spec: dict) -> Project:
    project = Project.create(tmp_path, base_url)
    raw_dir = project.paths.raw_dir
    shutil.rmtree(raw_dir)  # swap the demo catalogs for these, untouched
    os.symlink(raw, raw_dir)
    project.paths.combo_mappings_csv.unlink()
    combos = catalogs.author_combos(project.paths, concepts, 2)["added"]
    spec["axes"]["combo_id"] = combos[: len(spec["axes"]["combo_id"])]
    project.write_spec("c1", spec)
    return project


def _spec(
    combos: int, drafts: list[str], essays: list[str], evaluations: list[str], llms: tuple[str, str, str]
) -> dict:
    axes = {
        "combo_id": [""] * combos, "draft_template": drafts, "draft_llm": [llms[0]],
        "essay_template": essays, "essay_llm": [llms[1]], "evaluation_template": evaluations,
        "evaluation_llm": [llms[2]], "evaluation_replicate": ["1", "2"],
    }
    return {"axes": axes, "output": {"field_order": list(axes)}}


def _check_run(project: Project, spec: dict, expected: dict[str, int], llm_calls: int, llm_server, models: set[str],
               parsers: set[str]) -> None:
    members = project.members()
    counts = {s: sum(1 for stage, _ in members if stage == s) for s in ("draft", "essay", "evaluation")}
    assert counts == expected
    for stage, gen_id in members:
        assert {p.name for p in project.paths.generation_dir(stage, gen_id).iterdir()} == set(P.GEN_FILES)
    assert llm_server.request_count == llm_calls  # copy essays cost nothing
    assert {r["model"] for r in llm_server.requests} == models
    for gen_id in project.gen_ids("evaluation"):
        assert 0.0 <= float(project.paths.parsed_path("evaluation", gen_id).read_text()) <= 10.0
    parsers_used = {json.loads(project.paths.parsed_metadata_path("draft", g).read_text())["parser_name"]
                    for g in project.gen_ids("draft")}
    assert parsers_used == parsers
    manifest = json.loads(project.paths.manifest_json("c1").read_text())
    assert manifest["templates"]["essay"] == sorted(spec["axes"]["essay_template"])
    assert manifest["combos"] == sorted(spec["axes"]["combo_id"])
    assert yaml.safe_load(project.paths.cohort_spec("c1").read_text()) == spec


def test_a_cohort_over_catalogs_in_the_earlier_systems_formats_runs_end_to_end(tmp_path, llm_server):
    drafts = ["link-list", "tagged-thread-v2", "thinking-then-essay", "literal-braces"]
    essays = ["final-idea-copy", "notes-to-essay", "draft-to-essay-v2"]
    spec = _spec(1, drafts, essays, ["novelty-0-9", "rigor-final-score"], ("fast-writer", "deep-writer", "judge_v1"))
    project = _over_catalogs(tmp_path, llm_server.base_url, FIXTURE_RAW, ["coral-reef", "beekeeping", "origami"], spec)
    result = project.snakemake()
    assert result.returncode == 0, result.output[-4000:]
    # 4 drafts; 3 essays each (one a copy); 2 templates x 2 replicates per essay
    _check_run(project, spec, {"draft": 4, "essay": 12, "evaluation": 48}, 4 + 8 + 48, llm_server,
               {"vendor-a/writer-small:free", "vendor-b/writer-large", "vendor-a/judge-1.5"},
               {"identity", "essay_idea_last", "essay_block_lenient"})
    evaluation_parsers = {json.loads(project.paths.parsed_metadata_path("evaluation", g).read_text())["parser_name"]
                          for g in project.gen_ids("evaluation")}
    assert evaluation_parsers == {"in_last_line", "final_verdict"}


@pytest.mark.shared
def test_a_cohort_over_the_real_catalogs_runs_end_to_end(tmp_path, llm_server, shared):
    drafts = ["creative-synthesis-v7", "deliberate-rolling-thread-v3", "pair-explorer", "recursive-construction"]
    essays = ["parsed-from-links-v1", "creative-synthesis-v10", "synthesis-theme-narrative-v16"]
    spec = _spec(
        2, drafts, essays, ["creativity-metrics-v2", "novelty"], ("gemini_25_pro", "sonnet-4", "deepseek_r1_p")
    )
    project = _over_catalogs(tmp_path, llm_server.base_url, shared / "reference" / "daydreaming-1_raw",
                             ["default-mode-network", "mind-wandering", "generator-verifier-gap"], spec)
    result = project.snakemake()
    assert result.returncode == 0, result.output[-4000:]
    # copy essays cost nothing: 8 drafts + 16 LLM essays + 96 evaluations
    _check_run(project, spec, {"draft": 8, "essay": 24, "evaluation": 96}, 8 + 16 + 96, llm_server,
               {"google/gemini-2.5-pro", "anthropic/claude-sonnet-4", "deepseek/deepseek-r1"},
               {"essay_block_lenient", "essay_idea_last", "identity"})
