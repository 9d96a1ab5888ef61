"""Sending pending calls to a provider's Batch API without ever sending one twice.

The order is what makes a kill at any moment safe:

1. the budget reserves the batch's worst case at the batch price (``Ledger.hold_batch``: as
   many requests as fit);
2. the requests are written to ``<key>.input.jsonl`` and the record (``preparing``) is written,
   both fsync'd: from now on these generations are in a live batch;
3. the file is uploaded (named ``<key>.input.jsonl``) and its id recorded;
4. the batch is created (with ``metadata.daydreaming_key``) and its id recorded (``submitted``).

A process killed during 3 or 4 may have uploaded a file or created a batch whose id it never
heard. So a record that has tried a step before first looks for what that step would have made
(the file by its name, the batch by its input file), and only makes it when the provider has
none: a generation is never in two batches.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Final

import openai

from ..estimate import worst_case_usd
from ..fsio import atomic_write_text, sha256_text
from ..llm import GenerationSettings
from ..paths import PROMPT
from ..plan import GenCall, StorePlan
from ..runtime import Runtime
from . import records
from .land import failed_attempts
from .records import BatchEntry, BatchRecord

ENDPOINT: Final = "/v1/chat/completions"
COMPLETION_WINDOW: Final = "24h"
MAX_INPUT_BYTES = 190 * 1024 * 1024  # providers take input files up to 200 MB
LOOKBACK_S = 3600.0  # a batch created for a record cannot be older than the record (clock skew margin)


def ready_calls(rt: Runtime, plan: StorePlan) -> list[GenCall]:
    """Pending calls that go through a Batch API, whose prompt is written, that no live batch
    holds and that have batch attempts left."""
    live = records.live_generations(rt.paths)
    ready = []
    for call in plan.pending_calls():
        if not rt.batched(call) or (call.stage, call.gen_id) in live:
            continue
        if PROMPT not in plan.present(call.stage, call.gen_id):
            continue
        provider = rt.provider_of(call)
        if provider is None:  # rt.batched already refused calls without a provider
            continue
        if failed_attempts(rt, call.stage, call.gen_id) >= rt.config.llm.providers[provider].batch.max_attempts:
            continue
        ready.append(call)
    return ready


def submit_ready(rt: Runtime, plan: StorePlan) -> list[BatchRecord]:
    """Put every ready call into a batch (one per provider, stage and model, split at the
    provider's size limits) and submit it; returns the records made."""
    groups: dict[tuple[str, str, str], list[GenCall]] = defaultdict(list)
    for call in ready_calls(rt, plan):
        groups[(rt.provider_of(call) or "", call.stage, call.model_id or "")].append(call)
    made = []
    for (provider, stage, model_id), calls in groups.items():
        limit = rt.config.llm.providers[provider].batch.max_requests
        for chunk in _chunks(rt, calls, limit):
            record = _prepare(rt, provider, stage, model_id, chunk)
            if record is None:
                break  # the budget has no room now: the rest waits for the batches in flight
            made.append(record)
            advance_submission(rt, record)
    return made


Request = tuple[GenCall, str, str]  # a call, its prompt, its line of the input file


def _chunks(rt: Runtime, calls: list[GenCall], limit: int) -> list[list[Request]]:
    """The calls' requests, in chunks within the provider's count and size limits."""
    chunks: list[list[Request]] = [[]]
    size = 0
    for call in calls:
        prompt = rt.store.read_prompt(call.stage, call.gen_id)
        settings = GenerationSettings(**rt.config.stage(call.stage).generation())
        body = rt.llm.batch_body(call.model_id or "", prompt, settings)
        line = json.dumps({"custom_id": call.gen_id, "method": "POST", "url": ENDPOINT, "body": body}) + "\n"
        if chunks[-1] and (len(chunks[-1]) >= limit or size + len(line) > MAX_INPUT_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append((call, prompt, line))
        size += len(line)
    return [c for c in chunks if c]


def _prepare(rt: Runtime, provider: str, stage: str, model_id: str, chunk: list[Request]) -> BatchRecord | None:
    """Steps 1 and 2 of the module doc: reserve, then write the requests and the record."""
    settings = rt.config.stage(stage).generation()
    key = records.new_key(stage)
    entries = []
    for call, prompt, _ in chunk:
        entries.append(BatchEntry(
            custom_id=call.gen_id, stage=stage, gen_id=call.gen_id, llm_model_id=model_id,
            prompt_sha256=sha256_text(prompt), settings=settings,
            worst_usd=worst_case_usd(rt, model_id, prompt, rt.config.stage(stage).max_tokens, batch=True),
            attempt=failed_attempts(rt, stage, call.gen_id) + 1))
    fit = rt.ledger.hold_batch(key, [e.worst_usd for e in entries],
                               {"stage": stage, "provider": provider, "llm_model_id": model_id})
    if fit == 0:
        return None
    entries, lines = entries[:fit], [line for _, _, line in chunk[:fit]]
    atomic_write_text(rt.paths.batch_file(key, "input"), "".join(lines), durable=True)
    record = BatchRecord(key=key, provider=provider, stage=stage, llm_model_id=model_id,
                         model=rt.llm.route(model_id).model, created_at=time.time(),
                         reserved_usd=sum(e.worst_usd or 0.0 for e in entries), entries=entries)
    records.save(rt.paths, record)
    return record


def advance_submission(rt: Runtime, record: BatchRecord) -> None:
    """Steps 3 and 4 of the module doc, from wherever a (possibly killed) earlier try stopped."""
    call = _caller(rt, record)
    if record.input_file_id is None:
        name = rt.paths.batch_file(record.key, "input").name
        found = _find_file(call, name) if record.upload_tried else None
        if found is None:
            record.upload_tried = True
            records.save(rt.paths, record)
            data = rt.paths.batch_file(record.key, "input").read_bytes()
            found = call(lambda sdk: sdk.files.create(file=(name, data, "application/jsonl"), purpose="batch").id,
                         "upload")
        record.input_file_id = found
        records.save(rt.paths, record)
    input_file_id: str = record.input_file_id
    if record.batch_id is None:
        batch = _find_batch(call, record) if record.create_tried else None
        if batch is None:
            record.create_tried = True
            records.save(rt.paths, record)
            batch = call(lambda sdk: sdk.batches.create(
                input_file_id=input_file_id, endpoint=ENDPOINT, completion_window=COMPLETION_WINDOW,
                metadata={"daydreaming_key": record.key}), "create_batch")
        record.batch_id, record.provider_status = batch.id, batch.status
        record.state, record.submitted_at = "submitted", time.time()
        records.save(rt.paths, record)


Caller = Callable[[Callable[[openai.OpenAI], Any], str], Any]


def _caller(rt: Runtime, record: BatchRecord) -> Caller:
    return lambda fn, operation: rt.llm.provider_call(record.provider, fn, operation)


def _find_file(call: Caller, name: str) -> str | None:
    def look(sdk: openai.OpenAI) -> str | None:
        for item in sdk.files.list(purpose="batch"):
            if item.filename == name:
                return item.id
        return None

    return call(look, "find_file")


def _find_batch(call: Caller, record: BatchRecord) -> Any | None:
    def look(sdk: openai.OpenAI) -> Any | None:
        for batch in sdk.batches.list(limit=100):
            if batch.input_file_id == record.input_file_id:
                return batch
            if batch.created_at < record.created_at - LOOKBACK_S:
                return None  # newest first: older ones cannot be this record's
        return None

    return call(look, "find_batch")
