"""LLM calls through the real workflow against a misbehaving provider: keys, retries, failures,
the end-of-run summary, and secrets that never reach a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daydreaming import paths as P

from .llm_helpers import groups, ledger_lines, provider, raw_meta, summary
from .project import Project

LLM_GENS = 4  # SMALL_SPEC: 1 draft, 1 LLM essay (+1 copy), 2 evaluations
MISSING_ENV = "DD_TEST_NO_SUCH_KEY"
SENTINEL = "sk-SENTINEL-7f3a9c1e5b"


@pytest.fixture
def project(tmp_path, llm_server, monkeypatch):
    monkeypatch.delenv(MISSING_ENV, raising=False)
    return Project.create(tmp_path, llm_server.base_url)


def _prompts_written(project: Project) -> int:
    return sum(1 for _ in project.paths.gens_root.glob(f"*/*/{P.PROMPT}"))


def test_missing_key_stops_the_run_before_any_job_only_when_pending_calls_need_it(project, llm_server):
    # A provider nobody uses may lack its key: the run goes ahead.
    project.config["llm"]["providers"]["unused"] = {"base_url": "http://127.0.0.1:9/v1", "api_key_env": MISSING_ENV}
    project.save_config()
    assert project.snakemake().returncode == 0
    assert llm_server.request_count == LLM_GENS

    # The provider of every model loses its key: nothing pending, nothing to complain about.
    provider(project, api_key_env=MISSING_ENV)
    assert project.snakemake().returncode == 0

    # Pending calls need it: refused before any job, with the provider and the variable's name.
    before = project.snapshot()
    result = project.snakemake("--forcerun", "draft_raw")
    assert result.returncode != 0
    code, ctx = result.errors()[0]
    assert (code, ctx["reason"]) == ("INVALID_CONFIG", "missing_api_key")
    assert ctx["provider"] == "offline" and ctx["env_var"] == MISSING_ENV
    assert llm_server.request_count == LLM_GENS and project.snapshot() == before
    assert "Finished jobid" not in result.output

    # A dry run calls nothing: it shows the plan and warns.
    dry = project.snakemake("-n", "--forcerun", "draft_raw")
    assert dry.returncode == 0 and dry.jobs()["draft_raw"] == 1
    assert [c for c, x in dry.errors() if x.get("reason") == "missing_api_key"] == ["INVALID_CONFIG"]


def test_missing_key_on_a_fresh_cohort_writes_no_prompt(project, llm_server):
    provider(project, api_key_env=MISSING_ENV)
    result = project.snakemake()
    assert result.returncode != 0 and result.errors()[0][1]["reason"] == "missing_api_key"
    assert llm_server.request_count == 0 and _prompts_written(project) == 0


def test_429_with_retry_after_then_success(project, llm_server):
    provider(project, max_retries=2)
    llm_server.add_fault(status=429, retry_after=1)  # the first request: the draft
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == LLM_GENS + 1
    draft = project.gen_ids("draft")[0]
    meta = raw_meta(project, "draft", draft)
    assert meta["attempts"] == 2 and meta["duration_s"] >= 0.95
    assert summary(result) == {}


def test_exhausted_5xx_leaves_no_raw_and_the_rest_of_the_run_goes_on(project, llm_server):
    provider(project, max_retries=1)
    llm_server.add_fault(status=500, match="Write a short essay", times=2)
    result = project.snakemake()
    assert result.returncode != 0
    essay = next(g for g in project.gen_ids("essay") if raw_meta_or_none(project, "essay", g) is None)
    assert not project.paths.raw_path("essay", essay).exists()
    assert not project.paths.raw_metadata_path("essay", essay).exists()
    # draft 1 + essay 2 attempts + the copy essay's evaluation 1 (keep-going); its own evaluation never starts
    assert llm_server.request_count == 4
    evaluations = project.gen_ids("evaluation")
    assert sum(project.paths.parsed_path("evaluation", v).exists() for v in evaluations) == 1

    found = groups(result)
    group = found[("essay", "raw", "IO_ERROR", "provider_unavailable")]
    assert group["count"] == 1 and group["gen_ids"] == [essay]
    # The job's log, under the data root: a new essay is one job, whose log names the failed phase.
    log = Path(group["where"].replace("<gen_id>", essay))
    assert log.parent.parent == project.paths.logs_dir and f"essay_raw {essay} failed" in log.read_text()
    assert summary(result)["failed"] == 1
    record = json.loads((project.paths.data_root / ".failures" / "essay_raw" / f"{essay}.json").read_text())
    assert record["ctx"]["status"] == 500 and record["ctx"]["attempts"] == 2

    # Fixed provider: the next plain run makes exactly the missing calls and clears the record.
    again = project.snakemake()
    assert again.returncode == 0, again.output
    assert llm_server.request_count == 4 + 2
    assert not (project.paths.data_root / ".failures" / "essay_raw" / f"{essay}.json").exists()


def raw_meta_or_none(project: Project, stage: str, gen_id: str) -> dict | None:
    path = project.paths.raw_metadata_path(stage, gen_id)
    return json.loads(path.read_text()) if path.exists() else None


def test_truncation_keeps_the_raw_and_the_summary_names_the_parse(project, llm_server):
    llm_server.add_fault(match="Rate how novel", truncate=True, times=1)
    result = project.snakemake()
    assert result.returncode != 0
    assert llm_server.request_count == LLM_GENS
    (group,) = [g for k, g in groups(result).items() if k[:2] == ("evaluation", "parsed")]
    assert (group["code"], group["reason"], group["count"]) == ("INVALID_CONFIG", "truncated_raw", 1)
    evaluation = group["gen_ids"][0]
    assert project.paths.raw_path("evaluation", evaluation).exists()
    assert raw_meta(project, "evaluation", evaluation)["truncated"] is True
    assert group["where"] == str(project.paths.stage_dir("evaluation") / "<gen_id>" / P.PARSED_METADATA)
    record = json.loads(project.paths.parsed_metadata_path("evaluation", evaluation).read_text())
    assert record["error"]["reason"] == "truncated_raw"


def test_usage_and_cost_are_recorded_and_in_the_ledger(project, llm_server):
    csv = project.paths.data_root / "1_raw" / "llm_models.csv"
    csv.write_text("id,model,provider,display_name,specialization,prompt_usd_per_mtok,completion_usd_per_mtok\n"
                   "writer,offline/writer,offline,W,demo,2.0,10.0\njudge,offline/judge,offline,J,demo,,\n")
    llm_server.add_fault(usage_cost=0.0123)  # the draft's provider-reported cost wins over the prices
    assert project.snakemake().returncode == 0
    draft, essay = project.gen_ids("draft")[0], project.gen_ids("essay")[0]
    d, e = raw_meta(project, "draft", draft), raw_meta(project, "essay", essay)
    assert d["cost_usd"] == pytest.approx(0.0123)
    usage = e["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert e["cost_usd"] == pytest.approx((usage["prompt_tokens"] * 2.0 + usage["completion_tokens"] * 10.0) / 1e6)
    assert e["request_id"].startswith("offline-") and e["finish_reason"] == "stop" and e["truncated"] is False
    assert e["settings"]["max_tokens"] == project.config["stages"]["essay"]["max_tokens"]
    judge = raw_meta(project, "evaluation", project.gen_ids("evaluation")[0])
    assert "cost_usd" not in judge  # no prices, nothing reported: unknown, not zero
    ledger = ledger_lines(project)
    assert len(ledger) == LLM_GENS
    assert sum(x["cost_usd"] or 0 for x in ledger) == pytest.approx(d["cost_usd"] + e["cost_usd"])
    assert {x["request_id"] for x in ledger} >= {d["request_id"], e["request_id"]}


def test_no_key_reaches_a_file_or_the_output(project, llm_server, monkeypatch):
    monkeypatch.setenv("DD_TEST_SENTINEL_KEY", SENTINEL)
    provider(project, api_key_env="DD_TEST_SENTINEL_KEY", max_retries=1)
    # A provider that echoes the key back (as OpenAI's 401 does), 500s, and a success.
    llm_server.add_fault(status=401, match="Find a non-obvious", times=1,
                         message=f"Incorrect API key provided: {SENTINEL}. Bearer {SENTINEL}")
    first = project.snakemake()
    assert first.returncode != 0 and llm_server.request_count == 1  # a 401 is not retried
    assert groups(first)[("draft", "raw", "INVALID_CONFIG", "provider_rejected")]["count"] == 1
    llm_server.add_fault(status=500, match="Write a short essay", times=2, message=f"upstream said {SENTINEL}")
    second = project.snakemake()
    assert second.returncode != 0 and llm_server.request_count == 1 + 1 + 2 + 1
    assert all(r["authorization_present"] for r in llm_server.requests)

    needle = SENTINEL.encode()
    leaks = [str(p) for base in (project.root / "data", project.root / ".snakemake")
             for p in base.rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert leaks == []
    for result in (first, second):
        assert SENTINEL not in result.output
