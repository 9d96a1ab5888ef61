"""Write one page per essay of a cohort (``reports/essays/<gen_id>.html``).

The lineage, tokens, cost and status come from ``generations.csv`` and the scores from
``aggregated_scores.csv``; only the texts are read from the store here: the essay and its draft
(parsed text, what the next stage saw) and each judge's full answer (raw text, its reasoning
included). The directory is replaced as a whole, so every page on disk belongs to the current
membership (no page of an essay that left it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from .. import paths as P
from ..fsio import atomic_write_dir
from ..paths import Paths
from ..store import GensDataLayer
from .generations import GENERATION_COLUMNS, read_bytes
from .pages import EssayView, essay_page


def _text(paths: Paths, stage: str, gen_id: str | None, name: str) -> str | None:
    """A generation's text file, None when absent or unreadable (read by plain path strings:
    through pathlib and the store's invariant checks, 20,000 answers took over a second)."""
    if not isinstance(gen_id, str) or not gen_id:
        return None
    data = read_bytes(paths.gen_file_strs(stage, gen_id)[name])
    try:
        return data.decode("utf-8") if data is not None else None
    except UnicodeDecodeError:
        return None


def _shown_order(row: dict) -> tuple:
    """Evaluations on an essay's page: by template, judge, replicate."""
    return str(row["template_id"] or ""), str(row["llm_model_id"] or ""), int(row["replicate"] or 0), row["gen_id"]


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts, missing values as None (one conversion, not one per essay)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def essay_views(store: GensDataLayer, generations: pd.DataFrame, scores: pd.DataFrame) -> Iterator[EssayView]:
    """Each essay of the cohort (a member, or the parent of a member evaluation) with what its
    page shows; yields ``EssayView`` one at a time, so texts are never all in memory."""
    score_of = dict(zip(scores["gen_id"], scores["score"]))
    rows = _records(generations)
    evaluations_of: dict[str, list[dict]] = {}
    for row in sorted((r for r in rows if r["stage"] == "evaluation"), key=_shown_order):
        row["score"] = score_of.get(row["gen_id"])
        evaluations_of.setdefault(row["parent_gen_id"], []).append(row)
    drafts = {r["gen_id"]: r for r in rows if r["stage"] == "draft"}
    essays = {r["gen_id"]: r for r in rows if r["stage"] == "essay"}
    for essay_id in evaluations_of:
        if essay_id and essay_id not in essays:  # judged in this cohort, written in another
            essays[essay_id] = {**dict.fromkeys(GENERATION_COLUMNS), "stage": "essay", "gen_id": essay_id,
                                "status": "not a member"}
    for essay_id, essay in essays.items():
        draft_id = essay.get("parent_gen_id")
        judged = evaluations_of.get(essay_id, [])
        paths = store.paths
        yield EssayView(essay, drafts.get(draft_id), judged, _text(paths, "essay", essay_id, P.PARSED),
                        _text(paths, "draft", draft_id, P.PARSED),
                        {r["gen_id"]: _text(paths, "evaluation", r["gen_id"], P.RAW) for r in judged})


def write_essay_pages(store: GensDataLayer, cohort: str, generations: pd.DataFrame, scores: pd.DataFrame) -> int:
    """Replace the cohort's essay pages directory by a page per essay (one directory swap)."""
    paths = store.paths
    pages = ((paths.cohort_essay_page(cohort, str(view.essay["gen_id"])).name, essay_page(cohort, view))
             for view in essay_views(store, generations, scores))
    return atomic_write_dir(paths.cohort_essay_pages_dir(cohort), pages)
