"""Progress of batches, one line each: what was submitted, answered and failed, its age, the
provider's status (``daydreaming batch status``, the start and end of a run in batch mode)."""

from __future__ import annotations

import time

from .records import BatchRecord


def age(seconds: float) -> str:
    """``3h07m``, ``12m05s``, ``40s``: how long ago (wall clock: a laptop's sleep counts)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def line(record: BatchRecord, now: float | None = None) -> str:
    now = time.time() if now is None else now
    counts = record.counts()
    head = (f"batch {record.key} [{record.provider} {record.llm_model_id}, {record.stage}] "
            f"{len(record.entries)} submitted")
    if record.state == "done":
        return (f"{head}, {counts['answered']} answered, {counts['failed']} failed, {counts['unanswered']} not run "
                f"(provider: {record.provider_status}); age {age(now - record.created_at)}; done")
    done = record.request_counts or {}
    where = record.provider_status or ("not submitted yet" if record.batch_id is None else "?")
    return (f"{head}, {done.get('completed', 0)} answered, {done.get('failed', 0)} failed so far "
            f"(provider: {where}, {record.batch_id or 'no batch id yet'}); age {age(now - record.created_at)}; "
            f"{record.state}")


def lines(records: list[BatchRecord], now: float | None = None) -> list[str]:
    return [line(r, now) for r in records]
