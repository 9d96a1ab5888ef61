"""``daydreaming status``: its counts against an independent scan of a store in many states, and
``status --stale`` listing exactly the stale generations and the command that regenerates them.

Stores are real (tests/unit/store_fixtures.py: the package's phase code, the offline provider);
the states a run leaves on failure are made by running a phase under a config that fails.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from daydreaming import paths as P
from daydreaming.cli import main
from daydreaming.estimate import report as estimate_report
from daydreaming.paths import Paths
from daydreaming.plan import StorePlan
from daydreaming.runtime import Runtime
from tests.unit import store_fixtures as F

C2_SPEC = {  # shares generations with c1 (its first combo and templates) and adds replicate 3
    "axes": {
        "combo_id": ["combo_v1_54b355e4d77d"],
        "draft_template": ["pair-sketch"],
        "draft_llm": ["writer"],
        "essay_template": ["short-essay"],
        "essay_llm": ["writer"],
        "evaluation_template": ["novelty-score"],
        "evaluation_llm": ["judge"],
        "evaluation_replicate": ["1", "2", "3"],
    },
    "output": {"field_order": ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm",
                               "evaluation_template", "evaluation_llm", "evaluation_replicate"]},
}


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def _of(project, stage: str, cohort: str = "c1") -> list[str]:
    return [g for s, g in F.members(project, cohort) if s == stage]


def _clear(paths: Paths, stage: str, gen_id: str, *names: str) -> None:
    for name in names:
        paths.gen_file(stage, gen_id, name).unlink()


@pytest.fixture
def varied(tmp_path: Path):
    """Two cohorts sharing generations, in every state status counts."""
    project = F.create(tmp_path)
    F.run_all(project)
    project.write_spec("c2", C2_SPEC)
    from daydreaming.cohort.compile import compile_cohort

    compile_cohort(project.paths, "c2")  # its replicate-3 evaluations are new: pending
    paths, config = project.paths, project.config
    drafts, essays, evals = _of(project, "draft"), _of(project, "essay"), _of(project, "evaluation")
    # an evaluation of both cohorts that lost everything; its call then failed (a failure record)
    lost = next(v for v in _of(project, "evaluation", "c2") if v in evals)
    _clear(paths, "evaluation", lost, P.PROMPT, P.RAW, P.RAW_METADATA, P.PARSED, P.PARSED_METADATA)
    assert F.run_phase(config, "evaluation", "prompt", lost)
    assert not F.run_phase(F.dead_provider(config), "evaluation", "raw", lost)
    # an essay whose parse outputs are gone (the next run re-parses)
    _clear(paths, "essay", essays[1], P.PARSED)
    # a draft cut off at max_tokens, and one the parser refused
    F.edit_json(paths.raw_metadata_path("draft", drafts[0]), truncated=True, finish_reason="length")
    _clear(paths, "draft", drafts[0], P.PARSED, P.PARSED_METADATA)
    assert not F.run_phase(config, "draft", "parsed", drafts[0])
    _clear(paths, "draft", drafts[1], P.PARSED, P.PARSED_METADATA)
    assert not F.run_phase(F.variant(config, draft={"min_lines": 1000}), "draft", "parsed", drafts[1])
    from daydreaming.phases import promote_parse_failures

    promote_parse_failures(Runtime.from_config(config))
    # answers made from a parent text that has changed since, and one with no record
    stale_essays = [e for e in essays if _parent(project, "essay", e) in drafts[2:]][:2]
    for essay in stale_essays:
        F.edit_json(paths.raw_metadata_path("essay", essay), parent_parsed_sha256="0" * 64)
    F.edit_json(paths.raw_metadata_path("evaluation", next(v for v in evals if v != lost)),
                parent_parsed_sha256=None)
    return project


def _parent(project, stage: str, gen_id: str) -> str:
    return json.loads(project.paths.metadata_path(stage, gen_id).read_text())["parent_gen_id"]


def independent_counts(paths: Paths, cohort: str) -> dict[str, dict]:
    """The status of one cohort from the files alone, without the package's inspect code."""
    import hashlib

    with open(paths.membership_csv(cohort), newline="") as handle:
        rows = list(csv.DictReader(handle))
    excluded = set()  # the cohort's exclusions.csv, and the children of what it excludes
    if paths.exclusions_csv(cohort).exists():
        with open(paths.exclusions_csv(cohort), newline="") as handle:
            excluded = {(r["stage"], r["gen_id"]) for r in csv.DictReader(handle)}
    parent_stage = {"essay": "draft", "evaluation": "essay"}
    for stage in ("essay", "evaluation"):
        excluded |= {(stage, r["gen_id"]) for r in rows
                     if r["stage"] == stage and (parent_stage[stage], r["parent_gen_id"]) in excluded}
    out = {s: {"total": 0, "ok": 0, "parse_failed": 0, "truncated": 0, "job_failed": 0, "missing": 0,
               "excluded": 0, "stale": 0,
               "unknown": 0,
               "pending": 0, **{f"{p}_{k}": 0 for p in ("metadata", "prompt", "raw", "parsed")
                                for k in ("complete", "missing", "failed")}}
           for s in ("draft", "essay", "evaluation")}
    for row in rows:
        stage, gen_id = row["stage"], row["gen_id"]
        directory = paths.generation_dir(stage, gen_id)
        files = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
        c = out[stage]
        c["total"] += 1
        is_excluded = (stage, gen_id) in excluded
        record = json.loads((directory / P.PARSED_METADATA).read_text()) if P.PARSED_METADATA in files else {}
        raw = json.loads((directory / P.RAW_METADATA).read_text()) if P.RAW_METADATA in files else {}
        if is_excluded:
            c["excluded"] += 1
        elif P.PARSED in files:
            c["ok"] += 1
        elif record.get("success") is False:
            c["truncated" if record["error"]["reason"] == "truncated_raw" else "parse_failed"] += 1
        elif raw.get("truncated"):
            c["truncated"] += 1
        elif any((paths.failures_dir / f"{stage}_{phase}" / f"{gen_id}.json").exists()
                 for phase in ("metadata", "prompt", "raw", "parsed")):
            c["job_failed"] += 1
        else:
            c["missing"] += 1
        for phase, names in (("metadata", [P.METADATA]), ("prompt", [P.PROMPT]), ("raw", [P.RAW, P.RAW_METADATA]),
                             ("parsed", [P.PARSED, P.PARSED_METADATA])):
            c[f"{phase}_complete" if all(n in files for n in names) else f"{phase}_missing"] += 1
            c[f"{phase}_failed"] += (paths.failures_dir / f"{stage}_{phase}" / f"{gen_id}.json").exists()
        if stage != "draft" and raw:
            parent_stage = {"essay": "draft", "evaluation": "essay"}[stage]
            parent_parsed = paths.parsed_path(parent_stage, row["parent_gen_id"])
            recorded = raw.get("parent_parsed_sha256")
            if recorded and parent_parsed.exists():
                c["stale"] += recorded != hashlib.sha256(parent_parsed.read_bytes()).hexdigest()
            else:
                c["unknown"] += 1
        c["pending"] += row["mode"] == "llm" and not (P.RAW in files and P.RAW_METADATA in files) and not is_excluded
    return out


def test_status_counts_equal_an_independent_scan(varied, capsys):
    project = varied
    code, out = run_cli(capsys, "status", "--configfile", str(project.root / "config" / "config.yaml"),
                        "--cohorts", "c1", "c2", "--json")
    assert code == 0
    data = json.loads(out)
    rt = Runtime.from_config(project.config)
    for cohort in data["cohorts"]:
        expected = independent_counts(project.paths, cohort["cohort_id"])
        estimate = estimate_report(rt, StorePlan.build(project.paths, [cohort["cohort_id"]]))
        for row in cohort["stages"]:
            want = expected[row["stage"]]
            got = {"total": row["total"], **row["generations"], "stale": row["stale"],
                   "unknown": row["stale_unknown"], "pending": row["pending"]["calls"],
                   **{f"{p}_{k}": v for p, counts in row["phases"].items() for k, v in counts.items()}}
            assert got == want, (cohort["cohort_id"], row["stage"])
            priced = [r for r in estimate["rows"] if r["stage"] == row["stage"]]
            assert row["pending"]["usd"] == pytest.approx(sum(r["usd"] for r in priced))
    # the states the fixture made are all there (the scan above is not vacuous)
    c1 = {row["stage"]: row for row in data["cohorts"][0]["stages"]}
    assert c1["draft"]["generations"] == {"ok": 2, "truncated": 1, "parse_failed": 1, "job_failed": 0, "missing": 0,
                                          "excluded": 0}
    assert c1["essay"]["stale"] == 2 and c1["evaluation"]["stale_unknown"] >= 1
    assert c1["evaluation"]["phases"]["raw"]["failed"] == 1 and c1["evaluation"]["generations"]["job_failed"] == 1
    assert c1["essay"]["generations"]["missing"] == 1
    # all cohorts together: a shared generation's pending call counts once
    both = estimate_report(rt, StorePlan.build(project.paths, ["c1", "c2"]))
    assert data["pending"]["calls"] == both["total"]["calls"] > 0
    assert data["pending"]["usd"] == pytest.approx(both["total"]["usd"]) and data["pending"]["usd"] > 0
    shared_pending = sum(r["pending"]["calls"] for c in data["cohorts"] for r in c["stages"])
    assert shared_pending == data["pending"]["calls"] + 1  # the lost evaluation is c1's and c2's


def test_excluded_generations_and_their_descendants_are_counted_as_excluded_in_their_cohort(varied, capsys):
    project = varied
    config = str(project.root / "config" / "config.yaml")
    refused = _of(project, "draft")[1]  # the draft the parser refused
    code, _ = run_cli(capsys, "exclude", "c1", "draft", "--failed-parses", "--reason", "the parser never finds it",
                      "--configfile", config)
    assert code == 0
    assert {(r["stage"], r["gen_id"]) for r in csv.DictReader(open(project.paths.exclusions_csv("c1")))} == {
        ("draft", d) for d in _of(project, "draft")[:2]}  # --failed-parses: the refused and the cut-off one
    code, out = run_cli(capsys, "status", "--configfile", config, "--cohorts", "c1", "c2", "--json")
    data = json.loads(out)
    for cohort in data["cohorts"]:
        expected = independent_counts(project.paths, cohort["cohort_id"])
        for row in cohort["stages"]:
            assert {"total": row["total"], **row["generations"]} == {
                k: expected[row["stage"]][k] for k in ("total", *row["generations"])}, (cohort["cohort_id"], row)
    c1 = {row["stage"]: row for row in data["cohorts"][0]["stages"]}
    assert c1["draft"]["generations"]["excluded"] == 2 and c1["essay"]["generations"]["excluded"] >= 2
    essays_of_refused = [e for e in _of(project, "essay") if _parent(project, "essay", e) == refused]
    assert essays_of_refused and c1["evaluation"]["generations"]["excluded"] > 0

    # taken back: the counts are what they were
    code, _ = run_cli(capsys, "include", "c1", "draft", "--all", "--configfile", config)
    assert code == 0
    code, out = run_cli(capsys, "status", "--configfile", config, "--cohorts", "c1", "--json")
    assert json.loads(out)["cohorts"][0]["stages"][0]["generations"]["excluded"] == 0


def test_excluding_a_generation_the_cohort_does_not_list_is_a_usage_error(varied, capsys):
    config = str(varied.root / "config" / "config.yaml")
    code = main(["exclude", "c1", "draft", "d_not_a_member", "--reason", "x", "--configfile", config])
    assert code == 2 and "not_a_member" in capsys.readouterr().err
    assert not varied.paths.exclusions_csv("c1").exists()


def test_status_text_names_every_cohort_and_stage(varied, capsys):
    code, out = run_cli(capsys, "status", "--configfile", str(varied.root / "config" / "config.yaml"),
                        "--cohorts", "c1", "c2")
    assert code == 0
    assert "cohort c1" in out and "cohort c2" in out
    assert sum(line.startswith(("draft ", "essay ", "evaluation ")) for line in out.splitlines()) == 6


def test_status_of_a_cohort_with_neither_membership_nor_spec_is_a_usage_error(tmp_path, capsys):
    project = F.create(tmp_path)
    code = main(["status", "--configfile", str(project.root / "config" / "config.yaml"), "--cohorts", "nope"])
    assert code == 2
    assert "cohort_spec_required" in capsys.readouterr().err


# --- stale children ------------------------------------------------------------------------

@pytest.fixture
def complete(tmp_path: Path):
    project = F.create(tmp_path)
    F.run_all(project)
    return project


def _regenerate_draft(project, draft: str) -> None:
    """A forced draft: a new answer (other settings), parsed; its essays are left alone."""
    config = F.variant(project.config, draft={"temperature": 0.3, "max_tokens": 400})
    project.paths.prompt_path("draft", draft).write_text("a different prompt: write about tides\n")
    assert F.run_phase(config, "draft", "raw", draft) and F.run_phase(config, "draft", "parsed", draft)


def _stale_json(project, capsys) -> dict:
    code, out = run_cli(capsys, "status", "--configfile", str(project.root / "config" / "config.yaml"),
                        "--stale", "--json")
    assert code == 0
    return json.loads(out)


def test_nothing_is_stale_in_a_store_made_in_order(complete, capsys):
    data = _stale_json(complete, capsys)
    assert data == {"generations": [], "commands": []}
    # no targets: exit 1 and print nothing, so `t=$(...) && snakemake $t --forcerun ...` does not run
    code, out = run_cli(capsys, "status", "--configfile", str(complete.root / "config" / "config.yaml"),
                        "--stale", "--targets", "essay")
    assert (code, out) == (1, "")


def test_a_changed_parent_makes_exactly_its_children_stale_and_lists_their_descendants(complete, capsys):
    project = complete
    draft = _of(project, "draft")[0]
    before = project.paths.parsed_path("draft", draft).read_bytes()
    _regenerate_draft(project, draft)
    assert project.paths.parsed_path("draft", draft).read_bytes() != before
    essays = sorted(e for e in _of(project, "essay") if _parent(project, "essay", e) == draft)
    evals = sorted(v for v in _of(project, "evaluation") if _parent(project, "evaluation", v) in essays)
    assert essays and evals

    data = _stale_json(project, capsys)
    listed = {(g["stage"], g["gen_id"]): g["why"] for g in data["generations"]}
    assert listed == {**{("essay", e): "stale" for e in essays}, **{("evaluation", v): "downstream" for v in evals}}
    paths = project.paths
    essay_targets = [str(paths.parsed_path("essay", e)) for e in essays]
    eval_targets = [str(paths.parsed_path("evaluation", v)) for v in evals]
    # one command per stage, parents' stage first: forcing both stages in one command would also
    # regenerate the (not stale) essay of any targeted evaluation
    assert [(c["stage"], c["forcerun"], c["targets"]) for c in data["commands"]] == [
        ("essay", "essay_prompt", essay_targets), ("evaluation", "evaluation_prompt", eval_targets)]
    assert data["commands"][0]["command"] == f"snakemake {' '.join(essay_targets)} --forcerun essay_prompt"

    config = str(project.root / "config" / "config.yaml")
    for stage, want in (("essay", essay_targets), ("evaluation", eval_targets), ("", essay_targets + eval_targets)):
        code, out = run_cli(capsys, "status", "--configfile", config, "--stale", "--targets",
                            *([stage] if stage else []))
        assert code == 0 and out.split() == want

    code, out = run_cli(capsys, "status", "--configfile", str(project.root / "config" / "config.yaml"), "--json")
    essay_row = json.loads(out)["cohorts"][0]["stages"][1]
    assert (essay_row["stale"], essay_row["stale_unknown"]) == (len(essays), 0)


def test_children_without_a_parent_record_are_unknown_never_stale(complete, capsys):
    project = complete
    for essay in _of(project, "essay"):
        F.edit_json(project.paths.raw_metadata_path("essay", essay), parent_parsed_sha256=None)
    _regenerate_draft(project, _of(project, "draft")[0])
    assert _stale_json(project, capsys)["generations"] == []
    code, out = run_cli(capsys, "status", "--configfile", str(project.root / "config" / "config.yaml"), "--json")
    essay_row = json.loads(out)["cohorts"][0]["stages"][1]
    assert (essay_row["stale"], essay_row["stale_unknown"]) == (0, len(_of(project, "essay")))


@pytest.mark.parametrize("args", [["--targets"], ["--stale", "--targets", "drafts"]])
def test_targets_takes_a_stage_and_goes_with_stale(complete, args):
    with pytest.raises(SystemExit) as exc:
        main(["status", "--configfile", str(complete.root / "config" / "config.yaml"), *args])
    assert exc.value.code == 2
