"""The rerun policy switch: does a regenerated parent make its children stale?"""

from __future__ import annotations

import pytest

from .project import REPORT_JOBS, Project


# "seed" is the old name of "keep": config files that still say it must keep their meaning.
@pytest.mark.parametrize("policy", ["keep", "seed", "make"])
def test_regenerated_parent_and_its_children(tmp_path, llm_server, policy):
    project = Project.create(tmp_path, llm_server.base_url)
    project.config["rerun_policy"] = policy
    project.save_config()
    assert project.snakemake().returncode == 0
    calls = llm_server.request_count

    # A changed draft template, applied to the drafts only: a new prompt, a new answer.
    template = project.paths.template_file("draft", "pair-sketch")
    template.write_text(template.read_text() + "\nAlso name one risk.\n")
    forced = project.snakemake("--forcerun", "draft_prompt", "--until", "draft_parsed")
    assert forced.returncode == 0, forced.output
    assert llm_server.request_count == calls + 1

    dry = project.snakemake("-n")
    assert dry.returncode == 0, dry.output
    if policy != "make":
        assert dry.jobs() == {}, dry.output
    else:
        assert dry.jobs() == {
            "essay_prompt": 2, "essay_raw": 2, "essay_parsed": 2,
            "evaluation_prompt": 2, "evaluation_raw": 2, "evaluation_parsed": 2, **REPORT_JOBS, "all": 1,
        }
    before = llm_server.request_count
    assert project.snakemake().returncode == 0
    expected_new = 0 if policy != "make" else 3  # make: the LLM essay and both evaluations
    assert llm_server.request_count == before + expected_new
    assert project.snakemake("-n").jobs() == {}
