"""Stale children as a choice: after a forced draft, ``daydreaming status`` counts its stale
essays, ``status --stale`` lists them with their evaluations, and its commands regenerate exactly
those (real snakemake, the real loopback LLM server counting calls, the real CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

from .project import Project

SPEC = {  # two drafts, each with an LLM essay and a copied essay, each essay scored once
    "axes": {
        "combo_id": ["combo_v1_54b355e4d77d", "combo_v1_5c955f3e5aa8"],
        "draft_template": ["pair-sketch"],
        "draft_llm": ["writer"],
        "essay_template": ["short-essay", "copy-draft"],
        "essay_llm": ["writer"],
        "evaluation_template": ["novelty-score"],
        "evaluation_llm": ["judge"],
    },
    "output": {"field_order": ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm",
                               "evaluation_template", "evaluation_llm"]},
}


def daydreaming(project: Project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daydreaming.cli", *args,
                           "--configfile", str(project.root / "config" / "config.yaml")],
                          capture_output=True, text=True, cwd=project.root, timeout=120)


def stage_row(project: Project, stage: str) -> dict:
    done = daydreaming(project, "status", "--json")
    assert done.returncode == 0, done.stderr
    return next(r for r in json.loads(done.stdout)["cohorts"][0]["stages"] if r["stage"] == stage)


def answers(project: Project) -> dict[tuple[str, str], bytes]:
    return {(stage, gen_id): project.paths.raw_path(stage, gen_id).read_bytes()
            for stage, gen_id in project.members()}


def parent(project: Project, stage: str, gen_id: str) -> str:
    return json.loads(project.paths.metadata_path(stage, gen_id).read_text())["parent_gen_id"]


def test_a_forced_draft_makes_its_children_stale_and_one_listing_regenerates_exactly_them(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url, SPEC)
    assert project.snakemake().returncode == 0
    essay = stage_row(project, "essay")
    assert (essay["stale"], essay["stale_unknown"]) == (0, 0)  # every answer records its parent's hash

    # Force one draft; a different model string behind `writer` gives it a different answer.
    draft = project.gen_ids("draft")[0]
    models = project.paths.llm_models_csv
    models.write_text(models.read_text().replace("offline/writer", "offline/writer-v2"))
    calls = llm_server.request_count
    forced = project.snakemake(str(project.paths.parsed_path("draft", draft)), "--forcerun", "draft_raw")
    assert forced.returncode == 0, forced.output
    assert llm_server.request_count == calls + 1

    essays = sorted(e for e in project.gen_ids("essay") if parent(project, "essay", e) == draft)
    evals = sorted(v for v in project.gen_ids("evaluation") if parent(project, "evaluation", v) in essays)
    assert len(essays) == 2 and len(evals) == 2
    assert stage_row(project, "essay")["stale"] == 2
    listed = json.loads(daydreaming(project, "status", "--stale", "--json").stdout)
    assert {(g["stage"], g["gen_id"], g["why"]) for g in listed["generations"]} == \
        {("essay", e, "stale") for e in essays} | {("evaluation", v, "downstream") for v in evals}

    # The listed commands, one stage after the other: new answers for exactly these.
    before, calls = answers(project), llm_server.request_count
    for step in listed["commands"]:
        done = project.snakemake(*step["targets"], "--forcerun", step["forcerun"])
        assert done.returncode == 0, done.output
    after = answers(project)
    assert {key for key in before if before[key] != after[key]} == \
        {("essay", e) for e in essays} | {("evaluation", v) for v in evals}
    assert llm_server.request_count == calls + 3  # the LLM essay and both evaluations (the copy is free)

    assert (stage_row(project, "essay")["stale"], stage_row(project, "evaluation")["stale"]) == (0, 0)
    checked = daydreaming(project, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
