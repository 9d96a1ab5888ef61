"""Requests (and tokens) per minute per provider, held across job threads and processes.

Providers cap requests and tokens per minute per key, and two runs started side by side (or
SLURM jobs) share that key, so the limit lives in a file under the data root
(``<data_root>/.ratelimit/<provider>``, and ``<provider>.tokens`` for tokens), not in memory. The
file holds one number: the earliest time the next request may start. Each request takes the
next slot under a file lock and sleeps until it, which spaces request starts evenly (``60 /
rpm`` seconds apart, or ``60 * tokens / tpm`` for a request of that many tokens) without any
process having to stay alive to hand out tokens. Every attempt takes a slot, retries included:
the provider counts those too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .locking import locked


class RateLimiter:
    """At most ``per_minute`` units (requests, or tokens) per minute for one provider
    (``acquire`` before each request)."""

    def __init__(self, path: Path, per_minute: float, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.path = Path(path)
        self.per_minute = per_minute
        self._clock = clock  # wall clock: the slot is shared with other processes
        self._sleep = sleep

    @property
    def interval_s(self) -> float:
        return 60.0 / self.per_minute

    def __repr__(self) -> str:
        return f"RateLimiter({str(self.path)!r}, per_minute={self.per_minute:g})"

    def acquire(self, cost: float = 1.0, per_minute: float | None = None) -> float:
        """Wait for the slot of a request costing ``cost`` units (at ``per_minute``, default the
        limiter's own: a limit learned from the provider may be lower); returns the seconds waited."""
        rate = min(self.per_minute, per_minute) if per_minute else self.per_minute
        with locked(self.path.with_name(self.path.name + ".lock")):
            now = self._clock()
            slot = max(now, self._next_free())
            self.path.write_text(f"{slot + 60.0 * cost / rate:.6f}\n")
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def _next_free(self) -> float:
        try:
            return float(self.path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):  # first use, or a write cut short by a crash
            return 0.0
