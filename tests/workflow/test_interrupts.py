"""Ctrl-C, SIGTERM and SIGKILL at any moment: the next plain run buys no answer that reached the
process, and every request the provider saw is accounted for (read from its own request log)."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time

import pytest

from daydreaming import journal
from daydreaming import paths as P
from daydreaming.locking import process_token

from .llm_helpers import drafts_cohort, ledger_lines, provider
from .money import assert_nothing_bought_twice, assert_nothing_left_behind, interrupt, requests_by_generation
from .project import Project

pytestmark = pytest.mark.slow  # minutes of kills, interrupts and waits: python -m pytest -m slow

SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


@pytest.fixture
def drafts(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    provider(project, max_concurrent=4)
    return project, drafts_cohort(project, 16)


@pytest.mark.parametrize("name", SIGNALS)
def test_signals_at_random_moments_buy_no_answer_twice(drafts, llm_server, name):
    project, ids = drafts
    rng = random.Random(f"interrupts-{name}")  # random moments, the same ones on every run
    llm_server.latency_s = 1.0
    for _ in range(3):
        interrupt(project, llm_server, SIGNALS[name], rng.randint(1, 5), rng.uniform(0.0, 1.2))
    llm_server.latency_s = 0.0
    final = project.snakemake()
    assert final.returncode == 0, final.output
    assert_nothing_bought_twice(project, llm_server, [("draft", g) for g in ids], interrupted_runs=3)
    assert_nothing_left_behind(project)
    assert project.snakemake("-n").jobs() == {}


@pytest.mark.parametrize("name", ["SIGINT", "SIGKILL"])
def test_an_interrupted_forced_run_puts_back_the_answers_it_did_not_replace(drafts, llm_server, name):
    project, ids = drafts
    assert project.snakemake().returncode == 0
    old = {g: project.paths.raw_path("draft", g).read_bytes() for g in ids}
    bought = llm_server.request_count
    llm_server.latency_s = 1.0
    interrupt(project, llm_server, SIGNALS[name], 2, 0.2, "--forcerun", "draft_raw")
    llm_server.latency_s = 0.0
    forced_requests = llm_server.request_count
    assert bought < forced_requests < bought + len(ids)  # stopped part-way

    resumed = project.snakemake()
    assert resumed.returncode == 0, resumed.output
    assert llm_server.request_count == forced_requests  # the plain run buys nothing
    by_gen = requests_by_generation(llm_server)
    replaced = 0
    for gen_id in ids:
        now = project.paths.raw_path("draft", gen_id).read_bytes()
        if now == old[gen_id]:
            continue  # never replaced: put back (or never moved)
        replaced += 1  # a new answer: the last one the provider sent for it, and the old one is kept
        stored = json.loads(project.paths.raw_metadata_path("draft", gen_id).read_text())["request_id"]
        assert stored == by_gen[f"draft/{gen_id}"][-1].get("response_id")
        archived = [p.read_bytes() for p in project.paths.archive_gen_dir("draft", gen_id).rglob(P.RAW)]
        assert old[gen_id] in archived
    assert replaced < len(ids)
    assert_nothing_left_behind(project)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _journal_as_if_killed_after_receipt(project: Project, stage: str, gen_id: str) -> str:
    """Put the state a SIGKILL leaves right after an answer was journaled: the answer in the
    journal only, its reservation held by a dead process, no ledger line. Returns its request id."""
    raw = json.loads(project.paths.raw_metadata_path(stage, gen_id).read_text())
    text = project.paths.raw_path(stage, gen_id).read_text()
    journal.record(project.paths, journal.JournalEntry(
        stage=stage, gen_id=gen_id, reservation_id="r-dead", prompt_sha256=raw["prompt_sha256"],
        llm_model_id=raw["llm_model_id"], settings=raw["settings"], text=text, raw_metadata=raw))
    project.paths.raw_path(stage, gen_id).unlink()
    project.paths.raw_metadata_path(stage, gen_id).unlink()
    spend = project.paths.ledger_dir / "spend.jsonl"
    kept = [line for line in spend.read_text().splitlines() if json.loads(line)["request_id"] != raw["request_id"]]
    spend.write_text("".join(f"{line}\n" for line in kept))
    pid = _dead_pid()
    (project.paths.ledger_dir / "inflight.json").write_text(json.dumps({"r-dead": {
        "usd": 0.5, "pid": pid, "token": process_token(pid), "host": socket.gethostname(), "at": time.time(),
        "stage": stage, "gen_id": gen_id, "llm_model_id": raw["llm_model_id"]}}))
    return raw["request_id"]


def test_an_answer_journaled_before_a_kill_is_adopted_not_bought_again(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    draft = project.gen_ids("draft")[0]
    text = project.paths.raw_path("draft", draft).read_bytes()
    request_id = _journal_as_if_killed_after_receipt(project, "draft", draft)
    bought = llm_server.request_count

    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == bought
    assert project.paths.raw_path("draft", draft).read_bytes() == text
    (line,) = [x for x in ledger_lines(project) if x.get("reservation_id") == "r-dead"]
    assert (line["kind"], line["request_id"], line["settled"]) == ("answer", request_id, "journal")
    assert_nothing_left_behind(project)


def test_a_journaled_answer_to_another_prompt_is_archived_and_the_call_made(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    draft = project.gen_ids("draft")[0]
    text = project.paths.raw_path("draft", draft).read_bytes()
    _journal_as_if_killed_after_receipt(project, "draft", draft)
    project.config["stages"]["draft"]["temperature"] = 0.2  # the settings it answered no longer hold
    project.save_config()
    bought = llm_server.request_count

    result = project.snakemake("--until", "draft_parsed")
    assert result.returncode == 0, result.output
    assert [r["generation"] for r in llm_server.requests[bought:]] == [f"draft/{draft}"]
    assert json.loads(project.paths.raw_metadata_path("draft", draft).read_text())["settings"]["temperature"] == 0.2
    assert [p.read_bytes() for p in project.paths.archive_gen_dir("draft", draft).rglob(P.RAW)] == [text]
    assert_nothing_left_behind(project)


def test_temp_files_of_a_killed_run_are_swept(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    draft = project.gen_ids("draft")[0]
    leftovers = [project.paths.generation_dir("draft", draft) / ".tmp-raw.txt.123.456.0",
                 project.paths.journal_dir / "draft" / f".tmp-{draft}.json.123.456.1"]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a complete answer that never made it")
    dry = project.snakemake("-n")
    assert dry.returncode == 0 and all(p.exists() for p in leftovers)  # a dry run writes nothing
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert not any(p.exists() for p in leftovers)
