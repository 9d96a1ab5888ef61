"""What state a generation's parse is in, from the files in its directory.

One definition shared by the score rows (an evaluation's error), the status counts and the
workflow's report inputs (a failed parse must not block the report): a failed parse leaves
``parsed_metadata.json`` with ``success: false`` and no ``parsed.txt``.

Why the fallbacks: every plain run re-attempts a failed parse, and Snakemake deletes the job's
old record when it starts; the new one is parked under ``phases.FAILED_PARSE_RECORD`` and only
moved into place when the run ends. A report built during that run reads the parked record, and
a truncated answer is recognised from ``raw_metadata.json`` alone (the parse refuses it before
any parser runs), so a failure does not turn into "missing" because a report ran meanwhile.

A generation with no parse record at all is ``job_failed`` when a job of it failed the last
time it ran (a refused LLM call, a prompt that did not render: ``daydreaming.failures`` keeps
one record per failing job until the job succeeds), else ``missing`` (never run, or blocked by
a parent): after a provider outage the report says "failed", not "not run yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .. import paths as P
from ..errors import DDError, Err
from ..fsio import read_json
from ..models import ParsedMetadata, RawMetadata
from ..phases import FAILED_PARSE_RECORD
from ..store import GensDataLayer

OK, TRUNCATED, PARSE_FAILED, JOB_FAILED, MISSING = "ok", "truncated", "parse_failed", "job_failed", "missing"
# Left out of the cohort on purpose (daydreaming.exclusions): never the state of the files alone,
# the cohort's exclusions.csv decides (``excluded_state``).
EXCLUDED = "excluded"
STATUSES = (OK, TRUNCATED, PARSE_FAILED, JOB_FAILED, MISSING, EXCLUDED)
FAILED_STATUSES = (TRUNCATED, PARSE_FAILED, JOB_FAILED)
TRUNCATED_REASON = "truncated_raw"


@dataclass(frozen=True)
class GenState:
    status: str
    code: str | None = None  # the error code of a failed parse (or of an unreadable record)
    reason: str | None = None
    preview: str | None = None
    phase: str | None = None  # the phase whose job failed (parsed for a failed parse)

    @property
    def failed(self) -> bool:
        """A parse that failed: its children are blocked until someone fixes the cause."""
        return self.status in (TRUNCATED, PARSE_FAILED)


PARSED_OK = GenState(OK)


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


def _truncated(store: GensDataLayer, stage: str, gen_id: str, have: frozenset[str],
               raw: RawMetadata | None) -> bool:
    if P.RAW_METADATA not in have:
        return False
    if raw is not None:
        return bool(raw.truncated)
    try:
        return bool(read_json(store.paths.raw_metadata_path(stage, gen_id)).get("truncated"))
    except (DDError, AttributeError):
        return False


def gen_state(store: GensDataLayer, stage: str, gen_id: str, present: frozenset[str] | None = None,
              raw: RawMetadata | None = None, failure: dict[str, Any] | None = None) -> GenState:
    """``ok`` when parsed.txt exists; ``truncated``/``parse_failed`` when the parse record says
    it failed (or the answer was cut off); ``job_failed`` when ``failure`` (the generation's
    current failure record, if any) names a failed job; else ``missing``. ``raw`` is its
    raw_metadata.json when the caller has read it already."""
    have = store.present(stage, gen_id) if present is None else present
    if P.PARSED in have:
        return PARSED_OK
    try:
        record = _record(store, stage, gen_id, have)
    except DDError as err:  # an unreadable record: the parse must be redone, report why
        return GenState(PARSE_FAILED, err.code.name, err.ctx.get("reason"), phase="parsed")
    if record is not None and not record.success:
        error = record.error
        reason = error.reason if error else None
        return GenState(TRUNCATED if reason == TRUNCATED_REASON else PARSE_FAILED,
                        error.code if error else None, reason, error.preview if error else None, "parsed")
    if _truncated(store, stage, gen_id, have, raw):
        return GenState(TRUNCATED, Err.INVALID_CONFIG.name, TRUNCATED_REASON, phase="parsed")
    if failure is not None:
        return GenState(JOB_FAILED, failure.get("code"), failure.get("reason"), phase=failure.get("phase"))
    return GenState(MISSING)  # never parsed, or parsed.txt deleted (the next run re-parses)


def excluded_state(state: GenState) -> GenState:
    """The state of a generation its cohort excludes: ``excluded``, keeping why it failed."""
    return GenState(EXCLUDED, state.code, state.reason, state.preview, state.phase)
