"""``llm.call_pool``: a run's calls made by a pool of threads ahead of their raw jobs. The provider
sees the cap in flight, every answer is bought once (its own log says), a failed call fails its
raw job with the same coded record, and interrupts lose nothing."""

from __future__ import annotations

import json
import signal

import pytest

from .llm_helpers import drafts_cohort, groups, provider
from .money import assert_nothing_bought_twice, assert_nothing_left_behind, interrupt
from .project import Project

pytestmark = pytest.mark.slow  # minutes of kills, interrupts and waits: python -m pytest -m slow


@pytest.fixture
def project(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    project.config["llm"]["call_pool"] = True
    project.save_config()
    return project


def test_the_pool_fills_the_cap_and_buys_every_answer_once(project, llm_server):
    ids = drafts_cohort(project, 12)
    provider(project, max_concurrent=4)
    llm_server.latency_s = 0.5
    result = project.snakemake("--cores", "8")
    assert result.returncode == 0, result.output
    assert llm_server.max_in_flight == 4
    assert_nothing_bought_twice(project, llm_server, [("draft", g) for g in ids])
    for gen_id in ids:
        assert project.paths.parsed_path("draft", gen_id).exists()
        log = (project.paths.logs_dir / "draft_raw" / f"{gen_id}.log").read_text()
        assert f"draft_raw {gen_id} ok" in log
    assert_nothing_left_behind(project)


def test_a_whole_cohort_runs_through_the_pool_stage_after_stage(project, llm_server):
    result = project.snakemake()
    assert result.returncode == 0, result.output
    gens = [(s, g) for s, g in project.members() if json.loads(
        project.paths.raw_metadata_path(s, g).read_text())["mode"] == "llm"]
    assert {s for s, _ in gens} == {"draft", "essay", "evaluation"}
    assert_nothing_bought_twice(project, llm_server, gens)
    assert project.snakemake("-n").jobs() == {}


def test_a_call_that_fails_in_the_pool_fails_its_raw_job_with_its_record(project, llm_server):
    ids = drafts_cohort(project, 3)
    llm_server.add_fault(status=400, match="", times=1, message="refused")
    result = project.snakemake()
    assert result.returncode != 0
    found = groups(result)[("draft", "raw", "INVALID_CONFIG", "provider_rejected")]
    assert found["count"] == 1
    (failed,) = found["gen_ids"]
    record = json.loads((project.paths.failures_dir / "draft_raw" / f"{failed}.json").read_text())
    assert record["ctx"]["status"] == 400 and record["ctx"]["message"] == "refused"
    assert sum(project.paths.raw_path("draft", g).exists() for g in ids) == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupts_with_the_pool_buy_nothing_twice(project, llm_server, sig):
    ids = drafts_cohort(project, 16)
    provider(project, max_concurrent=4)
    llm_server.latency_s = 1.0
    interrupt(project, llm_server, sig, 5, 0.3)
    llm_server.latency_s = 0.0
    final = project.snakemake()
    assert final.returncode == 0, final.output
    assert_nothing_bought_twice(project, llm_server, [("draft", g) for g in ids], interrupted_runs=1)
    assert_nothing_left_behind(project)
