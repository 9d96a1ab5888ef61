"""What state a generation's parse is in, from the files in its directory.

One definition shared by the score rows (an evaluation's error), the status counts and the
workflow's report inputs (a failed parse must not block the report): a failed parse leaves
``parsed_metadata.json`` with ``success: false`` and no ``parsed.txt``.

Why the fallbacks: every plain run re-attempts a failed parse, and Snakemake deletes the job's
old record when it starts; the new one is parked under ``phases.FAILED_PARSE_RECORD`` and only
moved into place when the run ends. A report built during that run reads the parked record, and
a truncated answer is recognised from ``raw_metadata.json`` alone (the parse refuses it before
any parser runs), so a failure does not turn into "missing" because a report ran meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from .. import paths as P
from ..errors import DDError, Err
from ..fsio import read_json
from ..models import ParsedMetadata
from ..phases import FAILED_PARSE_RECORD
from ..store import GensDataLayer

OK, TRUNCATED, PARSE_FAILED, MISSING = "ok", "truncated", "parse_failed", "missing"
STATUSES = (OK, TRUNCATED, PARSE_FAILED, MISSING)
TRUNCATED_REASON = "truncated_raw"


@dataclass(frozen=True)
class GenState:
    status: str
    code: str | None = None  # the error code of a failed parse (or of an unreadable record)
    reason: str | None = None
    preview: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in (TRUNCATED, PARSE_FAILED)


def _record(store: GensDataLayer, stage: str, gen_id: str, have: frozenset[str]) -> ParsedMetadata | None:
    if P.PARSED_METADATA in have:
        return store.read_parsed_metadata(stage, gen_id)
    if FAILED_PARSE_RECORD in have:
        parked = store.paths.generation_dir(stage, gen_id) / FAILED_PARSE_RECORD
        try:
            return ParsedMetadata.model_validate(read_json(parked))
        except ValidationError:
            return None
    return None


def _truncated(store: GensDataLayer, stage: str, gen_id: str, have: frozenset[str]) -> bool:
    if P.RAW_METADATA not in have:
        return False
    try:
        return bool(read_json(store.paths.raw_metadata_path(stage, gen_id)).get("truncated"))
    except (DDError, AttributeError):
        return False


def gen_state(store: GensDataLayer, stage: str, gen_id: str, present: frozenset[str] | None = None) -> GenState:
    """``ok`` when parsed.txt exists; ``truncated``/``parse_failed`` when the parse record says
    it failed (or the answer was cut off); else ``missing`` (never run, or blocked by a parent)."""
    have = store.present(stage, gen_id) if present is None else present
    if P.PARSED in have:
        return GenState(OK)
    try:
        record = _record(store, stage, gen_id, have)
    except DDError as err:  # an unreadable record: the parse must be redone, report why
        return GenState(PARSE_FAILED, err.code.name, err.ctx.get("reason"))
    if record is not None and not record.success:
        error = record.error
        reason = error.reason if error else None
        return GenState(TRUNCATED if reason == TRUNCATED_REASON else PARSE_FAILED,
                        error.code if error else None, reason, error.preview if error else None)
    if _truncated(store, stage, gen_id, have):
        return GenState(TRUNCATED, Err.INVALID_CONFIG.name, TRUNCATED_REASON)
    return GenState(MISSING)  # never parsed, or parsed.txt deleted (the next run re-parses)
