"""``config/schema/config.schema.yaml``, generated from the pydantic models of ``config.py``.

Why generated: the schema (read by Snakemake's ``validate()`` and by editors) and the models
(read by the package) must accept exactly the same files. Writing them twice let them drift
(``top_p: 0`` passed one and failed the other); now the models are the source and a test checks
the committed file is what this module generates. Regenerate after changing a model::

    python -m daydreaming.config_schema --write

The output is made for reading: references inlined, pydantic's titles dropped, ``X or null``
written as ``type: [X, "null"]``, and a settings section's default written as ``{}`` (every
key inside it has its own default).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_FILE = Path("config") / "schema" / "config.schema.yaml"
JSON_SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
HEADER = (
    "# GENERATED from src/daydreaming/config.py: do not edit by hand.\n"
    "# Regenerate with: python -m daydreaming.config_schema --write\n"
)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` replaced by its definition (the models are not recursive)."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {**target, **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
    return {k: _inline(v, defs) for k, v in node.items() if k not in ("$defs", "title")}


def _merge_nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: X, ...}, {type: null}]`` -> ``{type: [X, null], ...}`` (same meaning)."""
    options = node.get("anyOf")
    if not (isinstance(options, list) and len(options) == 2 and {"type": "null"} in options):
        return node
    (other,) = [o for o in options if o != {"type": "null"}]
    if not isinstance(other.get("type"), str):
        return node
    merged = {k: v for k, v in node.items() if k != "anyOf"}
    return {**other, **merged, "type": [other["type"], "null"]}


_KEY_ORDER = ("description", "type", "enum", "default")


def _tidy(node: Any, *, is_property: bool = False) -> Any:
    """Nullable types merged, settings sections defaulting to ``{}``, keys in reading order."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = _merge_nullable(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _tidy(sub, is_property=True) for name, sub in value.items()}
        else:
            out[key] = _tidy(value)
    if is_property and "properties" in out:
        out["default"] = {}  # a settings section: each key inside has its own default
    ordered = {k: out[k] for k in _KEY_ORDER if k in out}
    return {**ordered, **{k: v for k, v in out.items() if k not in ordered}}


@lru_cache(maxsize=1)
def generate() -> dict[str, Any]:
    """The JSON schema of ``PipelineConfig``, as committed in ``config/schema/config.schema.yaml``."""
    from .config import PipelineConfig

    raw = PipelineConfig.model_json_schema()
    schema = _tidy(_inline(raw, raw.get("$defs", {})))
    schema.pop("default", None)
    return {"$schema": JSON_SCHEMA_DRAFT, **schema}


def render() -> str:
    return HEADER + yaml.safe_dump(generate(), sort_keys=False, width=100, allow_unicode=True)


def node_at(keys: Sequence[str | int]) -> dict[str, Any] | None:
    """The schema of the value at ``keys`` (e.g. ``("stages", "draft", "top_p")``), or None."""
    node: Any = generate()
    for key in keys:
        if isinstance(key, int):
            node = node.get("items")
        elif key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
        if not isinstance(node, dict):
            return None
    return node


def _bounds(node: dict[str, Any]) -> str:
    signs = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"))
    return " and ".join(f"{sign} {node[key]}" for key, sign in signs if key in node)


def _describe_type(kind: str, node: dict[str, Any]) -> str:
    if kind in ("integer", "number"):
        bounds = _bounds(node)
        return ("an integer" if kind == "integer" else "a number") + (f" {bounds}" if bounds else "")
    if kind == "string":
        text = "a non-empty string" if node.get("minLength") else "a string"
        return text + (f" matching {node['pattern']}" if "pattern" in node else "")
    if kind == "array":
        return "a list, each item " + describe(node.get("items", {}))
    if kind == "object":
        if "properties" in node:
            return "a mapping with keys " + ", ".join(node["properties"])
        values = node.get("additionalProperties")
        return "a mapping of names to " + (describe(values) if isinstance(values, dict) else "values")
    return {"boolean": "true or false"}.get(kind, kind)


def describe(node: dict[str, Any]) -> str:
    """The values a schema node allows, in words: ``a number > 0 and <= 1, or null``."""
    if "enum" in node:
        return "one of " + ", ".join(str(v) for v in node["enum"])
    kinds = node.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    words = [_describe_type(kind, node) for kind in kinds if kind != "null"]
    if "null" in kinds:
        words.append("null")
    return ", or ".join(words) if words else "any value"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daydreaming.config_schema", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_FILE} (default: print it)")
    args = parser.parse_args(argv)
    if args.write:
        SCHEMA_FILE.write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
