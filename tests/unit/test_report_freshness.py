"""When a cohort's reports are stale, what the end of a run rebuilds, and the line it prints:
on the hand-made cohort store, with real writes (the store API, failure records, a new
membership) and the same build functions the workflow's scripts call."""

from __future__ import annotations

import os

import pytest
from report_fixtures import COHORT, eval_id

from daydreaming.errors import DDError, Err
from daydreaming.failures import record_failure
from daydreaming.paths import REPORT_FILES, Paths
from daydreaming.report import freshness


def _backdate(root, seconds: int = 60) -> None:
    """Make every file and directory under ``root`` look written a minute ago. Staleness treats
    a change in the same file-system clock tick as the scan's start as after it (safe, never
    stale); a fixture written a millisecond before its first build would otherwise look changed."""
    import time

    then = time.time_ns() - seconds * 10**9
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(then, then))


@pytest.fixture
def config(tmp_path) -> dict:
    import report_fixtures

    report_fixtures.build(Paths(tmp_path / "data"))
    _backdate(tmp_path / "data")
    return {"data_root": str(tmp_path / "data"), "cohorts": [COHORT]}


@pytest.fixture
def built(config) -> Paths:
    assert freshness.refresh_stale(config) == [COHORT]  # never built: stale
    return Paths.from_str(config["data_root"])


def _mtimes(paths: Paths) -> dict[str, int]:
    return {name: paths.cohort_report(COHORT, name).stat().st_mtime_ns for name in REPORT_FILES}


def test_a_fresh_build_writes_every_report_and_is_then_up_to_date(config, built):
    assert all(built.cohort_report(COHORT, name).exists() for name in REPORT_FILES)
    assert freshness.stale_reason(built, COHORT) is None
    before = _mtimes(built)
    assert freshness.refresh_stale(config) == []
    assert _mtimes(built) == before  # nothing rewritten


def test_the_run_line_says_where_the_report_is_and_how_complete_the_cohort_is(config, built):
    (line,) = freshness.run_lines(config)
    index = built.cohort_report(COHORT, "index.html")
    # 2 drafts + 4 essays + 20 evaluations parsed; e5's parse, a parse, a truncation, a call failed; 2 never ran
    assert line == f"daydreaming: cohort {COHORT}: 26 complete, 4 failed, 2 missing of 32 generations; report {index}"


def test_no_report_yet_is_said_too(config):
    assert freshness.run_lines(config) == [f"daydreaming: cohort {COHORT}: no report yet"]


def test_a_new_answer_of_a_member_makes_the_reports_stale_and_a_refresh_rebuilds_them(config, built):
    import pandas as pd
    from report_fixtures import write_generation

    from daydreaming.report.build import read_scores
    from daydreaming.store import GensDataLayer

    missing = eval_id("e2", "j2", "t", 1)
    meta = GensDataLayer(built).read_main_metadata("evaluation", missing)
    write_generation(GensDataLayer(built), meta, 6)  # its answer arrives, parsed: score 6
    assert freshness.stale_reason(built, COHORT) == f"evaluation {missing} changed"
    started = freshness.read_scan(built, COHORT).started_ns
    assert freshness.refresh_stale(config) == [COHORT]
    assert freshness.read_scan(built, COHORT).started_ns > started
    scores = read_scores(str(built.cohort_report(COHORT, "aggregated_scores.csv"))).set_index("gen_id")
    assert scores.loc[missing, "score"] == 6.0 and pd.isna(scores.loc[missing, "error"])


def test_a_failed_call_makes_the_reports_stale_though_the_store_is_unchanged(config, built):
    """A refused call writes nothing in the generation's directory, only its failure record."""
    missing = eval_id("e2", "j2", "t", 1)
    record_failure(built, "evaluation", "raw", missing, DDError(Err.IO_ERROR, {"reason": "timeout"}), None)
    assert "failed" in freshness.stale_reason(built, COHORT)
    assert freshness.refresh_stale(config) == [COHORT]
    (line,) = freshness.run_lines(config)
    assert "5 failed, 1 missing" in line


def test_a_failure_outside_the_cohort_changes_nothing(config, built):
    record_failure(built, "evaluation", "raw", "v_other", DDError(Err.IO_ERROR, {"reason": "timeout"}), None)
    assert freshness.stale_reason(built, COHORT) is None


def test_a_recompiled_membership_and_an_unfinished_build_make_the_reports_stale(config, built):
    membership = built.membership_csv(COHORT)
    membership.write_text(membership.read_text())
    assert "membership" in freshness.stale_reason(built, COHORT)
    freshness.refresh_stale(config)
    scan = built.cohort_report(COHORT, "scan.json")
    later = built.cohort_report(COHORT, "index.html").stat().st_mtime_ns + 10**9
    os.utime(scan, ns=(later, later))  # a scan whose computing step never finished
    assert freshness.stale_reason(built, COHORT) == "index.html older than its scan"


def test_a_cohort_that_cannot_be_rebuilt_is_named_and_the_others_still_are(config, built, capsys):
    import io

    built.membership_csv(COHORT).write_text("not,a,membership\n")
    out = io.StringIO()
    assert freshness.refresh_stale(config, out) == []
    assert f"the report of cohort {COHORT} could not be rebuilt" in out.getvalue()
