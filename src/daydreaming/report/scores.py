"""``aggregated_scores.csv``: one row per evaluation of a cohort, errors kept as rows (§8.1).

Why errors stay rows: a report that silently drops the evaluations it could not read overstates
how complete (and how good) a cohort is. A row's ``error`` says what went wrong in the seed's
words (``missing parsed.txt``, ``Invalid parsed.txt: ...``) plus a failed parse's record;
``error_code``/``error_reason`` say it in codes. Lineage (templates, models, combo) comes from
``metadata.json`` up the parent chain, falling back to the membership row when a file is gone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .. import catalogs, parsers
from .. import paths as P
from ..errors import DDError, Err
from ..fsio import read_json
from ..membership import Member, metadata_from_row, read_membership
from ..models import MainMetadata
from ..paths import Paths
from ..store import GensDataLayer
from .columns import scores_frame
from .state import OK, gen_state

MISSING_PARSED = "missing parsed.txt"


@dataclass
class _Lookups:
    """Per-build caches: many evaluations share an essay, a draft and a template."""

    store: GensDataLayer
    members: dict[tuple[str, str], Member]
    _meta: dict[tuple[str, str], MainMetadata | None] = field(default_factory=dict)
    _scales: dict[str, float | None] = field(default_factory=dict)

    def meta(self, stage: str, gen_id: str | None) -> MainMetadata | None:
        if not gen_id:
            return None
        key = (stage, gen_id)
        if key not in self._meta:
            self._meta[key] = _read_meta(self.store, stage, gen_id, self.members.get(key))
        return self._meta[key]

    def scale(self, template_id: str | None) -> float | None:
        if not template_id:
            return None
        if template_id not in self._scales:
            self._scales[template_id] = _template_scale(self.store.paths, template_id)
        return self._scales[template_id]


def _read_meta(store: GensDataLayer, stage: str, gen_id: str, member: Member | None) -> MainMetadata | None:
    try:
        return store.read_main_metadata(stage, gen_id)
    except DDError:
        if member is not None and member.row.get("template_id"):
            return metadata_from_row(member)
        return None


def _template_scale(paths: Paths, template_id: str) -> float | None:
    """The template's scale as the parser applies it; None when the catalog no longer says."""
    try:
        template = catalogs.template_for(paths, "evaluation", template_id)
        return parsers.template_scale(parsers.effective_parser_name(template.parser), template.options, template_id)
    except DDError:
        return None


def read_score(store: GensDataLayer, gen_id: str, present: frozenset[str]) -> tuple[float | None, dict]:
    """(score, error columns) of one evaluation; the score is the last line of parsed.txt."""
    state = gen_state(store, "evaluation", gen_id, present)
    if state.failed:
        return None, {"error": f"parse failed: {state.code} {state.reason}", "error_code": state.code,
                      "error_reason": state.reason}
    missing = {"error": MISSING_PARSED, "error_code": Err.DATA_MISSING.name, "error_reason": "missing_parsed"}
    if state.status != OK:
        return None, missing
    try:
        lines = [line.strip() for line in store.read_parsed("evaluation", gen_id).splitlines() if line.strip()]
    except DDError:  # deleted since the directory was listed
        return None, missing
    if not lines:
        return None, missing
    try:
        score = float(lines[-1])
        if not math.isfinite(score):
            raise ValueError(f"not a finite number: {lines[-1]!r}")
    except ValueError as exc:
        return None, {"error": f"Invalid parsed.txt: {exc}", "error_code": Err.PARSER_FAILURE.name,
                      "error_reason": "invalid_score"}
    return score, {}


def _raw_fields(store: GensDataLayer, gen_id: str, present: frozenset[str]) -> dict:
    """The two seed columns that come from raw_metadata.json, read as plain JSON: validating the
    whole record for two optional keys tripled the cost of a 16,000-evaluation cohort."""
    if P.RAW_METADATA not in present:
        return {}
    try:
        raw = read_json(store.paths.raw_metadata_path("evaluation", gen_id))
    except DDError:
        return {}
    return {k: raw.get(k) for k in ("input_mode", "copied_from")} if isinstance(raw, dict) else {}


def score_row(lookups: _Lookups, member: Member) -> dict:
    store, paths, gen_id = lookups.store, lookups.store.paths, member.gen_id
    present = store.present("evaluation", gen_id)
    score, error = read_score(store, gen_id, present)
    evaluation = lookups.meta("evaluation", gen_id)
    essay_id = (evaluation.parent_gen_id if evaluation else None) or member.parent_gen_id
    essay = lookups.meta("essay", essay_id)
    draft = lookups.meta("draft", essay.parent_gen_id if essay else None)
    template = evaluation.template_id if evaluation else None
    return {
        "gen_id": gen_id,
        "parent_gen_id": essay_id,
        "evaluation_template": template,
        "evaluation_llm_model": evaluation.llm_model_id if evaluation else None,
        "score": score,
        "evaluation_response_path": str(paths.parsed_path("evaluation", gen_id).absolute()),
        "combo_id": draft.combo_id if draft else None,
        "draft_template": draft.template_id if draft else None,
        "generation_template": essay.template_id if essay else None,
        "generation_model": (essay.llm_model_id if essay else None) or (draft.llm_model_id if draft else None),
        "origin_cohort_id": evaluation.origin_cohort_id if evaluation else None,
        "generation_response_path": str(paths.parsed_path("essay", essay_id).absolute()) if essay_id else None,
        "replicate": evaluation.replicate if evaluation else None,
        "scale_max": lookups.scale(template),
        **_raw_fields(store, gen_id, present),
        **error,
    }


def cohort_scores(paths: Paths, cohort_id: str) -> pd.DataFrame:
    """The §8.1 rows for the evaluations in ``cohort_id``'s membership, in membership order."""
    members = read_membership(paths.membership_csv(cohort_id))
    lookups = _Lookups(GensDataLayer(paths), {(m.stage, m.gen_id): m for m in members})
    return scores_frame([score_row(lookups, m) for m in members if m.stage == "evaluation"])
