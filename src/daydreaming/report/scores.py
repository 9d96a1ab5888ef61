"""``aggregated_scores.csv``: one row per evaluation of a cohort, errors kept as rows.

Why errors stay rows: a report that silently drops the evaluations it could not read overstates
how complete (and how good) a cohort is. A row's ``error`` says what went wrong in the earlier
system's words (``missing parsed.txt``, ``Invalid parsed.txt: ...``) plus a failed parse's
record; ``error_code``/``error_reason`` say it in codes. Lineage (every axis: combo, draft
template and model, essay template and model, judge, the three replicate numbers) comes from the
generations up the parent chain.
"""

from __future__ import annotations

import math
import os

import pandas as pd

from .. import catalogs, parsers
from .. import paths as P
from ..errors import DDError, Err
from ..paths import Paths
from .columns import scores_frame
from .generations import CohortScan, Generation
from .state import EXCLUDED, JOB_FAILED, OK

MISSING_PARSED = "missing parsed.txt"


def _template_scale(paths: Paths, template_id: str) -> float | None:
    """The template's scale as the parser applies it; None when the catalog no longer says."""
    try:
        template = catalogs.template_for(paths, "evaluation", template_id)
        return parsers.template_scale(parsers.effective_parser_name(template.parser), template.options, template_id)
    except DDError:
        return None


def _parsed_path(stage: str, gen_id: str, paths: Paths) -> str:
    return os.path.abspath(paths.gen_file_strs(stage, gen_id)[P.PARSED])


def read_score(evaluation: Generation) -> tuple[float | None, dict]:
    """(score, error columns) of one evaluation; the score is the last line of parsed.txt."""
    state = evaluation.state
    if state.status == EXCLUDED:
        return None, {"error": f"excluded from the cohort (exclusions.csv), last state: {state.code} {state.reason}",
                      "error_code": state.code, "error_reason": EXCLUDED}
    if state.failed or state.status == JOB_FAILED:
        what = "parse" if state.failed else f"{state.phase} job"
        return None, {"error": f"{what} failed: {state.code} {state.reason}", "error_code": state.code,
                      "error_reason": state.reason}
    missing = {"error": MISSING_PARSED, "error_code": Err.DATA_MISSING.name, "error_reason": "missing_parsed"}
    lines = [line.strip() for line in (evaluation.parsed_text or "").splitlines() if line.strip()]
    if state.status != OK or not lines:
        return None, missing
    try:
        score = float(lines[-1])
        if not math.isfinite(score):
            raise ValueError(f"not a finite number: {lines[-1]!r}")
    except ValueError as exc:
        return None, {"error": f"Invalid parsed.txt: {exc}", "error_code": Err.PARSER_FAILURE.name,
                      "error_reason": "invalid_score"}
    return score, {}


def score_row(scan: CohortScan, evaluation: Generation, fallback_parent: str | None,
              scales: dict[str, float | None]) -> dict:
    paths, meta = scan.paths, evaluation.meta
    score, error = read_score(evaluation)
    essay_id = evaluation.parent_gen_id or fallback_parent
    essay = scan.generation("essay", essay_id)
    draft = scan.generation("draft", essay.parent_gen_id if essay else None)
    essay_meta, draft_meta = (essay.meta if essay else None), (draft.meta if draft else None)
    template = meta.template_id if meta else None
    if template and template not in scales:
        scales[template] = _template_scale(paths, template)
    raw = evaluation.raw
    return {
        "gen_id": evaluation.gen_id,
        "parent_gen_id": essay_id,
        "evaluation_template": template,
        "evaluation_llm_model": meta.llm_model_id if meta else None,
        "score": score,
        "evaluation_response_path": _parsed_path("evaluation", evaluation.gen_id, paths),
        "combo_id": draft_meta.combo_id if draft_meta else None,
        "draft_template": draft_meta.template_id if draft_meta else None,
        "generation_template": essay_meta.template_id if essay_meta else None,
        "generation_model": ((essay_meta.llm_model_id if essay_meta else None)
                             or (draft_meta.llm_model_id if draft_meta else None)),
        "origin_cohort_id": meta.origin_cohort_id if meta else None,
        "generation_response_path": _parsed_path("essay", essay_id, paths) if essay_id else None,
        "input_mode": raw.input_mode if raw else None,
        "copied_from": getattr(raw, "copied_from", None) if raw else None,
        "draft_model": draft_meta.llm_model_id if draft_meta else None,
        "draft_replicate": draft_meta.replicate if draft_meta else None,
        "essay_replicate": essay_meta.replicate if essay_meta else None,
        "evaluation_replicate": meta.replicate if meta else None,
        "draft_gen_id": essay.parent_gen_id if essay else None,
        "essay_chars": len(essay.parsed_text) if essay and essay.parsed_text is not None else None,
        "scale_max": scales.get(template) if template else None,
        **error,
    }


def scores_of(scan: CohortScan) -> pd.DataFrame:
    """The rows for the evaluations in the cohort's membership, in membership order."""
    scales: dict[str, float | None] = {}
    rows = []
    for member in scan.members:
        if member.stage == "evaluation":
            evaluation = scan.generation("evaluation", member.gen_id)
            if evaluation is not None:
                rows.append(score_row(scan, evaluation, member.parent_gen_id, scales))
    return scores_frame(rows)


def cohort_scores(paths: Paths, cohort_id: str) -> pd.DataFrame:
    return scores_of(CohortScan.read(paths, cohort_id))
