"""Write one page per essay of a cohort (``reports/essays/<gen_id>.html``).

The lineage, tokens, cost and status come from ``generations.csv`` and the scores from
``aggregated_scores.csv``; only the texts are read from the store here: the essay and its draft
(parsed text, what the next stage saw) and each judge's full answer (raw text, its reasoning
included). Pages of essays no longer in the cohort are removed, so every page on disk belongs
to the current membership.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DDError
from ..fsio import TMP_PREFIX, atomic_write_text
from ..store import GensDataLayer
from .pages import EssayView, essay_page

EVALUATION_ORDER = ["template_id", "llm_model_id", "replicate", "gen_id"]


def _text(read, stage: str, gen_id) -> str | None:
    if not isinstance(gen_id, str) or not gen_id:
        return None
    try:
        return read(stage, gen_id)
    except (DDError, UnicodeDecodeError, OSError):
        return None


def essay_views(store: GensDataLayer, generations: pd.DataFrame, scores: pd.DataFrame):
    """Each essay of the cohort (a member, or the parent of a member evaluation) with what its
    page shows; yields ``EssayView`` one at a time, so texts are never all in memory."""
    score_of = dict(zip(scores["gen_id"], scores["score"]))
    rows = generations.astype(object).where(generations.notna(), None)
    by_stage = {stage: group for stage, group in rows.groupby("stage", sort=False)}
    evaluations = by_stage.get("evaluation", rows.iloc[0:0]).sort_values(EVALUATION_ORDER)
    evaluations = evaluations.assign(score=evaluations["gen_id"].map(score_of))
    evaluations_of = {essay: group.to_dict("records") for essay, group in evaluations.groupby("parent_gen_id")}
    drafts = {r["gen_id"]: r for r in by_stage.get("draft", rows.iloc[0:0]).to_dict("records")}
    essays = {r["gen_id"]: r for r in by_stage.get("essay", rows.iloc[0:0]).to_dict("records")}
    for essay_id in evaluations_of:
        essays.setdefault(essay_id, {"stage": "essay", "gen_id": essay_id, "parent_gen_id": None, "template_id": None,
                                     "llm_model_id": None, "replicate": None, "status": "not a member",
                                     "mode": None, "prompt_tokens": None, "completion_tokens": None,
                                     "cost_usd": None, "combo_id": None})
    for essay_id, essay in essays.items():
        draft_id = essay.get("parent_gen_id")
        judged = evaluations_of.get(essay_id, [])
        yield EssayView(essay, drafts.get(draft_id), judged, _text(store.read_parsed, "essay", essay_id),
                        _text(store.read_parsed, "draft", draft_id),
                        {r["gen_id"]: _text(store.read_raw, "evaluation", r["gen_id"]) for r in judged})


def write_essay_pages(store: GensDataLayer, cohort: str, generations: pd.DataFrame, scores: pd.DataFrame) -> int:
    written: set[Path] = set()
    for view in essay_views(store, generations, scores):
        page = store.paths.cohort_essay_page(cohort, str(view.essay["gen_id"]))
        atomic_write_text(page, essay_page(cohort, view))
        written.add(page)
    directory = store.paths.cohort_essay_pages_dir(cohort)
    if directory.is_dir():
        for old in directory.iterdir():
            if old not in written and (old.suffix == ".html" or old.name.startswith(TMP_PREFIX)):
                old.unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)  # a cohort with no essay still has the (empty) directory
    return len(written)
