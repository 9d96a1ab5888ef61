"""The report's pages: ``index.html`` (the cohort at a glance), the same content as a fragment
for Snakemake's report front page, and one page per essay.

``index.html`` is self-contained (styles, figures and the sort script are inline) and links each
essay to ``essays/<gen_id>.html`` beside it, so the reports directory can be copied or served
as it is. An essay page shows what a number in the pivot rests on: the essay, its draft, and
every judge's full answer with its score, model, template, tokens and cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from . import html as h
from . import sections
from .freshness import Completion

# Snakemake's report puts the front page text in a 32rem-wide column beside the rule graph, in
# a box that centres it vertically (a page taller than the window loses its top); these rules,
# matched only when our fragment is inside, give it the page width and start it at the top.
SNAKEMAKE_FRONT_PAGE_STYLE = """<style>
div.h-screen:has(#dd-front){align-items:flex-start;justify-content:flex-start}
div.max-w-lg:has(#dd-front){max-width:none;width:100%}
div.py-2:has(#dd-front){flex:1 1 100%;min-width:0;max-width:100%}
div.flex.items-start:has(#dd-front){flex-wrap:wrap}
#dd-front{max-width:none}
</style>"""


@dataclass(frozen=True)
class CohortReport:
    """Everything the overview shows, computed already."""

    cohort: str
    completion: Completion
    counts: pd.DataFrame
    failed: pd.DataFrame
    costs: pd.DataFrame
    comparisons: pd.DataFrame
    diagnostics: pd.DataFrame
    agreement: pd.DataFrame
    pivot: pd.DataFrame
    scores: pd.DataFrame
    top: pd.DataFrame
    forest_svg: str
    heatmap_svg: str
    distribution_svg: str


def overview_body(report: CohortReport, essay_href: sections.Href) -> str:
    return "".join([
        sections.headline(report.cohort, report.completion, report.costs), sections.navigation(),
        sections.comparisons(report.comparisons, report.forest_svg),
        sections.judges(report.diagnostics, report.agreement, report.heatmap_svg),
        sections.pivot(report.pivot, report.scores, essay_href), sections.top(report.top, essay_href),
        sections.costs(report.costs), sections.status(report.counts, report.failed),
        sections.distributions(report.distribution_svg),
    ])


def index_page(report: CohortReport, files: list[str], essay_href: sections.Href) -> str:
    return h.page(f"Cohort {report.cohort}", overview_body(report, essay_href) + sections.files(files))


def front_page_fragment(report: CohortReport, essay_href: sections.Href) -> str:
    """The overview for Snakemake's report front page (``report/workflow.rst``)."""
    return (f'<meta charset="utf-8">{h.STYLE}{SNAKEMAKE_FRONT_PAGE_STYLE}'
            f'<div class="dd-report" id="dd-front">{overview_body(report, essay_href)}</div>\n')


Row = Mapping[str, Any]


@dataclass(frozen=True)
class EssayView:
    """One essay with its draft and evaluations (rows of generations.csv; evaluations carry
    ``score`` from aggregated_scores.csv and come in the order shown), and the texts read from
    the store."""

    essay: Row
    draft: Row | None
    evaluations: Sequence[Row]
    essay_text: str | None
    draft_text: str | None
    answers: dict[str, str | None]  # evaluation gen_id -> raw answer


def _usage(row: Row) -> str:
    tokens = f"{h.num(row['prompt_tokens'])} + {h.num(row['completion_tokens'])} tokens"
    cost = ("copy" if row["mode"] == "copy" else "no price" if h.missing(row["cost_usd"])
            else f"${h.num(row['cost_usd'], 6)}")
    return f"{tokens}, {cost}"


def _lineage(row: Row) -> list[str]:
    return [h.text(row["stage"]), h.text(row["gen_id"]), h.text(row["template_id"]), h.text(row["llm_model_id"]),
            h.text(row["replicate"]), h.text(row["status"]), _usage(row)]


def _block(title: str, text: str | None) -> str:
    shown = f"<pre>{escape(text)}</pre>" if text is not None else '<p class="muted">(no text: not parsed)</p>'
    return f"<h2>{escape(title)}</h2>{shown}"


def _evaluation(row: Row, answer: str | None) -> str:
    score = h.num(row["score"]) if not h.missing(row["score"]) else f'<span class="bad">{h.text(row["status"])}</span>'
    error = (f'<p class="bad">{h.text(row["error_code"])} {h.text(row["error_reason"])}</p>'
             if not h.missing(row["error_code"]) else "")
    shown = f"<pre>{escape(answer)}</pre>" if answer is not None else '<p class="muted">(no answer stored)</p>'
    return (f'<details open id="{escape(str(row["gen_id"]))}"><summary><b>{h.text(row["template_id"])}</b> by '
            f'<b>{h.text(row["llm_model_id"])}</b>, replicate {h.text(row["replicate"])}: score <b>{score}</b> '
            f'<span class="muted">({h.text(row["gen_id"])}; {_usage(row)})</span></summary>{error}{shown}</details>')


def essay_page(cohort: str, view: EssayView) -> str:
    essay = view.essay
    lineage_rows = [_lineage(essay)] + ([_lineage(view.draft)] if view.draft is not None else [])
    evaluations = view.evaluations
    body = "".join([
        f'<p>{h.link("../index.html", f"cohort {cohort}")} &rsaquo; essay</p>',
        f"<h1>Essay {h.text(essay['gen_id'])}</h1>",
        f"<p>combo <b>{h.text(view.draft['combo_id'] if view.draft is not None else None)}</b></p>",
        h.table(["stage", "gen_id", "template", "model", "replicate", "status", "tokens, cost"], lineage_rows,
                sortable=False),
        _block("Essay", view.essay_text), _block("Draft", view.draft_text),
        f"<h2>Judges ({len(evaluations)})</h2>",
        "".join(_evaluation(row, view.answers.get(row["gen_id"])) for row in evaluations)
        or "<p>No evaluation of this essay in the cohort.</p>",
    ])
    return h.page(f"Essay {essay['gen_id']} ({cohort})", body)
