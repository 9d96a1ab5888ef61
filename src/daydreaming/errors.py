"""The error taxonomy shared by every module (compatible with the earlier system's ``Err``).

Tests assert on ``code`` and ``ctx``, never on message text, so ``ctx`` carries everything a
user needs to find and fix the problem (file, field, value, the fix). ``str(err)`` renders the
ctx as JSON so a failing Snakemake job prints something a test (or a user's script) can parse.
"""

from __future__ import annotations

import json
import re
from enum import Enum, auto
from typing import Any


class Err(Enum):
    DATA_MISSING = auto()
    INVALID_CONFIG = auto()
    MISSING_TEMPLATE = auto()
    INVALID_MEMBERSHIP = auto()
    IO_ERROR = auto()
    PARSER_FAILURE = auto()
    UNKNOWN = auto()
    BUSY = auto()  # another run holds what this one needs (the data root's writer lock)


class DDError(Exception):
    """An expected failure with a machine-readable code and context."""

    def __init__(self, code: Err, ctx: dict[str, Any] | None = None, cause: BaseException | None = None):
        self.code = code
        self.ctx: dict[str, Any] = dict(ctx or {})
        self.cause = cause
        super().__init__(code.name)
        if cause is not None:
            self.__cause__ = cause

    def __str__(self) -> str:
        return f"{self.code.name}: {json.dumps(self.ctx, sort_keys=True, default=str)}"

    def __reduce__(self) -> tuple[Any, ...]:  # keep code/ctx across pickling (process pools, SLURM logs)
        return (self.__class__, (self.code, self.ctx))


_RENDERED = re.compile(r"\b(" + "|".join(e.name for e in Err) + r"): (\{.*\})")


def parse_rendered(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Recover ``(code, ctx)`` pairs from text that contains rendered DDErrors (e.g. a log).

    Lets callers that only see a process's stderr (tests, wrappers) assert on codes and ctx.
    """
    found = []
    for match in _RENDERED.finditer(text):
        try:
            found.append((match.group(1), json.loads(match.group(2))))
        except json.JSONDecodeError:
            continue
    return found


def validate_model(model: Any, data: Any, reason: str, **ctx: Any) -> Any:
    """``model.model_validate(data)``, with a pydantic error turned into INVALID_CONFIG.

    The one place that maps a validation failure to the taxonomy: ctx names the first
    offending ``field`` (dotted path) and the validator's ``error``, plus the caller's ctx
    (file, line, stage...), so every contract reports bad input the same way.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        value = data.get(first["loc"][0]) if isinstance(data, dict) and first["loc"] else None
        raise DDError(Err.INVALID_CONFIG, {"reason": reason, **ctx, "field": field, "value": value,
                                           "error": first["msg"]}, exc) from None
