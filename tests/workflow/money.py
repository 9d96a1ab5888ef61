"""What the reliability tests check about money, read from the provider's own request log.

The loopback server logs every request with the generation it is for (the
``X-Daydreaming-Generation`` header) and the id of the answer it sent. So, independently of
anything the pipeline says about itself:

* a generation's stored answer must be the *last* request for it: a request after it would be
  an answer that reached the store being bought again;
* every earlier request for it must be accounted for in the ledger as lost in flight (a killed
  run may add one for a call it reserved but never sent);
* every answer line of the ledger must be an answer that is on disk (store or archive).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import defaultdict

from daydreaming import paths as P
from daydreaming.budget import Ledger
from daydreaming.fsio import TMP_PREFIX

from .llm_helpers import ledger_lines
from .project import Project


def requests_by_generation(server) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for request in server.requests:
        found[request.get("generation")].append(request)
    return found


def interrupt(project: Project, server, sig: int, after_requests: int, delay_s: float, *args: str) -> int:
    """Start a run, wait for ``after_requests`` new requests and ``delay_s`` more, send ``sig`` to
    its process group (as a terminal's Ctrl-C does); returns the run's exit status."""
    before = server.request_count
    proc = project.popen(*args)
    deadline = time.monotonic() + 120
    while server.request_count < before + after_requests and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay_s)
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    return proc.returncode


def stored_request_id(project: Project, stage: str, gen_id: str) -> str:
    return json.loads(project.paths.raw_metadata_path(stage, gen_id).read_text())["request_id"]


def archived_request_ids(project: Project) -> set[str]:
    root = project.paths.archive_dir
    return {json.loads(p.read_text()).get("request_id") for p in root.rglob(P.RAW_METADATA)} if root.is_dir() else set()


def bought_twice(project: Project, server, gens: list[tuple[str, str]]) -> list[str]:
    """Generations requested again after the request whose answer the store holds."""
    by_gen = requests_by_generation(server)
    return [f"{stage}/{gen_id}" for stage, gen_id in gens
            if project.paths.raw_metadata_path(stage, gen_id).exists()
            and by_gen[f"{stage}/{gen_id}"][-1].get("response_id") != stored_request_id(project, stage, gen_id)]


def assert_nothing_bought_twice(project: Project, server, gens: list[tuple[str, str]],
                                interrupted_runs: int = 0) -> dict[str, int]:
    """The checks of the module doc; returns counts (requests, lost in flight) for benchmarks.
    ``interrupted_runs``: how many runs were killed (each may leave a reservation whose request
    never left, settled as lost in flight)."""
    by_gen = requests_by_generation(server)
    ledger = ledger_lines(project)
    lost = defaultdict(int)
    for line in ledger:
        if line.get("kind") == "lost_in_flight":
            lost[(line["stage"], line["gen_id"])] += 1
    stored_ids = set()
    for stage, gen_id in gens:
        assert project.paths.raw_path(stage, gen_id).exists(), f"{stage}/{gen_id} has no answer"
        stored = stored_request_id(project, stage, gen_id)
        stored_ids.add(stored)
        requests = by_gen[f"{stage}/{gen_id}"]
        assert requests, f"{stage}/{gen_id} was never requested"
        assert requests[-1]["response_id"] == stored, (
            f"{stage}/{gen_id}: requested again after its answer {stored} was received: "
            f"{[r.get('response_id') for r in requests]}")
        # Every earlier request is a lost-in-flight line. A process killed after reserving a call but
        # before its request left leaves one more (the ledger over-counts rather than under-counts);
        # at most one per interrupted run.
        assert len(requests) - 1 <= lost[(stage, gen_id)] <= len(requests) - 1 + interrupted_runs, (
            stage, gen_id, lost[(stage, gen_id)], len(requests))
    answers = {line["request_id"] for line in ledger if line.get("kind") == "answer"}
    assert answers <= stored_ids | archived_request_ids(project), answers - stored_ids
    assert stored_ids <= answers, stored_ids - answers
    return {"requests": sum(len(by_gen[f"{s}/{g}"]) for s, g in gens), "lost": sum(lost.values())}


def assert_nothing_left_behind(project: Project) -> None:
    """No journal entry, temp file or reservation outlives a run that ended."""
    journal = project.paths.journal_dir
    assert not journal.is_dir() or not any(p.is_file() for p in journal.rglob("*")), list(journal.rglob("*"))
    temps = [p for p in project.paths.gens_root.rglob(f"{TMP_PREFIX}*")]
    assert not temps, temps
    assert Ledger(project.paths.ledger_dir).inflight.on_disk() == {}
