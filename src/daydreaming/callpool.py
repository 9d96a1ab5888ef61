"""LLM calls made ahead of their ``<stage>_raw`` jobs, at the provider's cap, whatever the pace at
which Snakemake schedules jobs (``llm.call_pool``).

Why: Snakemake spends milliseconds of one core on every job it schedules, and a call is two
jobs (the answer, then its parse), so with fast providers and high caps the scheduler, not the
provider, sets the pace: fewer calls are in flight than the cap allows. With the pool, a run
that starts knows which raw jobs it will run (the DAG); as soon as a generation's prompt exists
(at the start, or when its prompt job ends) its call is queued here, and up to the cap of calls
run in the pool's threads. The raw job, when Snakemake gets to it, waits for that call (mostly
long done) and finishes as it would have: the store, the journal, the ledger, the budget and
the failure records see the same call through ``phases.run_raw``, and an error of the call is
the raw job's error.

The pool lives in the process that runs the jobs (a local run; SLURM jobs keep calling in their
job). Its threads are daemons: a run that is stopped does not wait for queued calls (a call in
flight when the process dies is settled as any other: journaled answer or lost in flight).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from .phases import run_raw
from .runtime import Runtime

Key = tuple[str, str]


class CallPool:
    def __init__(self, rt: Runtime, threads: int, wanted: set[Key]) -> None:
        self.rt = rt
        self.wanted = set(wanted)  # the raw jobs this run will run
        self._futures: dict[Key, Future] = {}
        self._queue: queue.Queue[tuple[Key, Future]] = queue.Queue()
        self._lock = threading.Lock()
        for number in range(threads):
            threading.Thread(target=self._work, name=f"daydreaming-call-{number}", daemon=True).start()

    def __repr__(self) -> str:
        return f"CallPool(wanted={len(self.wanted)}, queued={len(self._futures)})"

    def submit(self, stage: str, gen_id: str) -> None:
        """Queue a generation's call, once (only for a raw job this run will run)."""
        key = (stage, gen_id)
        with self._lock:
            if key not in self.wanted or key in self._futures:
                return
            future: Future = Future()
            self._futures[key] = future
        self._queue.put((key, future))

    def wait(self, stage: str, gen_id: str) -> bool:
        """Block until the pool's call of this generation ended (re-raising its error); False when
        the pool never had it (the raw job calls itself)."""
        with self._lock:
            future = self._futures.get((stage, gen_id))
        if future is None:
            return False
        future.result()
        return True

    def _work(self) -> None:
        while True:
            (stage, gen_id), future = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                run_raw(self.rt, stage, gen_id)
            except BaseException as exc:  # noqa: BLE001 - handed to the raw job, which reports it
                future.set_exception(exc)
            else:
                future.set_result(None)


_POOLS: dict[int, CallPool] = {}


def start(rt: Runtime, threads: int, wanted: set[Key], ready: list[Key]) -> CallPool:
    """Start this process's pool for ``rt`` and queue the calls whose prompts exist."""
    pool = _POOLS[id(rt)] = CallPool(rt, threads, wanted)
    for stage, gen_id in ready:
        pool.submit(stage, gen_id)
    return pool


def pool_of(rt: Runtime) -> CallPool | None:
    return _POOLS.get(id(rt))


def stop(rt: Any) -> None:
    """Drop the pool (queued calls that never started are not made)."""
    pool = _POOLS.pop(id(rt), None)
    if pool is not None:
        with pool._lock:
            pending = list(pool._futures.values())
        for future in pending:
            future.cancel()
