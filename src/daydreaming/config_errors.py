"""A pydantic ValidationError on the workflow config, turned into one ``INVALID_CONFIG`` error.

What a user needs to fix a config is the file, the key path (``stages.draft.top_p``), the line,
the value and what is allowed there, in words taken from the same schema the models generate
(``config_schema``). Values under ``llm.providers`` are shown only for numeric settings: a key
pasted into the wrong field must not reach a log.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from .errors import DDError, Err
from .yamlio import key_line

_SHOWN_PROVIDER_VALUES = frozenset({
    "timeout_s", "max_retries", "backoff_base_s", "backoff_max_s", "max_retry_wait_s", "max_concurrent",
    "requests_per_minute",
})
_UNKNOWN_NAME = "unknown_name"


def unknown_name_error(key: Sequence[str], value: str, allowed: list[str]) -> PydanticCustomError:
    """For cross-key checks (a provider name that names no provider): ``key`` is the path below
    the model that raises it, so the final error can name the full key path."""
    return PydanticCustomError(
        _UNKNOWN_NAME, "{value} is not one of the configured names", {"key": list(key), "value": value,
                                                                         "allowed": allowed},
    )


def dotted(keys: Sequence[str | int]) -> str:
    """``("cohorts", 0)`` -> ``cohorts[0]``; ``("stages", "draft")`` -> ``stages.draft``."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _value_is_safe(keys: Sequence[str | int]) -> bool:
    if len(keys) >= 3 and tuple(keys[:2]) == ("llm", "providers"):
        return len(keys) == 4 and keys[3] in _SHOWN_PROVIDER_VALUES
    return True


def _problem(error: ErrorDetails) -> dict[str, Any]:
    from .config_schema import describe, node_at

    keys: list[str | int] = [k for k in error["loc"] if isinstance(k, (str, int))]
    ctx = error.get("ctx") or {}
    problem: dict[str, Any] = {"type": error["type"], "error": error["msg"]}
    if error["type"] == _UNKNOWN_NAME:
        keys += ctx["key"]
        problem["allowed"] = ctx["allowed"]
        problem["fix"] = f"use one of {', '.join(ctx['allowed'])}, or add a provider of that name under llm.providers"
    elif error["type"] == "extra_forbidden":
        parent = node_at(keys[:-1]) or {}
        known = list(parent.get("properties", {}))
        problem["allowed"] = known
        close = difflib.get_close_matches(str(keys[-1]), known, n=1)
        problem["fix"] = f"did you mean {close[0]}?" if close else f"remove it; known keys: {', '.join(known)}"
    else:
        node = node_at(keys)
        problem["allowed"] = describe(node) if node is not None else None
        problem["fix"] = (f"add {dotted(keys)}" if error["type"] == "missing"
                          else f"set {dotted(keys)} to {problem['allowed']}")
    problem["field"] = dotted(keys)
    problem["keys"] = keys
    if error["type"] == _UNKNOWN_NAME:
        problem["value"] = ctx["value"]
    elif error["type"] != "missing" and _value_is_safe(keys):
        problem["value"] = error.get("input")
    return problem


def config_error(exc: ValidationError, data: Any, path: str | Path | None) -> DDError:
    """One ``DDError`` for all of ``exc``: the first problem in full, the others listed."""
    problems = [_problem(e) for e in exc.errors()]
    first = problems[0]
    keys = first.pop("keys")
    ctx: dict[str, Any] = {"reason": "invalid_config", "path": str(path) if path is not None else "<config>"}
    line = key_line(path, keys) if isinstance(data, Mapping) else None
    if line is not None:
        ctx["line"] = line
    ctx.update(first)
    if len(problems) > 1:
        ctx["errors"] = [{k: p[k] for k in ("field", "error", "allowed")} for p in problems]
    return DDError(Err.INVALID_CONFIG, ctx)
