"""The pipeline on a real single-node SLURM cluster (loopback), through profiles/slurm.

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them);
without them these tests fail, they never skip. The LLM server runs in this pytest process on
127.0.0.1, which SLURM jobs on the same node reach.
"""

from __future__ import annotations

import time

import pytest

from daydreaming.cohort.compile import compile_cohort
from tests.workflow.project import SMALL_SPEC, Project

from .runs import comparable_store, run_locally, run_on_slurm, start_on_slurm, store_violations

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.timeout(900)]

# SMALL_SPEC: 1 draft, 2 essays (one LLM, one copy), 2 evaluations: 15 phase jobs, 4 LLM calls.
PHASE_JOBS = 15
LLM_CALLS = 4
# One SLURM job per group of profiles/slurm (each takes all its components here).
GROUPS = {"prompts_draft", "llm_draft", "to_essay", "llm_essay", "to_evaluation", "llm_evaluation",
          "parsed_evaluation"}


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

    # Grouping: every phase job ran inside a group job, one SLURM job per group.
    assert sum(run.phase_jobs.values()) == PHASE_JOBS
    assert sorted(_group_of(p) for p in run.slurm_logs) == sorted(GROUPS)
    assert len(run.slurm_jobs) == len(GROUPS)
    # SLURM saw exactly those jobs, all finished.
    ours = {j["id"]: j for j in slurm_cluster.jobs() if j["id"] in set(run.slurm_jobs)}
    assert {j["state"] for j in ours.values()} == {"COMPLETED"}, ours
    assert len(ours) == len(GROUPS)
    # A group job runs its jobs one by one: it asks for one CPU, not one per job, and the sum
    # of its jobs' runtimes (15 min per LLM call, 1 per cheap phase job).
    assert {j["cpus"] for j in ours.values()} == {"1"}, ours
    minutes = {_group_of(log): _minutes(ours[log.stem]["time_limit"]) for log in run.slurm_logs}
    assert minutes == {"prompts_draft": 1, "llm_draft": 15, "to_essay": 3, "llm_essay": 30, "to_evaluation": 4,
                       "llm_evaluation": 30, "parsed_evaluation": 2}


def test_job_cancelled_mid_call_is_reported_and_resumed_without_rebuying(tmp_path, llm_server, slurm_cluster):
    """scancel hits the evaluation group job while its second LLM call is in flight (the test
    cluster's KillWait is 2 s, the answer takes 12 s): the run reports the failure, keeps the
    answer the first call bought, leaves no phase file that looks complete; the next plain
    run makes only the cancelled call again."""
    project = Project.create(tmp_path, llm_server.base_url, SMALL_SPEC)
    # Drafts, essays and evaluation prompts locally (2 calls), to reach the evaluation calls fast.
    compile_cohort(project.paths, "c1")  # --until sees past the cohort checkpoint only once compiled
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
                slurm_cluster.run("scancel", cancelled)
                break
            time.sleep(0.1)
        assert cancelled is not None, "the second evaluation call never started\n" + run.output[-4000:]
        result = run.wait(timeout_s=300)
    finally:
        run.interrupt()
    assert not result.interrupted, result.tail()
    assert result.returncode != 0
    # Reported: the group's error, with the job's SLURM log (kept) shown under it.
    assert "Error in group llm_evaluation" in result.output, result.tail()
    assert f"*** JOB {cancelled} ON" in result.output and "CANCELLED" in result.output, result.tail()
    assert any(p.name == f"{cancelled}.log" and p.is_file() for p in result.slurm_logs)
    assert llm_server.request_count == LLM_CALLS
    assert {j["id"]: j["state"] for j in slurm_cluster.jobs()}[cancelled] == "CANCELLED"

    assert store_violations(project) == []
    evaluations = project.gen_ids("evaluation")
    with_answer = [g for g in evaluations if project.paths.raw_path("evaluation", g).is_file()]
    assert len(with_answer) == 1, "the answer bought before the cancel must be kept"
    (lost,) = set(evaluations) - set(with_answer)
    assert not project.paths.raw_metadata_path("evaluation", lost).exists()
    assert not project.paths.parsed_path("evaluation", lost).exists()

    # Resume: a plain run finishes the cohort and re-makes only the cancelled call.
    llm_server.latency_s = 0.0
    resumed = run_on_slurm(project, slurm_cluster)
    assert resumed.returncode == 0, resumed.tail()
    assert llm_server.request_count == LLM_CALLS + 1
    prompts = [r["prompt"] for r in llm_server.requests]
    assert len({p for p in prompts if prompts.count(p) > 1}) == 1
    assert store_violations(project) == []
    for stage, gen_id in project.members():
        assert project.paths.parsed_path(stage, gen_id).is_file()
