"""The spend ledger and the ``llm.max_cost_usd`` budget.

Why a ledger and not the sum of ``raw_metadata.json`` costs: a forced stage replaces the
metadata of an answer that was paid for, and a call killed in flight leaves no metadata at all,
so the store forgets money it spent. The ledger (``<data_root>/.ledger/spend.jsonl``) gets one
JSON line per paid call, appended under a file lock with a single ``write`` and an fsync, and
is never rewritten: it survives restarts and counts every run on this data root. A line's
``kind`` says what the money bought: ``answer`` (a received answer), ``lost_in_flight`` (a
call whose process died before its answer arrived: counted at its worst case, since the
provider may have billed it) or ``billable_failure`` (an attempt the provider may have billed
without sending a usable answer).

Why reservations: with 32 calls in flight, "spent so far" alone would let all of them start on
the last dollar. Before a call's request is sent it reserves its worst case (prompt plus
``max_tokens`` of completion at the model's prices) in ``inflight/`` (a file per call,
``daydreaming.inflight``); the check
``spent + in flight + this call <= max_cost_usd`` and the reservation happen under the same
lock, so they hold across job threads and processes. A call that does not fit beside the calls
in flight waits for them; one that does not fit beside what is spent is refused.

Why reservations are kept without a budget too, and how a crash is settled: a reservation is
on disk before the request leaves, so a process that dies (SIGKILL, power cut, a cancelled
SLURM job) leaves one behind. Whoever next touches the ledger settles it: if its answer was
journaled (``daydreaming.journal``) the answer's real cost is recorded; if the ledger already
has it, nothing; otherwise a ``lost_in_flight`` line at the worst case. So every paid call maps
to an answer on disk or to an explicit "lost in flight" line, and the budget holds after a
crash. A reservation is dead when its process is gone (same host: pid and process start time)
or, on another host, after ``STALE_AFTER_S``.

Why a batch holds its reservation without a process: a batch submitted to a provider's Batch
API is paid for when the provider answers, hours later, whether or not any process of ours is
alive (a laptop asleep, a closed terminal). So a batch's worst case is reserved when it is
submitted under its own key (``hold_batch``), is never settled as a dead process's, and is
released by the code that puts the batch's answers in the store and their costs in the ledger
(``daydreaming.batch``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DDError, Err
from .inflight import LEGACY_FILE, InFlight
from .locking import locked, process_alive

SPEND_FILE = "spend.jsonl"
INFLIGHT_DIR = "inflight"
STALE_AFTER_S = 6 * 3600.0

# (stage, gen_id, reservation_id) -> the cost fields of the answer that reservation received
# (from the journal), or None: how a dead reservation learns whether its answer arrived.
Received = Callable[[str | None, str | None, str], dict[str, Any] | None]


def _cost(entry: dict[str, Any]) -> float:
    cost = entry.get("cost_usd")
    return float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else 0.0


@dataclass
class Reservation:
    """A call's place in the budget: its worst case, held from before the request to its end."""

    ledger: Ledger
    rid: str
    usd: float | None
    ctx: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0

    def before_attempt(self) -> None:
        """Before a retry (not the first attempt, which the reservation itself admitted): its
        worst case must fit again beside what failed attempts spent meanwhile."""
        self.attempts += 1
        if self.attempts > 1:
            self.ledger.check_room(self)

    def record(self, entry: dict[str, Any]) -> None:
        """Append a paid call (or a billable failed attempt) made under this reservation."""
        self.ledger.record({**self.ctx, **entry, "reservation_id": self.rid})


class Ledger:
    """Spend so far, calls in flight, and the budget check; one per Runtime (shared by threads)."""

    def __init__(self, root: Path | str, max_cost_usd: float | None = None, received: Received | None = None) -> None:
        self.root = Path(root)
        self.max_cost_usd = max_cost_usd
        self.received = received
        self.spend_path = self.root / SPEND_FILE
        self.inflight = InFlight(self.root / INFLIGHT_DIR, self.root / LEGACY_FILE)
        self._lock_path = self.root / "lock"
        self.poll_s = 0.2
        # Only touched under the lock: bytes of spend.jsonl already read, their sum, their ids.
        self._offset = 0
        self._spent = 0.0
        self._rids: set[str] = set()

    def __repr__(self) -> str:
        return f"Ledger({str(self.root)!r}, max_cost_usd={self.max_cost_usd})"

    # --- reading ---------------------------------------------------------------------------
    def lines(self) -> list[dict[str, Any]]:
        """Every complete line of the ledger (a line cut short by a crash is left out)."""
        try:
            data = self.spend_path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in data[: data.rfind(b"\n") + 1].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def spent_usd(self) -> float:
        """Everything spent on this data root (reads the ledger; writes and locks nothing)."""
        return sum(_cost(entry) for entry in self.lines())

    def _read_spent(self) -> float:
        """Sum the lines appended since the last read (a run of 10,000 calls reads each once)."""
        try:
            with open(self.spend_path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size < self._offset:  # the ledger was moved aside
                    self._offset, self._spent, self._rids = 0, 0.0, set()
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            self._offset, self._spent, self._rids = 0, 0.0, set()
            return 0.0
        end = data.rfind(b"\n") + 1  # a line cut short by a crash is ignored until completed
        for line in data[:end].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                self._spent += _cost(entry)
                if entry.get("reservation_id"):
                    self._rids.add(str(entry["reservation_id"]))
        self._offset += end
        return self._spent

    # --- reservations ----------------------------------------------------------------------
    def _dead(self, entry: dict[str, Any], now: float, alive: dict[tuple[Any, Any], bool]) -> bool:
        if entry.get("batch"):
            return False  # a batch is alive at the provider, not in a process (module doc)
        if entry.get("host") == self.inflight.host:
            key = (entry.get("pid"), entry.get("token"))
            if key not in alive:  # one /proc read per process, not per reservation
                alive[key] = process_alive(int(entry.get("pid") or 0), entry.get("token"))
            return not alive[key]
        return now - float(entry.get("at", 0)) >= STALE_AFTER_S

    def _held(self) -> dict[str, dict[str, Any]]:
        """The live reservations; dead ones are settled into the ledger on the way (under the lock)."""
        others = self.inflight.others()
        now = time.time()
        alive: dict[tuple[Any, Any], bool] = {}
        dead = {rid: found for rid, found in others.items() if self._dead(found[0], now, alive)}
        if dead:
            self._read_spent()
            for rid, (entry, path) in dead.items():
                self._settle_dead(rid, entry)
                path.unlink(missing_ok=True)
        held = {rid: entry for rid, (entry, _) in others.items() if rid not in dead}
        held.update(self.inflight.own())
        return held

    def _settle_dead(self, rid: str, entry: dict[str, Any]) -> None:
        if rid in self._rids:
            return  # its cost was recorded before its process died
        ctx = {k: entry.get(k) for k in ("stage", "gen_id", "llm_model_id")}
        got = self.received(ctx["stage"], ctx["gen_id"], rid) if self.received else None
        if got is not None:
            line = {**ctx, **got, "kind": "answer", "settled": "journal"}
        else:
            line = {**ctx, "kind": "lost_in_flight", "cost_usd": entry.get("usd"), "pid": entry.get("pid"),
                    "host": entry.get("host"), "reserved_at": entry.get("at")}
        self._sync(self._append({**line, "reservation_id": rid}))

    def settle(self) -> int:
        """Settle every dead reservation now (the start of a run); returns how many are live."""
        with locked(self._lock_path):
            return len(self._held())

    def reserved_usd(self) -> float:
        """The worst cases of the calls in flight (the ``status`` view; settles dead ones)."""
        with locked(self._lock_path):
            return sum(float(e.get("usd") or 0.0) for e in self._held().values())

    @contextmanager
    def reservation(self, usd: float | None, ctx: dict[str, Any]) -> Iterator[Reservation]:
        """Hold a call's worst case ``usd`` from before its request until it ends.

        Refuses with ``INVALID_CONFIG reason=budget_exhausted`` (before the call starts) when
        the budget has no room for it; waits while calls in flight hold the room it needs.
        """
        reservation = Reservation(self, uuid.uuid4().hex, usd, dict(ctx))
        self._reserve(reservation)
        try:
            yield reservation
        finally:
            self._release(reservation.rid)

    def _fits(self, spent: float, in_flight: float, usd: float) -> bool | None:
        """True: fits now; False: wait for calls in flight; None: never fits (refuse)."""
        if self.max_cost_usd is None:
            return True
        limit = float(self.max_cost_usd)
        if spent >= limit or spent + usd > limit:
            return None
        return spent + in_flight + usd <= limit

    def _reserve(self, reservation: Reservation) -> None:
        entry = {"usd": reservation.usd, **reservation.ctx}
        if self.max_cost_usd is None:  # nothing to check: no lock (dead ones are settled at start-up)
            self.inflight.add(reservation.rid, entry)
            return
        usd = max(reservation.usd or 0.0, 0.0)
        while True:
            with locked(self._lock_path):
                held = self._held()  # first: settling dead reservations adds to what is spent
                spent = self._read_spent()
                in_flight = sum(float(e.get("usd") or 0.0) for e in held.values())
                fits = self._fits(spent, in_flight, usd)
                if fits is None:
                    raise self.exhausted(spent, in_flight, usd, reservation.ctx)
                if fits:
                    self.inflight.add(reservation.rid, entry)
                    return
            time.sleep(self.poll_s)

    def check_room(self, reservation: Reservation) -> None:
        """Before another attempt of a held reservation: what its failed attempts spent is now in
        the ledger, so its worst case must fit again beside what is spent and the other calls
        in flight (wait for them; refuse once spent alone leaves no room)."""
        if self.max_cost_usd is None:
            return
        usd = max(reservation.usd or 0.0, 0.0)
        while True:
            with locked(self._lock_path):
                others = sum(float(e.get("usd") or 0.0) for rid, e in self._held().items() if rid != reservation.rid)
                spent = self._read_spent()
                fits = self._fits(spent, others, usd)
                if fits is None:
                    raise self.exhausted(spent, others, usd, reservation.ctx)
                if fits:
                    return
            time.sleep(self.poll_s)

    def _release(self, rid: str) -> None:
        self.inflight.remove(rid)  # only ever lowers what is in flight: no lock needed

    # --- batches -----------------------------------------------------------------------------
    def hold_batch(self, key: str, costs: list[float | None], ctx: dict[str, Any]) -> int:
        """Reserve the worst cases of a batch's requests, as many of them (in order) as the budget
        has room for beside what is spent and in flight; returns how many. None fitting while
        other calls are in flight returns 0 (wait for them); none fitting beside what is spent
        alone is ``budget_exhausted``."""
        with locked(self._lock_path):
            held = self._held()
            spent = self._read_spent()
            in_flight = sum(float(e.get("usd") or 0.0) for e in held.values())
            count, total = 0, 0.0
            for usd in costs:
                usd = max(usd or 0.0, 0.0)
                if self._fits(spent, in_flight, total + usd) is not True:
                    break
                count, total = count + 1, total + usd
            if count == 0 and costs:
                first = max(costs[0] or 0.0, 0.0)
                if self._fits(spent, 0.0, first) is None:
                    raise self.exhausted(spent, in_flight, first, ctx)
                return 0
            if count:
                self.inflight.put_batch(key, {"usd": total, **ctx})
            return count

    def keep_batch_hold(self, key: str, usd: float, ctx: dict[str, Any]) -> None:
        """Hold a batch's reservation whether or not it fits (a batch already submitted: the money
        is committed); used when a record outlived the reservation written before it."""
        self.inflight.put_batch(key, {"usd": usd, **ctx})

    def batch_holds(self) -> dict[str, float]:
        """Batch key -> the worst case it holds."""
        return {rid: float(e.get("usd") or 0.0) for rid, (e, _) in self.inflight.others().items() if e.get("batch")}

    def release(self, rid: str) -> None:
        """Give up a reservation (a batch whose answers are all in the store and the ledger)."""
        if not self.inflight.remove_batch(rid):
            self._release(rid)

    def exhausted(self, spent: float, in_flight: float, usd: float, ctx: dict[str, Any]) -> DDError:
        return DDError(Err.INVALID_CONFIG, {
            **ctx, "reason": "budget_exhausted", "max_cost_usd": self.max_cost_usd,
            "spent_usd": round(spent, 6), "in_flight_usd": round(in_flight, 6), "needed_usd": round(usd, 6),
            "ledger": str(self.spend_path),
            "fix": "raise llm.max_cost_usd (config/config.yaml or --config) and run again",
        })

    def check_not_exhausted(self, ctx: dict[str, Any]) -> None:
        """Before any job: refuse a run with pending calls once the budget is spent (dead
        reservations of a crashed run count, at their worst case)."""
        if self.max_cost_usd is None:
            return
        with locked(self._lock_path):
            self._held()
            spent = self._read_spent()
        if spent >= self.max_cost_usd:
            raise self.exhausted(spent, 0.0, 0.0, ctx)

    # --- writing ---------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append one paid call (no secrets: ids, model, usage, cost) as one JSON line."""
        with locked(self._lock_path):
            fd = self._append(entry)
        self._sync(fd)

    def record_once(self, entry: dict[str, Any]) -> bool:
        """Append ``entry`` unless a line with its ``reservation_id`` exists (adopting a journaled
        answer whose process died before recording it); True when appended."""
        with locked(self._lock_path):
            self._read_spent()
            if entry.get("reservation_id") in self._rids:
                return False
            fd = self._append(entry)
        self._sync(fd)
        return True

    def _append(self, entry: dict[str, Any]) -> int:
        """Write one line (under the lock); returns the open descriptor for ``_sync``, which the
        caller runs once the lock is released: an fsync takes milliseconds, and every call in
        flight appends here, so it must not hold the others up. The caller returns only after
        its line is durable, as before."""
        line = json.dumps({"at": round(time.time(), 3), "kind": "answer", **entry}, sort_keys=True, default=str) + "\n"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.spend_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise DDError(Err.IO_ERROR, {"reason": "write_failed", "path": str(self.spend_path),
                                         "error": str(exc)}, exc) from None
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # a crash cut the previous line short: do not glue onto it
            os.write(fd, line.encode())
        except OSError as exc:
            os.close(fd)
            raise DDError(Err.IO_ERROR, {"reason": "write_failed", "path": str(self.spend_path),
                                         "error": str(exc)}, exc) from None
        if entry.get("reservation_id"):
            self._rids.add(str(entry["reservation_id"]))
        return fd

    def _sync(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            raise DDError(Err.IO_ERROR, {"reason": "write_failed", "path": str(self.spend_path),
                                         "error": str(exc)}, exc) from None
        finally:
            os.close(fd)
