"""The spend ledger and the ``llm.max_cost_usd`` budget.

Why a ledger and not the sum of ``raw_metadata.json`` costs: a forced stage overwrites the
metadata of an answer that was paid for, so the store forgets money it spent. The ledger
(``<data_root>/.ledger/spend.jsonl``) gets one JSON line per paid call, appended under a file
lock with a single ``write`` and an fsync, and is never rewritten: it survives restarts and
counts every run on this data root.

Why reservations: with 32 calls in flight, "spent so far" alone would let all of them start on
the last dollar. Before a call starts it reserves its worst case (its prompt, estimated, plus
``max_tokens`` of completion at the model's prices) in ``inflight.json``; the check
``spent + in flight + this call <= max_cost_usd`` and the reservation happen under the same
lock, so they hold across job threads and processes. A call that does not fit beside the calls
in flight waits for them; one that does not fit beside what is spent is refused. A reservation
is released when the call ends (after its real cost is appended); one left by a killed process
is dropped once its pid is gone (same host) or after ``STALE_AFTER_S`` (another host).

A model without price columns reserves nothing; its provider-reported cost (OpenRouter's
``usage.cost``) still counts once spent, and no call starts once spent reaches the budget.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import DDError, Err
from .fsio import atomic_write_json
from .locking import locked, pid_alive

SPEND_FILE = "spend.jsonl"
INFLIGHT_FILE = "inflight.json"
STALE_AFTER_S = 6 * 3600.0


def _sum_costs(lines: bytes) -> float:
    total = 0.0
    for line in lines.splitlines():
        try:
            cost = json.loads(line).get("cost_usd")
        except (ValueError, AttributeError):
            continue
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            total += float(cost)
    return total


class Ledger:
    """Spend so far, calls in flight, and the budget check; one per Runtime (shared by threads)."""

    def __init__(self, root: Path, max_cost_usd: float | None = None) -> None:
        self.root = Path(root)
        self.max_cost_usd = max_cost_usd
        self.spend_path = self.root / SPEND_FILE
        self._inflight_path = self.root / INFLIGHT_FILE
        self._lock_path = self.root / "lock"
        self._host = socket.gethostname()
        self.poll_s = 0.2
        self._offset = 0  # bytes of spend.jsonl already summed into _spent (only touched under the lock)
        self._spent = 0.0

    def __repr__(self) -> str:
        return f"Ledger({str(self.root)!r}, max_cost_usd={self.max_cost_usd})"

    # --- reading ---------------------------------------------------------------------------
    def spent_usd(self) -> float:
        """Everything spent on this data root (reads the ledger; writes and locks nothing)."""
        try:
            data = self.spend_path.read_bytes()
        except FileNotFoundError:
            return 0.0
        return _sum_costs(data[: data.rfind(b"\n") + 1])

    def _read_spent(self) -> float:
        """Sum the lines appended since the last read (a run of 10,000 calls reads each once)."""
        try:
            with open(self.spend_path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size < self._offset:  # the ledger was moved aside
                    self._offset, self._spent = 0, 0.0
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            self._offset, self._spent = 0, 0.0
            return 0.0
        end = data.rfind(b"\n") + 1  # a line cut short by a crash is ignored until completed
        self._spent += _sum_costs(data[:end])
        self._offset += end
        return self._spent

    def _live_reservations(self) -> dict[str, dict[str, Any]]:
        try:
            held = json.loads(self._inflight_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        now = time.time()
        live = {}
        for rid, entry in held.items() if isinstance(held, dict) else ():
            dead = entry.get("host") == self._host and not pid_alive(int(entry.get("pid", 0)))
            if not dead and now - float(entry.get("at", 0)) < STALE_AFTER_S:
                live[rid] = entry
        return live

    # --- the budget ------------------------------------------------------------------------
    @contextmanager
    def reservation(self, usd: float | None, ctx: dict[str, Any]) -> Iterator[None]:
        """Hold ``usd`` (a call's worst case) while the call runs; refuse it past the budget.

        Without a budget this costs nothing. Raises ``INVALID_CONFIG reason=budget_exhausted``
        before the call starts.
        """
        if self.max_cost_usd is None:
            yield
            return
        rid = self._reserve(max(usd or 0.0, 0.0), ctx)
        try:
            yield
        finally:
            self._release(rid)

    def _reserve(self, usd: float, ctx: dict[str, Any]) -> str:
        """Reserve, or wait while calls in flight hold what this one needs (their real cost is
        usually far below their worst case); refuse once spent alone leaves no room."""
        limit = float(self.max_cost_usd or 0.0)
        while True:
            with locked(self._lock_path):
                spent = self._read_spent()
                held = self._live_reservations()
                in_flight = sum(float(e.get("usd", 0.0)) for e in held.values())
                if spent >= limit or spent + usd > limit:
                    raise self.exhausted(spent, in_flight, usd, ctx)
                if spent + in_flight + usd <= limit:
                    rid = uuid.uuid4().hex
                    held[rid] = {"usd": usd, "pid": os.getpid(), "host": self._host, "at": time.time(),
                                 "stage": ctx.get("stage"), "gen_id": ctx.get("gen_id")}
                    atomic_write_json(self._inflight_path, held)
                    return rid
            time.sleep(self.poll_s)

    def _release(self, rid: str) -> None:
        with locked(self._lock_path):
            held = self._live_reservations()
            held.pop(rid, None)
            atomic_write_json(self._inflight_path, held)

    def exhausted(self, spent: float, in_flight: float, usd: float, ctx: dict[str, Any]) -> DDError:
        return DDError(Err.INVALID_CONFIG, {
            **ctx, "reason": "budget_exhausted", "max_cost_usd": self.max_cost_usd,
            "spent_usd": round(spent, 6), "in_flight_usd": round(in_flight, 6), "needed_usd": round(usd, 6),
            "ledger": str(self.spend_path),
            "fix": "raise llm.max_cost_usd (config/config.yaml or --config) and run again",
        })

    def check_not_exhausted(self, ctx: dict[str, Any]) -> None:
        """Before any job: refuse a run with pending calls once the budget is spent."""
        if self.max_cost_usd is None:
            return
        spent = self.spent_usd()
        if spent >= self.max_cost_usd:
            raise self.exhausted(spent, 0.0, 0.0, ctx)

    # --- writing ---------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append one paid call (no secrets: ids, model, usage, cost) as one JSON line."""
        line = json.dumps({"at": round(time.time(), 3), **entry}, sort_keys=True, default=str) + "\n"
        with locked(self._lock_path):
            fd = os.open(self.spend_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = "\n" + line  # a crash cut the previous line short: do not glue onto it
                os.write(fd, line.encode())
                os.fsync(fd)
            except OSError as exc:
                raise DDError(Err.IO_ERROR, {"reason": "write_failed", "path": str(self.spend_path),
                                             "error": str(exc)}, exc)
            finally:
                os.close(fd)
