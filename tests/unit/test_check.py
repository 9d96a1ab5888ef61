"""``daydreaming check``: a corpus of damaged stores, one problem each.

Every case starts from a clean, complete store (made by the package's phase code), damages one
thing, and expects exactly one finding with its code, reason, stage, gen_id and path; without
``--fix`` no file changes (checksums). With ``--fix`` the repairs that cannot lose a paid answer
are done (the finding is gone, the repaired file is what a run writes) and nothing paid for
(raw.txt, raw_metadata.json, the ledger, the archive, the journal) changes in any case.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from daydreaming import paths as P
from daydreaming.cli import main
from tests.unit import store_fixtures as F

FIXED, KEPT = "fixed", "kept"  # after --fix: the finding is gone / nothing changed at all


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    project = F.create(tmp_path_factory.mktemp("base"))
    F.run_all(project)
    return project


@pytest.fixture
def project(base, tmp_path):
    return F.clone(base, tmp_path)


def run_check(project, capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", "--configfile", str(project.root / "config" / "config.yaml"), "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def of(project, stage: str, mode: str = "llm") -> str:
    """The first member of a stage in a mode (copy essays have no LLM call)."""
    for stage_, gen_id in F.members(project):
        meta = json.loads(project.paths.metadata_path(stage_, gen_id).read_text())
        if stage_ == stage and meta["mode"] == mode:
            return gen_id
    raise AssertionError(stage)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temp_file(directory: Path, target: str, age_s: float) -> Path:
    path = directory / f".tmp-{target}.{dead_pid()}.1.0"
    path.write_text("half a write")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def paid(project) -> dict[str, str]:
    """What was paid for: every stored answer and its record, the ledger, the archive, the journal."""
    root = project.paths.data_root
    return {k: v for k, v in F.checksums(root).items()
            if k.endswith((P.RAW, P.RAW_METADATA)) or k.startswith((".ledger/", ".archive/", ".journal/"))}


# --- the corpus: each damage returns (code, reason, stage, gen_id, path) ----------------------

@dataclass(frozen=True)
class Case:
    name: str
    damage: Callable
    after_fix: str


def _raw_without_metadata(p):
    d = of(p, "draft")
    p.paths.raw_metadata_path("draft", d).unlink()
    return "DATA_MISSING", "raw_metadata_missing_for_existing_raw", "draft", d, p.paths.generation_dir("draft", d)


def _raw_metadata_invalid_json(p):
    e = of(p, "essay")
    p.paths.raw_metadata_path("essay", e).write_text('{"function": "essay_raw",')
    return "PARSER_FAILURE", "invalid_json", "essay", e, p.paths.raw_metadata_path("essay", e)


def _raw_metadata_invalid_model(p):
    e = of(p, "essay")
    F.edit_json(p.paths.raw_metadata_path("essay", e), raw_length=None)
    return "INVALID_CONFIG", "invalid_metadata", "essay", e, p.paths.raw_metadata_path("essay", e)


def _metadata_invalid_json(p):
    e = of(p, "essay")
    p.paths.metadata_path("essay", e).write_text("{not json")
    return "PARSER_FAILURE", "invalid_json", "essay", e, p.paths.metadata_path("essay", e)


def _metadata_missing(p):
    v = of(p, "evaluation")
    p.paths.metadata_path("evaluation", v).unlink()
    return "DATA_MISSING", "metadata_missing", "evaluation", v, p.paths.metadata_path("evaluation", v)


def _metadata_disagrees_with_membership(p):
    v = of(p, "evaluation")
    F.edit_json(p.paths.metadata_path("evaluation", v), template_id="some-other-template")
    return ("INVALID_MEMBERSHIP", "metadata_disagrees_with_membership", "evaluation", v,
            p.paths.metadata_path("evaluation", v))


def _record_disagrees_with_directory(p):
    v = of(p, "evaluation")
    F.edit_json(p.paths.parsed_metadata_path("evaluation", v), gen_id="v_someoneelse")
    return ("INVALID_MEMBERSHIP", "metadata_disagrees_with_directory", "evaluation", v,
            p.paths.parsed_metadata_path("evaluation", v))


def _parsed_missing(p):
    e = of(p, "essay")
    p.paths.parsed_path("essay", e).unlink()
    return "DATA_MISSING", "parse_missing", "essay", e, p.paths.parsed_path("essay", e)


def _parsed_metadata_invalid_json(p):
    v = of(p, "evaluation")
    p.paths.parsed_metadata_path("evaluation", v).write_text("")
    return "PARSER_FAILURE", "invalid_json", "evaluation", v, p.paths.parsed_metadata_path("evaluation", v)


def _parse_outdated(p):
    v = of(p, "evaluation")
    F.edit_json(p.paths.parsed_metadata_path("evaluation", v), raw_sha256="0" * 64)
    return "DATA_MISSING", "parse_outdated", "evaluation", v, p.paths.parsed_path("evaluation", v)


def _parse_failed(p):
    """The parser refused the answer under settings since fixed: re-parsing succeeds."""
    d = of(p, "draft")
    p.paths.parsed_path("draft", d).unlink()
    p.paths.parsed_metadata_path("draft", d).unlink()
    assert not F.run_phase(F.variant(p.config, draft={"min_lines": 1000}), "draft", "parsed", d)
    _promote(p)
    return "PARSER_FAILURE", "parse_failed", "draft", d, p.paths.parsed_metadata_path("draft", d)


def _parse_failed_truncated(p):
    d = of(p, "draft")
    F.edit_json(p.paths.raw_metadata_path("draft", d), truncated=True, finish_reason="length")
    p.paths.parsed_path("draft", d).unlink()
    p.paths.parsed_metadata_path("draft", d).unlink()
    assert not F.run_phase(p.config, "draft", "parsed", d)
    _promote(p)
    return "PARSER_FAILURE", "parse_failed_truncated", "draft", d, p.paths.parsed_metadata_path("draft", d)


def _promote(p):
    from daydreaming.phases import promote_parse_failures
    from daydreaming.runtime import Runtime

    promote_parse_failures(Runtime.from_config(p.config))


def _prompt_not_utf8(p):
    e = of(p, "essay")
    p.paths.prompt_path("essay", e).write_bytes(b"Write an essay \xff\xfe about")
    return "PARSER_FAILURE", "invalid_utf8", "essay", e, p.paths.prompt_path("essay", e)


def _parsed_not_utf8(p):
    v = of(p, "evaluation")  # (an essay's would also make its evaluations stale: their parent text changed)
    p.paths.parsed_path("evaluation", v).write_bytes(b"\xc3\x28 broken")
    return "PARSER_FAILURE", "invalid_utf8", "evaluation", v, p.paths.parsed_path("evaluation", v)


def _old_temp_file(p):
    d = of(p, "draft")
    path = temp_file(p.paths.generation_dir("draft", d), P.RAW, age_s=3600)
    return "IO_ERROR", "temp_file_left", "draft", d, path


def _fresh_temp_file(p):
    d = of(p, "draft")
    path = temp_file(p.paths.generation_dir("draft", d), P.RAW, age_s=0)
    return "IO_ERROR", "temp_file_left", "draft", d, path


def _temp_file_beside_membership(p):
    path = temp_file(p.paths.cohort_dir("c1"), "membership.csv", age_s=3600)
    return "IO_ERROR", "temp_file_left", None, None, path


def _orphan(p):
    e = of(p, "essay")
    orphan = p.paths.generation_dir("essay", "e_notlistedanywhere")
    shutil.copytree(p.paths.generation_dir("essay", e), orphan)
    return "INVALID_MEMBERSHIP", "orphan_generation", "essay", "e_notlistedanywhere", orphan


def _stale_child(p):
    v = of(p, "evaluation")
    F.edit_json(p.paths.raw_metadata_path("evaluation", v), parent_parsed_sha256="0" * 64)
    return "DATA_MISSING", "stale_child", "evaluation", v, p.paths.raw_metadata_path("evaluation", v)


def _journal_entry(p):
    e = of(p, "essay")
    entry = p.paths.journal_entry("essay", e)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(json.dumps({"stage": "essay", "gen_id": e, "request_id": "req-journaled", "text": "an answer"}))
    return "DATA_MISSING", "journal_entry_pending", "essay", e, entry


def _paid_answer_missing(p):
    d = of(p, "draft")
    _ledger_line(p, stage="draft", gen_id=d, request_id="req-lost", cost_usd=0.02)
    return "DATA_MISSING", "paid_answer_missing", "draft", d, p.paths.ledger_dir / "spend.jsonl"


def _ledger_line(p, **entry):
    with open(p.paths.ledger_dir / "spend.jsonl", "a") as handle:
        handle.write(json.dumps({"at": 1.0, **entry}) + "\n")


def _cohort_unreadable(p):
    path = p.paths.membership_csv("broken")
    path.parent.mkdir(parents=True)
    path.write_text("these,are,not,the,columns\n")
    return "INVALID_MEMBERSHIP", "cohort_unreadable", None, None, p.paths.cohort_dir("broken")


CASES = [
    Case("raw without its metadata", _raw_without_metadata, KEPT),
    Case("raw_metadata.json not JSON", _raw_metadata_invalid_json, KEPT),
    Case("raw_metadata.json not its model", _raw_metadata_invalid_model, KEPT),
    Case("metadata.json not JSON", _metadata_invalid_json, KEPT),
    Case("metadata.json missing", _metadata_missing, FIXED),
    Case("metadata.json disagrees with membership", _metadata_disagrees_with_membership, KEPT),
    Case("a record names another generation", _record_disagrees_with_directory, KEPT),
    Case("parsed.txt missing", _parsed_missing, FIXED),
    Case("parsed_metadata.json not JSON", _parsed_metadata_invalid_json, FIXED),
    Case("parsed from another raw.txt", _parse_outdated, FIXED),
    Case("parse failed", _parse_failed, FIXED),
    Case("parse failed: truncated", _parse_failed_truncated, KEPT),
    Case("prompt.txt not UTF-8", _prompt_not_utf8, KEPT),
    Case("parsed.txt not UTF-8", _parsed_not_utf8, FIXED),
    Case("abandoned temp file", _old_temp_file, FIXED),
    Case("temp file of a write that may be running", _fresh_temp_file, KEPT),
    Case("temp file beside the membership", _temp_file_beside_membership, FIXED),
    Case("orphan generation", _orphan, KEPT),
    Case("stale child", _stale_child, KEPT),
    Case("journal entry awaiting adoption", _journal_entry, KEPT),
    Case("paid answer in neither store nor archive", _paid_answer_missing, KEPT),
    Case("cohort whose membership cannot be read", _cohort_unreadable, KEPT),
]


def _found(data: dict) -> list[tuple]:
    return [(f["code"], f["reason"], f["stage"], f["gen_id"], f["path"]) for f in data["findings"]]


def _expected(expect: tuple) -> tuple:
    return (*expect[:4], str(expect[4]))


def test_a_clean_store_has_no_findings(project, capsys):
    before = F.checksums(project.paths.data_root)
    code, data = run_check(project, capsys)
    assert (code, data["findings"], data["generations"]) == (0, [], len(F.members(project)))
    assert F.checksums(project.paths.data_root) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_damage_is_one_finding_and_check_changes_nothing(project, case, capsys):
    expect = case.damage(project)
    before = F.checksums(project.paths.data_root)
    code, data = run_check(project, capsys)
    assert code == 1
    assert _found(data) == [_expected(expect)]
    assert data["findings"][0]["repair"]
    assert F.checksums(project.paths.data_root) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fix_repairs_only_what_costs_no_paid_answer(base, project, case, capsys):
    expect = case.damage(project)
    before, paid_before = F.checksums(project.paths.data_root), paid(project)
    code, data = run_check(project, capsys, "--fix")
    assert paid(project) == paid_before
    if case.after_fix == FIXED:
        assert (code, data["findings"]) == (0, [])
        assert [r["ok"] for r in data["fixed"]] == [True]
        path = Path(expect[4])
        if path.name == P.PARSED_METADATA:  # a re-parse: the parse record says success, the text is the clean one
            assert json.loads(path.read_text())["success"] is True
            path = path.with_name(P.PARSED)
        if path.name in P.GEN_FILES:  # re-made as a run makes it: byte-identical to the clean store's
            clean = base.paths.data_root / path.relative_to(project.paths.data_root)
            assert path.read_bytes() == clean.read_bytes()
        else:
            assert not path.exists()
    else:
        assert code == 1 and _found(data) == [_expected(expect)] and data["fixed"] == []
        after = {k: v for k, v in F.checksums(project.paths.data_root).items() if not k.startswith(".lock/")}
        assert after == before  # (fixing takes the data root's writer lock: .lock/ is its bookkeeping)


# --- the ledger's other lines ------------------------------------------------------------------

def test_an_answer_replaced_by_a_forced_regeneration_is_accounted_for_by_the_archive(project, capsys):
    d = of(project, "draft")
    _ledger_line(project, stage="draft", gen_id=d, request_id="req-replaced", cost_usd=0.02)
    stamp = project.paths.archive_gen_dir("draft", d) / "20260101T000000Z"
    stamp.mkdir(parents=True)
    (stamp / P.RAW).write_text("the old answer")
    (stamp / P.RAW_METADATA).write_text(json.dumps({"request_id": "req-replaced"}))
    code, data = run_check(project, capsys)
    assert (code, data["findings"]) == (0, [])


def test_ledger_lines_that_are_not_answers_need_no_stored_answer(project, capsys):
    d = of(project, "draft")
    _ledger_line(project, stage="draft", gen_id=d, request_id="req-a", cost_usd=0.5, kind="lost_in_flight")
    _ledger_line(project, stage="draft", gen_id=d, request_id="req-b", cost_usd=0.5, kind="billable_failure")
    code, data = run_check(project, capsys)
    assert (code, data["findings"]) == (0, [])


def test_a_journaled_answer_is_one_finding_not_two(project, capsys):
    expect = _journal_entry(project)
    _ledger_line(project, stage="essay", gen_id=expect[3], request_id="req-journaled", cost_usd=0.1)
    code, data = run_check(project, capsys)
    assert code == 1 and _found(data) == [_expected(expect)]


def test_a_store_answer_deleted_after_payment_is_found_by_the_ledger(project, capsys):
    e = of(project, "essay")
    project.paths.raw_path("essay", e).unlink()  # its metadata (and request id) stays
    code, data = run_check(project, capsys)
    assert code == 1 and [(f["reason"], f["gen_id"]) for f in data["findings"]] == [("paid_answer_missing", e)]


def test_usage_errors_exit_2(project, capsys):
    assert main(["check", "--configfile", str(project.root / "nope.yaml")]) == 2
    assert main(["check", "--configfile", str(project.root / "config" / "config.yaml"), "--cohorts", "nope"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["check", "--no-such-flag"])
    assert exc.value.code == 2
