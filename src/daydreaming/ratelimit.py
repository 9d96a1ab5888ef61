"""A requests-per-minute limit per provider that holds across job threads and processes.

Providers cap requests per minute per key, and two runs started side by side (or SLURM jobs)
share that key, so the limit lives in a file under the data root
(``<data_root>/.ratelimit/<provider>``), not in memory. The file holds one number: the earliest
time the next request may start. Each request takes the next slot under a file lock and sleeps
until it, which spaces request starts evenly (``60 / rpm`` seconds apart) without any process
having to stay alive to hand out tokens. Every attempt takes a slot, retries included: the
provider counts those too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .locking import locked

class RateLimiter:
    """At most ``rpm`` request starts per minute for one provider (``acquire`` before each)."""

    def __init__(self, path: Path, rpm: float, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.path = Path(path)
        self.interval_s = 60.0 / rpm
        self._clock = clock  # wall clock: the slot is shared with other processes
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"RateLimiter({str(self.path)!r}, interval_s={self.interval_s:.3f})"

    def acquire(self) -> float:
        """Wait for this request's slot; returns the seconds waited."""
        with locked(self.path.with_name(self.path.name + ".lock")):
            now = self._clock()
            slot = max(now, self._next_free())
            self.path.write_text(f"{slot + self.interval_s:.6f}\n")
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def _next_free(self) -> float:
        try:
            return float(self.path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):  # first use, or a write cut short by a crash
            return 0.0
