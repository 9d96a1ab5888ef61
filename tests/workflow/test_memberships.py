"""Membership files the workflow accepts: slim legacy ones, shared generations, bad ones."""

from __future__ import annotations

import copy

from .project import REPORT_JOBS, SMALL_SPEC, Project


def test_two_column_membership_of_an_existing_store(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    slim = project.paths.membership_csv("legacy")
    slim.parent.mkdir(parents=True)
    slim.write_text("stage,gen_id\n" + "".join(f"{s},{g}\n" for s, g in project.members()))
    project.config["cohorts"] = ["legacy"]
    project.save_config()
    assert project.snakemake("-n").jobs() == {**REPORT_JOBS, "all": 1}  # a new cohort: only its reports

    evaluation = project.gen_ids("evaluation")[0]
    essay_of_it = project.paths.metadata_path("evaluation", evaluation)
    project.paths.prompt_path("evaluation", evaluation).unlink()
    project.paths.raw_path("evaluation", evaluation).unlink()
    calls = llm_server.request_count
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert essay_of_it.exists() and project.paths.raw_path("evaluation", evaluation).exists()
    assert llm_server.request_count == calls + 1


def test_cohorts_sharing_generations_produce_them_once(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    wider = copy.deepcopy(SMALL_SPEC)
    wider["axes"]["evaluation_template"] = ["novelty-score", "clarity-score"]
    project.write_spec("c2", wider)
    project.config["cohorts"] = ["c1", "c2"]
    project.save_config()
    result = project.snakemake()
    assert result.returncode == 0, result.output
    shared = set(project.members("c1")) & set(project.members("c2"))
    assert len(shared) == 5 and len(set(project.members("c2"))) == 7
    # 1 draft + 1 LLM essay + 4 evaluations, each once
    assert llm_server.request_count == 6
    assert len({r["prompt"] for r in llm_server.requests}) == 6


def test_adding_an_axis_value_schedules_only_the_new_generations(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    before = project.snapshot()
    wider = copy.deepcopy(SMALL_SPEC)
    wider["axes"]["evaluation_template"] = ["novelty-score", "clarity-score"]
    project.write_spec("c1", wider)
    dry = project.snakemake("-n")
    assert dry.returncode == 0, dry.output
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == 4 + 2
    after = project.snapshot()
    assert all(after[k] == v for k, v in before.items())

    project.write_spec("c1", SMALL_SPEC)  # removing the value again deletes nothing
    assert project.snakemake().returncode == 0
    assert project.snapshot() == after and len(project.members()) == 5


def test_membership_with_an_unsafe_gen_id_is_refused(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    bad = project.paths.membership_csv("bad")
    bad.parent.mkdir(parents=True)
    bad.write_text("stage,gen_id\ndraft,../../etc\n")
    project.config["cohorts"] = ["bad"]
    project.save_config()
    result = project.snakemake("-n")
    assert result.returncode != 0
    code, ctx = result.errors()[0]
    assert code == "INVALID_CONFIG" and ctx["reason"] == "invalid_gen_id"
    assert ctx["gen_id"] == "../../etc" and ctx["path"] == str(bad) and ctx["line"] == 2
    assert not (project.root / "etc").exists() and not project.paths.gens_root.exists()


def test_failed_compile_keeps_the_previous_membership_and_store(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    membership = project.paths.membership_csv("c1").read_bytes()
    store = project.snapshot()
    broken = copy.deepcopy(SMALL_SPEC)
    broken["axes"]["draft_template"] = ["pair-sketch", "no-such-template"]
    project.write_spec("c1", broken)
    result = project.snakemake()
    assert result.returncode != 0
    code, ctx = result.errors()[0]
    assert code == "INVALID_CONFIG" and ctx["reason"] == "catalog_values_missing"
    assert ctx["missing"] == {"draft_template": ["no-such-template"]}
    assert project.paths.membership_csv("c1").read_bytes() == membership
    assert project.snapshot() == store
    assert llm_server.request_count == 4
