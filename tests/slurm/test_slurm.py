"""The pipeline on a real single-node SLURM cluster (loopback), through profiles/slurm.

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them);
without them these tests fail, they never skip. The LLM server runs in this pytest process on
127.0.0.1, which SLURM jobs on the same node reach.
"""

from __future__ import annotations

import re
import time

import pytest

from daydreaming.cohort.compile import compile_cohort
from tests.workflow.money import bought_twice, requests_by_generation
from tests.workflow.project import SMALL_SPEC, Project

from .runs import comparable_store, run_locally, run_on_slurm, start_on_slurm, store_violations

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.timeout(900)]

# SMALL_SPEC: 1 draft, 2 essays (one LLM, one copy), 2 evaluations: 15 phase jobs, 4 LLM calls.
PHASE_JOBS = 15
LLM_CALLS = 4
# One SLURM job per group of profiles/slurm (each takes all its components here): the <stage>_raw
# jobs of each stage; prompts and parses run on the head (local rules), never as SLURM jobs.
GROUPS = {"llm_draft", "llm_essay", "llm_evaluation"}


def _group_of(log_path) -> str:
    """logs/slurm/group_<group>_<rules...>/<wildcards>/<jobid>.log -> <group>."""
    part = next(p for p in log_path.parts if p.startswith("group_"))
    return next(g for g in sorted(GROUPS, key=len, reverse=True) if part.startswith(f"group_{g}_"))


def _minutes(limit: str) -> int:
    """squeue's %l ([days-]hours:minutes:seconds or minutes:seconds) in whole minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(x) for x in clock.split(":")]
    seconds = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    return (int(days or 0) * 86400 + seconds) // 60


def test_cohort_on_slurm_is_identical_to_a_local_run(tmp_path, llm_server, slurm_cluster):
    local = Project.create(tmp_path / "local", llm_server.base_url, SMALL_SPEC)
    result = run_locally(local)
    assert result.returncode == 0, result.tail()
    assert llm_server.request_count == LLM_CALLS

    cluster = Project.create(tmp_path / "cluster", llm_server.base_url, SMALL_SPEC)
    run = run_on_slurm(cluster, slurm_cluster)
    assert run.returncode == 0 and not run.interrupted, run.tail()

    # Complete, and the same content as the local run (timestamps and paths aside).
    members = cluster.members()
    for stage, gen_id in members:
        gen_dir = cluster.paths.generation_dir(stage, gen_id)
        for name in ("prompt.txt", "raw.txt", "raw_metadata.json", "parsed.txt", "parsed_metadata.json"):
            assert (gen_dir / name).is_file(), f"{stage}/{gen_id}/{name} missing"
    assert comparable_store(cluster) == comparable_store(local)
    assert store_violations(cluster) == []
    # Every answer bought once per run: the cluster made the same calls as the local run.
    assert llm_server.request_count == 2 * LLM_CALLS

    # Grouping: the LLM calls of each stage in one SLURM job; the cheap phases ran on the head.
    assert sum(run.phase_jobs.values()) == PHASE_JOBS
    assert sorted(_group_of(p) for p in run.slurm_logs) == sorted(GROUPS)
    assert len(run.slurm_jobs) == len(GROUPS)
    local = set(re.findall(r"^localrule (\w+):", run.output, re.M))
    assert {f"{stage}_{phase}" for stage in ("draft", "essay", "evaluation") for phase in ("prompt", "parsed")} <= local
    # SLURM saw exactly those jobs, all finished.
    ours = {j["id"]: j for j in slurm_cluster.jobs() if j["id"] in set(run.slurm_jobs)}
    assert {j["state"] for j in ours.values()} == {"COMPLETED"}, ours
    assert len(ours) == len(GROUPS)
    # A group job runs its jobs one by one: it asks for one CPU, not one per job, and the sum
    # of its jobs' runtimes (15 min per LLM call).
    assert {j["cpus"] for j in ours.values()} == {"1"}, ours
    minutes = {_group_of(log): _minutes(ours[log.stem]["time_limit"]) for log in run.slurm_logs}
    assert minutes == {"llm_draft": 15, "llm_essay": 30, "llm_evaluation": 30}


def test_a_failed_group_job_is_retried_without_rebuying_the_answers_it_stored(tmp_path, llm_server, slurm_cluster):
    """The evaluation group job makes two calls, one after the other; the second fails (a 500,
    no retry in the client), so the SLURM job fails. The profile's retries submit it again: the
    call that succeeded keeps its stored answer (no request), the failed one is made again."""
    project = Project.create(tmp_path, llm_server.base_url, SMALL_SPEC)
    project.config["llm"]["providers"]["offline"]["max_retries"] = 0
    project.save_config()
    compile_cohort(project.paths, "c1")
    local = run_locally(project, "--until", "evaluation_prompt")
    assert local.returncode == 0, local.tail()
    assert llm_server.request_count == 2
    llm_server.latency_s = 3.0  # time to queue the fault while the first evaluation call is answered
    run = start_on_slurm(project, slurm_cluster)
    try:
        deadline = time.monotonic() + 300
        while llm_server.request_count < 3 and run.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert llm_server.request_count == 3, "the first evaluation call never started\n" + run.output[-4000:]
        llm_server.add_fault(status=500, message="upstream overloaded")  # the next request: the second call
        result = run.wait(timeout_s=420)
    finally:
        run.interrupt()
    assert result.returncode == 0 and not result.interrupted, result.tail()
    assert result.output.count("Error in group llm_evaluation") == 1, result.tail()
    by_gen = requests_by_generation(llm_server)
    evaluations = [f"evaluation/{g}" for g in project.gen_ids("evaluation")]
    assert sorted(len(by_gen[g]) for g in evaluations) == [1, 2]  # the stored answer was not bought again
    assert bought_twice(project, llm_server, [("evaluation", g) for g in project.gen_ids("evaluation")]) == []
    assert len(result.slurm_jobs) == 2  # the group job, and its retry
    assert store_violations(project) == []
    for stage, gen_id in project.members():
        assert project.paths.parsed_path(stage, gen_id).is_file()


def test_job_cancelled_mid_call_is_reported_retried_and_rebuys_only_the_cancelled_call(tmp_path, llm_server,
                                                                                     slurm_cluster):
    """scancel hits the evaluation group job while its second LLM call is in flight (the test
    cluster's KillWait is 2 s, the answer takes 12 s): the run reports the failure, the
    profile's retries submit the group again, which keeps the answer the first call bought and
    makes only the cancelled call again; nothing is left that looks complete but is not."""
    project = Project.create(tmp_path, llm_server.base_url, SMALL_SPEC)
    # Drafts, essays and evaluation prompts locally (2 calls), to reach the evaluation calls fast.
    compile_cohort(project.paths, "c1")
    local = run_locally(project, "--until", "evaluation_prompt")
    assert local.returncode == 0, local.tail()
    assert llm_server.request_count == 2
    llm_server.latency_s = 12.0
    run = start_on_slurm(project, slurm_cluster)
    cancelled = None
    deadline = time.monotonic() + 300
    try:
        while run.running() and time.monotonic() < deadline:
            # The evaluation group job makes its two calls one after the other.
            if llm_server.request_count >= LLM_CALLS:
                jobs = [j for j in slurm_cluster.jobs()
                        if j["state"] == "RUNNING" and j["comment"].startswith("rule_llm_evaluation")]
                assert len(jobs) == 1, slurm_cluster.jobs()
                cancelled = jobs[0]["id"]
                llm_server.latency_s = 0.0  # the retry answers at once
                slurm_cluster.run("scancel", cancelled)
                break
            time.sleep(0.1)
        assert cancelled is not None, "the second evaluation call never started\n" + run.output[-4000:]
        result = run.wait(timeout_s=300)
    finally:
        run.interrupt()
    assert not result.interrupted, result.tail()
    # Reported: the group's error, with the job's SLURM log (kept) shown under it; then retried.
    assert "Error in group llm_evaluation" in result.output, result.tail()
    assert f"*** JOB {cancelled} ON" in result.output and "CANCELLED" in result.output, result.tail()
    assert any(p.name == f"{cancelled}.log" and p.is_file() for p in result.slurm_logs)
    assert {j["id"]: j["state"] for j in slurm_cluster.jobs()}[cancelled] == "CANCELLED"
    assert result.returncode == 0, result.tail()

    # The answer bought before the cancel was kept; only the cancelled call was made again.
    assert llm_server.request_count == LLM_CALLS + 1
    prompts = [r["prompt"] for r in llm_server.requests]
    assert len({p for p in prompts if prompts.count(p) > 1}) == 1
    assert bought_twice(project, llm_server, [("evaluation", g) for g in project.gen_ids("evaluation")]) == []
    assert store_violations(project) == []
    for stage, gen_id in project.members():
        assert project.paths.parsed_path(stage, gen_id).is_file()
