"""End-to-end behaviour of the workflow, driven through the real snakemake CLI."""

from __future__ import annotations

import json

import pytest

from daydreaming import paths as P

from .project import REPORT_JOBS, Project, suggested_command

LLM_GENS = 4  # SMALL_SPEC: 1 draft + 1 LLM essay (the other is a copy) + 2 evaluations
ALL_FILES = set(P.GEN_FILES)


@pytest.fixture
def done(tmp_path, llm_server):
    """A project whose small cohort has run to completion once."""
    project = Project.create(tmp_path, llm_server.base_url)
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == LLM_GENS
    return project


def test_full_run_writes_every_phase_file(done, llm_server):
    members = done.members()
    assert [s for s, _ in members] == ["draft", "essay", "essay", "evaluation", "evaluation"]
    for stage, gen_id in members:
        present = {p.name for p in done.paths.generation_dir(stage, gen_id).iterdir()}
        assert present == ALL_FILES, (stage, gen_id, present)
        raw_meta = json.loads(done.paths.raw_metadata_path(stage, gen_id).read_text())
        assert raw_meta["function"] == f"{stage}_raw" and raw_meta["gen_id"] == gen_id
    scores = [done.paths.parsed_path("evaluation", g).read_text() for g in done.gen_ids("evaluation")]
    assert all(s.endswith(".0\n") and 0 <= float(s) <= 9 for s in scores)


def test_copy_essay_is_the_draft_verbatim_without_a_call(done, llm_server):
    draft = done.gen_ids("draft")[0]
    copy_ids = [g for g in done.gen_ids("essay")
                if json.loads(done.paths.metadata_path("essay", g).read_text())["mode"] == "copy"]
    assert len(copy_ids) == 1
    parent_text = done.paths.parsed_path("draft", draft).read_text()
    for name in (P.PROMPT, P.RAW, P.PARSED):
        assert done.paths.gen_file("essay", copy_ids[0], name).read_text() == parent_text
    raw_meta = json.loads(done.paths.raw_metadata_path("essay", copy_ids[0]).read_text())
    assert raw_meta["finish_reason"] == "copy" and raw_meta["input_mode"] == "copy"
    prompts = [r["prompt"] for r in llm_server.requests]
    assert not any(p == parent_text for p in prompts)


def test_dry_run_after_a_full_run_has_nothing_to_do(done, llm_server):
    result = done.snakemake("-n")
    assert result.returncode == 0, result.output
    assert result.jobs() == {}
    assert "Nothing to be done" in result.output
    assert llm_server.request_count == LLM_GENS


def test_deleting_one_raw_schedules_exactly_its_raw_and_parse(done, llm_server):
    essay = done.gen_ids("essay")[0]
    before = done.snapshot()
    done.paths.raw_path("essay", essay).unlink()
    result = done.snakemake("-n")
    assert result.returncode == 0, result.output
    assert result.jobs() == {"essay_raw": 1, "essay_parsed": 1, "all": 1}
    assert essay in result.stdout
    run = done.snakemake()
    assert run.returncode == 0, run.output
    mode = json.loads(done.paths.metadata_path("essay", essay).read_text())["mode"]
    assert llm_server.request_count == LLM_GENS + (mode == "llm")
    after = done.snapshot()
    changed = {k for k in before if before[k] != after.get(k)}
    assert all(k.startswith(f"essay/{essay}/") for k in changed), changed


def test_forcerun_regenerates_every_essay_and_nothing_else(done, llm_server):
    before = done.mtimes()
    result = done.snakemake("--forcerun", "essay_raw", "--until", "essay_parsed")
    assert result.returncode == 0, result.output
    after = done.mtimes()
    changed = {k.split("/")[0] + "/" + k.split("/")[2] for k in before if before[k] != after[k]}
    assert changed == {"essay/raw.txt", "essay/raw_metadata.json", "essay/parsed.txt", "essay/parsed_metadata.json"}
    for essay in done.gen_ids("essay"):
        for name in (P.RAW, P.PARSED):
            assert before[f"essay/{essay}/{name}"] != after[f"essay/{essay}/{name}"]
    assert llm_server.request_count == LLM_GENS + 1  # one LLM essay; the copy essay costs nothing


def test_raw_without_metadata_stops_before_any_job(done, llm_server):
    draft = done.gen_ids("draft")[0]
    raw = done.paths.raw_path("draft", draft)
    content = raw.read_bytes()
    done.paths.raw_metadata_path("draft", draft).unlink()
    for args in ((), ("-n",)):
        result = done.snakemake(*args)
        assert result.returncode != 0
        codes = result.errors()
        assert codes and codes[0][0] == "DATA_MISSING", result.output
        ctx = codes[0][1]
        assert ctx["reason"] == "raw_metadata_missing_for_existing_raw"
        assert ctx["path"] == str(done.paths.generation_dir("draft", draft))
        assert ctx["stage"] == "draft" and ctx["gen_id"] == draft and ctx["artifact"] == "raw_metadata"
        assert "stopped before any job" in result.stderr and "Traceback" not in result.output
        assert raw.read_bytes() == content
    assert llm_server.request_count == LLM_GENS
    # The suggested repair, run as printed, buys exactly one answer: this draft's.
    repaired = done.snakemake(*suggested_command(ctx["fix"]))
    assert repaired.returncode == 0, repaired.output
    assert done.paths.raw_metadata_path("draft", draft).exists()
    assert [r["generation"] for r in llm_server.requests[LLM_GENS:]] == [f"draft/{draft}"]
    (slot,) = done.paths.archive_gen_dir("draft", draft).iterdir()  # the old answer, kept
    assert (slot / P.RAW).read_bytes() == content


def test_a_missing_metadata_json_is_created_again_from_the_membership_without_a_call(done, llm_server):
    draft = done.gen_ids("draft")[0]
    path = done.paths.metadata_path("draft", draft)
    content = path.read_bytes()
    path.unlink()
    assert done.snakemake("-n").jobs() == {"draft_metadata": 1, "all": 1}
    result = done.snakemake()
    assert result.returncode == 0, result.output
    assert path.read_bytes() == content  # the same write-once file, from the membership row
    assert llm_server.request_count == LLM_GENS
    assert done.snakemake("-n").jobs() == {}


@pytest.mark.parametrize("missing", [P.PARSED, P.PARSED_METADATA])
def test_missing_parse_output_reparses_without_a_call(done, llm_server, missing):
    evaluation = done.gen_ids("evaluation")[0]
    parsed_before = done.paths.parsed_path("evaluation", evaluation).read_text()
    done.paths.gen_file("evaluation", evaluation, missing).unlink()
    dry = done.snakemake("-n")
    assert dry.jobs() == {"evaluation_parsed": 1, **REPORT_JOBS, "all": 1}, dry.output
    result = done.snakemake()
    assert result.returncode == 0, result.output
    assert done.paths.parsed_path("evaluation", evaluation).read_text() == parsed_before
    assert done.paths.parsed_metadata_path("evaluation", evaluation).exists()
    assert llm_server.request_count == LLM_GENS


def test_edits_to_templates_config_and_code_schedule_no_call(done, llm_server, repo):
    template = done.paths.template_file("essay", "short-essay")
    template.write_text(template.read_text() + "\nBe concise.\n")
    done.config["stages"]["essay"]["temperature"] = 0.2
    done.save_config()
    # a code edit: the installed package's phase module gets a newer mtime
    phases = repo / "src" / "daydreaming" / "phases.py"
    phases.touch()
    result = done.snakemake("-n")
    assert result.returncode == 0 and result.jobs() == {}, result.output
    assert done.snakemake().returncode == 0
    assert llm_server.request_count == LLM_GENS


def test_forced_stage_uses_the_edited_template(done, llm_server):
    template = done.paths.template_file("essay", "short-essay")
    template.write_text(template.read_text() + "\nEND-OF-EDITED-TEMPLATE\n")
    result = done.snakemake("--forcerun", "essay_prompt", "--until", "essay_parsed")
    assert result.returncode == 0, result.output
    llm_essays = [g for g in done.gen_ids("essay")
                  if json.loads(done.paths.metadata_path("essay", g).read_text())["mode"] == "llm"]
    assert all("END-OF-EDITED-TEMPLATE" in done.paths.prompt_path("essay", g).read_text() for g in llm_essays)
    assert llm_server.request_count == LLM_GENS + len(llm_essays)


def test_rerun_triggers_that_would_rebuy_answers_are_refused(done, llm_server):
    before = done.snapshot()
    for args in (("--rerun-triggers", "mtime", "code"), ("--workflow-profile", "none", "--cores", "1")):
        result = done.snakemake(*args)
        assert result.returncode != 0
        code, ctx = result.errors()[0]
        assert code == "INVALID_CONFIG" and ctx["reason"] == "unsafe_rerun_triggers"
        assert "code" in ctx["triggers"] and "mtime" not in ctx["triggers"]
    assert done.snapshot() == before
    assert llm_server.request_count == LLM_GENS


def test_lint_is_clean(repo):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=repo, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_slurm_profile_dry_runs(tmp_path, llm_server, repo):
    from daydreaming.cohort.compile import compile_cohort

    project = Project.create(tmp_path, llm_server.base_url)
    compile_cohort(project.paths, "c1")  # a dry-run cannot look past the cohort checkpoint
    result = project.snakemake("-n", "--profile", str(repo / "profiles" / "slurm"))
    assert result.returncode == 0, result.output
    assert result.jobs()["evaluation_raw"] == 2 and result.jobs()["draft_raw"] == 1
    assert llm_server.request_count == 0
