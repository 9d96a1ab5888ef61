"""Entry points of workflow jobs (each ``run:`` block is one call into here).

Jobs run as threads of the Snakemake process, so each entry point takes the config dict,
resolves the shared Runtime and writes its own log file (stderr is shared by all threads).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .errors import DDError, Err
from .membership import cohort_members, metadata_from_row
from .phases import PHASES, promote_parse_failures
from .runtime import Runtime
from .stages import require_stage


def _log(log: str | None, line: str) -> None:
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def _logged(log: str | None, label: str, action) -> Any:
    started = time.perf_counter()
    try:
        result = action()
    except DDError as err:
        _log(log, f"{label} failed: {err}")
        raise
    _log(log, f"{label} ok in {time.perf_counter() - started:.3f}s")
    return result


def _stage_phase(rule: str) -> tuple[str, str]:
    """``essay_raw`` -> (``essay``, ``raw``): rules are named ``<stage>_<phase>``.

    Passing the rule name instead of a ``params:`` entry keeps Snakemake's per-job work (and
    so the DAG build) about a fifth cheaper.
    """
    stage, _, phase_name = rule.partition("_")
    return require_stage(stage), phase_name


def phase(config: dict[str, Any], rule: str, gen_id: str, log: str | None = None) -> None:
    stage, phase_name = _stage_phase(rule)
    rt = Runtime.from_config(config)
    _logged(log, f"{rule} {gen_id}", lambda: PHASES[phase_name](rt, stage, gen_id))


def seed_metadata(config: dict[str, Any], rule: str, gen_id: str, log: str | None = None) -> None:
    """Re-seed a missing ``metadata.json`` from a full membership row (never overwrites)."""
    stage, _ = _stage_phase(rule)
    rt = Runtime.from_config(config)

    def seed() -> None:
        for member in cohort_members(rt.paths, rt.config.cohorts):
            if member.stage == stage and member.gen_id == gen_id:
                rt.store.seed_main_metadata(metadata_from_row(member))
                return
        raise DDError(Err.INVALID_MEMBERSHIP, {"reason": "not_a_member", "stage": stage, "gen_id": gen_id})

    _logged(log, f"{stage}_metadata {gen_id}", seed)


def compile_cohort(config: dict[str, Any], cohort_id: str, log: str | None = None) -> None:
    from .cohort.compile import compile_cohort as compile_

    rt = Runtime.from_config(config)
    counts = _logged(log, f"cohort {cohort_id}", lambda: compile_(rt.paths, cohort_id))
    _log(log, f"compiled {counts}")


def finish(config: dict[str, Any], failed: bool) -> None:
    """Run once at the end of a run: park parse-failure records where users look for them."""
    rt = Runtime.from_config(config)
    promoted = promote_parse_failures(rt)
    if promoted:
        print(f"daydreaming: {len(promoted)} parse failure(s) recorded in parsed_metadata.json:", file=sys.stderr)
        for path in promoted[:20]:
            print(f"  {path}", file=sys.stderr)
