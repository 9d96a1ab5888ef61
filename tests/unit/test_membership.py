"""membership.csv: a generation listed twice, or listed differently by cohorts run together, is
refused naming the file(s) and lines; a generation two cohorts share alike is read once."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.membership import MEMBERSHIP_COLUMNS, cohort_members, read_membership
from daydreaming.paths import Paths

DRAFT = "d_5ezrffv9uf3lr37d"
ESSAY = "e_sq5klak2lljyyom"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data")


def row(stage: str, gen_id: str, cohort: str, **changes: str) -> dict[str, str]:
    base = {"stage": stage, "gen_id": gen_id, "origin_cohort_id": cohort,
            "parent_gen_id": DRAFT if stage == "essay" else "", "combo_id": "combo_v1_x", "template_id": "t",
            "llm_model_id": "m", "replicate": "1", "mode": "llm"}
    return {**base, **changes}


def write(paths: Paths, cohort: str, rows: list[dict[str, str]], columns=MEMBERSHIP_COLUMNS) -> Path:
    path = paths.membership_csv(cohort)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(r[c] for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refused(action) -> DDError:
    with pytest.raises(DDError) as info:
        action()
    assert info.value.code is Err.INVALID_MEMBERSHIP
    return info.value


def test_an_exact_duplicate_row_is_refused_with_both_lines(paths: Paths) -> None:
    path = write(paths, "c", [row("draft", DRAFT, "c"), row("essay", ESSAY, "c"), row("draft", DRAFT, "c")])
    err = refused(lambda: read_membership(path))
    assert err.ctx["reason"] == "duplicate_row"
    assert (err.ctx["stage"], err.ctx["gen_id"], err.ctx["path"], err.ctx["lines"]) == (
        "draft",
        DRAFT,
        str(path),
        [2, 4],
    )
    assert err.ctx["differing"] == {} and str(path) in err.ctx["fix"]


def test_one_generation_with_two_different_rows_in_one_file_is_refused(paths: Paths) -> None:
    path = write(paths, "c", [row("draft", DRAFT, "c"), row("essay", ESSAY, "c"),
                              row("essay", ESSAY, "c", template_id="other")])
    err = refused(lambda: read_membership(path))
    assert err.ctx["reason"] == "conflicting_rows"
    assert (err.ctx["lines"], err.ctx["differing"]) == ([3, 4], {"template_id": ["t", "other"]})


def test_slim_duplicate_is_refused(paths: Paths) -> None:
    path = write(paths, "c", [row("draft", DRAFT, "c")] * 2, columns=("stage", "gen_id"))
    assert refused(lambda: read_membership(path)).ctx["reason"] == "duplicate_row"


def test_cohorts_sharing_a_generation_alike_read_it_once(paths: Paths) -> None:
    write(paths, "a", [row("draft", DRAFT, "a"), row("essay", ESSAY, "a")])
    write(paths, "b", [row("draft", DRAFT, "a"), row("essay", ESSAY, "b")])  # b compiled after a: own origin
    write(paths, "slim", [row("draft", DRAFT, "slim")], columns=("stage", "gen_id"))
    members = cohort_members(paths, ["a", "b", "slim"])
    assert [(m.stage, m.gen_id) for m in members] == [("draft", DRAFT), ("essay", ESSAY)]


def test_cohorts_listing_one_generation_differently_are_refused(paths: Paths) -> None:
    a = write(paths, "a", [row("draft", DRAFT, "a"), row("essay", ESSAY, "a")])
    b = write(paths, "b", [row("draft", DRAFT, "b", llm_model_id="other-model")])
    err = refused(lambda: cohort_members(paths, ["a", "b"]))
    assert (err.ctx["reason"], err.ctx["stage"], err.ctx["gen_id"]) == ("conflicting_cohort_rows", "draft", DRAFT)
    assert err.ctx["rows"] == [{"path": str(a), "line": 2}, {"path": str(b), "line": 2}]
    assert err.ctx["differing"] == {"llm_model_id": ["m", "other-model"]}
    assert [(m.stage, m.gen_id) for m in cohort_members(paths, ["a"])] == [("draft", DRAFT), ("essay", ESSAY)]


def test_membership_that_is_not_utf8_is_coded(paths: Paths) -> None:
    path = write(paths, "c", [row("draft", DRAFT, "c")])
    path.write_bytes(path.read_bytes().replace(b"combo_v1_x", b"combo_v1_\xe9"))
    err = refused(lambda: read_membership(path))
    assert (err.ctx["reason"], err.ctx["path"], err.ctx["line"]) == ("invalid_utf8", str(path), 2)
