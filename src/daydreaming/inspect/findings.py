"""What ``daydreaming check`` reports: one coded finding per problem, each with its repair.

A finding is a JSON contract (``--json``) that scripts act on, so its ``code`` is a name of the
error taxonomy (``errors.Err``: the category) and its ``reason`` says exactly what is wrong, as
in a ``DDError``'s ctx. ``fixable`` marks the repairs ``check --fix`` performs itself: only
those that cannot lose or re-buy a paid answer (sweeping abandoned temp files, re-creating a
missing metadata.json from a full membership row, re-parsing a stored answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from ..errors import Err


@dataclass(frozen=True)
class Kind:
    code: Err
    fixable: bool
    means: str  # one line for humans: what it is and why it matters


# reason -> kind. The order is the order findings are listed in.
KINDS: dict[str, Kind] = {
    "raw_metadata_missing_for_existing_raw": Kind(
        Err.DATA_MISSING, False, "a paid answer (raw.txt) without raw_metadata.json: every run stops before any job"),
    "invalid_json": Kind(Err.PARSER_FAILURE, False, "a JSON file that does not parse"),
    "invalid_metadata": Kind(Err.INVALID_CONFIG, False, "a JSON file that does not match its model"),
    "invalid_utf8": Kind(Err.PARSER_FAILURE, False, "a text file that is not UTF-8"),
    "metadata_missing": Kind(Err.DATA_MISSING, True, "a generation directory without metadata.json"),
    "metadata_disagrees_with_directory": Kind(
        Err.INVALID_MEMBERSHIP, False, "a record whose stage or gen_id is not its directory's"),
    "metadata_disagrees_with_membership": Kind(
        Err.INVALID_MEMBERSHIP, False, "metadata.json that disagrees with the cohort's membership row"),
    "parse_missing": Kind(Err.DATA_MISSING, True, "a stored answer whose parse outputs are missing or incomplete"),
    "parse_outdated": Kind(Err.DATA_MISSING, True, "parsed.txt made from another raw.txt than the stored one"),
    "parse_failed": Kind(Err.PARSER_FAILURE, True, "a stored answer whose parse failed (re-parsing may succeed)"),
    "parse_failed_truncated": Kind(
        Err.PARSER_FAILURE, False, "a stored answer cut off at max_tokens: a new answer is needed"),
    "stale_child": Kind(
        Err.DATA_MISSING, False, "an answer made from a parent parsed.txt that has changed since"),
    "journal_entry_pending": Kind(Err.DATA_MISSING, False, "an answer received but not yet in the store"),
    "paid_answer_missing": Kind(
        Err.DATA_MISSING, False, "a paid answer in the ledger that is neither in the store nor in the archive"),
    "temp_file_left": Kind(Err.IO_ERROR, True, "a temp file left by an interrupted write"),
    "orphan_generation": Kind(Err.INVALID_MEMBERSHIP, False, "a generation directory that no cohort lists"),
    "cohort_unreadable": Kind(
        Err.INVALID_MEMBERSHIP, False, "a cohort whose members cannot be read (orphans may be misreported)"),
}


class Finding(BaseModel):
    """One problem of the store, where it is, and the command (or action) that repairs it."""

    code: str
    reason: str
    stage: str | None = None
    gen_id: str | None = None
    path: str
    detail: dict[str, Any] = Field(default_factory=dict)
    repair: str
    fixable: bool


def finding(reason: str, path: Any, repair: str, stage: str | None = None, gen_id: str | None = None,
            fixable: bool | None = None, **detail: Any) -> Finding:
    """A finding of a known kind (its code and default fixability come from ``KINDS``)."""
    kind = KINDS[reason]
    return Finding(code=kind.code.name, reason=reason, stage=stage, gen_id=gen_id, path=str(path),
                   detail=detail, repair=repair, fixable=kind.fixable if fixable is None else fixable)


def ordered(findings: list[Finding]) -> list[Finding]:
    """Findings grouped by kind (in ``KINDS`` order), then by stage and gen_id."""
    rank = {reason: i for i, reason in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (rank[f.reason], f.stage or "", f.gen_id or "", f.path))
