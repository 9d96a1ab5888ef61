"""Which generations wait for a batch, so that a run never buys them one request at a time.

A generation waits when its answer is to come from a batch: it is in a live batch, or its call
goes through a Batch API (``Runtime.batched``) and it has no answer yet. Its descendants wait
with it. A run then asks for a waiting generation's prompt only (when it is missing and its
parent does not wait): the prompt is what the batch sends. Everything else in the store runs
as usual, so a run in batch mode parses the answers batches delivered, renders the next
stage's prompts, and makes the calls of the stages that are not in batch mode.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import DDError, Err
from ..paths import PROMPT, RAW, RAW_METADATA
from ..plan import StorePlan
from ..runtime import Runtime
from ..stages import PARENT_STAGE, STAGES
from . import records


def in_use(rt: Runtime) -> bool:
    """Whether batch mode is on anywhere, or a batch is still live (cheap: no plan needed)."""
    llm = rt.config.llm
    return (any(p.batch.enabled for p in llm.providers.values())
            or any(rt.config.stage(stage).batch for stage in STAGES)
            or bool(records.live_generations(rt.paths)))


def waiting(rt: Runtime, plan: StorePlan) -> set[tuple[str, str]]:
    """The generations whose answer (or an ancestor's) is to come from a batch."""
    live = records.live_generations(rt.paths)
    waits: set[tuple[str, str]] = set()
    for member in plan.members:  # parents first
        key = (member.stage, member.gen_id)
        parent_stage = PARENT_STAGE[member.stage]
        parent = plan.parent_of(*key) if parent_stage else None
        if parent and (parent_stage, parent) in waits:
            waits.add(key)
        elif key in live:
            waits.add(key)
        elif not {RAW, RAW_METADATA} <= plan.present(*key):
            call = plan.generation_call(*key)
            if call.mode == "llm" and rt.batched(call):
                waits.add(key)
    return waits


def targets(rt: Runtime, plan: StorePlan, waits: set[tuple[str, str]] | frozenset[tuple[str, str]],
            requested: Iterable[str] = ()) -> list[str]:
    """``plan.targets()`` without the generations that wait (``waiting``), plus the prompts a
    batch will send."""
    kept = plan.targets(requested, waiting=waits)
    if not waits:
        return kept
    live = records.live_generations(rt.paths)
    for member in plan.members:
        key = (member.stage, member.gen_id)
        if key not in waits or key in live or PROMPT in plan.present(*key):
            continue
        parent_stage = PARENT_STAGE[member.stage]
        parent = plan.parent_of(*key) if parent_stage else None
        if parent and (parent_stage, parent) in waits:
            continue
        kept.append(str(plan.paths.prompt_path(*key)))
    return kept


def check(rt: Runtime, plan: StorePlan) -> None:
    """Refuse what batch mode cannot do: a forced regeneration of a stage that goes through a
    batch (the raw jobs would buy it one request at a time), a batch from the built-in provider."""
    batched = [c for c in plan.pending_calls() if rt.batched(c)]
    forced = sorted({c.stage for c in batched if plan.forced(c.stage, "prompt", "raw")})
    if forced:
        raise DDError(Err.INVALID_CONFIG, {
            "reason": "forced_batch_stage", "stages": forced,
            "fix": "force it one request at a time: set stages.<stage>.batch: false for this run; or move the "
                   "answers aside (they are archived by a forced run) and let batch mode buy them"})
    offline = sorted({rt.provider_of(c) or "" for c in batched
                      if rt.config.llm.providers[rt.provider_of(c) or ""].is_offline})
    if offline:
        raise DDError(Err.INVALID_CONFIG, {
            "reason": "batch_unsupported", "providers": offline,
            "fix": "the built-in offline provider has no Batch API: serve it (daydreaming offline-server) and "
                   "point the provider's base_url at it, or set the stage's batch: false"})
