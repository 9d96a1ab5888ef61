"""Accepted failures: generations a cohort leaves out on purpose, recorded and reversible.

A generation whose parse keeps failing (a judge that never writes a score in the template's
format, an answer a model always cuts off) makes every run of its cohort end with a failed job
and exit 1, so a finished cohort could never say "Nothing to be done". Listing it in
``<data_root>/cohorts/<cohort>/exclusions.csv`` (stage, gen_id, reason, by, at) accepts that:
runs leave it, and the descendants that cannot be made without it, out of their targets;
``daydreaming status`` counts them as excluded, ``daydreaming check`` does not report their
parse, the reports show them as ``excluded``. ``daydreaming include`` deletes the line and
everything is as before. Nothing in the store is touched either way: a paid answer stays.

An exclusion belongs to its cohort: another cohort that lists the same generation still wants it.
"""

from __future__ import annotations

import csv
import getpass
import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from .catalogs.csvio import read_csv_records
from .errors import DDError, Err, validate_model
from .fsio import atomic_write_text
from .membership import Member
from .paths import Paths
from .stages import PARENT_STAGE, STAGES

COLUMNS = ("stage", "gen_id", "reason", "by", "at")
Key = tuple[str, str]  # (stage, gen_id)


class Exclusion(BaseModel):
    """One line of ``exclusions.csv``."""

    stage: str = Field(pattern="^(" + "|".join(STAGES) + ")$")
    gen_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, description="why the failure is accepted (free text)")
    by: str = Field(default="", description="who accepted it")
    at: str = Field(default="", description="when (UTC, ISO 8601)")

    @property
    def key(self) -> Key:
        return (self.stage, self.gen_id)


def read_exclusions(paths: Paths, cohort_id: str) -> list[Exclusion]:
    """The cohort's exclusions (none when it has no exclusions.csv); a bad line is a coded error
    naming the file and the line."""
    path = paths.exclusions_csv(cohort_id)
    if not path.exists():
        return []
    _, records = read_csv_records(path, required=("stage", "gen_id", "reason"))
    return [validate_model(Exclusion, row, "invalid_exclusion", path=str(path), line=line,
                           fix=f"correct line {line} of {path} (columns: {', '.join(COLUMNS)})")
            for line, row in records]


def excluded_keys(paths: Paths, cohort_id: str) -> frozenset[Key]:
    return frozenset(e.key for e in read_exclusions(paths, cohort_id))


def with_descendants(members: Iterable[Member], keys: frozenset[Key],
                     parent_of: Callable[[str, str], str | None]) -> frozenset[Key]:
    """``keys`` and the members whose parent (``parent_of(stage, gen_id)``), or its parent, is
    among them: children cannot be made without their parent."""
    out = set(keys)
    for m in sorted(members, key=lambda m: STAGES.index(m.stage)):  # parents first
        parent_stage = PARENT_STAGE[m.stage]
        if parent_stage and (parent_stage, parent_of(m.stage, m.gen_id)) in out:
            out.add((m.stage, m.gen_id))
    return frozenset(out)


def _write(paths: Paths, cohort_id: str, rows: Iterable[Exclusion]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.model_dump() for row in rows)
    atomic_write_text(paths.exclusions_csv(cohort_id), buffer.getvalue())


def exclude(paths: Paths, cohort_id: str, keys: Iterable[Key], reason: str, by: str | None = None) -> list[Exclusion]:
    """Add (or re-date) the exclusions of ``keys``; returns the lines added or replaced. The
    caller has checked that they are members of the cohort."""
    if not reason.strip():
        raise DDError(Err.INVALID_CONFIG, {"reason": "exclusion_reason_missing", "cohort_id": cohort_id,
                                           "fix": "say why the failure is accepted: --reason '...'"})
    at = datetime.now(UTC).isoformat(timespec="seconds")
    added = [Exclusion(stage=stage, gen_id=gen_id, reason=reason.strip(), by=by or _user(), at=at)
             for stage, gen_id in dict.fromkeys(keys)]
    replaced = {row.key for row in added}
    kept = [row for row in read_exclusions(paths, cohort_id) if row.key not in replaced]
    _write(paths, cohort_id, kept + added)
    return added


def include(paths: Paths, cohort_id: str, keys: Iterable[Key]) -> list[Exclusion]:
    """Remove the exclusions of ``keys``; returns the lines removed."""
    wanted = set(keys)
    rows = read_exclusions(paths, cohort_id)
    removed = [row for row in rows if row.key in wanted]
    if removed:
        _write(paths, cohort_id, [row for row in rows if row.key not in wanted])
    return removed


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
