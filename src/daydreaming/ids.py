"""Deterministic ids, byte-compatible with the earlier system.

An existing store and existing catalogs must keep working, so these formulas are a contract:
the earlier system's published test vectors are reproduced in ``tests/unit/test_ids.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import DDError, Err
from .stages import require_stage

PREFIX = {"draft": "d_", "essay": "e_", "evaluation": "v_"}
MAX_COLLISION_ATTEMPTS = 5
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

Signature = tuple[Any, ...]


def combo_id(concept_ids: Iterable[str], description_level: str, k_max: int) -> str:
    """Order-independent id of a concept combination (``combo_v1_`` + sha256[:12])."""
    hash_input = "|".join(sorted(concept_ids)) + "|" + description_level + "|" + str(int(k_max))
    return "combo_v1_" + hashlib.sha256(hash_input.encode()).hexdigest()[:12]


def _base36(value: int) -> str:
    if value == 0:
        return "0"
    digits = []
    while value:
        value, rem = divmod(value, 36)
        digits.append(_BASE36[rem])
    return "".join(reversed(digits))


def _component(field: str, value: Any) -> str:
    if value is None:
        raise DDError(Err.INVALID_CONFIG, {"field": field, "reason": "missing"})
    text = str(value).strip().lower()
    if not text:
        raise DDError(Err.INVALID_CONFIG, {"field": field, "reason": "empty"})
    return text


def _replicate(value: Any) -> int:
    try:
        rep = int(value)
    except (TypeError, ValueError) as exc:
        raise DDError(Err.INVALID_CONFIG, {"field": "replicate", "reason": "not_an_int", "value": value}, exc)
    if rep < 1:
        raise DDError(Err.INVALID_CONFIG, {"field": "replicate", "reason": "below_one", "value": rep})
    return rep


def draft_signature(combo: str | None, template_id: str | None, llm_model_id: str | None,
                    replicate: Any = 1) -> Signature:
    return (
        _component("combo_id", combo),
        _component("template_id", template_id),
        _component("llm_model_id", llm_model_id),
        _replicate(replicate),
    )


def essay_signature(draft_gen_id: str | None, template_id: str | None, replicate: Any = 1) -> Signature:
    """The essay LLM is deliberately not part of the essay id (the earlier system's contract)."""
    return (_component("parent_gen_id", draft_gen_id), _component("template_id", template_id), _replicate(replicate))


def evaluation_signature(essay_gen_id: str | None, template_id: str | None, llm_model_id: str | None,
                         replicate: Any = 1) -> Signature:
    return (
        _component("parent_gen_id", essay_gen_id),
        _component("template_id", template_id),
        _component("llm_model_id", llm_model_id),
        _replicate(replicate),
    )


def signature_for(stage: str, fields: Mapping[str, Any]) -> Signature:
    """The signature of a generation from its metadata-like fields (template_id, parent_gen_id, ...)."""
    require_stage(stage)
    template = fields.get("template_id") or fields.get(f"{stage}_template")
    replicate = fields.get("replicate")
    replicate = 1 if replicate in (None, "") else replicate
    if stage == "draft":
        return draft_signature(fields.get("combo_id"), template, fields.get("llm_model_id"), replicate)
    if stage == "essay":
        return essay_signature(fields.get("parent_gen_id"), template, replicate)
    return evaluation_signature(fields.get("parent_gen_id"), template, fields.get("llm_model_id"), replicate)


def deterministic_gen_id(stage: str, signature: Signature, collision_index: int = 0) -> str:
    if stage not in PREFIX:
        raise DDError(Err.INVALID_CONFIG, {"reason": "unsupported_stage", "stage": stage})
    canonical = "|".join(str(part) for part in signature)
    if collision_index:
        canonical += f"|collision:{collision_index}"
    digest = hashlib.blake2b(canonical.encode("utf-8"), digest_size=10).digest()
    gen_id = PREFIX[stage] + _base36(int.from_bytes(digest, "big"))
    if collision_index:
        gen_id += f"-{collision_index}"
    return gen_id


def resolve_gen_id(
    stage: str,
    signature: Signature,
    existing_signature: Callable[[str], Signature | None],
) -> str:
    """The first candidate id that is free or already holds this very signature.

    ``existing_signature(gen_id)`` returns the signature stored for that id, or None when the id
    is unused; keeping it a callable keeps this function free of I/O.
    """
    for attempt in range(MAX_COLLISION_ATTEMPTS):
        candidate = deterministic_gen_id(stage, signature, attempt)
        found = existing_signature(candidate)
        if found is None or tuple(found) == tuple(signature):
            return candidate
    raise DDError(
        Err.INVALID_CONFIG,
        {"reason": "deterministic_id_collision", "stage": stage, "signature": list(signature)},
    )
