"""Following a submitted batch to its end: its status, its result files, then its answers.

Result files are saved beside the record (fsync'd) before anything is landed from them: a
process killed while landing lands from the saved files next time, even after the provider
has deleted them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai

from ..fsio import atomic_write_text
from ..runtime import Runtime
from . import records
from .land import land
from .records import TERMINAL_STATUSES, BatchRecord
from .submit import advance_submission


def advance(rt: Runtime, record: BatchRecord) -> BatchRecord:
    """Move one record as far as it goes now: submit it, ask where it is, land it once ended."""
    if record.state == "preparing":
        advance_submission(rt, record)
    if record.state == "submitted":
        poll(rt, record)
    if record.state == "ended":
        land(rt, record)
    return record


def retrieve(rt: Runtime, record: BatchRecord) -> Any:
    """The provider's view of the batch (reads nothing and writes nothing here)."""
    return rt.llm.provider_call(record.provider, lambda sdk: sdk.batches.retrieve(record.batch_id or ""),
                                "retrieve_batch")


def poll(rt: Runtime, record: BatchRecord) -> None:
    """Record where the batch is; once it has ended, save its result files (state ``ended``)."""
    batch = retrieve(rt, record)
    record.provider_status, record.checked_at = batch.status, time.time()
    if batch.request_counts is not None:
        record.request_counts = batch.request_counts.model_dump()
    if batch.status in TERMINAL_STATUSES:
        record.output_file_id, record.error_file_id = batch.output_file_id, batch.error_file_id
        if batch.errors is not None and batch.errors.data:
            record.errors = [e.model_dump() for e in batch.errors.data]
        _download(rt, record)
        record.state, record.ended_at = "ended", time.time()
    records.save(rt.paths, record)


def _download(rt: Runtime, record: BatchRecord) -> None:
    for kind, file_id in (("output", record.output_file_id), ("errors", record.error_file_id)):
        target = rt.paths.batch_file(record.key, kind)
        if file_id and not target.exists():
            data = rt.llm.provider_call(record.provider, _content(file_id), "download")
            atomic_write_text(target, data.decode("utf-8", "replace"), durable=True)


def _content(file_id: str) -> Callable[[openai.OpenAI], bytes]:
    return lambda sdk: sdk.files.content(file_id).content


def cancel(rt: Runtime, record: BatchRecord) -> str:
    """Ask the provider to cancel a submitted batch (what it answered until then is kept and
    landed; what it did not run goes into the next batch); returns its status."""
    batch = rt.llm.provider_call(record.provider, lambda sdk: sdk.batches.cancel(record.batch_id or ""),
                                 "cancel_batch")
    return str(batch.status)
