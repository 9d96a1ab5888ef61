"""The edges of a run: everything that happens before the first job and after the last.

Snakemake has no "before the DAG" hook, so the workflow's input functions call
:func:`run_plan`, and the first call of a process does the start-up work, in this order:

1. refuse rerun triggers that would re-buy answers;
2. for a run that writes (not ``-n``, ``--report``, ``--summary``...): take the data root's
   writer lock (``daydreaming.runlock``) *before* anything is written, clear Snakemake locks
   left by a killed run, and compile the cohorts whose spec changed. A dry run designs those
   cohorts in memory instead, so ``snakemake -n`` shows their jobs and writes nothing;
3. after a crash, recover (``daydreaming.recovery``): settle dead budget reservations, adopt
   journaled answers, put back answers a forced run archived but never replaced, sweep temp
   files;
4. check what would stop jobs later: raw answers without metadata, missing API keys, a spent
   budget, a full disk, a zero concurrency cap.

Errors found here are printed as one coded paragraph and the process exits (status 1) before
any job starts, instead of a traceback from Snakemake's input-function machinery.

:func:`on_start` runs once the DAG is known (Snakemake's ``onstart``): it archives the answers
the user forced to be bought again. :func:`on_finish` runs at the end (``onsuccess``/``onerror``).
SLURM jobs of a run (remote execution) only build the plan: their head did the rest.
"""

from __future__ import annotations

import atexit
import functools
import sys
from pathlib import Path
from typing import Any, NoReturn

from . import failures, jobs, recovery, runlock
from .batch import gate as batch_gate
from .batch import step as batch_step
from .errors import DDError, Err
from .plan import StorePlan, check_rerun_triggers, cohort_needs_compile
from .runtime import Runtime
from .stages import STAGES
from .stale_locks import clear_stale_locks

_PLANS: dict[int, StorePlan] = {}
_FINISHED: set[int] = set()  # configs whose run reached on_finish
_WAITING: dict[int, frozenset[tuple[str, str]]] = {}


def run_plan(workflow: Any, config: dict[str, Any]) -> StorePlan:
    """The plan of this process's run; the first call does the start-up work (see module doc)."""
    key = id(workflow)
    plan = _PLANS.get(key)
    if plan is None:
        try:
            plan = _PLANS[key] = _start(workflow, config)
        except DDError as err:
            stop(err)
    return plan


def guarded(function: Any) -> Any:
    """Wrap an input function so that a coded error stops the run with one clear paragraph."""

    @functools.wraps(function)  # Snakemake reads the signature to decide what to pass
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DDError as err:
            stop(err)

    return jobs.with_signature(call, function)


def stop(err: DDError) -> NoReturn:
    """Print a coded error as one paragraph (and its JSON line for scripts), then exit 1."""
    ctx = dict(err.ctx)
    lines = [f"daydreaming: stopped before any job: {err.code.name} {ctx.pop('reason', '')}".rstrip()]
    fix = ctx.pop("fix", None)
    for name, value in ctx.items():
        lines.append(f"  {name}: {value}")
    if fix:
        lines.append(f"  fix: {fix}")
    lines.append(str(err))
    print("\n".join(lines), file=sys.stderr, flush=True)
    raise SystemExit(1)


def executing(workflow: Any) -> bool:
    """True for a run that executes jobs (not -n, --report, --summary, --dag, a SLURM job)."""
    return (getattr(workflow, "executor_plugin", None) is not None and not workflow.dryrun
            and not (workflow.remote_exec or workflow.subprocess_exec))


def _start(workflow: Any, config: dict[str, Any]) -> StorePlan:
    rt = Runtime.from_config(config)
    rt.call_caps = _call_caps(rt, workflow)
    paths, cohorts = rt.paths, rt.config.cohorts
    settings = workflow.dag_settings
    forced = [r for r in (settings.forcerun or ()) if isinstance(r, str)]
    build: dict[str, Any] = dict(policy=rt.config.rerun_policy, forced_rules=forced, forceall=bool(settings.forceall),
                 one_job_stages=one_job_stages(workflow, rt))
    if workflow.remote_exec or workflow.subprocess_exec:
        return StorePlan.build(paths, cohorts, **build)
    check_rerun_triggers(t.name for t in settings.rerun_triggers)
    writes = executing(workflow)
    clear_stale_locks(Path.cwd(), claim=writes)
    preview = [c for c in cohorts if cohort_needs_compile(paths, c)]
    if writes:
        runlock.acquire(paths)
        recovery.recover_before_plan(rt)
        for cohort in preview:
            _compile(rt, cohort)
        preview = []
        batch_step.collect(rt)  # answers of batches that ended land before the plan reads the store
    plan = StorePlan.build(paths, cohorts, **build, preview=preview)
    if writes:
        recovery.sweep_temp_files(plan)
    plan.check_raw_invariant()
    _preflight(rt, plan, workflow, strict=writes)
    if writes:
        batch_step.submit(rt, plan)
        # Snakemake calls no handler when it finds nothing to do: say where the reports are
        atexit.register(_report_lines_unless_finished, config)
    elif workflow.dryrun:
        _print_estimate(rt, plan)
    return plan


def run_targets(workflow: Any, config: dict[str, Any], requested: list[str]) -> list[str]:
    """What a plain run asks for: the plan's targets (less what ``requested``, the missing store
    files the reports' scans ask for, makes anyway), less the generations that wait for a batch."""
    plan = run_plan(workflow, config)
    return batch_gate.targets(Runtime.from_config(config), plan, waiting_for_batch(workflow, config), requested)


def waiting_for_batch(workflow: Any, config: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """The generations of this run whose answers are to come from a batch (``batch.gate``); the
    report rules do not wait for them either."""
    key = id(workflow)
    found = _WAITING.get(key)
    if found is None:
        rt, plan = Runtime.from_config(config), run_plan(workflow, config)
        found = _WAITING[key] = frozenset(batch_gate.waiting(rt, plan) if batch_gate.in_use(rt) else ())
    return found


def _print_estimate(rt: Runtime, plan: StorePlan) -> None:
    """A dry run prints what its pending calls would cost, one request each and in a batch."""
    from . import estimate

    if plan.pending_calls():
        print(estimate.format_report(estimate.report(rt, plan)), file=sys.stderr, flush=True)
    batch_step.report(rt)


def one_job_stages(workflow: Any, rt: Runtime) -> frozenset[str]:
    """The stages whose new generations run as one job (``StorePlan.in_one_job``).

    All of them when this process runs the jobs (locally, or a dry run of a local run), except
    where the run's options name phase rules that must then exist as jobs: ``--until``,
    ``--omit-from``, ``--allowed-rules``. A cluster run keeps the three phases apart so that
    only LLM calls become cluster jobs (the cheap phases are local rules): its executor is
    remote, and a dry run of it knows it by the groups its profile gives ``<stage>_raw``.
    A job run in a process of its own must see what the run that started it decided. With
    ``llm.call_pool`` the pool makes calls ahead of the raw jobs, which must then exist.
    """
    if workflow.remote_exec or rt.config.llm.call_pool:
        return frozenset()
    if workflow.subprocess_exec:
        return frozenset(STAGES)
    settings = workflow.dag_settings
    if settings.until or settings.omit_from or settings.allowed_rules or not workflow.local_exec:
        return frozenset()
    grouped = getattr(getattr(workflow, "group_settings", None), "overwrite_groups", None) or {}
    return frozenset(stage for stage in STAGES if f"{stage}_raw" not in grouped)


def _compile(rt: Runtime, cohort: str) -> None:
    from .cohort.compile import compile_cohort

    counts = compile_cohort(rt.paths, cohort)
    print(f"daydreaming: compiled cohort {cohort}: " + ", ".join(f"{counts[s]} {s}s" for s in STAGES),
          file=sys.stderr, flush=True)


def _preflight(rt: Runtime, plan: StorePlan, workflow: Any, strict: bool) -> None:
    """Refuse a run whose pending LLM calls could not be made: a provider without its key,
    a spent budget, too little disk for the answers, a concurrency cap of 0. A dry run only
    warns: it calls nothing."""
    from .answers import require_free_disk
    from .jobs import resource_name

    calls = plan.pending_calls()
    if not calls:
        return
    providers = sorted({p for p in map(rt.provider_of, calls) if p})
    try:
        batch_gate.check(rt, plan)
        rt.llm.require_credentials(providers)
        rt.ledger.check_not_exhausted({"pending_calls": len(calls)})
        require_free_disk(rt)
        caps = getattr(workflow, "global_resources", {}) or {}
        zero = [p for p in providers if caps.get(resource_name(p)) == 0]
        if zero:
            raise DDError(Err.INVALID_CONFIG, {
                "reason": "zero_llm_cap", "resources": [resource_name(p) for p in zero],
                "fix": "a cap of 0 does not pause calls in Snakemake (it removes the cap): give a cap >= 1, "
                       "or leave the stage out with --until / --omit-from"})
    except DDError as err:
        if strict:
            raise
        print(f"daydreaming: a real run would stop before any job: {err}", file=sys.stderr)


def on_start(workflow: Any, config: dict[str, Any]) -> None:
    """Once the DAG is known: move aside the answers the user forced to be bought again, so the
    raw jobs (which keep a stored answer that still matches) buy new ones."""
    if not executing(workflow) or workflow.touch:
        return
    rt = Runtime.from_config(config)
    recovery.archive_forced(rt, sorted(_user_forced(workflow)))
    if rt.config.llm.call_pool and getattr(workflow, "local_exec", False):  # SLURM jobs call in their job
        _start_call_pool(rt, workflow)


def _call_caps(rt: Runtime, workflow: Any) -> dict[str, int]:
    """Provider -> calls in flight at most in this run: ``--resources llm_<provider>=N`` wins over
    ``max_concurrent``, for the calls in flight across processes as for the raw jobs."""
    caps = getattr(workflow, "global_resources", {}) or {}
    found = {}
    for name, settings in rt.config.llm.providers.items():
        given = caps.get(jobs.resource_name(name))
        value = getattr(given, "value", given)
        found[name] = int(value) if isinstance(value, int) and value > 0 else settings.max_concurrent
    return found


def _start_call_pool(rt: Runtime, workflow: Any) -> None:
    """Queue the calls of this run's raw jobs in the call pool (``daydreaming.callpool``): those
    whose prompt exists now; the others when their prompt job ends."""
    from . import callpool
    from .paths import PROMPT

    wanted = set()
    for job in workflow.dag.needrun_jobs():
        stage, _, phase = job.rule.name.partition("_")
        if stage in STAGES and phase == "raw":
            wanted.add((stage, job.wildcards.gen_id))
    caps = rt.call_caps or _call_caps(rt, workflow)
    threads = sum(caps.get(name, p.max_concurrent) for name, p in rt.config.llm.providers.items() if not p.is_offline)
    if threads and wanted:
        ready = sorted(key for key in wanted if PROMPT in rt.store.present(*key))
        callpool.start(rt, threads, wanted, ready)


def _user_forced(workflow: Any) -> set[tuple[str, str]]:
    """(stage, gen_id) of the raw and prompt jobs that run because the user forced them
    (``-R``/``-F``/``-f``), not because Snakemake found them incomplete."""
    dag, settings = workflow.dag, workflow.dag_settings
    rule_names = {rule.name for rule in workflow.rules}
    forced_files = {str(f) for f in (settings.forcerun or ()) if f not in rule_names}
    if settings.forcetargets:
        forced_files |= {str(t) for t in (settings.targets or ()) if t not in rule_names}
    found = set()
    for job in dag.needrun_jobs():
        stage, _, phase = job.rule.name.partition("_")
        if stage not in STAGES or phase not in ("prompt", "raw") or "gen_id" not in job.wildcards.keys():
            continue
        by_rule = job.rule in dag.forcerules and job not in dag.omitforce
        if by_rule or any(str(f) in forced_files for f in job.output):
            found.add((stage, job.wildcards.gen_id))
    return found


def on_finish(config: dict[str, Any], failed: bool) -> None:
    """The end of a run (success or not): put back forced answers that were never replaced,
    park parse-failure records where users look, summarise failed jobs, rebuild stale reports
    and say where they are, release the lock."""
    from .phases import promote_parse_failures

    _FINISHED.add(id(config))
    rt = Runtime.from_config(config)
    from . import callpool

    callpool.stop(rt)
    if runlock.held(rt.paths):
        recovery.restore_unreplaced(rt)
        if batch_gate.in_use(rt):  # the prompts this run rendered go into batches now, not next run
            batch_step.submit(rt, StorePlan.build(rt.paths, rt.config.cohorts, policy=rt.config.rerun_policy))
    promote_parse_failures(rt)
    failures.print_summary(failures.summarize(rt.paths))
    _refresh_reports(config)
    runlock.release(rt.paths)


def _report_lines_unless_finished(config: dict[str, Any]) -> None:
    if id(config) not in _FINISHED:
        from .report import freshness

        for line in freshness.run_lines(config):
            print(line, file=sys.stderr)


def _refresh_reports(config: dict[str, Any]) -> None:
    """Rebuild the reports a failed job kept the report rules from building, then say where each
    cohort's report is (imported here: pandas and scipy are not paid by runs that end early)."""
    from .report import freshness

    freshness.refresh_stale(config)
    for line in freshness.run_lines(config):
        print(line, file=sys.stderr)

