"""Design rows (one per evaluation) -> membership rows with deterministic gen_ids.

Pure except for ``existing_signature``, the collision check against ``metadata.json`` files
already in the store, which the caller supplies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..errors import DDError, Err

ALIASES: dict[str, tuple[str, ...]] = {
    "combo_id": ("combo_id", "combo"),
    "draft_template": ("draft_template",),
    "draft_llm": ("draft_llm", "draft_model", "generation_llm"),
    "draft_replicate": ("draft_replicate", "draft_template_replicate", "draft_rep"),
    "essay_template": ("essay_template",),
    "essay_llm": ("essay_llm",),
    "essay_replicate": ("essay_replicate", "essay_template_replicate", "essay_rep"),
    "evaluation_template": ("evaluation_template",),
    "evaluation_llm": ("evaluation_llm",),
    "evaluation_replicate": (
        "evaluation_replicate", "evaluation_template_replicate", "evaluation_llm_replicate", "evaluation_rep",
    ),
}
REQUIRED = ("combo_id", "draft_template", "draft_llm", "essay_template", "evaluation_template", "evaluation_llm")


@dataclass(frozen=True)
class MembershipRow:
    stage: str
    gen_id: str
    origin_cohort_id: str
    parent_gen_id: str
    combo_id: str
    template_id: str
    llm_model_id: str
    replicate: int
    mode: str

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


def _field(row: Mapping[str, str], name: str, line: int) -> str:
    for alias in ALIASES[name]:
        value = row.get(alias)
        if value not in (None, ""):
            return str(value).strip()
    if name in REQUIRED:
        raise DDError(Err.INVALID_CONFIG, {"field": name, "reason": "missing", "design_row": line,
                                           "accepted": list(ALIASES[name])})
    return "1" if name.endswith("_replicate") else ""


def _replicate(value: str, name: str, line: int) -> int:
    try:
        rep = int(value)
    except ValueError:
        rep = 0
    if rep < 1:
        raise DDError(Err.INVALID_CONFIG, {"field": name, "reason": "invalid_replicate", "value": value,
                                           "design_row": line})
    return rep


def normalise(rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Resolve column aliases and check required fields, once per design row."""
    out = []
    for line, row in enumerate(rows, start=1):
        entry = {name: _field(row, name, line) for name in ALIASES}
        for name in ("draft_replicate", "essay_replicate", "evaluation_replicate"):
            entry[name] = str(_replicate(entry[name], name, line))
        out.append(entry)
    return out


def build_membership(
    design: list[dict[str, str]],
    cohort_id: str,
    modes: Mapping[str, Mapping[str, str]],
    existing_signature: Callable[[str, str], tuple | None],
) -> list[MembershipRow]:
    """All drafts, then essays, then evaluations, each (stage, gen_id) once, in design order."""
    rows: dict[str, dict[tuple, MembershipRow]] = {"draft": {}, "essay": {}, "evaluation": {}}

    def add(stage: str, signature: tuple, **fields: Any) -> str:
        bucket = rows[stage]
        if signature in bucket:
            return bucket[signature].gen_id
        gen_id = ids.resolve_gen_id(stage, signature, lambda gid: existing_signature(stage, gid))
        mode = modes.get(stage, {}).get(fields["template_id"], "llm")
        bucket[signature] = MembershipRow(stage=stage, gen_id=gen_id, origin_cohort_id=cohort_id, mode=mode, **fields)
        return gen_id

    for d in design:
        draft_id = add("draft", ids.draft_signature(d["combo_id"], d["draft_template"], d["draft_llm"],
                                                   d["draft_replicate"]),
                       parent_gen_id="", combo_id=d["combo_id"], template_id=d["draft_template"],
                       llm_model_id=d["draft_llm"], replicate=int(d["draft_replicate"]))
        essay_id = add("essay", ids.essay_signature(draft_id, d["essay_template"], d["essay_replicate"]),
                       parent_gen_id=draft_id, combo_id=d["combo_id"], template_id=d["essay_template"],
                       llm_model_id=d["essay_llm"], replicate=int(d["essay_replicate"]))
        add("evaluation", ids.evaluation_signature(essay_id, d["evaluation_template"], d["evaluation_llm"],
                                                   d["evaluation_replicate"]),
            parent_gen_id=essay_id, combo_id=d["combo_id"], template_id=d["evaluation_template"],
            llm_model_id=d["evaluation_llm"], replicate=int(d["evaluation_replicate"]))
    return [row for stage in ("draft", "essay", "evaluation") for row in rows[stage].values()]


def manifest(design: list[dict[str, str]], replication: Mapping[str, int] | None = None) -> dict:
    """The earlier system's ``manifest.json`` shape."""

    def values(key: str) -> list[str]:
        return sorted({d[key] for d in design if d[key]})

    if replication is None:
        replication = {
            stage: max((int(d[f"{stage}_replicate"]) for d in design), default=1)
            for stage in ("draft", "essay", "evaluation")
        }
    return {
        "combos": values("combo_id"),
        "templates": {s: values(f"{s}_template") for s in ("draft", "essay", "evaluation")},
        "llms": {"generation": values("draft_llm"), "evaluation": values("evaluation_llm")},
        "replication": dict(replication),
    }
