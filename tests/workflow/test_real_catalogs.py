"""The seed system's real catalogs load unchanged and a cohort over them runs end to end."""

from __future__ import annotations

import json
import os
import shutil

import yaml

from daydreaming import catalogs
from daydreaming import paths as P

from .project import Project

DRAFTS = ["creative-synthesis-v7", "deliberate-rolling-thread-v3", "pair-explorer", "recursive-construction"]
ESSAYS = ["parsed-from-links-v1", "creative-synthesis-v10", "synthesis-theme-narrative-v16"]
EVALUATIONS = ["creativity-metrics-v2", "novelty"]


def test_a_cohort_over_the_real_catalogs_runs_end_to_end(tmp_path, llm_server, shared):
    project = Project.create(tmp_path, llm_server.base_url)
    raw_dir = project.paths.raw_dir
    shutil.rmtree(raw_dir)  # swap the demo catalogs for the seed system's, untouched
    os.symlink(shared / "reference" / "daydreaming-1_raw", raw_dir)
    project.paths.combo_mappings_csv.unlink()
    combos = catalogs.author_combos(project.paths, ["default-mode-network", "mind-wandering",
                                                    "generator-verifier-gap"], 2)["added"]
    spec = {
        "axes": {
            "combo_id": combos[:2], "draft_template": DRAFTS, "draft_llm": ["gemini_25_pro"],
            "essay_template": ESSAYS, "essay_llm": ["sonnet-4"], "evaluation_template": EVALUATIONS,
            "evaluation_llm": ["deepseek_r1_p"], "evaluation_replicate": ["1", "2"],
        },
        "output": {"field_order": ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm",
                                   "evaluation_template", "evaluation_llm", "evaluation_replicate"]},
    }
    project.write_spec("c1", spec)
    result = project.snakemake()
    assert result.returncode == 0, result.output[-4000:]

    members = project.members()
    counts = {s: sum(1 for stage, _ in members if stage == s) for s in ("draft", "essay", "evaluation")}
    assert counts == {"draft": 8, "essay": 24, "evaluation": 96}
    for stage, gen_id in members:
        assert {p.name for p in project.paths.generation_dir(stage, gen_id).iterdir()} == set(P.GEN_FILES)
    # copy essays cost nothing: 8 drafts + 16 LLM essays + 96 evaluations
    assert llm_server.request_count == 8 + 16 + 96
    models = {r["model"] for r in llm_server.requests}
    assert models == {"google/gemini-2.5-pro", "anthropic/claude-sonnet-4", "deepseek/deepseek-r1"}
    for gen_id in project.gen_ids("evaluation"):
        assert 0.0 <= float(project.paths.parsed_path("evaluation", gen_id).read_text()) <= 9.0
    parsers_used = {json.loads(project.paths.parsed_metadata_path("draft", g).read_text())["parser_name"]
                    for g in project.gen_ids("draft")}
    assert parsers_used == {"essay_block_lenient", "essay_idea_last", "identity"}
    manifest = json.loads(project.paths.manifest_json("c1").read_text())
    assert manifest["templates"]["essay"] == sorted(ESSAYS) and manifest["combos"] == sorted(combos[:2])
    assert yaml.safe_load(project.paths.cohort_spec("c1").read_text()) == spec

