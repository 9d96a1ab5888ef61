"""Failed phase jobs: one record each, and the summary printed at the end of a run.

With ``keep-going`` a run over thousands of generations ends with Snakemake's per-job error
blocks scattered through its output; what a user needs is "what failed, how often, why, and
where to look". Each failing job writes a small JSON record (code, reason, the job's log),
``<data_root>/.failures/<stage>_<phase>/<gen_id>.json``, removed when the phase later
succeeds, so the directory always lists what is currently broken. Files rather than memory so
jobs that run elsewhere (SLURM) are summarised too. ``summarize`` groups the records written
since this process started (this run) by (stage, phase, code, reason).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from .errors import DDError
from .fsio import atomic_write_json
from .paths import PARSED_METADATA, Paths

EXAMPLES = 3
RUN_STARTED = time.time()  # the Snakemake process imports this module when it loads the workflow


def record_path(paths: Paths, stage: str, phase: str, gen_id: str) -> Path:
    return paths.failures_dir / f"{stage}_{phase}" / f"{gen_id}.json"


def record_failure(paths: Paths, stage: str, phase: str, gen_id: str, exc: BaseException, log: str | None) -> None:
    """Write the record of one failed job (never raises: the job's own error matters more)."""
    if isinstance(exc, DDError):
        code, ctx = exc.code.name, exc.ctx
    else:
        code, ctx = "UNKNOWN", {"reason": type(exc).__name__}
    entry = {
        "stage": stage, "phase": phase, "gen_id": gen_id, "code": code, "reason": ctx.get("reason"),
        "at": time.time(), "log": os.path.abspath(log) if log else None, "ctx": ctx,
    }
    try:
        atomic_write_json(record_path(paths, stage, phase, gen_id), json.loads(json.dumps(entry, default=str)))
    except (DDError, OSError):
        pass


def read_record(paths: Paths, stage: str, phase: str, gen_id: str) -> dict[str, Any]:
    """The record of a phase that is failing now (OSError when there is none)."""
    data = json.loads(record_path(paths, stage, phase, gen_id).read_text())
    if not isinstance(data, dict):
        raise ValueError("a failure record is a JSON object")
    return data


def clear_failure(paths: Paths, stage: str, phase: str, gen_id: str) -> None:
    record_path(paths, stage, phase, gen_id).unlink(missing_ok=True)


def _records(paths: Paths, since: float) -> Iterable[dict[str, Any]]:
    root = paths.failures_dir
    if not root.is_dir():
        return
    for path in sorted(root.glob("*/*.json")):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if float(entry.get("at", 0)) >= since:
            entry["record"] = str(path)
            yield entry


def current_records(paths: Paths) -> list[dict[str, Any]]:
    """Every failure record on disk: what is failing now, whichever run recorded it (the
    cohort reports count these generations as failed rather than not yet run)."""
    return list(_records(paths, 0.0))


def _where(paths: Paths, entry: dict[str, Any]) -> str:
    """The first file to open for this kind of failure."""
    if entry["phase"] == "parsed":
        return str(paths.stage_dir(entry["stage"]) / "<gen_id>" / PARSED_METADATA)
    log = entry.get("log")
    return log.replace(entry["gen_id"], "<gen_id>") if log else str(Path(entry["record"]).parent)


def summarize(paths: Paths, since: float = RUN_STARTED) -> dict[str, Any]:
    """Failures recorded since ``since``: per (stage, phase, code, reason) a count and examples."""
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    budget: dict[str, Any] | None = None
    for entry in _records(paths, since - 1.0):
        key = (entry["stage"], entry["phase"], entry["code"], str(entry.get("reason")))
        group = groups.setdefault(key, {
            "stage": key[0], "phase": key[1], "code": key[2], "reason": entry.get("reason"), "count": 0,
            "gen_ids": [], "where": _where(paths, entry)})
        group["count"] += 1
        if len(group["gen_ids"]) < EXAMPLES:
            group["gen_ids"].append(entry["gen_id"])
        if entry.get("reason") == "budget_exhausted":
            ctx = entry.get("ctx", {})
            budget = {k: ctx.get(k) for k in ("max_cost_usd", "spent_usd", "ledger", "fix")}
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["stage"], g["phase"]))
    return {"failed": sum(g["count"] for g in ordered), "groups": ordered, "budget": budget,
            "records": str(paths.failures_dir)}


def print_summary(summary: dict[str, Any], out: TextIO = sys.stderr) -> None:
    """A few human lines, then the same as one JSON line that scripts (and tests) can parse."""
    if not summary["failed"]:
        return
    print(f"daydreaming: {summary['failed']} job(s) failed in this run (one record each in "
          f"{summary['records']}):", file=out)
    for g in summary["groups"]:
        more = ", ..." if g["count"] > len(g["gen_ids"]) else ""
        print(f"  {g['count']:>5}  {g['stage']}_{g['phase']:7} {g['code']} {g['reason']}  "
              f"e.g. {', '.join(g['gen_ids'])}{more}  -> {g['where']}", file=out)
    if summary["budget"]:
        b = summary["budget"]
        print(f"  budget: spent ${b['spent_usd']} of llm.max_cost_usd ${b['max_cost_usd']} (ledger {b['ledger']}); "
              f"no new call was started past it: {b['fix']}", file=out)
    print("daydreaming failures: " + json.dumps(summary, sort_keys=True), file=out)
