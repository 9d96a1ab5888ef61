"""``daydreaming status``: what is missing, failed or stale, per cohort, stage and phase.

The fast answer to "what is missing": no Snakemake DAG, one directory read per generation,
and JSON is read only where a count needs it (a parse record when ``parsed.txt`` is absent, a
child's ``raw_metadata.json`` for its parent hash, failure records by name). ``snakemake -n``
stays the detailed answer (which job runs and why).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from pydantic import BaseModel, Field

from .. import paths as P
from ..report.state import EXCLUDED, STATUSES, gen_state
from ..stages import STAGES
from .scope import Scope
from .stale import STALE, UNKNOWN, StaleIndex

PHASE_FILES: dict[str, tuple[str, ...]] = {
    "metadata": (P.METADATA,),
    "prompt": (P.PROMPT,),
    "raw": (P.RAW, P.RAW_METADATA),
    "parsed": (P.PARSED, P.PARSED_METADATA),
}


class PhaseCounts(BaseModel):
    complete: int = 0  # its files are all present
    missing: int = 0
    failed: int = 0  # a failure record says its last job failed (``daydreaming.failures``)


class PendingCalls(BaseModel):
    calls: int = 0
    usd: float = 0.0
    unpriced_calls: int = 0  # calls of models without prices (not in usd)

    def add(self, usd: float | None) -> None:
        self.calls += 1
        if usd is None:
            self.unpriced_calls += 1
        else:
            self.usd += usd


class StageStatus(BaseModel):
    stage: str
    total: int = 0
    generations: dict[str, int] = Field(default_factory=lambda: {s: 0 for s in STATUSES})  # report.state
    phases: dict[str, PhaseCounts] = Field(default_factory=lambda: {p: PhaseCounts() for p in PHASE_FILES})
    stale: int = 0
    stale_unknown: int = 0  # answers whose raw_metadata.json records no parent hash
    pending: PendingCalls = Field(default_factory=PendingCalls)  # LLM calls a run would make, estimated USD


class CohortStatus(BaseModel):
    cohort_id: str
    stages: list[StageStatus]


class StatusReport(BaseModel):
    data_root: str
    cohorts: list[CohortStatus]
    pending: PendingCalls  # all cohorts together: a shared generation's call counted once
    failures_dir: str


@dataclass(frozen=True)
class GenFacts:
    stage: str
    have: frozenset[str]  # the names in its directory
    state: str  # report.state's ok / truncated / parse_failed / missing
    failed_phases: frozenset[str]
    stale: str | None
    pending: bool
    usd: float | None

    def complete(self, phase: str) -> bool:
        return all(name in self.have for name in PHASE_FILES[phase])


def failed_jobs(paths: P.Paths) -> dict[tuple[str, str], set[str]]:
    """(stage, gen_id) -> phases whose failure record exists, from the records' names alone."""
    failed: dict[tuple[str, str], set[str]] = defaultdict(set)
    try:
        groups = list(os.scandir(paths.failures_dir))
    except FileNotFoundError:
        return failed
    for group in groups:
        stage, _, phase = group.name.partition("_")
        if stage not in STAGES or phase not in PHASE_FILES or not group.is_dir():
            continue
        with os.scandir(group.path) as records:
            for record in records:
                if record.name.endswith(".json") and not record.name.startswith("."):
                    failed[(stage, record.name[: -len(".json")])].add(phase)
    return failed


def _pending_usd(scope: Scope) -> dict[tuple[str, str], float | None]:
    """Every pending call with its estimated USD (None: its model has no prices)."""
    if not scope.plan.pending_calls():
        return {}  # the estimate reads the whole store for answer lengths: only when needed
    from ..estimate import Estimator

    return {(c.stage, c.gen_id): c.run_usd for c in Estimator(scope.rt, scope.plan).calls()}


def gather(scope: Scope) -> dict[tuple[str, str], GenFacts]:
    """The facts every count is made of, per generation of the selected cohorts."""
    plan, store = scope.plan, scope.rt.store
    failed = failed_jobs(scope.paths)
    pending = _pending_usd(scope)
    stale = StaleIndex(plan)
    none: frozenset[str] = frozenset()
    facts = {}
    for m in plan.members:
        have = plan.present(m.stage, m.gen_id)
        key = (m.stage, m.gen_id)
        failure = {"phase": min(failed[key])} if key in failed else None  # a failed job, not just missing
        facts[key] = GenFacts(m.stage, have, gen_state(store, m.stage, m.gen_id, have, failure=failure).status,
                              frozenset(failed[key]) if key in failed else none, stale.state(m.stage, m.gen_id),
                              key in pending, pending.get(key))
    return facts


def count(facts: list[GenFacts]) -> list[StageStatus]:
    """Per stage (every stage listed, in pipeline order), the counts of these generations.

    Plain counters first, models last: 20,000 generations make a million increments."""
    n: Counter[tuple[str, ...]] = Counter()
    pending: dict[str, PendingCalls] = {stage: PendingCalls() for stage in STAGES}
    for f in facts:
        n[f.stage, "total"] += 1
        n[f.stage, "state", f.state] += 1
        for phase in PHASE_FILES:
            n[f.stage, phase, "complete" if f.complete(phase) else "missing"] += 1
        for phase in f.failed_phases:
            n[f.stage, phase, "failed"] += 1
        if f.stale is not None:
            n[f.stage, "stale", f.stale] += 1
        if f.pending:
            pending[f.stage].add(f.usd)
    return [StageStatus(
        stage=stage, total=n[stage, "total"], generations={s: n[stage, "state", s] for s in STATUSES},
        phases={p: PhaseCounts(**{k: n[stage, p, k] for k in ("complete", "missing", "failed")}) for p in PHASE_FILES},
        stale=n[stage, "stale", STALE], stale_unknown=n[stage, "stale", UNKNOWN], pending=pending[stage],
    ) for stage in STAGES]


def in_cohort(facts: dict[tuple[str, str], GenFacts], scope: Scope, cohort: str) -> list[GenFacts]:
    """The facts of a cohort's members, those it excludes (and their descendants) as excluded."""
    excluded = scope.plan.excluded_in(cohort)
    return [replace(facts[key], state=EXCLUDED, pending=False) if key in excluded else facts[key]
            for key in ((m.stage, m.gen_id) for m in scope.members_of(cohort))]


def build_status(scope: Scope) -> StatusReport:
    facts = gather(scope)
    cohorts = [CohortStatus(cohort_id=c, stages=count(in_cohort(facts, scope, c))) for c in scope.cohorts]
    pending = PendingCalls()
    for f in facts.values():
        if f.pending:
            pending.add(f.usd)
    return StatusReport(data_root=str(scope.paths.data_root), cohorts=cohorts, pending=pending,
                        failures_dir=str(scope.paths.failures_dir))


def _usd(pending: PendingCalls) -> str:
    if not pending.calls:
        return "-"
    if pending.unpriced_calls == pending.calls:
        return "n/a"
    return f"${pending.usd:.4f}" + (f" +{pending.unpriced_calls} unpriced" if pending.unpriced_calls else "")


def format_status(report: StatusReport) -> str:
    head = (f"{'stage':11} {'total':>6} {'ok':>6} {'failed':>6} {'trunc':>6} {'missing':>7} {'excl':>5} | "
            f"{'prompt':>6} {'raw':>6} {'parsed':>6} | {'calls':>5} {'other':>5} | {'stale':>5} {'unknown':>7} | "
            f"{'pending':>7}  est. USD")
    lines = []
    for cohort in report.cohorts:
        lines += [f"cohort {cohort.cohort_id}", head]
        for r in cohort.stages:
            g, ph = r.generations, r.phases
            other = sum(c.failed for phase, c in ph.items() if phase != "raw")
            lines.append(
                f"{r.stage:11} {r.total:>6} {g['ok']:>6} {g['parse_failed']:>6} {g['truncated']:>6} "
                f"{g['missing']:>7} {g['excluded']:>5} | "
                f"{ph['prompt'].complete:>6} {ph['raw'].complete:>6} {ph['parsed'].complete:>6} "
                f"| {ph['raw'].failed:>5} {other:>5} | {r.stale:>5} {r.stale_unknown:>7} | "
                f"{r.pending.calls:>7}  {_usd(r.pending)}"
            )
        lines.append("")
    p = report.pending
    lines.append(f"pending LLM calls (all cohorts): {p.calls}, estimated {_usd(p)}"
                 f" (details: daydreaming estimate)")
    lines.append("ok/failed/trunc/missing: parse state; excl: left out on purpose (exclusions.csv, with what "
                 "depends on them); prompt/raw/parsed: generations whose files are there; "
                 f"calls/other: jobs that failed (LLM calls / other phases; records in {report.failures_dir})")
    if any(r.stale for c in report.cohorts for r in c.stages):
        lines.append("stale: answers made from a parent that changed since: daydreaming status --stale")
    return "\n".join(lines)
