"""Authoring concept combinations: every k-of-n subset of a concept list, appended once.

The earlier system could read ``combo_mappings.csv`` but nothing wrote it; this is the writer.
It only appends: an existing combo is left as it is, and an id that would name a different
set of concepts is refused (``combo_collision``) rather than overwritten.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from .. import ids
from ..errors import DDError, Err
from ..fsio import atomic_write_text
from ..paths import Paths
from .load import COMBO_COLUMNS, LEVELS, load_combos, load_concepts

MAX_NEW_COMBOS = 100_000


def combo_rows(concept_ids: Iterable[str], level: str, k_max: int, created_at: str) -> list[dict[str, str]]:
    """One row per concept, sorted by concept_id as the earlier system's ComboIDManager wrote them."""
    members = sorted(concept_ids)
    cid = ids.combo_id(members, level, k_max)
    return [{"combo_id": cid, "version": "v1", "concept_id": c, "description_level": level,
             "k_max": str(k_max), "created_at": created_at} for c in members]


def _check_request(paths: Paths, concept_ids: list[str], k: int, level: str) -> list[str]:
    if level not in LEVELS:
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_description_level", "field": "level", "value": level,
                                           "allowed": list(LEVELS)})
    unique = sorted(set(concept_ids))
    if not 1 <= k <= len(unique):
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_k", "field": "k", "value": k, "concepts": len(unique)})
    known = load_concepts(paths)
    missing = [c for c in unique if c not in known]
    if missing:
        raise DDError(Err.DATA_MISSING, {"reason": "concepts_missing", "missing": missing,
                                         "path": str(paths.concepts_csv)})
    return unique


def author_combos(paths: Paths, concept_ids: list[str], k: int, level: str = "paragraph",
                  now: datetime | None = None) -> dict[str, list[str]]:
    """Append every k-of-n combination not yet in ``combo_mappings.csv``; returns added/existing ids."""
    unique = _check_request(paths, concept_ids, k, level)
    count = sum(1 for _ in itertools.islice(itertools.combinations(unique, k), MAX_NEW_COMBOS + 1))
    if count > MAX_NEW_COMBOS:
        raise DDError(Err.INVALID_CONFIG, {"reason": "too_many_combos", "limit": MAX_NEW_COMBOS, "k": k,
                                           "concepts": len(unique)})
    path = paths.combo_mappings_csv
    existing = load_combos(paths) if path.exists() and path.stat().st_size else {}
    created_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    added, kept, rows = [], [], []
    for subset in itertools.combinations(unique, k):
        new = combo_rows(subset, level, k, created_at)
        cid = new[0]["combo_id"]
        found = existing.get(cid)
        if found is None:
            added.append(cid)
            rows.extend(new)
        elif sorted(found.concept_ids) == list(subset) and found.description_level == level:
            kept.append(cid)
        else:
            raise DDError(Err.INVALID_CONFIG, {"reason": "combo_collision", "combo_id": cid, "path": str(path),
                                               "existing": sorted(found.concept_ids), "requested": list(subset)})
    if rows:
        _append(path, rows)
    return {"added": added, "existing": kept}


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    """Rewrite the file with the new rows at the end (atomic: readers see old or new, never half)."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COMBO_COLUMNS, lineterminator="\n")
    if not current.strip():
        writer.writeheader()
    elif not current.endswith("\n"):
        buffer.write("\n")
    writer.writerows(rows)
    atomic_write_text(path, current + buffer.getvalue())
