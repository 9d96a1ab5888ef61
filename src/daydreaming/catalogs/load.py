"""Catalog loaders (``data/1_raw``) and a per-process cache of what they return.

Loaded catalogs are cached by (path, mtime) because workflow jobs run as threads of one
process and must not re-read catalogs thousands of times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import parsers
from ..errors import DDError, Err
from ..paths import Paths
from ..stages import require_stage
from .csvio import read_csv_records, validated
from .models import Combo, Concept, ModelEntry, Template

LEVELS = ("sentence", "paragraph", "article")
TEMPLATE_COLUMNS = ("template_id", "template_name", "description", "parser", "generator")
MODEL_COLUMNS = ("id", "model", "provider", "display_name", "specialization")
PRICE_COLUMNS = ("prompt_usd_per_mtok", "completion_usd_per_mtok", "batch_discount")
COMBO_COLUMNS = ("combo_id", "version", "concept_id", "description_level", "k_max", "created_at")


def load_templates(paths: Paths, stage: str) -> dict[str, Template]:
    """A stage's templates; each row needs its text file unless it copies its parent."""
    path = paths.templates_csv(require_stage(stage))
    header, records = read_csv_records(path, required=("template_id",))
    known_parsers = set(parsers.list_parsers(stage))
    templates: dict[str, Template] = {}
    for line, row in records:
        data = {"template_id": row["template_id"], "parser": row.get("parser", ""),
                "generator": row.get("generator", ""), "name": row.get("template_name", ""),
                "description": row.get("description", ""),
                "options": {k: v for k, v in row.items() if k not in TEMPLATE_COLUMNS and v}}
        template = validated(Template, data, path=path, line=line, header=header)
        where = {"path": str(path), "line": line, "stage": stage, "template_id": template.template_id}
        if template.parser not in known_parsers:
            raise DDError(Err.INVALID_CONFIG, {"reason": "unknown_parser", **where, "parser": template.parser,
                                               "column": _column(header, "parser"), "allowed": sorted(known_parsers)})
        if template.generator == "llm" and not paths.template_file(stage, template.template_id).is_file():
            raise DDError(
                Err.MISSING_TEMPLATE,
                {
                    "reason": "template_file_missing",
                    **where,
                    "column": _column(header, "template_id"),
                    "template_file": str(paths.template_file(stage, template.template_id)),
                },
            )
        templates[template.template_id] = template
    return templates


def _column(header: list[str], name: str) -> int | None:
    return header.index(name) + 1 if name in header else None


def load_models(paths: Paths) -> dict[str, ModelEntry]:
    path = paths.llm_models_csv
    header, records = read_csv_records(path, required=("id", "model"))
    wanted = MODEL_COLUMNS + PRICE_COLUMNS
    return {
        row["id"]: validated(ModelEntry, {k: v for k, v in row.items() if k in wanted}, path=path, line=line,
                             header=header)
        for line, row in records
    }


def load_concepts(paths: Paths) -> dict[str, Concept]:
    path = paths.concepts_csv
    header, records = read_csv_records(path, required=("concept_id", "name"))
    concepts = {}
    for line, row in records:
        concept = validated(Concept, {"concept_id": row["concept_id"], "name": row["name"]}, path=path, line=line,
                            header=header)
        descriptions = {}
        for level in LEVELS:
            file = paths.concept_description(level, concept.concept_id)
            if file.is_file():
                descriptions[level] = file.read_text(encoding="utf-8").strip()
        concepts[concept.concept_id] = concept.model_copy(update={"descriptions": descriptions})
    return concepts


def load_combos(paths: Paths) -> dict[str, Combo]:
    """Combos in CSV row order per combo (the order concepts are rendered in)."""
    path = paths.combo_mappings_csv
    if not path.exists():
        raise DDError(Err.DATA_MISSING, {"reason": "combo_mappings_missing", "path": str(path)})
    header, records = read_csv_records(path, required=("combo_id", "concept_id"))
    if not records:
        raise DDError(Err.DATA_MISSING, {"reason": "combo_mappings_empty", "path": str(path)})
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in records:
        grouped.setdefault(row["combo_id"], []).append((line, row))
    combos = {}
    for combo_id, group in sorted(grouped.items()):
        line, first = group[0]
        data = {"combo_id": combo_id, "description_level": first.get("description_level") or "paragraph",
                "concept_ids": tuple(r["concept_id"] for _, r in group)}
        combos[combo_id] = validated(Combo, data, path=path, line=line, header=header)
    return combos


class CatalogCache:
    """Per-process cache of catalogs, invalidated when a source file's mtime changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[tuple, Any]] = {}

    def get(self, key: tuple, sources: Iterable[Path], loader: Callable[[], Any]) -> Any:
        stamp = tuple(_mtime(p) for p in sources)
        with self._lock:
            hit = self._entries.get(key)
            if hit and hit[0] == stamp:
                return hit[1]
        value = loader()
        with self._lock:
            self._entries[key] = (stamp, value)
        return value


def _mtime(path: Path) -> int | None:
    try:
        return Path(path).stat().st_mtime_ns
    except FileNotFoundError:
        return None


_CACHE = CatalogCache()


def templates(paths: Paths, stage: str) -> dict[str, Template]:
    return _CACHE.get(("templates", paths, stage), [paths.templates_csv(stage)], lambda: load_templates(paths, stage))


def models(paths: Paths) -> dict[str, ModelEntry]:
    return _CACHE.get(("models", paths), [paths.llm_models_csv], lambda: load_models(paths))


def concepts(paths: Paths) -> dict[str, Concept]:
    return _CACHE.get(("concepts", paths), [paths.concepts_csv], lambda: load_concepts(paths))


def combos(paths: Paths) -> dict[str, Combo]:
    return _CACHE.get(("combos", paths), [paths.combo_mappings_csv], lambda: load_combos(paths))


def template_for(paths: Paths, stage: str, template_id: str) -> Template:
    found = templates(paths, stage).get(template_id)
    if found is None:
        raise DDError(
            Err.DATA_MISSING,
            {"reason": "template_not_found", "stage": stage, "template_id": template_id,
             "path": str(paths.templates_csv(stage))},
        )
    return found
