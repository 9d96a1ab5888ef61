"""Limits on LLM calls through the real workflow: concurrency caps per provider, requests per
minute, the USD budget and its ledger, and the estimate before spending."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daydreaming.budget import Ledger
from daydreaming.cohort.compile import compile_cohort
from daydreaming.estimate import tokens_of

from .llm_helpers import drafts_cohort, groups, ledger_lines, prices, provider, summary
from .project import Project


@pytest.fixture
def project(tmp_path, llm_server):
    return Project.create(tmp_path, llm_server.base_url)


@pytest.mark.parametrize("cap, drafts, latency_s, how", [(1, 4, 0.2, "cli"), (32, 40, 1.5, "config")])
def test_concurrent_calls_never_pass_the_provider_cap(project, llm_server, cap, drafts, latency_s, how):
    drafts_cohort(project, drafts)
    args = ["--cores", "48"]  # cores above the cap: the cap, not the thread pool, must be the limit
    if how == "cli":
        provider(project, max_concurrent=32)
        args += ["--resources", f"llm_offline={cap}"]  # the command line wins over the config
    else:
        provider(project, max_concurrent=cap)
    llm_server.latency_s = latency_s
    result = project.snakemake(*args)
    assert result.returncode == 0, result.output
    assert llm_server.request_count == drafts
    assert llm_server.max_in_flight == cap


def test_requests_per_minute_spaces_request_starts(project, llm_server):
    drafts_cohort(project, 3)
    provider(project, requests_per_minute=30)  # one start per 2 s: slots at t0, t0 + 2, t0 + 4
    result = project.snakemake()
    assert result.returncode == 0, result.output
    starts = sorted(r["time"] for r in llm_server.requests)  # the server's clock: when each arrived
    assert len(starts) == 3
    # Without the limit all three start within milliseconds (the cap is 8). With it, the last
    # request cannot arrive before its slot (t0 + 4 s) and the first arrives late by its delivery
    # time only. The margin, one whole interval (2 s), is three times the lag of a first request
    # seen on a loaded 2-core machine (a 0.6 s shortfall against a 0.5 s interval).
    assert starts[-1] - starts[0] >= 2.0
    assert (project.paths.data_root / ".ratelimit" / "offline").exists()


def test_budget_stops_new_calls_and_holds_across_a_restart(project, llm_server):
    project.config["llm"]["max_cost_usd"] = 0.01
    project.save_config()
    llm_server.add_fault(usage_cost=0.02)  # the draft alone costs more than the budget
    result = project.snakemake()
    assert result.returncode != 0
    assert llm_server.request_count == 1
    found = groups(result)
    assert found[("essay", "raw", "INVALID_CONFIG", "budget_exhausted")]["count"] == 1
    assert found[("evaluation", "raw", "INVALID_CONFIG", "budget_exhausted")]["count"] == 1  # the copy essay's
    budget = summary(result)["budget"]
    assert budget["spent_usd"] == pytest.approx(0.02) and budget["max_cost_usd"] == 0.01
    assert [x["cost_usd"] for x in ledger_lines(project)] == [pytest.approx(0.02)]

    restart = project.snakemake()  # the ledger survives: stopped before any job
    assert restart.returncode != 0
    code, ctx = restart.errors()[0]
    assert (code, ctx["reason"]) == ("INVALID_CONFIG", "budget_exhausted") and ctx["pending_calls"] == 3
    assert llm_server.request_count == 1 and "Finished jobid" not in restart.output

    project.config["llm"]["max_cost_usd"] = 1.0
    project.save_config()
    assert project.snakemake().returncode == 0
    assert llm_server.request_count == 4


def test_worst_case_reservations_hold_across_concurrent_jobs(project, llm_server):
    drafts_cohort(project, 4)
    prices(project, 0.0, 0.4 / 2048 * 1e6)  # worst case of a draft (max_tokens 2048): $0.40
    project.config["llm"]["max_cost_usd"] = 1.0
    project.save_config()
    llm_server.latency_s = 0.5
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == 4
    assert llm_server.max_in_flight == 2  # a third $0.40 reservation would pass $1.00
    spent = sum(x["cost_usd"] for x in ledger_lines(project))
    assert 0 < spent < 0.2
    assert Ledger(project.paths.ledger_dir).inflight.on_disk() == {}


def _estimate(project: Project) -> dict:
    cmd = [sys.executable, "-m", "daydreaming.cli", "estimate", "--json"]
    proc = subprocess.run(cmd, cwd=project.root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_estimate_lists_pending_calls_from_rendered_prompts_without_writing(project, llm_server):
    prices(project, 1.0, 2.0)
    compile_cohort(project.paths, "c1")
    before = project.snapshot()
    data = _estimate(project)
    assert project.snapshot() == before and llm_server.request_count == 0
    rows = {(r["stage"], r["model_id"]): r for r in data["rows"]}
    assert {k: r["calls"] for k, r in rows.items()} == {("draft", "writer"): 1, ("essay", "writer"): 1,
                                                         ("evaluation", "judge"): 2}
    assert data["total"]["calls"] == 4 and data["spent_usd"] == 0
    for call in data["calls"]:  # nothing in the store yet: the default completion length
        assert call["completion_tokens"] == 1000
        assert call["usd"] == pytest.approx((call["prompt_tokens"] * 1.0 + 1000 * 2.0) / 1e6)

    assert project.snakemake().returncode == 0
    draft = project.gen_ids("draft")[0]
    (draft_call,) = [c for c in data["calls"] if c["stage"] == "draft"]
    assert draft_call["prompt_tokens"] == tokens_of(project.paths.prompt_path("draft", draft).read_text())

    # One evaluation answer lost: one pending call, its length the average seen for its template.
    gone, kept = project.gen_ids("evaluation")
    for path in (project.paths.raw_path("evaluation", gone), project.paths.raw_metadata_path("evaluation", gone)):
        path.unlink()
    kept_tokens = json.loads(project.paths.raw_metadata_path("evaluation", kept).read_text())["usage"]
    again = _estimate(project)
    (call,) = again["calls"]
    assert (call["stage"], call["gen_id"]) == ("evaluation", gone)
    assert call["completion_tokens"] == kept_tokens["completion_tokens"]
    assert again["spent_usd"] == pytest.approx(sum(x["cost_usd"] for x in ledger_lines(project)))
