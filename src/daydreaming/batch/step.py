"""The batch work of a run that writes: at its start, follow the live batches and land what they
answered; once it knows its plan (and again at its end, when it has rendered new prompts),
submit what is ready. The run itself never waits for a batch: ``daydreaming batch run`` does.

A provider that cannot be reached does not stop the run (the stages that are not in batch mode
go on): the batch waits, and the next run tries again.
"""

from __future__ import annotations

import sys

from ..errors import DDError
from ..plan import StorePlan
from ..runtime import Runtime
from . import progress, records
from .gate import in_use


def _say(text: str) -> None:
    print(f"daydreaming: {text}", file=sys.stderr, flush=True)


def reconcile_holds(rt: Runtime) -> None:
    """Each live batch holds its budget reservation, and no reservation outlives its batch (a
    kill between writing one and the other)."""
    live = {r.key: r for r in records.live_records(rt.paths)}
    holds = rt.ledger.batch_holds()
    for key in holds.keys() - live.keys():
        rt.ledger.release(key)
    for key, record in live.items():
        if key not in holds:
            outstanding = sum(e.worst_usd or 0.0 for e in record.entries if e.outcome == "live")
            rt.ledger.keep_batch_hold(key, outstanding, {"stage": record.stage, "provider": record.provider,
                                                         "llm_model_id": record.llm_model_id})


def collect(rt: Runtime) -> None:
    """Start of a run: move every live batch as far as it goes, landing the ended ones."""
    if not in_use(rt):
        return
    from .collect import advance  # loads the openai SDK: only when batches are in use

    reconcile_holds(rt)
    for record in records.live_records(rt.paths):
        try:
            advance(rt, record)
        except DDError as err:
            _say(f"batch {record.key} waits: {err}")


def submit(rt: Runtime, plan: StorePlan) -> None:
    """Submit every ready call, then say where every live batch is."""
    if not in_use(rt):
        return
    from .submit import submit_ready  # loads the openai SDK: only when batches are in use

    try:
        submit_ready(rt, plan)
    except DDError as err:
        _say(f"calls not submitted to a batch this time: {err}")
    report(rt)


def report(rt: Runtime) -> None:
    for text in progress.lines(records.live_records(rt.paths)):
        _say(text)
