"""A new generation is one job (its ``<stage>_parsed`` renders, calls and parses), so that a
fresh cohort's DAG has one job per generation; where a run's options name the phase rules they
stay three jobs. Each job's log lives under its data root."""

from __future__ import annotations

import copy
import json
import shutil

from daydreaming import paths as P
from daydreaming.paths import Paths

from .llm_helpers import groups, provider
from .money import assert_nothing_bought_twice
from .project import REPORT_JOBS, Project

# SMALL_SPEC: 1 draft, 2 essays (one LLM, one copy), 2 evaluations
NEW_JOBS = {"draft_parsed": 1, "essay_parsed": 2, "evaluation_parsed": 2}


def _every_file(project: Project) -> bool:
    return all(project.paths.gen_file(stage, gen_id, name).exists()
               for stage, gen_id in project.members() for name in P.GEN_FILES)


def test_a_fresh_cohort_is_one_job_per_generation_and_ends_complete(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    dry = project.snakemake("-n")
    assert dry.returncode == 0 and dry.jobs() == {**NEW_JOBS, **REPORT_JOBS, "all": 1}, dry.output

    run = project.snakemake()
    assert run.returncode == 0, run.output
    assert _every_file(project)
    calls = [(s, g) for s, g in project.members() if json.loads(
        project.paths.raw_metadata_path(s, g).read_text())["mode"] != "copy"]
    assert llm_server.request_count == len(calls) == 4
    assert_nothing_bought_twice(project, llm_server, calls)
    # the parse of each answer is recorded as such, whichever job made it
    for stage, gen_id in project.members():
        meta = json.loads(project.paths.parsed_metadata_path(stage, gen_id).read_text())
        assert meta["success"] and meta["raw_sha256"]
    assert project.snakemake("-n").jobs() == {}


def test_options_that_name_phase_rules_keep_the_phases_apart(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    until = project.snakemake("-n", "--until", "essay_parsed")
    assert until.returncode == 0
    assert until.jobs() == {f"{stage}_{phase}": count for stage, count in (("draft", 1), ("essay", 2))
                            for phase in ("prompt", "raw", "parsed")}, until.output

    # stop after the prompts: nothing is called, every prompt is written
    prompts = project.snakemake("--omit-from", "draft_raw", "essay_raw", "evaluation_raw")
    assert prompts.returncode == 0, prompts.output
    assert llm_server.request_count == 0
    drafts = project.gen_ids("draft")
    assert all(project.paths.prompt_path("draft", d).exists() for d in drafts)
    assert not any(project.paths.raw_path("draft", d).exists() for d in drafts)

    # generations with a prompt are no longer new: their answer and parse are two jobs
    rest = project.snakemake("-n")
    assert rest.jobs()["draft_raw"] == 1 and rest.jobs()["draft_parsed"] == 1
    assert "draft_prompt" not in rest.jobs() and rest.jobs()["evaluation_parsed"] == 2


def test_a_failed_call_in_a_new_generation_is_recorded_as_a_call_and_resumes(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    provider(project, max_retries=0)
    llm_server.add_fault(status=500, match="Write a short essay", times=1)
    first = project.snakemake()
    assert first.returncode != 0
    essay = next(g for g in project.gen_ids("essay") if not project.paths.raw_path("essay", g).exists())
    group = groups(first)[("essay", "raw", "IO_ERROR", "provider_unavailable")]
    assert group["gen_ids"] == [essay]
    # the prompt it rendered stays; the next run makes the call (a raw job) and the parse
    assert project.paths.prompt_path("essay", essay).exists()
    again = project.snakemake()
    assert again.returncode == 0, again.output
    assert not (project.paths.failures_dir / "essay_raw" / f"{essay}.json").exists()
    assert _every_file(project)


def test_two_data_roots_with_the_same_gen_ids_keep_their_own_logs(tmp_path, llm_server):
    first = Project.create(tmp_path, llm_server.base_url)
    other_root = tmp_path / "other-data"
    second = Project(tmp_path, copy.deepcopy(first.config))
    second.config["data_root"] = str(other_root)
    shutil.copytree(first.paths.data_root, other_root)  # the same catalogs and cohort spec

    llm_server.add_fault(status=400, match="Write a short essay", times=1)  # only the first run's essay
    assert first.snakemake().returncode != 0
    second.save_config()
    assert second.snakemake().returncode == 0

    essay = next(g for g in first.gen_ids("essay") if not first.paths.raw_path("essay", g).exists())
    other = Paths(other_root)
    assert other.raw_path("essay", essay).exists()  # the same gen_id, answered in the other root
    failed_log = first.paths.logs_dir / "essay_parsed" / f"{essay}.log"
    ok_log = other.logs_dir / "essay_parsed" / f"{essay}.log"
    assert f"essay_raw {essay} failed" in failed_log.read_text()
    assert "failed" not in ok_log.read_text() and f"essay_parsed {essay} ok" in ok_log.read_text()
    record = json.loads((first.paths.failures_dir / "essay_raw" / f"{essay}.json").read_text())
    assert record["log"] == str(failed_log)
    assert not (tmp_path / "logs").exists()  # nothing under the working directory

