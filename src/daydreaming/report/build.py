"""The second step of a cohort's reports: every table, figure and page, from the scan's files.

``compute_reports`` reads what ``scan.scan_cohort`` wrote (plus the essays' texts, for their
pages) and writes the rest. It takes the files by name (``outputs``: file stem -> path) so the
workflow's rule stays the contract (``scripts/cohort_report.py``), and the end-of-run refresh
calls it on the paths ``Paths`` gives. Writes are atomic; ``index.html`` is written last, so a
report whose index is newer than its scan is complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..errors import DDError
from ..fsio import atomic_write_text
from ..paths import REPORT_FILES
from ..runtime import Runtime
from . import costs as cost_tables
from . import pages, plots
from .agreement import evaluator_agreement
from .columns import read_dtypes
from .essays import write_essay_pages
from .generations import read_generations
from .judges import judge_diagnostics
from .paired import level_means, paired_comparisons
from .parity import perfect_score_paths, variance_analysis
from .pivot import evaluation_model_template_pivot, generation_scores_pivot
from .scan import write_csv
from .status import completion, failures, status_counts
from .summary import final_results
from .top import top_essays


def read_scores(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=read_dtypes(), keep_default_na=False, na_values=[""])


def pending_calls(rt: Runtime, cohort: str) -> list[dict]:
    """The calls a plain run would still make for the cohort, estimated (``daydreaming.estimate``)."""
    from ..estimate import Estimator
    from ..plan import StorePlan

    plan = StorePlan.build(rt.paths, [cohort], policy=rt.config.rerun_policy)
    if not plan.pending_calls():
        return []
    return [{"stage": c.stage, "model_id": c.model_id,
             "template_id": plan.generation_call(c.stage, c.gen_id).template_id,
             "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens, "usd": c.run_usd}
            for c in Estimator(rt, plan).calls()]


def _unanswered(generations: pd.DataFrame) -> bool:
    """Whether any generation still lacks its answer (only then can a plain run call anything:
    building the plan to estimate nothing cost seconds on a finished 20,000-evaluation cohort)."""
    return bool(((generations["mode"] != "copy") & generations["raw_chars"].isna()).any())


def _costs(rt: Runtime, cohort: str, generations: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    try:
        pending, problem = (pending_calls(rt, cohort) if _unanswered(generations) else []), None
    except DDError as err:  # e.g. a template that no longer renders: report what is known
        pending, problem = [], f"pending calls not estimated: {err.code.name} {err.ctx.get('reason')}"
    return cost_tables.cost_table(cost_tables.actual_costs(generations), cost_tables.pending_costs(pending)), problem


def _tables(rt: Runtime, cohort: str, scores: pd.DataFrame, generations: pd.DataFrame) -> tuple[dict, list[str]]:
    tables = {
        "generation_scores": generation_scores_pivot(scores),
        "evaluation_model_template_pivot": evaluation_model_template_pivot(scores),
        "final_results": final_results(scores),
        "paired_comparisons": paired_comparisons(scores),
        "level_means": level_means(scores),
        "judge_diagnostics": judge_diagnostics(scores),
        "evaluator_agreement": evaluator_agreement(scores),
        "top_essays": top_essays(scores),
        "variance_analysis": variance_analysis(scores),
        "perfect_score_paths": perfect_score_paths(scores),
        "generation_status": status_counts(generations),
        "generation_failures": failures(generations),
    }
    tables["costs"], problem = _costs(rt, cohort, generations)
    return tables, [problem] if problem else []


def _figures(scores: pd.DataFrame, tables: dict) -> dict[str, str]:
    return {
        "forest_plot": plots.forest_svg(tables["level_means"], tables["paired_comparisons"]),
        "score_distributions": plots.distribution_svg(scores),
        "evaluator_heatmap": plots.heatmap_svg(scores),
    }


def _write_pages(rt: Runtime, cohort: str, report: pages.CohortReport, outputs: Mapping[str, str]) -> None:
    """The overview twice: for Snakemake's report (absolute links) and as index.html, last."""
    paths, reports_dir = rt.paths, rt.paths.cohort_reports_dir(cohort)
    atomic_write_text(outputs["overview"], pages.front_page_fragment(
        report, lambda essay: paths.cohort_essay_page(cohort, essay).absolute().as_uri()))
    listed = [n for n in REPORT_FILES if n.endswith((".csv", ".svg"))]
    atomic_write_text(outputs["index"], pages.index_page(
        report, listed, lambda essay: paths.cohort_essay_page(cohort, essay).relative_to(reports_dir).as_posix()))


def compute_reports(config: dict[str, Any], cohort: str, inputs: Mapping[str, str],
                    outputs: Mapping[str, str]) -> list[str]:
    """Every table, figure and page from the scan's two tables; returns notes worth logging."""
    rt = Runtime.from_config(config)
    scores = read_scores(inputs["aggregated_scores"])
    generations = read_generations(inputs["generations"])
    tables, notes = _tables(rt, cohort, scores, generations)
    for name, frame in tables.items():
        write_csv(outputs[name], frame)
    figures = _figures(scores, tables)
    for name, svg in figures.items():
        atomic_write_text(outputs[name], svg)
    notes.append(f"{write_essay_pages(rt.store, cohort, generations, scores)} essay pages")
    report = pages.CohortReport(
        cohort=cohort, completion=completion(generations), counts=tables["generation_status"],
        failed=tables["generation_failures"], costs=tables["costs"], comparisons=tables["paired_comparisons"],
        diagnostics=tables["judge_diagnostics"], agreement=tables["evaluator_agreement"],
        pivot=tables["generation_scores"], scores=scores, top=tables["top_essays"],
        forest_svg=figures["forest_plot"], heatmap_svg=figures["evaluator_heatmap"],
        distribution_svg=figures["score_distributions"])
    _write_pages(rt, cohort, report, outputs)
    return notes
