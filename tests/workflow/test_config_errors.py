"""The workflow and the commands load config/config.yaml through one loader (``load_config``):
a bad file stops the run before any job with INVALID_CONFIG naming the file, the key path, the
allowed values and the line; a setting left out gets its one default whatever the file's shape."""

from __future__ import annotations

import subprocess
import sys

import pytest

from daydreaming.errors import parse_rendered

from .llm_helpers import raw_meta
from .project import Project


@pytest.fixture
def project(tmp_path, llm_server):
    return Project.create(tmp_path, llm_server.base_url)


def _config_text(project: Project) -> str:
    return (project.root / "config" / "config.yaml").read_text()


def _stopped_before_any_job(project: Project, result, llm_server) -> tuple[str, dict]:
    assert result.returncode != 0
    assert "Finished jobid" not in result.output and llm_server.request_count == 0
    assert not project.paths.gens_root.exists()
    return result.errors()[0]


def test_a_value_the_provider_would_refuse_stops_the_run_before_any_job(project, llm_server):
    project.config["stages"]["draft"]["top_p"] = 0
    project.save_config()
    code, ctx = _stopped_before_any_job(project, project.snakemake(), llm_server)
    assert (code, ctx["reason"], ctx["field"]) == ("INVALID_CONFIG", "invalid_config", "stages.draft.top_p")
    assert ctx["path"] == "config/config.yaml" and ctx["value"] == 0
    assert ctx["allowed"] == "a number > 0 and <= 1, or null"
    assert _config_text(project).splitlines()[ctx["line"] - 1].strip() == "top_p: 0"


def test_a_misspelt_key_is_refused_not_ignored(project, llm_server):
    project.config["rerun_polcy"] = "make"
    project.save_config()
    code, ctx = _stopped_before_any_job(project, project.snakemake(), llm_server)
    assert (code, ctx["field"], ctx["type"]) == ("INVALID_CONFIG", "rerun_polcy", "extra_forbidden")
    assert "rerun_policy" in ctx["allowed"] and "rerun_policy" in ctx["fix"]


def test_a_bad_command_line_override_is_refused(project, llm_server):
    result = project.snakemake("--config", "rerun_policy=always")
    code, ctx = _stopped_before_any_job(project, result, llm_server)
    assert (code, ctx["field"], ctx["allowed"]) == ("INVALID_CONFIG", "rerun_policy", "one of keep, make")


def test_a_yaml_syntax_error_names_the_yaml_line_and_column(project, llm_server):
    config = project.root / "config" / "config.yaml"
    lines = config.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("max_tokens:"))
    lines[at] = lines[at].replace("max_tokens:", "max_tokens: [")
    config.write_text("\n".join(lines) + "\n")
    code, ctx = _stopped_before_any_job(project, project.snakemake(), llm_server)
    assert (code, ctx["reason"], ctx["path"]) == ("INVALID_CONFIG", "yaml_syntax", "config/config.yaml")
    assert ctx["line"] > at and ctx["column"] >= 1


def test_estimate_refuses_the_same_config_naming_the_file(project):
    project.config["llm"]["providers"]["offline"]["max_concurrent"] = 0
    project.save_config()
    cmd = [sys.executable, "-m", "daydreaming.cli", "estimate"]
    proc = subprocess.run(cmd, cwd=project.root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    [(code, ctx)] = parse_rendered(proc.stderr)
    assert (code, ctx["field"], ctx["path"]) == ("INVALID_CONFIG", "llm.providers.offline.max_concurrent",
                                                 "config/config.yaml")
    assert ctx["allowed"] == "an integer >= 1"


@pytest.mark.parametrize("stages", [None, {"essay": {"temperature": 0.3}}], ids=["no-stages", "stages-without-draft"])
def test_a_stage_left_out_gets_the_same_default_max_tokens(project, llm_server, stages):
    if stages is None:
        del project.config["stages"]
    else:
        project.config["stages"] = stages
    project.save_config()
    result = project.snakemake()
    assert result.returncode == 0, result.output[-3000:]
    for stage in ("draft", "essay", "evaluation"):
        for gen_id in project.gen_ids(stage):
            if raw_meta(project, stage, gen_id)["mode"] == "llm":
                assert raw_meta(project, stage, gen_id)["settings"]["max_tokens"] == 20480
    assert {r["max_tokens"] for r in llm_server.requests} == {20480}  # what the provider was sent
