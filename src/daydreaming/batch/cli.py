"""``daydreaming batch``: drive a cohort end to end in batch mode, and see or cancel its batches.

``run`` repeats one step until nothing is left: a plain ``snakemake`` (which lands what ended
batches answered, parses it, renders the next stage's prompts, makes the calls of stages not in
batch mode and submits the prompts that are ready), then a wait, asking the provider every
``batch.poll_s`` seconds whether a live batch has ended. Nothing of the state lives in this
process: the batch records under the data root and the batches at the provider are the state.
So a laptop that sleeps for eight hours mid-batch loses nothing: the provider works on (the
batch was submitted before the lid closed), the wait's next look after waking sees it ended,
and the next step lands it; the budget's reservation belongs to the batch, not to a process,
so it is neither lost nor settled as a crash. A batch that ran out of its 24 h window while the
machine slept ends ``expired``: what it answered is landed and the rest goes into a new batch.
If the command itself is gone (terminal closed, machine rebooted), the same command resumes:
live batches are followed, not sent again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from ..errors import DDError
from ..runtime import Runtime
from . import progress, records
from .collect import cancel, retrieve
from .records import TERMINAL_STATUSES, BatchRecord
from .submit import ready_calls

EXIT_ERROR = 2
STALLED_STEPS = 2  # steps in a row that change nothing while no batch is waited for: give up


def _say(text: str) -> None:
    print(f"daydreaming batch: {text}", file=sys.stderr, flush=True)


def _state(rt: Runtime) -> tuple[Any, ...]:
    """What a step can change: the live records and their states, the number of done ones."""
    live = tuple((r.key, r.state) for r in records.live_records(rt.paths))
    return live, len(records.done_records(rt.paths))


def _wait(rt: Runtime, live: list[BatchRecord], poll_s: float) -> None:
    """Until a live batch has ended (or needs a step: not submitted yet, or results to land)."""
    if any(r.state != "submitted" for r in live):
        return
    shown: dict[str, str] = {}
    while True:
        for record in live:
            try:
                batch = retrieve(rt, record)
            except DDError as err:  # e.g. no network yet after waking up: look again later
                _say(f"could not reach {record.provider} ({err.code.name} {err.ctx.get('reason')}); retrying")
                continue
            record.provider_status = batch.status
            if batch.request_counts is not None:
                record.request_counts = batch.request_counts.model_dump()
            text = progress.line(record)
            if shown.get(record.key) != text.rsplit("; age", 1)[0]:
                shown[record.key] = text.rsplit("; age", 1)[0]
                _say(text)
            if batch.status in TERMINAL_STATUSES:
                return
        time.sleep(poll_s)  # wall time passes during a sleep of the machine: the next look is after waking


def _left_behind(rt: Runtime) -> int:
    """Calls in batch mode that are still pending and go into no batch (failed too often, or no
    budget): said once the loop ends."""
    plan = rt.plan()
    batched = [c for c in plan.pending_calls() if rt.batched(c)]
    stuck = len(batched) - len(ready_calls(rt, plan))
    if batched:
        _say(f"{len(batched)} call(s) in batch mode not answered: {stuck} failed in batch.max_attempts batches "
             f"(daydreaming status; their failure records say why), {len(batched) - stuck} still ready "
             "(the budget had no room?)")
    return len(batched)


def run(args: argparse.Namespace) -> int:
    rt, _ = Runtime.for_command(args.configfile, args.data_root)
    poll_s = args.poll_s or min((p.batch.poll_s for p in rt.config.llm.providers.values()), default=60.0)
    forward = ["--configfile", args.configfile] if args.configfile_given else []
    if args.data_root:
        forward += ["--config", f"data_root={args.data_root}"]
    command = [sys.executable, "-m", "snakemake", *forward, *args.snakemake]
    stalled, code = 0, 0
    while True:
        before = _state(rt)
        _say("step: " + " ".join(command[2:]))
        code = subprocess.call(command)
        live = records.live_records(rt.paths)
        if not live:
            left = _left_behind(rt)
            _say("done: no live batch" + ("" if not left else "; see above"))
            return 1 if code or left else 0
        stalled = stalled + 1 if _state(rt) == before and any(r.state != "submitted" for r in live) else 0
        if stalled >= STALLED_STEPS:
            _say("steps change nothing (see their output); stopping: run the same command again later")
            return 1
        _wait(rt, live, poll_s)


def status(args: argparse.Namespace) -> int:
    rt, _ = Runtime.for_command(args.configfile, args.data_root)
    shown = records.live_records(rt.paths) + (records.done_records(rt.paths) if args.all else [])
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in shown], indent=1))
    else:
        for text in progress.lines(shown) or ["no live batch" + ("" if args.all else " (--all: done ones too)")]:
            print(text)
    return 0


def cancel_batches(args: argparse.Namespace) -> int:
    rt, _ = Runtime.for_command(args.configfile, args.data_root)
    chosen = [r for r in records.live_records(rt.paths)
              if args.all or r.key in args.batches or (r.batch_id and r.batch_id in args.batches)]
    if not chosen:
        _say("no such live batch (daydreaming batch status lists them)")
        return 1
    for record in chosen:
        if record.batch_id is None:
            _say(f"{record.key}: not submitted yet (the next run submits it); nothing to cancel")
            continue
        _say(f"{record.key} ({record.batch_id}): {cancel(rt, record)}; the next step lands what it answered and "
             "submits the rest again")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="daydreaming batch", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("run", "steps and waits until every call in batch mode is answered"),
                       ("status", "the live batches (--all: and the done ones)"),
                       ("cancel", "cancel live batches (by key or batch id, or --all)")):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--configfile", default=None, help="the workflow's config (default: config/config.yaml)")
        sub.add_argument("--data-root", default=None, help="default: the config's data_root")
        if name == "run":
            sub.add_argument("--poll-s", type=float, default=None,
                             help="seconds between looks at a live batch (default: the providers' batch.poll_s)")
            sub.add_argument("snakemake", nargs="*", help="snakemake options for every step, after --")
        elif name == "status":
            sub.add_argument("--all", action="store_true")
            sub.add_argument("--json", action="store_true")
        else:
            sub.add_argument("batches", nargs="*")
            sub.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    args.configfile_given = args.configfile is not None
    args.configfile = args.configfile or "config/config.yaml"
    try:
        return {"run": run, "status": status, "cancel": cancel_batches}[args.command](args)
    except DDError as err:
        print(str(err), file=sys.stderr)
        return EXIT_ERROR
