"""The one error type of the spec language.

It is an ``INVALID_CONFIG`` ``DDError`` so pipeline code can handle every bad-input failure the
same way, while ``spec_code`` and ``ctx["reason"] == "invalid_spec"`` keep the earlier system's
distinct ``INVALID_SPEC`` classification visible to callers and tests.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from daydreaming.errors import DDError, Err

_UNSET: Any = object()


class SpecDslErrorCode(Enum):
    """The earlier system's own code for DSL errors, kept for compatibility."""

    INVALID_SPEC = "INVALID_SPEC"


class SpecDslError(DDError):
    """A spec that cannot be loaded or expanded.

    ``ctx`` always has ``reason`` and ``error``; ``key`` is the dotted location inside the spec
    (``rules.pairs.<name>.allowed``), ``value`` the offending value and ``path`` the spec file,
    each present when known, so a user can find the line to fix without reading a message.
    """

    spec_code = SpecDslErrorCode.INVALID_SPEC

    def __init__(
        self,
        error: str,
        *,
        key: str | None = None,
        value: Any = _UNSET,
        path: str | Path | None = None,
        cause: BaseException | None = None,
        **extra: Any,
    ) -> None:
        ctx: dict[str, Any] = {"reason": "invalid_spec", "error": error}
        if key is not None:
            ctx["key"] = key
        if value is not _UNSET:
            ctx["value"] = value
        if path is not None:
            ctx["path"] = str(path)
        ctx.update({name: str(val) if isinstance(val, Path) else val for name, val in extra.items()})
        super().__init__(Err.INVALID_CONFIG, ctx, cause)

    def with_path(self, path: str | Path | None) -> SpecDslError:
        """Name the spec file on errors raised by code that only saw parsed data."""
        if path is not None and "path" not in self.ctx:
            self.ctx["path"] = str(path)
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # the parent's (code, ctx) signature does not fit __init__
        return (_rebuild, (self.ctx,))


def _rebuild(ctx: dict[str, Any]) -> SpecDslError:
    err = SpecDslError(str(ctx.get("error", "")))
    err.ctx = dict(ctx)
    return err
