"""Accepted failures: a draft whose parse keeps failing is excluded, and the cohort (less that
draft and what depends on it) reaches "Nothing to be done" and exit 0; taken back, it is wanted
again. Real snakemake, the real CLI, the loopback provider."""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys

from .project import REPORT_JOBS, SMALL_SPEC, Project, Result

TWO_DRAFTS = copy.deepcopy(SMALL_SPEC)
TWO_DRAFTS["axes"]["combo_id"] = ["combo_v1_54b355e4d77d", "combo_v1_5c955f3e5aa8"]


def cli(project: Project, *args: str) -> Result:
    proc = subprocess.run([sys.executable, "-m", "daydreaming.cli", *args], cwd=project.root, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))
    return Result(proc.returncode, proc.stdout, proc.stderr)


def report_rows(project: Project) -> dict[str, dict]:
    path = project.paths.cohort_report("c1", "generations.csv")
    return {row["gen_id"]: row for row in csv.DictReader(open(path, newline=""))}


def test_an_excluded_failure_lets_the_cohort_finish_and_include_takes_it_back(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url, TWO_DRAFTS)
    llm_server.add_fault(match="Find a non-obvious connection", truncate=True, times=1)  # one draft, cut off
    first = project.snakemake()
    assert first.returncode != 0
    cut = next(d for d in project.gen_ids("draft") if not project.paths.parsed_path("draft", d).exists())
    assert project.snakemake().returncode != 0  # every plain run tries the parse again, and fails
    calls = llm_server.request_count

    excluded = cli(project, "exclude", "c1", "draft", cut, "--reason", "cut off at max_tokens: accepted")
    assert excluded.returncode == 0, excluded.output
    rows = list(csv.DictReader(open(project.paths.exclusions_csv("c1"), newline="")))
    assert [(r["stage"], r["gen_id"], r["reason"]) for r in rows] == [("draft", cut, "cut off at max_tokens: accepted")]
    assert rows[0]["at"]

    dry = project.snakemake("-n")
    assert dry.returncode == 0 and dry.jobs() == {**REPORT_JOBS, "all": 1}, dry.output  # statuses changed
    run = project.snakemake()
    assert run.returncode == 0, run.output
    assert llm_server.request_count == calls  # nothing bought, nothing retried
    done = project.snakemake("-n")
    assert done.returncode == 0 and done.jobs() == {} and "Nothing to be done" in done.output
    children = {g for s, g in project.members() if s != "draft"
                and cut in (json.loads(project.paths.metadata_path(s, g).read_text())["parent_gen_id"],
                            _grandparent(project, s, g))}
    assert len(children) == 4  # 2 essays (one LLM, one copy), their 2 evaluations
    rows = report_rows(project)
    assert {g for g, row in rows.items() if row["status"] == "excluded"} == {cut} | children
    assert rows[cut]["error_reason"] == "truncated_raw"  # why it failed stays visible
    assert "4 excluded" not in run.output and "5 excluded" in run.output  # the run's cohort line
    check = cli(project, "check")
    assert check.returncode == 0, check.output  # an accepted failure is not a finding
    status = json.loads(cli(project, "status", "--json").stdout)
    assert [s["generations"]["excluded"] for s in status["cohorts"][0]["stages"]] == [1, 2, 2]

    # taken back: the draft's parse is wanted again (and fails again: nothing was changed)
    assert cli(project, "include", "c1", "draft", cut).returncode == 0
    again = project.snakemake("-n")
    assert again.jobs().get("draft_parsed") == 1, again.output
    assert project.paths.raw_path("draft", cut).exists()  # the paid answer was never touched


def _grandparent(project: Project, stage: str, gen_id: str) -> str | None:
    if stage != "evaluation":
        return None
    essay = json.loads(project.paths.metadata_path(stage, gen_id).read_text())["parent_gen_id"]
    return json.loads(project.paths.metadata_path("essay", essay).read_text())["parent_gen_id"]
