"""profiles/slurm as Snakemake reads it: together with the workflow profile profiles/default,
which wins for every key both set. No cluster needed (fast, not marked slurm)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.workflow.project import REPO

SLURM = yaml.safe_load((REPO / "profiles" / "slurm" / "profile.yaml").read_text())
DEFAULT = yaml.safe_load((REPO / "profiles" / "default" / "profile.yaml").read_text())
STAGES = ("draft", "essay", "evaluation")
GROUPED = [f"{s}_raw" for s in STAGES]  # only LLM calls become SLURM jobs


@pytest.fixture(scope="module")
def args():
    from snakemake.cli import parse_args

    _, parsed = parse_args(["-s", str(REPO / "Snakefile"), "--profile", str(REPO / "profiles" / "slurm")])
    return parsed


def test_keys_both_profiles_set_agree():
    """profiles/default silently overrides profiles/slurm: a key set in both must be equal."""
    for key in sorted(SLURM.keys() & DEFAULT.keys()):
        assert SLURM[key] == DEFAULT[key], f"{key}: slurm {SLURM[key]!r} is overridden by default {DEFAULT[key]!r}"


def test_effective_settings(args):
    assert args.executor == "slurm"
    assert {t.name for t in args.rerun_triggers} == {"MTIME"}
    assert args.keep_going and args.rerun_incomplete and args.keep_incomplete
    assert args.slurm_status_command == "squeue"
    assert Path(args.slurm_logdir) == Path("logs/slurm")
    assert args.cores is not None, "set-threads above --cores needs a --cores (profiles/default sets it)"


def test_every_llm_call_is_grouped_one_job_per_layer(args):
    groups = SLURM["groups"]
    assert sorted(groups) == sorted(GROUPED)
    assert set(groups.values()) == set(SLURM["group-components"])
    # Threads above --cores (scaled down to it): one job per layer of a group, so a group job
    # asks for the sum of its runtimes and one llm token, matching one-by-one execution.
    for rule in GROUPED:
        assert SLURM["set-threads"][rule] >= args.cores, rule
    assert SLURM["default-resources"]["cpus_per_task"] == 1


def test_no_group_spans_an_llm_call():
    """A group holding a job and a descendant reached through a job outside the group waits on
    itself. Safe groups: the cheap rules between two LLM calls, or the LLM calls of one stage."""
    windows = [{"draft_prompt"}, {"draft_raw"}, {"draft_parsed", "essay_prompt"}, {"essay_raw"},
               {"essay_parsed", "evaluation_prompt"}, {"evaluation_raw"}, {"evaluation_parsed"}]
    groups = SLURM["groups"]
    for group in set(groups.values()):
        rules = {r for r, g in groups.items() if g == group}
        assert any(rules <= w for w in windows), f"group {group} spans an LLM call: {sorted(rules)}"


def test_a_cluster_run_sends_only_llm_calls_to_the_cluster(tmp_path):
    """A dry run through the profile (no sbatch needed): a new generation is three jobs there,
    and only <stage>_raw jobs are in the groups that become SLURM jobs (the others are local
    rules: tests/slurm/test_slurm.py sees them run on the head)."""
    from tests.workflow.project import SMALL_SPEC, Project

    project = Project.create(tmp_path, None, SMALL_SPEC)
    dry = project.snakemake("-n", "--profile", str(REPO / "profiles" / "slurm"))
    assert dry.returncode == 0, dry.output
    jobs = dry.jobs()
    assert {rule: jobs[rule] for rule in jobs if rule.endswith(("_prompt", "_raw", "_parsed"))} == {
        f"{stage}_{phase}": count for stage, count in (("draft", 1), ("essay", 2), ("evaluation", 2))
        for phase in ("prompt", "raw", "parsed")}
    grouped = set(re.findall(r"^ +rule (\w+):", dry.stdout, re.M))  # listed under "Group job ..."
    alone = set(re.findall(r"^rule (\w+):", dry.stdout, re.M))
    assert grouped == {"draft_raw", "essay_raw", "evaluation_raw"}, dry.stdout
    assert alone & grouped == set() and {"draft_prompt", "essay_parsed", "cohort_scores"} <= alone
