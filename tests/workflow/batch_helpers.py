"""Batch mode through the real workflow: the command, and what the provider's own log must show.

The loopback server logs every request of every batch (``server.batches.lines``: batch, custom_id
= gen_id, when its batch was created and ended, what it got). Independently of what the pipeline
says about itself, for every generation:

* it was never in two batches live at the same time, and never sent as a chat request;
* exactly one of its batch requests was answered, and nothing was asked for it afterwards;
* that answer is what the store holds, and the ledger has one line for it, at the batch price.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable

from .llm_helpers import ledger_lines, provider
from .project import REPO, Project, Result


def batch_mode(project: Project, **batch: object) -> None:
    """Turn the test provider's Batch API on (looks every 0.2 s) with these batch settings."""
    provider(project, batch={"enabled": True, "poll_s": 0.2, **batch})


def batch_command(project: Project, *args: str) -> list[str]:
    return [sys.executable, "-m", "daydreaming.cli", "batch", *args]


def batch_run(project: Project, *snakemake: str, timeout: float = 600) -> Result:
    """``daydreaming batch run -- <snakemake options>`` in the project, to its end."""
    cmd = batch_command(project, "run", "--", "-s", str(REPO / "Snakefile"), "-d", str(project.root), *snakemake)
    proc = subprocess.run(cmd, cwd=project.root, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def kill_batch_run_when(project: Project, ready: Callable[[], bool], timeout: float = 300) -> int:
    """Start ``daydreaming batch run``, SIGKILL its process group (the command and its snakemake)
    as soon as ``ready()``; returns the exit status."""
    cmd = batch_command(project, "run", "--", "-s", str(REPO / "Snakefile"), "-d", str(project.root))
    proc = subprocess.Popen(cmd, cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=dict(os.environ))
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before the moment to kill it"
    os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait(timeout=60)


def op_requests(server, op: str) -> list[dict]:
    """The server's log entries of one Batch API operation (upload, create, content, ...)."""
    return [r for r in server.requests if r.get("op") == op]


def chat_requests(server) -> list[dict]:
    return [r for r in server.requests if str(r.get("path", "")).endswith("/chat/completions")]


def lines_by_generation(server) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for line in server.batches.lines:
        found[line["custom_id"]].append(line)
    return found


def assert_bought_once_by_batch(project: Project, server, gens: list[tuple[str, str]]) -> dict[str, int]:
    """The checks of the module doc; returns counts (batches, requests) for benchmarks."""
    assert not chat_requests(server), [r.get("generation") for r in chat_requests(server)]
    by_gen = lines_by_generation(server)
    answers = {line["request_id"]: line for line in ledger_lines(project) if line.get("kind") == "answer"}
    for stage, gen_id in gens:
        mine = sorted(by_gen[gen_id], key=lambda line: line["created_at"])
        assert mine, f"{stage}/{gen_id} was never in a batch"
        for earlier, later in zip(mine, mine[1:]):
            assert earlier["ended_at"] is not None and later["created_at"] >= earlier["ended_at"], (
                f"{gen_id} in two live batches: {earlier['batch_id']} and {later['batch_id']}")
        answered = [line for line in mine if line["outcome"] == "answered"]
        assert len(answered) == 1 and mine[-1] is answered[0], [(x["batch_id"], x["outcome"]) for x in mine]
        raw = json.loads(project.paths.raw_metadata_path(stage, gen_id).read_text())
        assert raw["request_id"] == answered[0]["response_id"]
        assert (raw["batch_id"], raw["custom_id"]) == (answered[0]["batch_id"], gen_id)
        assert answers[raw["request_id"]].get("cost_usd") == raw.get("cost_usd")
    assert len(answers) == len(gens)
    return {"batches": len({line["batch_id"] for line in server.batches.lines}),
            "requests": len(server.batches.lines)}
