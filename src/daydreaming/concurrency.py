"""Calls in flight to one provider, across every process and SLURM job on the data root, adapting
to the provider's 429s (additive increase, multiplicative decrease).

Snakemake's ``llm_<provider>`` resource caps the calls of one run; a provider's limit is per key,
shared by every run and job that uses it, and changes with its load. So the number of calls in
flight is decided here, by files under the data root:

* ``<provider>.slots/<i>``: an attempt holds slot *i* (an ``flock``) while its request is in
  flight; only slots below the current limit are taken. The kernel frees a slot whose holder
  dies, however it dies: nothing to clean up after a kill.
* ``<provider>.json``: the current limit (shared state, ``ProviderState``). A 429 halves it, at
  most once per round trip of the refused attempt (or per Retry-After, when longer): the 429s of
  calls that were already in flight when it was cut are one signal, as in TCP. Each success adds
  ``1/limit`` (one more per round of calls), or a whole one while the limit is below its
  threshold (slow start); a cut sets the threshold to the new limit, and ``QUIET_S`` without a
  429 resets it to the cap, so once a storm is over the limit doubles per round back to
  ``max_concurrent``.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .locking import open_lock_file
from .provider_state import ProviderState

MIN_CUT_INTERVAL_S = 0.05
QUIET_S = 2.0
PROBES = 16  # slots tried per round before a short sleep
RETRY_SLEEP_S = (0.005, 0.03)


class AdaptiveConcurrency:
    def __init__(self, slots_dir: Path, state: ProviderState, cap: int, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.slots_dir = Path(slots_dir)
        self.state = state
        self.cap = cap
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"AdaptiveConcurrency({str(self.slots_dir)!r}, cap={self.cap})"

    def limit(self) -> int:
        """The calls allowed in flight now (at least 1, at most the cap)."""
        value = self.state.read().get("limit")
        return max(1, min(self.cap, int(value if isinstance(value, (int, float)) else self.cap)))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``limit()`` slots for the duration of one attempt."""
        while True:
            fd = self._try_take(self.limit())
            if fd is not None:
                break
            self._sleep(random.uniform(*RETRY_SLEEP_S))
        try:
            yield
        finally:
            os.close(fd)

    def _try_take(self, limit: int) -> int | None:
        start = random.randrange(limit)
        for step in range(min(limit, PROBES)):
            fd = open_lock_file(self.slots_dir / str((start + step) % limit))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        return None

    def throttled(self, retry_after: float | None, round_trip_s: float) -> None:
        """A 429 to an attempt that took ``round_trip_s``: halve the limit, unless it was cut
        within that round trip (or the Retry-After, when longer)."""
        now = self._clock()
        interval = max(MIN_CUT_INTERVAL_S, round_trip_s, retry_after or 0.0)

        def cut(state: dict) -> dict:
            if now - float(state.get("cut_at", 0.0)) < interval:
                return state
            limit = float(state.get("limit", self.cap))
            half = max(1.0, limit / 2.0)
            return {**state, "limit": half, "threshold": half, "cut_at": now}

        self.state.update(cut)

    def succeeded(self) -> None:
        """A success: grow the limit (nothing to write once it is at the cap)."""
        if self.limit() >= self.cap and float(self.state.read().get("limit", self.cap)) >= self.cap:
            return
        now = self._clock()

        def grow(state: dict) -> dict:
            limit = float(state.get("limit", self.cap))
            threshold = float(state.get("threshold", self.cap))
            if now - float(state.get("cut_at", 0.0)) >= QUIET_S:
                threshold = self.cap  # the storm is over: climb back fast
            limit = min(float(self.cap), limit + (1.0 if limit < threshold else 1.0 / limit))
            return {**state, "limit": limit, "threshold": threshold}

        self.state.update(grow)
