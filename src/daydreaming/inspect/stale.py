"""Stale children: answers made from a parent ``parsed.txt`` that has changed since.

Under the default rerun policy a forced parent leaves its children alone, so an essay can keep
the text of a draft that no longer exists. A child's ``raw_metadata.json`` records
``parent_parsed_sha256``, the sha256 of the parent's ``parsed.txt`` text its prompt was rendered
from; the child is stale when that differs from the parent's current ``parsed.txt``. Stores
written before the record existed give "unknown", never "stale": we cannot tell, and
regenerating on a guess would re-buy answers.

Regenerating a stale child changes its own ``parsed.txt``, which makes its children stale in
turn, so the listing carries the stale generations' descendants too ("downstream"): one
``snakemake <targets> --forcerun <stage>_prompt ...`` then regenerates exactly those, in order.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .. import paths as P
from ..errors import DDError
from ..plan import StorePlan
from ..stages import PARENT_STAGE, STAGES

FRESH, STALE, UNKNOWN = "fresh", "stale", "unknown"
PARENT_SHA_KEY = "parent_parsed_sha256"
STALE_WHY, DOWNSTREAM_WHY = "stale", "downstream"


def staleness(recorded: Any, current: str | None) -> str:
    """Compare the recorded parent hash with the parent's current one (None: no parsed.txt)."""
    if not isinstance(recorded, str) or not recorded or current is None:
        return UNKNOWN
    return FRESH if recorded == current else STALE


class StaleIndex:
    """Stale state of the members of a plan; each parent's parsed.txt is hashed once."""

    def __init__(self, plan: StorePlan) -> None:
        self.plan = plan
        self._sha: dict[tuple[str, str], str | None] = {}

    def parsed_sha256(self, stage: str, gen_id: str) -> str | None:
        """The sha256 of a parent's parsed text as the prompt renderer reads it (``read_parsed``:
        UTF-8, universal newlines), so the hash compares with what was recorded at render time."""
        key = (stage, gen_id)
        if key not in self._sha:
            digest = None
            if P.PARSED in self.plan.present(stage, gen_id):
                try:
                    digest = hashlib.sha256(self.plan.store.read_parsed(stage, gen_id).encode("utf-8")).hexdigest()
                except (DDError, OSError, UnicodeDecodeError):
                    digest = None
            self._sha[key] = digest
        return self._sha[key]

    def state(self, stage: str, gen_id: str, raw_meta: dict[str, Any] | None = None) -> str | None:
        """fresh / stale / unknown; None when there is nothing to be stale (a draft, no answer).

        ``raw_meta`` is the parsed raw_metadata.json when the caller has read it already.
        """
        parent_stage = PARENT_STAGE[stage]
        if parent_stage is None or P.RAW_METADATA not in self.plan.present(stage, gen_id):
            return None
        if raw_meta is None:
            try:
                raw_meta = json.loads(self.plan.paths.raw_metadata_path(stage, gen_id).read_bytes())
            except (OSError, ValueError):
                return UNKNOWN
        if not isinstance(raw_meta, dict):
            return UNKNOWN
        try:
            parent = self.plan.parent_of(stage, gen_id)
        except DDError:  # an unreadable metadata.json: check reports it
            return UNKNOWN
        current = self.parsed_sha256(parent_stage, parent) if parent else None
        return staleness(raw_meta.get(PARENT_SHA_KEY), current)


@dataclass(frozen=True)
class StaleGeneration:
    stage: str
    gen_id: str
    parent_gen_id: str | None
    why: str  # "stale": its parent changed; "downstream": a descendant of a stale generation


def stale_listing(plan: StorePlan, index: StaleIndex | None = None) -> list[StaleGeneration]:
    """The stale members and their member descendants, parents before children."""
    index = index or StaleIndex(plan)
    children: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    parents: dict[tuple[str, str], str | None] = {}
    stale: list[tuple[str, str]] = []
    for m in plan.members:
        key = (m.stage, m.gen_id)
        parent_stage = PARENT_STAGE[m.stage]
        try:
            parent = plan.parent_of(m.stage, m.gen_id) if parent_stage else None
        except DDError:
            parent = None
        parents[key] = parent
        if parent_stage and parent:
            children[(parent_stage, parent)].append(key)
        if index.state(m.stage, m.gen_id) == STALE:
            stale.append(key)
    why = {key: STALE_WHY for key in stale}
    todo = list(stale)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in why:
                why[child] = DOWNSTREAM_WHY
                todo.append(child)
    order: dict[str, int] = {stage: i for i, stage in enumerate(STAGES)}
    listed = sorted(why, key=lambda key: (order[key[0]], key[1]))
    return [StaleGeneration(stage, gen_id, parents.get((stage, gen_id)), why[(stage, gen_id)])
            for stage, gen_id in listed]
