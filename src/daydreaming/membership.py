"""Reading ``membership.csv``: which generations a cohort holds (the workflow's wildcards).

A membership may be the seed system's slim two columns (``stage,gen_id``) or carry the full
rows this project writes; parents then come from the row or, failing that, ``metadata.json``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import DDError, Err
from .paths import Paths
from .stages import STAGES, require_gen_id, require_stage

MEMBERSHIP_COLUMNS = (
    "stage", "gen_id", "origin_cohort_id", "parent_gen_id", "combo_id",
    "template_id", "llm_model_id", "replicate", "mode",
)


@dataclass(frozen=True)
class Member:
    stage: str
    gen_id: str
    row: dict[str, str]

    @property
    def parent_gen_id(self) -> str | None:
        return self.row.get("parent_gen_id") or None


def read_membership(path: Path) -> list[Member]:
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # spreadsheets save a BOM
    except FileNotFoundError as exc:
        raise DDError(Err.DATA_MISSING, {"reason": "membership_missing", "path": str(path)}, exc)
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if "stage" not in header or "gen_id" not in header:
            raise DDError(Err.INVALID_CONFIG, {"reason": "required_column_missing", "path": str(path),
                                               "missing": [c for c in ("stage", "gen_id") if c not in header]})
        members = []
        for row in reader:
            try:
                members.append(Member(require_stage(row["stage"]), require_gen_id(row["gen_id"]), row))
            except DDError as err:
                err.ctx.update({"path": str(path), "line": reader.line_num})
                raise
    return members


def cohort_members(paths: Paths, cohorts: Iterable[str]) -> list[Member]:
    """Members of several cohorts, each generation once (a shared gen_id is produced once)."""
    return merge_members(read_membership(paths.membership_csv(cohort)) for cohort in cohorts)


def merge_members(groups: Iterable[list[Member]]) -> list[Member]:
    """Several cohorts' members as one list: each generation once, parents' stages first."""
    seen: dict[tuple[str, str], Member] = {}
    for members in groups:
        for member in members:
            seen.setdefault((member.stage, member.gen_id), member)
    order = {stage: i for i, stage in enumerate(STAGES)}
    return sorted(seen.values(), key=lambda m: order[m.stage])


def metadata_from_row(member: Member):
    """``metadata.json`` content for a full membership row (the seed's seeding rules, §5.5)."""
    from .models import MainMetadata

    row = member.row
    if not row.get("template_id"):
        raise DDError(
            Err.DATA_MISSING,
            {"reason": "metadata_missing", "stage": member.stage, "gen_id": member.gen_id, "artifact": "metadata",
             "fix": "restore metadata.json, or recompile the cohort from its spec (membership lacks full rows)"},
        )
    return MainMetadata(
        stage=member.stage,
        gen_id=member.gen_id,
        origin_cohort_id=row.get("origin_cohort_id") or None,
        mode=row.get("mode") or "llm",
        template_id=row["template_id"],
        combo_id=(row.get("combo_id") or None) if member.stage == "draft" else None,
        parent_gen_id=row.get("parent_gen_id") or None,
        llm_model_id=row.get("llm_model_id") or None,
        replicate=int(row.get("replicate") or 1),
    )
