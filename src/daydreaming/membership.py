"""Reading ``membership.csv``: which generations a cohort holds (the workflow's wildcards).

A membership may be the earlier system's slim two columns (``stage,gen_id``) or carry the full
rows this project writes; parents then come from the row or, failing that, ``metadata.json``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DDError, Err
from .paths import Paths
from .stages import STAGES, require_gen_id, require_stage

if TYPE_CHECKING:
    from .models import MainMetadata

MEMBERSHIP_COLUMNS = (
    "stage", "gen_id", "origin_cohort_id", "parent_gen_id", "combo_id",
    "template_id", "llm_model_id", "replicate", "mode",
)


# Columns that may differ between two cohorts' rows of one shared generation: each cohort
# that compiles it names itself as the origin.
_PER_COHORT = frozenset({"origin_cohort_id"})


@dataclass(frozen=True)
class Member:
    stage: str
    gen_id: str
    row: dict[str, str]
    path: str = field(default="", compare=False)  # where the row was read (for errors)
    line: int = field(default=0, compare=False)

    @property
    def parent_gen_id(self) -> str | None:
        return self.row.get("parent_gen_id") or None

    @property
    def where(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line}


def _differences(a: Member, b: Member, ignore: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Columns both rows have whose values differ (a slim row agrees with any full row)."""
    shared = (set(a.row) & set(b.row)) - ignore
    return {c: [a.row[c], b.row[c]] for c in sorted(shared) if (a.row[c] or "") != (b.row[c] or "")}


def _refuse_repeat(first: Member, again: Member, differing: dict[str, list[str]]) -> DDError:
    """One (stage, gen_id) twice in one membership: an exact copy or a contradiction, both refused
    (which row would the run follow?)."""
    return DDError(Err.INVALID_MEMBERSHIP, {
        "reason": "conflicting_rows" if differing else "duplicate_row", "stage": first.stage,
        "gen_id": first.gen_id, "path": first.path, "lines": [first.line, again.line], "differing": differing,
        "fix": f"keep one of lines {first.line} and {again.line} of {first.path}, or compile the cohort again "
               "from its spec (daydreaming compile <cohort>)"})


def _decoded(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DDError(Err.DATA_MISSING, {"reason": "membership_missing", "path": str(path)}, exc)
    try:
        return data.decode("utf-8-sig")  # spreadsheets save a BOM
    except UnicodeDecodeError as exc:
        raise DDError(Err.INVALID_MEMBERSHIP, {
            "reason": "invalid_utf8", "path": str(path), "offset": exc.start,
            "line": data.count(b"\n", 0, exc.start) + 1, "fix": f"save {path} as UTF-8"}) from None


def read_membership(path: Path) -> list[Member]:
    """A cohort's members in file order; a (stage, gen_id) listed twice is refused."""
    reader = csv.DictReader(io.StringIO(_decoded(path), newline=""))
    header = reader.fieldnames or []
    if "stage" not in header or "gen_id" not in header:
        raise DDError(Err.INVALID_CONFIG, {"reason": "required_column_missing", "path": str(path),
                                           "missing": [c for c in ("stage", "gen_id") if c not in header]})
    members: list[Member] = []
    seen: dict[tuple[str, str], Member] = {}
    for row in reader:
        try:
            member = Member(require_stage(row["stage"]), require_gen_id(row["gen_id"]), row, str(path),
                            reader.line_num)
        except DDError as err:
            err.ctx.update({"path": str(path), "line": reader.line_num})
            raise
        first = seen.setdefault((member.stage, member.gen_id), member)
        if first is not member:
            raise _refuse_repeat(first, member, _differences(first, member))
        members.append(member)
    return members


def cohort_members(paths: Paths, cohorts: Iterable[str]) -> list[Member]:
    """Members of several cohorts, each generation once (a shared gen_id is produced once)."""
    return merge_members(read_membership(paths.membership_csv(cohort)) for cohort in cohorts)


def merge_members(groups: Iterable[list[Member]]) -> list[Member]:
    """Several cohorts' members as one list: each generation once, parents' stages first.

    Cohorts may share a generation only if their rows for it agree: otherwise which template,
    model or parent the run would use depends on the order the cohorts were named in.
    """
    seen: dict[tuple[str, str], Member] = {}
    for members in groups:
        for member in members:
            first = seen.setdefault((member.stage, member.gen_id), member)
            differing = _differences(first, member, _PER_COHORT) if first is not member else {}
            if differing:
                raise DDError(Err.INVALID_MEMBERSHIP, {
                    "reason": "conflicting_cohort_rows", "stage": member.stage, "gen_id": member.gen_id,
                    "rows": [first.where, member.where], "differing": differing,
                    "fix": "run these cohorts separately, or compile one of them again so both list the "
                           "generation alike"})
    order: dict[str, int] = {stage: i for i, stage in enumerate(STAGES)}
    return sorted(seen.values(), key=lambda m: order[m.stage])


def metadata_from_row(member: Member) -> MainMetadata:
    """``metadata.json`` content for a full membership row, with the earlier system's rules: blank
    cells become null, mode defaults to ``llm``, replicate to 1, and only a draft keeps its combo_id."""
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
        mode=row.get("mode") or "llm",  # type: ignore[arg-type]  # a CSV string; the model validates it
        template_id=row["template_id"],
        combo_id=(row.get("combo_id") or None) if member.stage == "draft" else None,
        parent_gen_id=row.get("parent_gen_id") or None,
        llm_model_id=row.get("llm_model_id") or None,
        replicate=int(row.get("replicate") or 1),
    )
