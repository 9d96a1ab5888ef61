"""Stages and gen_id validation: refused before any path is built from them."""

from __future__ import annotations

import re
from typing import Literal

from .errors import DDError, Err

Stage = Literal["draft", "essay", "evaluation"]
STAGES: tuple[Stage, ...] = ("draft", "essay", "evaluation")
PARENT_STAGE: dict[str, str | None] = {"draft": None, "essay": "draft", "evaluation": "essay"}
CHILD_STAGE: dict[str, str | None] = {"draft": "essay", "essay": "evaluation", "evaluation": None}

GEN_ID_PATTERN = r"[a-z0-9_-]+"
_GEN_ID_RE = re.compile(GEN_ID_PATTERN)


def require_stage(stage: str) -> Stage:
    if stage not in STAGES:
        raise DDError(Err.INVALID_CONFIG, {"reason": "unsupported_stage", "stage": stage, "allowed": list(STAGES)})
    return stage


def require_gen_id(gen_id: str) -> str:
    if not isinstance(gen_id, str) or not _GEN_ID_RE.fullmatch(gen_id):
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "invalid_gen_id", "gen_id": gen_id, "allowed": GEN_ID_PATTERN},
        )
    return gen_id
