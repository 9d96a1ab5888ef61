"""The batch records under the data root: which generation went into which batch, and what came back.

A record is written (fsync'd) before anything is uploaded, and updated at every step the
provider takes, so a process killed at any moment leaves a record that says exactly how far it
got: ``preparing`` (its requests are chosen and written to ``<key>.input.jsonl``; the upload or
the batch's creation may or may not have reached the provider), ``submitted`` (the provider's
batch id is known), ``ended`` (the provider finished the batch and its result files are saved
beside the record), ``done`` (every answer is in the store and the ledger; the record moves from
``live/`` to ``done/`` and stays there: the batch history of every generation).

Every generation of a record that is not done is *in a live batch*: it is never put in another
batch, and the workflow never buys it one request at a time (``live_generations``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import DDError, Err
from ..fsio import atomic_write_text, read_json
from ..paths import Paths

Outcome = Literal["live", "answered", "failed", "unanswered"]
State = Literal["preparing", "submitted", "ended", "done"]
TERMINAL_STATUSES = frozenset({"completed", "expired", "cancelled", "failed"})


class BatchEntry(BaseModel):
    """One generation's request in a batch (``custom_id`` is its gen_id) and what it got."""

    model_config = ConfigDict(extra="allow")

    custom_id: str
    stage: str
    gen_id: str
    llm_model_id: str
    prompt_sha256: str
    settings: dict[str, Any]
    worst_usd: float | None = None  # at the batch price: what the budget holds for it
    attempt: int = 1  # this generation's how-many-th batch attempt (per-request errors count)
    outcome: Outcome = "live"
    request_id: str | None = None
    error: dict[str, Any] | None = None  # code, reason, status, error, message of a failed request


class BatchRecord(BaseModel):
    """One batch: one provider, one stage, one model (a provider's batch may hold one model only)."""

    model_config = ConfigDict(extra="allow")

    key: str
    provider: str
    stage: str
    llm_model_id: str
    model: str
    state: State = "preparing"
    created_at: float
    upload_tried: bool = False  # an upload may have reached the provider: look for its file before another
    input_file_id: str | None = None
    create_tried: bool = False  # a create may have reached the provider: look for its batch before another
    batch_id: str | None = None
    submitted_at: float | None = None
    provider_status: str | None = None
    request_counts: dict[str, int] | None = None
    checked_at: float | None = None
    ended_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)  # why the provider failed the whole batch
    reserved_usd: float = 0.0
    entries: list[BatchEntry]

    def counts(self) -> dict[str, int]:
        """Requests per outcome (live = not answered yet)."""
        found = {"live": 0, "answered": 0, "failed": 0, "unanswered": 0}
        for entry in self.entries:
            found[entry.outcome] += 1
        return found


def new_key(stage: str) -> str:
    """A record's own id, known before the provider names anything (sortable by creation)."""
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{stage}-{uuid.uuid4().hex[:8]}"


def save(paths: Paths, record: BatchRecord) -> None:
    """Write a record durably (its generations are committed to a batch from this moment)."""
    atomic_write_text(paths.batch_record(record.key), record.model_dump_json(indent=1), durable=True)


def load(paths: Paths, key: str, *, done: bool = False) -> BatchRecord:
    path = paths.batch_record(key, done=done)
    try:
        return BatchRecord.model_validate(read_json(path))
    except ValueError as exc:  # pydantic's ValidationError
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_batch_record", "path": str(path), "error": str(exc),
                                           "fix": "restore the file from a backup; never delete a live batch's "
                                                  "record (its generations would be bought again)"}) from None


def finish(paths: Paths, record: BatchRecord) -> None:
    """Move a record whose answers are all stored to ``done/`` (kept: the batch history)."""
    record.state = "done"
    atomic_write_text(paths.batch_record(record.key, done=True), record.model_dump_json(indent=1), durable=True)
    paths.batch_record(record.key).unlink(missing_ok=True)


def _names(directory: os.PathLike[str] | str) -> list[tuple[str, int]]:
    try:
        with os.scandir(directory) as found:
            return sorted((e.name, e.stat().st_mtime_ns) for e in found if e.name.endswith(".json"))
    except FileNotFoundError:
        return []


def live_records(paths: Paths) -> list[BatchRecord]:
    """Every record not done yet, oldest first (a record also found in ``done/`` is done: a
    kill between the two steps of ``finish`` left its live copy)."""
    records = []
    for name, _ in _names(paths.batch_records_dir()):
        key = name.removesuffix(".json")
        if paths.batch_record(key, done=True).exists():
            paths.batch_record(key).unlink(missing_ok=True)
            continue
        records.append(load(paths, key))
    return records


def done_records(paths: Paths) -> list[BatchRecord]:
    return [load(paths, name.removesuffix(".json"), done=True)
            for name, _ in _names(paths.batch_records_dir(done=True))]


_CACHE: dict[str, tuple[list[tuple[str, int]], dict[tuple[str, str], str]]] = {}
_CACHE_LOCK = threading.Lock()


def live_generations(paths: Paths) -> dict[tuple[str, str], str]:
    """(stage, gen_id) -> key of the live batch it is in. Read again only when a record changed,
    so every ``<stage>_raw`` job can ask (a data root without batches costs one failed scandir)."""
    directory = paths.batch_records_dir()
    names = _names(directory)
    cache_key = str(directory)
    with _CACHE_LOCK:
        cached = _CACHE.get(cache_key)
        if cached is not None and cached[0] == names:
            return cached[1]
    found = {(e.stage, e.gen_id): r.key for r in live_records(paths) for e in r.entries}
    with _CACHE_LOCK:
        _CACHE[cache_key] = (names, found)
    return found
