"""What every process on a data root knows about one provider's limits, in one small JSON file
(``<data_root>/.ratelimit/<provider>.json``): the adaptive concurrency limit
(``daydreaming.concurrency``) and the limits the provider announced in its ``x-ratelimit-*``
headers (``daydreaming.provider_limits``).

Read often (before every attempt), written rarely: a read is served from memory for
``CACHE_S`` seconds, an update reads, changes and writes the file under its lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .fsio import atomic_write_json
from .locking import locked

CACHE_S = 0.2


class ProviderState:
    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._clock = clock
        self._guard = threading.Lock()
        self._cached: dict[str, Any] = {}
        self._read_at = float("-inf")

    def __repr__(self) -> str:
        return f"ProviderState({str(self.path)!r})"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def read(self) -> dict[str, Any]:
        """The state, at most ``CACHE_S`` old."""
        with self._guard:
            if self._clock() - self._read_at < CACHE_S:
                return self._cached
        data = self._load()
        with self._guard:
            self._cached, self._read_at = data, self._clock()
        return data

    def update(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``change`` to the current state under the file lock (written only if it changed)."""
        with locked(self._lock_path):
            current = self._load()
            new = change(dict(current))
            if new != current:
                atomic_write_json(self.path, new)
        with self._guard:
            self._cached, self._read_at = new, self._clock()
        return new
