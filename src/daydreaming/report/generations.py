"""One pass over a cohort's generations: lineage, state, tokens, cost and text length of each.

Why one pass: reading the store is the slow part of a report (a directory read and two or three
small files per generation, tens of thousands of generations); every table is computed from
what this pass finds (``generations.csv`` and ``aggregated_scores.csv``), without touching the
store again. Lineage comes from ``metadata.json``, falling back to the membership row when the
file is gone; a parent outside the membership is read on demand.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import ValidationError

from .. import paths as P
from ..errors import DDError
from ..exclusions import excluded_keys, with_descendants
from ..failures import current_records
from ..membership import Member, metadata_from_row, read_membership
from ..models import MainMetadata, RawMetadata
from ..paths import Paths
from ..store import GensDataLayer
from .state import GenState, excluded_state, gen_state

GENERATION_COLUMNS = (
    "stage", "gen_id", "parent_gen_id", "combo_id", "template_id", "llm_model_id", "replicate", "mode",
    "origin_cohort_id", "status", "error_phase", "error_code", "error_reason", "preview", "provider", "model",
    "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd", "raw_chars", "parsed_chars",
)
COUNT_COLUMNS = ("replicate", "prompt_tokens", "completion_tokens", "reasoning_tokens", "raw_chars", "parsed_chars")


@dataclass(frozen=True)
class Generation:
    """What the store holds for one generation (``meta``/``raw`` None when absent or unreadable)."""

    stage: str
    gen_id: str
    meta: MainMetadata | None
    raw: RawMetadata | None
    state: GenState
    parsed_text: str | None

    @property
    def parent_gen_id(self) -> str | None:
        return self.meta.parent_gen_id if self.meta else None

    def row(self) -> dict[str, Any]:
        meta, raw, state = self.meta, self.raw, self.state
        usage = raw.usage if raw is not None else None
        return {
            "stage": self.stage, "gen_id": self.gen_id,
            "parent_gen_id": meta.parent_gen_id if meta else None,
            "combo_id": meta.combo_id if meta else None,
            "template_id": meta.template_id if meta else None,
            "llm_model_id": meta.llm_model_id if meta else None,
            "replicate": meta.replicate if meta else None,
            "mode": meta.mode if meta else None,
            "origin_cohort_id": meta.origin_cohort_id if meta else None,
            "status": state.status, "error_phase": state.phase, "error_code": state.code,
            "error_reason": state.reason, "preview": state.preview,
            "provider": raw.provider if raw else None, "model": raw.model if raw else None,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "reasoning_tokens": usage.reasoning_tokens if usage else None,
            "cost_usd": raw.cost_usd if raw else None,
            "raw_chars": raw.raw_length if raw else None,
            "parsed_chars": len(self.parsed_text) if self.parsed_text is not None else None,
        }


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _read_raw(path: str) -> RawMetadata | None:
    """raw_metadata.json, validated from bytes (pydantic's JSON parser is the fastest route);
    a record that does not validate (an older writer's) keeps what its usage and cost say."""
    data = read_bytes(path)
    if data is None:
        return None
    try:
        return RawMetadata.model_validate_json(data)
    except ValidationError:
        pass
    try:
        loose = json.loads(data)
        return RawMetadata.model_construct(**{k: v for k, v in loose.items() if k in RawMetadata.model_fields})
    except (ValueError, AttributeError):
        return None


@dataclass
class CohortScan:
    """The generations of one cohort, read once each (parents outside it on demand)."""

    paths: Paths
    cohort_id: str
    members: list[Member] = field(default_factory=list)
    _by_key: dict[tuple[str, str], Member] = field(default_factory=dict, repr=False)
    _failures: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    _seen: dict[tuple[str, str], Generation] = field(default_factory=dict, repr=False)
    _excluded: frozenset[tuple[str, str]] = frozenset()  # the cohort's exclusions and their descendants

    @classmethod
    def read(cls, paths: Paths, cohort_id: str) -> CohortScan:
        scan = cls(paths, cohort_id, read_membership(paths.membership_csv(cohort_id)))
        scan._by_key = {(m.stage, m.gen_id): m for m in scan.members}
        for record in sorted(current_records(paths), key=lambda r: float(r.get("at", 0))):
            stage, gen_id = record.get("stage"), record.get("gen_id")
            if isinstance(stage, str) and isinstance(gen_id, str):
                scan._failures[(stage, gen_id)] = record  # the latest failure wins
        excluded = excluded_keys(paths, cohort_id)
        if excluded:
            scan._excluded = with_descendants(scan.members, excluded, scan._parent_of)
        return scan

    def _parent_of(self, stage: str, gen_id: str) -> str | None:
        member = self._by_key.get((stage, gen_id))
        if member is not None and member.parent_gen_id:
            return member.parent_gen_id
        found = self.generation(stage, gen_id)
        return found.parent_gen_id if found is not None else None

    @property
    def store(self) -> GensDataLayer:
        return GensDataLayer(self.paths)

    def _meta(self, stage: str, gen_id: str, have: frozenset[str], path: str) -> MainMetadata | None:
        if P.METADATA in have:
            data = read_bytes(path)
            try:
                if data is not None:
                    return MainMetadata.model_validate_json(data)
            except ValidationError:
                pass
        member = self._by_key.get((stage, gen_id))
        if member is not None and member.row.get("template_id"):
            try:
                return metadata_from_row(member)
            except (DDError, ValueError):
                return None
        return None

    def generation(self, stage: str, gen_id: str | None) -> Generation | None:
        if not gen_id:
            return None
        key = (stage, gen_id)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self._read(stage, gen_id)
        return found

    def _read(self, stage: str, gen_id: str) -> Generation:
        files = self.paths.gen_file_strs(stage, gen_id)
        try:
            have = frozenset(os.listdir(files[""]))
        except OSError:
            have = frozenset()
        raw = _read_raw(files[P.RAW_METADATA]) if P.RAW_METADATA in have else None
        state = gen_state(self.store, stage, gen_id, have, raw=raw, failure=self._failures.get((stage, gen_id)))
        if (stage, gen_id) in self._excluded:
            state = excluded_state(state)
        text = None
        if P.PARSED in have:
            data = read_bytes(files[P.PARSED])
            try:
                text = data.decode("utf-8") if data is not None else None
            except UnicodeDecodeError:
                text = None
        return Generation(stage, gen_id, self._meta(stage, gen_id, have, files[P.METADATA]), raw, state, text)

    def member_generations(self) -> list[Generation]:
        """Every member, in membership order."""
        return [g for m in self.members if (g := self.generation(m.stage, m.gen_id)) is not None]


def generations_frame(generations: list[Generation]) -> pd.DataFrame:
    frame = pd.DataFrame([g.row() for g in generations], columns=list(GENERATION_COLUMNS))
    for column in COUNT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    frame["cost_usd"] = pd.to_numeric(frame["cost_usd"], errors="coerce").astype(float)
    return frame


def read_generations(path: str) -> pd.DataFrame:
    """``generations.csv`` back as written (ids stay text, counts nullable integers)."""
    dtypes: dict[str, str] = {c: "object" for c in GENERATION_COLUMNS}
    dtypes.update({c: "Int64" for c in COUNT_COLUMNS})
    dtypes["cost_usd"] = "float64"
    return pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
