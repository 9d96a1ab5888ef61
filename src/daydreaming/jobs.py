"""Entry points of workflow jobs (each ``run:`` block is one call into here).

Jobs run as threads of the Snakemake process, so each entry point takes the config dict,
resolves the shared Runtime and writes its own log file (stderr is shared by all threads).
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections.abc import Callable
from typing import Any

from . import callpool, failures
from .errors import DDError, Err
from .membership import cohort_members, metadata_from_row
from .phases import PHASES
from .plan import StorePlan
from .runtime import Runtime
from .stages import require_stage


def _log(log: str | None, line: str) -> None:
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def _logged(log: str | None, label: str, action: Callable[[], Any]) -> Any:
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


def phase(config: dict[str, Any], rule: str, gen_id: str, log: str | None = None,
          plan: Callable[[], StorePlan] | None = None) -> None:
    """Run the phase of ``rule`` for one generation; a parse job that the plan made the whole
    generation's job (``StorePlan.in_one_job``: nothing of it existed) runs all three phases.
    Each phase keeps its own failure record, so a failed call reads as one in every summary."""
    stage, phase_name = _stage_phase(rule)
    rt = Runtime.from_config(config)
    pool = callpool.pool_of(rt)
    names = [phase_name]
    if phase_name == "parsed" and plan is not None and plan().in_one_job(stage, gen_id):
        names = list(PHASES)  # prompt, raw, parsed
    for name in names:
        if pool is not None and name == "raw":
            action = lambda: pool.wait(stage, gen_id) or PHASES["raw"](rt, stage, gen_id)  # noqa: E731
        else:
            action = functools.partial(PHASES[name], rt, stage, gen_id)
        try:
            _logged(log, f"{stage}_{name} {gen_id}", action)
        except Exception as exc:
            failures.record_failure(rt.paths, stage, name, gen_id, exc, log)
            raise
        failures.clear_failure(rt.paths, stage, name, gen_id)
    if pool is not None and names == ["prompt"]:
        pool.submit(stage, gen_id)  # its call can start now, before Snakemake schedules its raw job


# --- concurrency caps ----------------------------------------------------------------------
def resource_name(provider: str) -> str:
    """``llm_<provider>``: the Snakemake resource that caps a provider's concurrent calls."""
    return "llm_" + re.sub(r"\W", "_", provider)


def llm_caps(config: dict[str, Any]) -> dict[str, int]:
    """Default global caps per provider (``max_concurrent``); ``--resources llm_x=N`` wins."""
    providers = Runtime.from_config(config).config.llm.providers
    return {resource_name(name): p.max_concurrent for name, p in providers.items()}


def llm_resources(config: dict[str, Any], plan: Callable[[], StorePlan], stage: str,
                  phase_name: str = "raw") -> dict[str, Callable]:
    """Per-job resources of a job that may call: 1 of ``llm_<provider>`` for its model's
    provider, held by every ``<stage>_raw`` job and by a ``<stage>_parsed`` job only when it is
    the whole generation's job (``StorePlan.in_one_job``)."""
    rt = Runtime.from_config(config)

    def calls(gen_id: str) -> bool:
        return phase_name == "raw" or plan().in_one_job(stage, gen_id)

    def holds(provider: str) -> Callable[[Any], int]:
        def amount(wildcards: Any) -> int:
            gen_id = wildcards.gen_id
            return int(calls(gen_id) and rt.provider_of(plan().generation_call(stage, gen_id)) == provider)

        return with_signature(amount)

    return {resource_name(name): holds(name) for name in routed_providers(rt)}


def with_signature(function: Any, like: Any = None) -> Any:
    """``function`` carrying its signature (or ``like``'s), computed once: Snakemake inspects the
    signature of an input or resource function at every call, twice, which costs more than
    most of our functions do (a tenth of a dry run over thousands of jobs)."""
    function.__signature__ = inspect.signature(like or function)
    return function


def routed_providers(rt: Runtime) -> list[str]:
    """The providers some catalog model is routed to: the only ones a job can hold a token of
    (each declared resource is evaluated for every job). All of them when the catalog cannot
    be read here: its error belongs to the jobs that need it."""
    try:
        routed = {route.provider for route in rt.routes.values()}
    except DDError:
        routed = set(rt.config.llm.providers)
    return [name for name in rt.config.llm.providers if name in routed]


def create_metadata(config: dict[str, Any], rule: str, gen_id: str, log: str | None = None) -> None:
    """Re-create a missing ``metadata.json`` from a full membership row (never overwrites)."""
    stage, _ = _stage_phase(rule)
    rt = Runtime.from_config(config)

    def create() -> None:
        for member in cohort_members(rt.paths, rt.config.cohorts):
            if member.stage == stage and member.gen_id == gen_id:
                rt.store.create_main_metadata(metadata_from_row(member))
                return
        raise DDError(Err.INVALID_MEMBERSHIP, {"reason": "not_a_member", "stage": stage, "gen_id": gen_id})

    _logged(log, f"{stage}_metadata {gen_id}", create)
