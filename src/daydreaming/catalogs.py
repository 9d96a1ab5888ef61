"""Catalog readers: concepts, templates, LLM models and concept combinations (``data/1_raw``).

CSV errors name the file, the line and the column so a user can fix them without guessing;
loaded catalogs are cached per process by (path, mtime) because workflow jobs run as threads
of one process and must not re-read catalogs thousands of times.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DDError, Err
from .paths import Paths
from .stages import require_stage

LEVELS = ("sentence", "paragraph", "article")
TEMPLATE_COLUMNS = ("template_id", "template_name", "description", "parser", "generator")
MODEL_COLUMNS = ("id", "model", "provider", "display_name", "specialization")
COMBO_COLUMNS = ("combo_id", "version", "concept_id", "description_level", "k_max", "created_at")


def read_csv_rows(path: Path, required: Iterable[str] = ()) -> list[dict[str, str]]:
    """Rows of a CSV as dicts; malformed lines and missing columns are coded errors."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DDError(Err.DATA_MISSING, {"reason": "csv_file_missing", "path": str(path)}, exc)
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DDError(Err.INVALID_CONFIG, {"reason": "csv_empty", "path": str(path), "line": 1})
    except csv.Error as exc:
        raise DDError(Err.PARSER_FAILURE, {"reason": "csv_parse_error", "path": str(path), "line": 1, "error": str(exc)})
    if "active" in header:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "legacy_column_rejected", "path": str(path), "line": 1, "column": header.index("active") + 1,
             "field": "active", "fix": "remove the 'active' column; list what to run in the cohort spec instead"},
        )
    missing = [name for name in required if name not in header]
    if missing:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "required_column_missing", "path": str(path), "line": 1, "missing": missing, "header": header},
        )
    rows: list[dict[str, str]] = []
    try:
        for values in reader:
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise DDError(
                    Err.PARSER_FAILURE,
                    {"reason": "csv_parse_error", "path": str(path), "line": reader.line_num,
                     "column": min(len(values), len(header)) + 1,
                     "error": f"expected {len(header)} fields, saw {len(values)}"},
                )
            rows.append({h: v.strip() for h, v in zip(header, values)})
    except csv.Error as exc:
        raise DDError(
            Err.PARSER_FAILURE, {"reason": "csv_parse_error", "path": str(path), "line": reader.line_num, "error": str(exc)}
        )
    return rows


@dataclass(frozen=True)
class Template:
    template_id: str
    parser: str
    generator: str
    name: str = ""
    description: str = ""
    options: dict[str, str] = field(default_factory=dict)  # extra columns (e.g. score_scale)


@dataclass(frozen=True)
class ModelEntry:
    id: str
    model: str
    provider: str
    display_name: str = ""
    prompt_usd_per_mtok: float | None = None
    completion_usd_per_mtok: float | None = None


@dataclass(frozen=True)
class Concept:
    concept_id: str
    name: str
    descriptions: dict[str, str]

    def content(self, level: str) -> str:
        """The seed's fallback chain: requested level, then paragraph, then sentence, then the name."""
        for candidate in (level, "paragraph", "sentence"):
            text = self.descriptions.get(candidate)
            if text:
                return text
        return self.name


@dataclass(frozen=True)
class Combo:
    combo_id: str
    description_level: str
    concept_ids: tuple[str, ...]


def _optional_float(row: dict[str, str], key: str, path: Path) -> float | None:
    value = row.get(key, "")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_number", "path": str(path), "field": key, "value": value})


def load_templates(paths: Paths, stage: str) -> dict[str, Template]:
    path = paths.templates_csv(require_stage(stage))
    templates: dict[str, Template] = {}
    for row in read_csv_rows(path, required=("template_id",)):
        extra = {k: v for k, v in row.items() if k not in TEMPLATE_COLUMNS and v}
        templates[row["template_id"]] = Template(
            template_id=row["template_id"],
            parser=row.get("parser", "") or "identity",
            generator=(row.get("generator", "") or "llm").lower(),
            name=row.get("template_name", ""),
            description=row.get("description", ""),
            options=extra,
        )
    return templates


def load_models(paths: Paths) -> dict[str, ModelEntry]:
    path = paths.llm_models_csv
    return {
        row["id"]: ModelEntry(
            id=row["id"],
            model=row.get("model") or row["id"],
            provider=row.get("provider", ""),
            display_name=row.get("display_name", ""),
            prompt_usd_per_mtok=_optional_float(row, "prompt_usd_per_mtok", path),
            completion_usd_per_mtok=_optional_float(row, "completion_usd_per_mtok", path),
        )
        for row in read_csv_rows(path, required=("id", "model"))
    }


def load_concepts(paths: Paths) -> dict[str, Concept]:
    concepts = {}
    for row in read_csv_rows(paths.concepts_csv, required=("concept_id", "name")):
        descriptions = {}
        for level in LEVELS:
            file = paths.concept_description(level, row["concept_id"])
            if file.is_file():
                descriptions[level] = file.read_text(encoding="utf-8").strip()
        concepts[row["concept_id"]] = Concept(row["concept_id"], row["name"], descriptions)
    return concepts


def load_combos(paths: Paths) -> dict[str, Combo]:
    """Combos in CSV row order per combo (the order concepts are rendered in)."""
    path = paths.combo_mappings_csv
    if not path.exists():
        raise DDError(Err.DATA_MISSING, {"reason": "combo_mappings_missing", "path": str(path)})
    rows = read_csv_rows(path, required=("combo_id", "concept_id"))
    if not rows:
        raise DDError(Err.DATA_MISSING, {"reason": "combo_mappings_empty", "path": str(path)})
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["combo_id"], []).append(row)
    return {
        cid: Combo(cid, group[0].get("description_level") or "paragraph", tuple(r["concept_id"] for r in group))
        for cid, group in sorted(grouped.items())
    }


class CatalogCache:
    """Per-process cache of catalogs, invalidated when a source file's mtime changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[tuple, object]] = {}

    def get(self, key: tuple, sources: Iterable[Path], loader):
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
