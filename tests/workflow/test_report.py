"""Cohort reports through the real snakemake CLI: built by a plain run, rebuilt by a re-parse
with zero LLM calls, not blocked by a failed parse, and readable in a real browser."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

from daydreaming.paths import REPORT_FILES

from .project import SMALL_SPEC, Project

# Two judges, two replicates: 1 draft + 1 LLM essay (the other copies) + 2 x 2 x 2 evaluations.
SPEC = copy.deepcopy(SMALL_SPEC)
SPEC["axes"]["evaluation_llm"] = ["judge", "writer"]
SPEC["axes"]["evaluation_replicate"] = ["1", "2"]
SPEC["output"]["field_order"].append("evaluation_replicate")
CALLS = 1 + 1 + 8


@pytest.fixture
def done(tmp_path, llm_server) -> Project:
    project = Project.create(tmp_path, llm_server.base_url, SPEC)
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == CALLS
    return project


def _report(project: Project, name: str) -> pd.DataFrame:
    return pd.read_csv(project.paths.cohort_report("c1", name), keep_default_na=False, na_values=[""])


def _store_scores(project: Project) -> dict[str, tuple[str, str, float]]:
    """gen_id -> (essay, judge, score), read straight from the store's files."""
    found = {}
    for gen_id in project.gen_ids("evaluation"):
        meta = json.loads(project.paths.metadata_path("evaluation", gen_id).read_text())
        score = float(project.paths.parsed_path("evaluation", gen_id).read_text())
        found[gen_id] = (meta["parent_gen_id"], meta["llm_model_id"], score)
    return found


def _report_mtimes(project: Project) -> dict[str, int]:
    return {name: project.paths.cohort_report("c1", name).stat().st_mtime_ns for name in REPORT_FILES}


def test_reports_of_a_run_and_a_rescoring_without_calls(done, llm_server):
    store = _store_scores(done)
    scores = _report(done, "aggregated_scores.csv")
    assert list(scores["gen_id"]) == done.gen_ids("evaluation")
    assert scores["error"].isna().all()
    assert {g: s for g, s in zip(scores["gen_id"], scores["score"])} == {g: v[2] for g, v in store.items()}

    pivot = _report(done, "generation_scores.csv").set_index("parent_gen_id")
    assert sorted(pivot.index) == sorted(done.gen_ids("essay"))
    for essay in pivot.index:
        for judge in ("judge", "writer"):
            values = [s for e, j, s in store.values() if e == essay and j == judge]
            key = f"{judge}_novelty-score"
            assert pivot.loc[essay, f"{key}_n"] == len(values) == 2
            assert pivot.loc[essay, key] == pytest.approx(sum(values) / len(values), abs=0.005)
    status = _report(done, "generation_status.csv").set_index("stage")
    assert status.loc["evaluation", "ok"] == 8 and status.loc["essay", "ok"] == 2
    assert done.snakemake("-n").jobs() == {}

    parsed_before = {g: done.paths.parsed_metadata_path("evaluation", g).stat().st_mtime_ns
                     for g in done.gen_ids("evaluation")}
    reports_before = _report_mtimes(done)
    rescored = done.snakemake("--forcerun", "evaluation_parsed")
    assert rescored.returncode == 0, rescored.output
    assert llm_server.request_count == CALLS  # zero LLM calls
    assert all(done.paths.parsed_metadata_path("evaluation", g).stat().st_mtime_ns > t
               for g, t in parsed_before.items())
    after = _report_mtimes(done)
    assert all(after[name] > reports_before[name] for name in REPORT_FILES), after
    pd.testing.assert_frame_equal(_report(done, "aggregated_scores.csv"), scores)
    assert done.snakemake("-n").jobs() == {}


def test_a_failed_parse_is_an_error_row_and_does_not_block_the_report(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    llm_server.add_fault(match="Rate how novel", truncate=True, times=1)
    assert project.snakemake().returncode != 0  # the truncated evaluation fails its parse
    again = project.snakemake()  # it fails again, and the reports are built regardless
    assert again.returncode != 0
    scores = _report(project, "aggregated_scores.csv").set_index("gen_id")
    assert sorted(scores.index) == sorted(project.gen_ids("evaluation"))
    failed = scores[scores["error"].notna()]
    assert len(failed) == 1 and pd.isna(failed.iloc[0]["score"])
    assert (failed.iloc[0]["error_code"], failed.iloc[0]["error_reason"]) == ("INVALID_CONFIG", "truncated_raw")
    assert scores["score"].notna().sum() == 1
    status = _report(project, "generation_status.csv").set_index("stage")
    assert status.loc["evaluation", "truncated"] == 1 and status.loc["evaluation", "ok"] == 1
    assert llm_server.request_count == 4
    # the report is done: only the failed parse is still asked for, on every run, until fixed
    assert project.snakemake("-n").jobs() == {"evaluation_parsed": 1, "all": 1}


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=15000")


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or pytest.fail("Debian's chromium is required (.ci/setup installs it)")
    profile = tmp_path / "chromium-profile"
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_snakemake_report_opens_in_headless_chromium(done, tmp_path):
    from PIL import Image

    report = tmp_path / "report.html"
    made = done.snakemake("--report", str(report))
    assert made.returncode == 0, made.output
    url = report.as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    app = page[page.index('<div id="app">'):]
    app = app[:app.index("<script")]  # what the browser rendered, not the embedded data
    pivot = re.search(r'<table class="pivot">.*?</table>', app, re.S)
    assert pivot, "the pivot table is not on the report's front page"
    assert all(essay in pivot.group(0) for essay in done.gen_ids("essay"))
    heatmap = re.search(r'<svg[^>]*>.*?id="evaluator-heatmap".*?</svg>', app, re.S)
    assert heatmap and "<path" in heatmap.group(0)  # the heatmap is drawn on the front page
    results = json.loads(re.search(r"var results = (\{.*?\});\s*</script>", page, re.S).group(1))
    names = {entry["name"] for entry in results.values()}
    assert {"scores_by_generation_template.svg", "scores_by_generation_model.svg", "evaluator_heatmap.svg",
            "generation_scores.html", "top_essays.html", "evaluator_agreement.html",
            "generation_status.html"} <= names
    assert all(entry["mime_type"] == "image/svg+xml" for entry in results.values() if entry["name"].endswith(".svg"))

    shot = tmp_path / "report.png"
    taken = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    assert image.size == (1280, 2000) and len(colours) > 100  # text, tables and a plot, not a blank page
    background = max(colours)[0]
    assert background < 0.9 * image.size[0] * image.size[1]
