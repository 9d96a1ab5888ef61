"""One data root, one writer: a second run refuses before any job, whatever its working directory."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time

from .llm_helpers import drafts_cohort, provider
from .money import assert_nothing_bought_twice
from .project import Project, Result


def _beside(project: Project, root) -> Project:
    """Another checkout/working directory whose config points at the same data root."""
    other = Project(root, copy.deepcopy(project.config))
    other.save_config()
    return other


def _wait_for_requests(server, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while server.request_count < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.request_count >= count, "the first run never called"


def _cli(project: Project, *args: str) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "daydreaming.cli", *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DAYDREAMING_DATA_ROOT": project.config["data_root"]},
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_a_second_run_on_the_same_data_root_is_refused_naming_the_holder(tmp_path, llm_server):
    first = Project.create(tmp_path / "a", llm_server.base_url)
    provider(first, max_concurrent=2)
    ids = drafts_cohort(first, 6)
    second = _beside(first, tmp_path / "b")
    llm_server.latency_s = 4.0  # 3 rounds of 2 calls: the first run outlives what the second tries
    proc = first.popen()
    try:
        _wait_for_requests(llm_server, 1, proc)
        refused = second.snakemake()
        assert refused.returncode == 1
        (code, ctx), *_ = refused.errors()
        assert (code, ctx["reason"]) == ("BUSY", "data_root_locked")
        holder = ctx["holder"]
        assert holder["pid"] == proc.pid and holder["cwd"] == str(first.root)
        assert "snakemake" in " ".join(holder["command"]) and holder["started_at"] and holder["host"]
        assert "stopped before any job" in refused.stderr and "Traceback" not in refused.output
        assert "Finished jobid" not in refused.output  # no job ran

        assert second.snakemake("-n").returncode == 0  # reading needs no lock
        busy_compile = _cli(second, "compile", "c1")
        assert busy_compile.returncode == 2 and busy_compile.errors()[0][0] == "BUSY"
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    llm_server.latency_s = 0.0
    assert_nothing_bought_twice(first, llm_server, [("draft", g) for g in ids])
    assert llm_server.max_in_flight <= 2
    done = second.snakemake()  # the lock is free again
    assert done.returncode == 0, done.output
    assert llm_server.request_count == len(ids)


def test_a_killed_holder_s_lock_is_taken_over(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    llm_server.latency_s = 30.0
    proc = project.popen()
    _wait_for_requests(llm_server, 1, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert (project.paths.run_lock_dir / "holder.json").exists()
    llm_server.latency_s = 0.0
    result = project.snakemake()
    assert result.returncode == 0, result.output
