"""Putting a finished batch's results where a synchronous call's would go.

An answer becomes ``raw.txt`` + ``raw_metadata.json`` (with the batch id, the custom_id, the
request id, the usage and the cost at the batch price) through the same code as a journaled
answer (``answers.adopt``): one ledger line per answer, the store written atomically, a paid
answer it replaces archived. So parsing, the reports, ``status`` and the rerun rules see an
ordinary answer. An answer to a prompt that changed since it was sent is paid for but does not
answer the generation any more: it is archived, as a journaled one would be.

A failed request becomes a failure record of the generation's ``<stage>_raw`` phase
(``daydreaming.failures``: ``status``, the end-of-run summary and the reports show it), coded
like a failed call, with how many batches it failed in; it goes into the next batch until it has
failed ``batch.max_attempts`` times. A request the batch never ran (expired, cancelled) counts
as no attempt: it simply goes into the next batch.

Every step is idempotent (ledger lines are written once per reservation, an answer already in
the store is recognised by its request id), so a process killed while landing lands the rest
next time from the result files saved beside the record.
"""

from __future__ import annotations

import time
from typing import Any

from .. import failures
from ..answers import adopt, raw_record, record_cost
from ..archive import archive_journal_entry
from ..errors import DDError, Err
from ..fsio import sha256_text
from ..journal import JournalEntry
from ..llm import GenerationSettings
from ..llm.client import answer_result
from ..models import Usage
from ..phases import parent_digest
from ..runtime import Runtime
from . import records
from .records import BatchEntry, BatchRecord
from .results import FAILED_REASON, Answered, Failed, NotRun, outcome, read_results

SETTLED = "batch"


def failed_attempts(rt: Runtime, stage: str, gen_id: str) -> int:
    """How many batches this generation failed in so far (its failure record says)."""
    try:
        entry = failures.read_record(rt.paths, stage, "raw", gen_id)
    except (OSError, ValueError):
        return 0
    ctx = entry.get("ctx") or {}
    return int(ctx.get("attempts") or 0) if ctx.get("reason") == FAILED_REASON else 0


def land(rt: Runtime, record: BatchRecord) -> BatchRecord:
    """Apply every result of an ended batch, release its reservation, and move its record to done."""
    texts = [rt.paths.batch_file(record.key, kind).read_text(encoding="utf-8")
             for kind in ("output", "errors") if rt.paths.batch_file(record.key, kind).exists()]
    results = read_results(*texts)
    for entry in record.entries:
        if entry.outcome != "live":
            continue
        got = outcome(results.get(entry.custom_id))
        if isinstance(got, NotRun) and record.provider_status == "failed":
            got = Failed(Err.IO_ERROR, {"status": None, "error": "batch_failed", "message": str(record.errors)[:500]})
        if isinstance(got, Answered):
            entry.request_id = _store_answer(rt, record, entry, got)
            entry.outcome = "answered"
        elif isinstance(got, Failed):
            entry.error = _record_failure(rt, record, entry, got)
            entry.outcome = "failed"
        else:
            entry.outcome, entry.error = "unanswered", {"reason": got.why}
    records.save(rt.paths, record)
    rt.ledger.release(record.key)
    records.finish(rt.paths, record)
    return record


def _store_answer(rt: Runtime, record: BatchRecord, entry: BatchEntry, got: Answered) -> str | None:
    stage, gen_id = entry.stage, entry.gen_id
    meta = rt.store.read_main_metadata(stage, gen_id)
    duration = (record.ended_at or time.time()) - (record.submitted_at or record.created_at)
    result = answer_result(got.answer, got.request_id, rt.llm.route(entry.llm_model_id),
                           GenerationSettings(**entry.settings), entry.attempt, duration, batch=True)
    try:
        prompt: str | None = rt.store.read_prompt(stage, gen_id)
    except DDError:
        prompt = None
    same_prompt = prompt is not None and sha256_text(prompt) == entry.prompt_sha256
    raw = raw_record(
        rt, meta, result.text, provider=result.provider, model=result.model, duration_s=round(duration, 3),
        finish_reason=result.finish_reason, truncated=result.truncated, usage=Usage(**result.usage),
        cost_usd=result.cost_usd, request_id=result.request_id, attempts=entry.attempt, settings=entry.settings,
        prompt_sha256=entry.prompt_sha256,
        parent_parsed_sha256=parent_digest(rt, meta, prompt) if prompt is not None and same_prompt else None,
        batch_id=record.batch_id, custom_id=entry.custom_id)
    answer = JournalEntry(stage=stage, gen_id=gen_id, reservation_id=f"{record.key}/{gen_id}",
                          prompt_sha256=entry.prompt_sha256, llm_model_id=entry.llm_model_id, settings=entry.settings,
                          text=result.text, raw_metadata=raw.to_json_dict())
    if _stored_request_id(rt, stage, gen_id) == result.request_id:
        record_cost(rt, answer, SETTLED)  # landed before a kill: only its ledger line may be missing
    elif same_prompt and answer.answers(entry.prompt_sha256, meta.llm_model_id, rt.config.stage(stage).generation()):
        adopt(rt, answer, SETTLED)
    else:
        record_cost(rt, answer, SETTLED)  # paid for, but it answers what the generation no longer asks
        archive_journal_entry(rt.paths, answer, "unmatched")
    failures.clear_failure(rt.paths, stage, "raw", gen_id)
    return result.request_id


def _stored_request_id(rt: Runtime, stage: str, gen_id: str) -> str | None:
    try:
        return rt.store.read_raw_metadata(stage, gen_id).request_id
    except DDError:
        return None


def _record_failure(rt: Runtime, record: BatchRecord, entry: BatchEntry, got: Failed) -> dict[str, Any]:
    """The coded failure of one request: a failure record, and a ledger line if it may be billed."""
    stage, gen_id = entry.stage, entry.gen_id
    most = rt.config.llm.providers[record.provider].batch.max_attempts
    again = entry.attempt < most
    fix = (f"nothing to do: it goes into the next batch (attempt {entry.attempt + 1} of {most})" if again else
           f"it failed in {most} batches and is not resubmitted: fix the cause, then delete this failure record "
           f"(it gets {most} more batches), or set stages.{stage}.batch: false to buy it one request at a time")
    ctx = {"stage": stage, "gen_id": gen_id, "llm_model_id": entry.llm_model_id, "provider": record.provider,
           "reason": FAILED_REASON, **got.ctx, "batch_key": record.key, "batch_id": record.batch_id,
           "custom_id": entry.custom_id, "attempts": entry.attempt, "max_attempts": most, "fix": fix}
    failures.record_failure(rt.paths, stage, "raw", gen_id, DDError(got.code, ctx), None)
    if got.billable:
        usage = got.usage or {}
        cost = usage.get("cost")
        if not isinstance(cost, (int, float)) or isinstance(cost, bool):
            cost = rt.llm.route(entry.llm_model_id).cost_usd(usage.get("prompt_tokens"), usage.get("completion_tokens"),
                                                             batch=True)
        rt.ledger.record_once({
            "kind": "billable_failure", "stage": stage, "gen_id": gen_id, "llm_model_id": entry.llm_model_id,
            "provider": record.provider, "batch_id": record.batch_id, "error": got.ctx.get("error"),
            "cost_usd": entry.worst_usd if cost is None else cost, "reservation_id": f"{record.key}/{gen_id}"})
    return {"code": got.code.name, **got.ctx}
