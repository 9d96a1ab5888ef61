"""Nothing is paid for that cannot be stored or used, and a forced run is priced before it runs:
refusals before any job (one coded paragraph), and ``estimate --forcerun [targets]``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .llm_helpers import prices
from .project import Project


@pytest.fixture
def done(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    assert project.snakemake().returncode == 0
    return project


def _estimate(project: Project, *args: str) -> dict:
    cmd = [sys.executable, "-m", "daydreaming.cli", "estimate", "--json", *args]
    proc = subprocess.run(cmd, cwd=project.root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _refused_before_any_job(result, code: str, reason: str) -> dict:
    assert result.returncode == 1, result.output
    found = [ctx for c, ctx in result.errors() if (c, ctx.get("reason")) == (code, reason)]
    assert found, result.output
    assert "stopped before any job" in result.stderr and "Traceback" not in result.output
    assert "Finished jobid" not in result.output
    return found[0]


def test_estimate_prices_a_forced_run_with_and_without_targets(done, llm_server):
    prices(done, 1.0, 2.0)
    essays = [g for g in done.gen_ids("essay")]
    llm_essays = [g for g in essays if json.loads(done.paths.metadata_path("essay", g).read_text())["mode"] == "llm"]
    assert _estimate(done)["total"]["calls"] == 0  # complete
    whole = _estimate(done, "--forcerun", "essay_raw")
    assert sorted(c["gen_id"] for c in whole["calls"]) == sorted(llm_essays) and whole["total"]["usd"] > 0
    target = str(done.paths.parsed_path("essay", llm_essays[0]))
    for args in (("--forcerun", "essay_raw", target), (target, "--forcerun", "essay_raw")):
        one = _estimate(done, *args)
        assert [(c["stage"], c["gen_id"]) for c in one["calls"]] == [("essay", llm_essays[0])]
    evaluation = done.gen_ids("evaluation")[0]  # forcing essays does not reach an evaluation's own job
    assert _estimate(done, str(done.paths.parsed_path("evaluation", evaluation)), "-R", "essay_raw")["calls"] == []
    assert llm_server.request_count == 4  # pricing calls nothing

    # ...and the run it priced buys exactly that.
    run = done.snakemake(target, "--forcerun", "essay_raw")
    assert run.returncode == 0, run.output
    assert [r["generation"] for r in llm_server.requests[4:]] == [f"essay/{llm_essays[0]}"]


def test_a_zero_concurrency_cap_is_refused_rather_than_lifted(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    ctx = _refused_before_any_job(project.snakemake("--resources", "llm_offline=0"), "INVALID_CONFIG", "zero_llm_cap")
    assert ctx["resources"] == ["llm_offline"]
    assert llm_server.request_count == 0


def test_no_call_starts_without_room_on_disk_for_its_answer(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    project.config["llm"]["min_free_disk_mb"] = 10**12  # more than any disk: the floor is not met
    project.save_config()
    ctx = _refused_before_any_job(project.snakemake(), "IO_ERROR", "disk_space_low")
    assert ctx["min_free_disk_mb"] == 10**12 and ctx["path"] == str(project.paths.data_root)
    assert llm_server.request_count == 0 and not list(project.paths.gens_root.glob("*/*/prompt.txt"))


def test_an_empty_copy_prompt_is_refused_not_stored(done, llm_server):
    copy_essay = next(g for g in done.gen_ids("essay")
                      if json.loads(done.paths.metadata_path("essay", g).read_text())["mode"] == "copy")
    draft = json.loads(done.paths.metadata_path("essay", copy_essay).read_text())["parent_gen_id"]
    done.paths.parsed_path("draft", draft).write_text("  \n")  # a parent whose text is empty
    prompt_before = done.paths.prompt_path("essay", copy_essay).read_bytes()
    result = done.snakemake(str(done.paths.parsed_path("essay", copy_essay)), "--forcerun", "essay_prompt")
    assert result.returncode != 0
    record = json.loads((done.paths.failures_dir / "essay_prompt" / f"{copy_essay}.json").read_text())
    assert (record["code"], record["reason"]) == ("INVALID_CONFIG", "empty_prompt")
    assert draft in record["ctx"]["source"]
    assert not done.paths.prompt_path("essay", copy_essay).exists() or \
        done.paths.prompt_path("essay", copy_essay).read_bytes() == prompt_before
    assert llm_server.request_count == 4
