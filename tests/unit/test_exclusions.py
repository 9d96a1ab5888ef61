"""exclusions.csv: written and read back, refused when malformed, and what a plan leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import exclusions
from daydreaming import paths as P
from daydreaming.errors import DDError, Err
from daydreaming.paths import Paths
from daydreaming.plan import StorePlan
from tests.unit.test_plan import DRAFT, ESSAY, EVAL, f, membership, put


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data")


def test_exclude_and_include_round_trip(paths: Paths) -> None:
    paths.cohort_dir("c").mkdir(parents=True)
    added = exclusions.exclude(paths, "c", [("draft", "d_1"), ("essay", "e_1")], " never parses ", by="ana")
    assert [(e.stage, e.gen_id, e.reason, e.by) for e in added] == [("draft", "d_1", "never parses", "ana"),
                                                                   ("essay", "e_1", "never parses", "ana")]
    exclusions.exclude(paths, "c", [("draft", "d_1")], "still never parses")  # replaced, not repeated
    rows = exclusions.read_exclusions(paths, "c")
    assert [(e.gen_id, e.reason) for e in rows] == [("e_1", "never parses"), ("d_1", "still never parses")]
    assert [e.gen_id for e in exclusions.include(paths, "c", [("draft", "d_1")])] == ["d_1"]
    assert exclusions.excluded_keys(paths, "c") == {("essay", "e_1")}


def test_an_exclusion_needs_a_reason(paths: Paths) -> None:
    with pytest.raises(DDError) as caught:
        exclusions.exclude(paths, "c", [("draft", "d_1")], "  ")
    assert caught.value.code is Err.INVALID_CONFIG and caught.value.ctx["reason"] == "exclusion_reason_missing"


def test_a_malformed_line_names_the_file_and_the_line(paths: Paths) -> None:
    path = paths.exclusions_csv("c")
    path.parent.mkdir(parents=True)
    path.write_text("stage,gen_id,reason,by,at\ndraft,d_1,ok,,\nsketch,d_2,bad stage,,\n")
    with pytest.raises(DDError) as caught:
        exclusions.read_exclusions(paths, "c")
    err = caught.value
    assert (err.code, err.ctx["reason"], err.ctx["line"], err.ctx["field"]) == (
        Err.INVALID_CONFIG, "invalid_exclusion", 3, "stage")
    assert err.ctx["path"] == str(path) and "fix" in err.ctx


def test_a_plan_leaves_out_what_every_cohort_listing_it_excludes(paths: Paths) -> None:
    put(paths, "draft", DRAFT, (P.METADATA,))
    put(paths, "essay", ESSAY, (P.METADATA,), parent=DRAFT)
    put(paths, "evaluation", EVAL, (P.METADATA,), parent=ESSAY)
    rows = [("draft", DRAFT, ""), ("essay", ESSAY, DRAFT), ("evaluation", EVAL, ESSAY)]
    membership(paths, rows, cohort="c")
    membership(paths, rows[:2], cohort="other")  # wants the draft and the essay, not the evaluation
    exclusions.exclude(paths, "c", [("draft", DRAFT)], "accepted")

    alone = StorePlan.build(paths, ["c"])
    assert alone.excluded_in("c") == {("draft", DRAFT), ("essay", ESSAY), ("evaluation", EVAL)}
    assert alone.targets() == [] and alone.pending_calls() == []

    both = StorePlan.build(paths, ["c", "other"])
    assert both.excluded("evaluation", EVAL) and not both.excluded("essay", ESSAY)
    assert both.targets() == [f(paths, "essay", ESSAY, P.PARSED_METADATA)]
