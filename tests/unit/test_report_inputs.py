"""What the ``cohort_scores`` job waits for: evaluations this run may (re)parse, never a failed
parse (or one blocked by a failed parent), and a finished evaluation only when its parsed.txt
is newer than the scores (Snakemake's own mtime rule, without putting the cohort in the DAG)."""

from __future__ import annotations

import os

import pytest
from report_fixtures import COHORT, eval_id

from daydreaming.paths import Paths
from daydreaming.plan import StorePlan
from daydreaming.report.inputs import score_inputs

NEVER_RAN = [eval_id("e2", "j2", "t", 1), eval_id("e5", "j1", "t", 1)]  # e5's own parse failed
FAILED = [eval_id("e2", "j3", "t", 2), eval_id("e4", "j2", "t", 2)]  # parse failed / truncated
CALL_FAILED = eval_id("e4", "j3", "u", 1)  # its call failed: the next run tries again, the report waits for it
UNFINISHED = [NEVER_RAN[0], CALL_FAILED]


@pytest.fixture
def paths(tmp_path) -> Paths:
    import report_fixtures

    paths = Paths(tmp_path / "data")
    report_fixtures.build(paths)
    return paths


def _parsed(paths: Paths, *gen_ids: str) -> list[str]:
    return [str(paths.parsed_path("evaluation", g)) for g in gen_ids]


def _scores_csv(paths: Paths, newer_than_everything: bool = True):
    csv = paths.cohort_report(COHORT, "aggregated_scores.csv")
    csv.parent.mkdir(parents=True, exist_ok=True)
    csv.write_text("gen_id\n")
    if newer_than_everything:
        later = max(p.stat().st_mtime_ns for p in paths.data_root.rglob("*") if p.is_file()) + 10**9
        os.utime(csv, ns=(later, later))
    return csv


def test_without_scores_only_unfinished_unblocked_evaluations(paths):
    csv = paths.cohort_report(COHORT, "aggregated_scores.csv")
    assert score_inputs(StorePlan.build(paths, [COHORT]), COHORT, csv) == _parsed(paths, *UNFINISHED)


def test_up_to_date_scores_add_nothing_finished(paths):
    csv = _scores_csv(paths)
    assert score_inputs(StorePlan.build(paths, [COHORT]), COHORT, csv) == _parsed(paths, *UNFINISHED)


def test_a_parsed_txt_newer_than_the_scores_is_declared(paths):
    csv = _scores_csv(paths)
    touched = eval_id("e3", "j2", "t", 2)
    later = csv.stat().st_mtime_ns + 10**9
    os.utime(paths.parsed_path("evaluation", touched), ns=(later, later))
    inputs = score_inputs(StorePlan.build(paths, [COHORT]), COHORT, csv)
    assert inputs == _parsed(paths, NEVER_RAN[0], touched, CALL_FAILED)


def test_a_recompiled_membership_is_declared(paths):
    csv = _scores_csv(paths)
    later = csv.stat().st_mtime_ns + 10**9
    os.utime(paths.membership_csv(COHORT), ns=(later, later))
    inputs = score_inputs(StorePlan.build(paths, [COHORT]), COHORT, csv)
    assert inputs == [str(paths.membership_csv(COHORT))] + _parsed(paths, *UNFINISHED)


def test_forced_reparse_waits_for_every_evaluation_but_the_failed_ones(paths):
    from report_fixtures import OUTCOMES

    csv = _scores_csv(paths)
    plan = StorePlan.build(paths, [COHORT], forced_rules=["evaluation_parsed"])
    every = [eval_id(e, j, t, r) for (e, j, t), outcomes in OUTCOMES.items() for r in range(1, len(outcomes) + 1)]
    expected = [g for g in every if g not in FAILED and g != NEVER_RAN[1]]
    assert score_inputs(plan, COHORT, csv) == _parsed(paths, *expected)
