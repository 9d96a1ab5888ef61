"""Cohort reports through the real snakemake CLI against the loopback server: built by a plain
run, rebuilt by a re-parse with zero LLM calls, rebuilt in the very run whose calls or first
parse failed (the end of the run builds what Snakemake skipped), and readable in a real browser
at 1400 px, both as index.html with its essay pages and as `snakemake --report`'s front page."""

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
GENERATIONS = 1 + 2 + 8


@pytest.fixture
def done(tmp_path, llm_server) -> Project:
    project = Project.create(tmp_path, llm_server.base_url, SPEC)
    result = project.snakemake()
    assert result.returncode == 0, result.output
    assert llm_server.request_count == CALLS
    return project


def _report(project: Project, name: str) -> pd.DataFrame:
    return pd.read_csv(project.paths.cohort_report("c1", name), keep_default_na=False, na_values=[""])


def _status(project: Project) -> pd.DataFrame:
    return _report(project, "generation_status.csv").set_index("stage")


def _run_line(project: Project, output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("daydreaming: cohort c1:")]
    assert len(lines) == 1, output[-3000:]
    assert lines[0].endswith(f"report {project.paths.cohort_report('c1', 'index.html')}")
    return lines[0]


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
    assert set(scores["draft_model"]) == {"writer"} and set(scores["evaluation_replicate"]) == {1, 2}

    pivot = _report(done, "generation_scores.csv").set_index("parent_gen_id")
    assert sorted(pivot.index) == sorted(done.gen_ids("essay"))
    for essay in pivot.index:
        for judge in ("judge", "writer"):
            values = [s for e, j, s in store.values() if e == essay and j == judge]
            key = f"{judge}_novelty-score"
            assert pivot.loc[essay, f"{key}_n"] == len(values) == 2
            assert pivot.loc[essay, key] == pytest.approx(sum(values) / len(values), abs=0.005)
    assert _status(done).loc["evaluation", "ok"] == 8 and _status(done).loc["essay", "ok"] == 2
    comparisons = _report(done, "paired_comparisons.csv")
    assert set(comparisons["axis"]) == {"generation_template", "evaluation_llm_model"}
    costs = _report(done, "costs.csv").set_index("stage")
    assert costs.loc["total", "answered"] == CALLS and costs.loc["total", "pending_calls"] == 0
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
    assert _run_line(done, rescored.output) == (
        f"daydreaming: cohort c1: {GENERATIONS} complete, 0 failed, 0 missing of {GENERATIONS} generations; "
        f"report {done.paths.cohort_report('c1', 'index.html')}")
    assert done.snakemake("-n").jobs() == {}
    idle = done.snakemake()  # nothing to do: Snakemake calls no handler, the line is printed all the same
    assert "Nothing to be done" in idle.output
    assert _run_line(done, idle.output).startswith(f"daydreaming: cohort c1: {GENERATIONS} complete")


def test_a_failed_first_run_parse_is_in_the_reports_of_that_run(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    llm_server.add_fault(match="Rate how novel", truncate=True, times=1)
    first = project.snakemake()
    assert first.returncode != 0  # the truncated evaluation fails its parse; Snakemake skips the reports
    scores = _report(project, "aggregated_scores.csv").set_index("gen_id")
    assert sorted(scores.index) == sorted(project.gen_ids("evaluation"))
    failed = scores[scores["error"].notna()]
    assert len(failed) == 1 and pd.isna(failed.iloc[0]["score"])
    assert (failed.iloc[0]["error_code"], failed.iloc[0]["error_reason"]) == ("INVALID_CONFIG", "truncated_raw")
    assert _status(project).loc["evaluation", "truncated"] == 1 and _status(project).loc["evaluation", "ok"] == 1
    assert "1 failed, 0 missing" in _run_line(project, first.output)
    assert project.paths.cohort_report("c1", "index.html").exists()
    assert llm_server.request_count == 4
    # the reports are current: only the failed parse is still asked for, on every run, until fixed
    assert project.snakemake("-n").jobs() == {"evaluation_parsed": 1, "all": 1}


def test_failed_calls_are_in_the_reports_of_that_run(done, llm_server):
    """A second judge joins while the provider is down: its calls fail, and the reports of that
    very run say so (4 of 8 evaluations failed), instead of the previous run's 4/4 ok."""
    spec = copy.deepcopy(SPEC)
    spec["axes"]["evaluation_llm"] = ["judge", "writer", "critic"]
    done.write_spec("c1", spec)
    index = done.paths.cohort_report("c1", "index.html")
    before = index.stat().st_mtime_ns
    llm_server.add_fault(match="Rate how novel", status=503)  # every evaluation call, until cleared
    down = done.snakemake()
    assert down.returncode != 0
    assert llm_server.request_count == CALLS + 4  # one attempt each (max_retries: 0)
    status = _status(done)
    assert (status.loc["evaluation", "total"], status.loc["evaluation", "ok"], status.loc["evaluation", "job_failed"]) \
        == (12, 8, 4)
    scores = _report(done, "aggregated_scores.csv")
    failed = scores[scores["evaluation_llm_model"] == "critic"]
    assert len(failed) == 4 and failed["score"].isna().all() and failed["error_code"].notna().all()
    assert (failed["error_code"] != "DATA_MISSING").all()  # a failed call, not "not run yet"
    assert index.stat().st_mtime_ns > before
    assert f"{GENERATIONS} complete, 4 failed, 0 missing of {GENERATIONS + 4}" in _run_line(done, down.output)

    llm_server.faults.clear()
    back = done.snakemake()
    assert back.returncode == 0, back.output
    assert _status(done).loc["evaluation", "ok"] == 12
    assert "0 failed, 0 missing" in _run_line(done, back.output)


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=15000")
WIDTH = 1400
# Appended to a copy of a page: after rendering, measure what a reader at WIDTH px would see.
PROBE = """<script>
setTimeout(function(){
  var de=document.documentElement, front=document.getElementById('dd-front');
  var tables=Array.from(document.querySelectorAll('.dd-report table')).map(function(t){
    return {name:t.className, width:t.scrollWidth, room:t.parentElement.clientWidth, rows:t.rows.length};});
  var out={innerWidth:window.innerWidth, scrollWidth:de.scrollWidth, clientWidth:de.clientWidth,
           front:front?front.getBoundingClientRect().width:null, tables:tables};
  var pre=document.createElement('pre'); pre.id='dd-probe'; pre.textContent=JSON.stringify(out);
  document.body.appendChild(pre);
}, 3000);
</script>"""


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or pytest.fail("Debian's chromium is required (.ci/setup installs it)")
    profile = tmp_path / "chromium-profile"
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def _layout(tmp_path, page) -> dict:
    """What the page looks like at WIDTH px: window and table widths, measured in the browser."""
    html = page.read_text()
    probe = page.with_name(f"probe-{page.name}")  # beside it, so relative links still resolve
    end = html.rindex("</body>")
    probe.write_text(html[:end] + PROBE + html[end:])
    dom = _chromium(tmp_path, f"--window-size={WIDTH},1000", "--dump-dom", probe.as_uri())
    probe.unlink()
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="dd-probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def _assert_fits(layout: dict) -> None:
    assert layout["innerWidth"] == WIDTH
    assert layout["scrollWidth"] <= layout["clientWidth"], layout  # no horizontal scrollbar
    assert layout["tables"], layout
    for table in layout["tables"]:
        assert table["width"] <= table["room"], table  # every table fits its column


def _assert_not_blank(tmp_path, url: str, name: str) -> None:
    from PIL import Image

    shot = tmp_path / f"{name}.png"
    taken = _chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WIDTH},2000", url)
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    assert image.size == (WIDTH, 2000) and len(colours) > 100  # text, tables and plots, not a blank page
    assert max(colours)[0] < 0.9 * image.size[0] * image.size[1]


def test_index_html_reads_at_1400_px_and_every_essay_link_resolves(done, tmp_path):
    reports = done.paths.cohort_reports_dir("c1")
    index = reports / "index.html"
    _assert_fits(_layout(tmp_path, index))
    links = sorted(set(re.findall(r'href="(essays/[^"]+\.html)"', index.read_text())))
    assert [link.split("/")[1][:-5] for link in links] == sorted(done.gen_ids("essay"))
    for link in links:
        page = reports / link
        assert page.is_file(), link
        essay = page.stem
        dom = _chromium(tmp_path, f"--window-size={WIDTH},1000", "--dump-dom", page.as_uri())
        assert dom.returncode == 0 and f"Essay {essay}" in dom.stdout
        text = done.paths.parsed_path("essay", essay).read_text().strip().splitlines()[0]
        assert text.replace('"', "&quot;") in dom.stdout or text in dom.stdout
        assert dom.stdout.count("<details") == 4  # 2 judges x 2 replicates, each full answer
    _assert_not_blank(tmp_path, index.as_uri(), "index")


def test_snakemake_report_shows_the_overview_at_a_usable_width(done, tmp_path):
    report = tmp_path / "report.html"
    made = done.snakemake("--report", str(report))
    assert made.returncode == 0, made.output
    layout = _layout(tmp_path, report)
    assert layout["front"] is not None and layout["front"] >= 0.7 * WIDTH, layout  # was ~330 px
    _assert_fits(layout)
    assert {t["name"].split()[0] for t in layout["tables"]} >= {"comparisons", "judges", "pivot", "costs", "status"}
    page = report.read_text()
    results = json.loads(re.search(r"var results = (\{.*?\});\s*</script>", page, re.S).group(1))
    names = {entry["name"] for entry in results.values()}
    assert {"overview.html", "paired_comparisons.csv", "judge_diagnostics.csv", "forest_plot.svg",
            "evaluator_heatmap.svg", "costs.csv", "variance_analysis.csv", "perfect_score_paths.csv",
            "evaluation_model_template_pivot.csv"} <= names
    _assert_not_blank(tmp_path, report.as_uri(), "report")
