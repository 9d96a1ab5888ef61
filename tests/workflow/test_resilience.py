"""Runs that are killed or whose answers cannot be parsed lose nothing that was paid for."""

from __future__ import annotations

import json
import os
import signal
import time

from daydreaming import paths as P

from .project import Project, suggested_command


def _phase_files_are_whole(project: Project) -> None:
    """No raw.txt without its metadata, and every raw.txt matches its recorded length."""
    for stage_dir in project.paths.gens_root.iterdir():
        for gen_dir in stage_dir.iterdir():
            names = {p.name for p in gen_dir.iterdir()}
            if P.RAW in names:
                assert P.RAW_METADATA in names, gen_dir
                meta = json.loads((gen_dir / P.RAW_METADATA).read_text())
                assert meta["raw_length"] == len((gen_dir / P.RAW).read_text()), gen_dir
            if P.PARSED in names:
                assert P.PARSED_METADATA in names, gen_dir


def test_sigkill_mid_generation_resumes_with_plain_snakemake(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    llm_server.latency_s = 30.0
    proc = project.popen()
    deadline = time.monotonic() + 60
    while llm_server.request_count == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert llm_server.request_count == 1, "the first LLM call never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    draft = project.gen_ids("draft")[0]
    assert not project.paths.raw_path("draft", draft).exists()
    _phase_files_are_whole(project)

    llm_server.latency_s = 0.0
    result = project.snakemake()
    assert result.returncode == 0, result.output
    _phase_files_are_whole(project)
    for stage, gen_id in project.members():
        assert {p.name for p in project.paths.generation_dir(stage, gen_id).iterdir()} == set(P.GEN_FILES)
    assert project.snakemake("-n").jobs() == {}


def test_failed_parse_keeps_raw_records_the_failure_and_blocks_children(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    llm_server.add_fault(match="Find a non-obvious connection", truncate=True, times=1)
    result = project.snakemake()
    assert result.returncode != 0
    draft = project.gen_ids("draft")[0]
    raw = project.paths.raw_path("draft", draft)
    assert raw.exists() and not project.paths.parsed_path("draft", draft).exists()
    record = json.loads(project.paths.parsed_metadata_path("draft", draft).read_text())
    assert record["success"] is False and record["parser_name"] == "identity"
    assert record["error"]["reason"] == "truncated_raw" and record["error"]["code"] == "INVALID_CONFIG"
    last_lines = [line for line in raw.read_text().splitlines() if line.strip()][-5:]
    assert record["error"]["preview"] == " | ".join(last_lines)
    for stage in ("essay", "evaluation"):
        for gen_id in project.gen_ids(stage):
            assert not project.paths.prompt_path(stage, gen_id).exists()
    assert llm_server.request_count == 1

    # Raising max_tokens is not enough (the answer is kept); the suggested command is the fix,
    # and it buys exactly the one generation it names.
    paid = raw.read_bytes()
    again = project.snakemake()
    assert again.returncode != 0 and raw.read_bytes() == paid and llm_server.request_count == 1
    fixed = project.snakemake(*suggested_command(record["error"]["ctx"]["fix"]))
    assert fixed.returncode == 0, fixed.output
    assert json.loads(project.paths.parsed_metadata_path("draft", draft).read_text())["success"] is True
    assert [r["generation"] for r in llm_server.requests] == [f"draft/{draft}"] * 2
    assert [p.read_bytes() for p in project.paths.archive_gen_dir("draft", draft).rglob(P.RAW)] == [paid]
    assert project.snakemake().returncode == 0  # the rest of the cohort, as before
    assert llm_server.request_count == 5


def test_sigkill_of_a_later_run_leaves_no_lock_that_blocks_the_next(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    essay = project.gen_ids("essay")[0]
    project.paths.raw_path("essay", essay).unlink()
    calls = llm_server.request_count
    llm_server.latency_s = 30.0
    proc = project.popen()
    deadline = time.monotonic() + 60
    while llm_server.request_count == calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert llm_server.request_count == calls + 1, "the LLM call never started"
    assert list((project.root / ".snakemake" / "locks").glob("*.lock")), "the killed run held no lock"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    _phase_files_are_whole(project)

    llm_server.latency_s = 0.0
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert project.paths.raw_path("essay", essay).exists()
    assert project.snakemake("-n").jobs() == {}
