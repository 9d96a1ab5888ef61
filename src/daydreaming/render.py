"""Prompt rendering with Jinja2 ``StrictUndefined`` (the earlier system's settings, otherwise default).

Parent LLM output enters only as a variable *value*, so text such as ``{{ x }}`` inside an
answer is never evaluated as template code.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError, UndefinedError

from .errors import DDError, Err
from .fsio import read_text
from .paths import Paths

_ENV = Environment(undefined=StrictUndefined)  # as the earlier system: no autoescape, default whitespace
_LOCK = threading.Lock()
# Jinja templates by file, with the file's mtime when read: re-read only when the file changes.
_TEMPLATES: dict[Path, tuple[int, Template]] = {}


def _template(path: Path, stage: str, template_id: str) -> Template:
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise DDError(Err.MISSING_TEMPLATE, {"stage": stage, "template_id": template_id, "path": str(path)}, exc)
    with _LOCK:
        hit = _TEMPLATES.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    try:
        source = read_text(path)
    except DDError as err:
        err.ctx.update({"stage": stage, "template_id": template_id, "fix": f"save {path} as UTF-8"})
        raise
    try:
        template = _ENV.from_string(source)
    except TemplateError as exc:
        raise DDError(
            Err.MISSING_TEMPLATE,
            {"reason": "template_syntax_error", "stage": stage, "template_id": template_id, "path": str(path),
             "line": getattr(exc, "lineno", None), "error": str(exc)},
            exc,
        )
    with _LOCK:
        _TEMPLATES[path] = (mtime, template)
    return template


def render_template(paths: Paths, stage: str, template_id: str, values: dict[str, Any]) -> str:
    """The prompt for one generation; never empty (an empty prompt would still be paid for)."""
    path = paths.template_file(stage, template_id)
    template = _template(path, stage, template_id)
    try:
        text = template.render(**values)
    except UndefinedError as exc:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "missing_template_vars", "stage": stage, "template_id": template_id, "path": str(path),
             "error": str(exc), "available": sorted(values)},
            exc,
        )
    if not text.strip():
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "empty_prompt", "stage": stage, "template_id": template_id, "path": str(path),
             "variables": sorted(values),
             "fix": f"write the template's text in {path} (or check that the values it renders are not empty)"},
        )
    return text
