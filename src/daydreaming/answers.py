"""How a generation gets its LLM answer: keep the stored one, adopt a journaled one, or buy one.

This is the only code that spends money, so it is where "never bought twice, never lost" is
kept. A ``<stage>_raw`` job can run although its answer is already paid for: Snakemake re-runs
a job it marked incomplete when the run was interrupted (its outputs are ``update()``-flagged,
so they are not deleted first), a SLURM group job is retried, a process died between receiving
an answer and storing it. In that order it therefore:

1. keeps the stored answer when it answers this prompt and model (nothing happens);
2. adopts the journaled answer when its prompt, model and settings still match (the journal
   holds every answer from the moment it arrives until the store has it);
3. buys: reserves the call's worst case in the ledger, calls, journals the answer (fsync'd)
   and records its cost, then writes the store and forgets the journal entry.

A user who forces the stage gets a new answer because the start of the run moved the old one
to the archive (``daydreaming.startup.on_start``), so step 1 finds nothing to keep.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from . import journal
from .archive import archive_journal_entry
from .errors import DDError, Err
from .estimate import worst_case_usd
from .fsio import sha256_text
from .models import MainMetadata, RawMetadata, Usage
from .paths import PROMPT, RAW, RAW_METADATA
from .runtime import Runtime

Outcome = Literal["kept", "adopted", "bought"]
MIB = 1024 * 1024


@dataclass(frozen=True)
class Request:
    """One generation's call: what is asked, of which model, with which settings."""

    stage: str
    gen_id: str
    model_id: str
    prompt: str
    settings: dict[str, Any]
    parent_parsed_sha256: str | None = None  # provenance: which parent text the prompt came from

    @property
    def prompt_sha256(self) -> str:
        return sha256_text(self.prompt)

    @property
    def ctx(self) -> dict[str, Any]:
        return {"stage": self.stage, "gen_id": self.gen_id, "llm_model_id": self.model_id}


def raw_record(rt: Runtime, meta: MainMetadata, text: str, **fields: Any) -> RawMetadata:
    """``raw_metadata.json`` of an answer (or of a copy) of ``meta``'s generation."""
    stage, gen_id = meta.stage, meta.gen_id
    return RawMetadata(
        function=f"{stage}_raw",
        mode=meta.mode,
        stage=stage,
        gen_id=gen_id,
        llm_model_id=meta.llm_model_id,
        raw_length=len(text),
        raw_lines=len(text.splitlines()),
        raw_path=str(rt.paths.raw_path(stage, gen_id)),
        raw_metadata_path=str(rt.paths.raw_metadata_path(stage, gen_id)),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        **fields,
    )


def obtain(rt: Runtime, meta: MainMetadata, request: Request) -> Outcome:
    """Give the generation its answer, paying only when no answer to this request exists."""
    if _stored_answer_matches(rt, request):
        return "kept"
    entry = journal.pending(rt.paths, request.stage, request.gen_id)
    if entry is not None:
        if entry.answers(request.prompt_sha256, request.model_id, request.settings):
            adopt(rt, entry)
            return "adopted"
        archive_journal_entry(rt.paths, entry, "unmatched")  # paid for: kept, not adopted
        journal.discard(rt.paths, request.stage, request.gen_id)
    _refuse_if_in_live_batch(rt, request)
    _buy(rt, meta, request)
    return "bought"


def _refuse_if_in_live_batch(rt: Runtime, request: Request) -> None:
    """A generation a live batch will answer is never also bought one request at a time (e.g.
    after its stage's batch setting was turned off while its batch ran)."""
    from .batch.records import live_generations

    key = live_generations(rt.paths).get((request.stage, request.gen_id))
    if key is not None:
        raise DDError(Err.BUSY, {
            **request.ctx, "reason": "in_live_batch", "batch_key": key,
            "record": str(rt.paths.batch_record(key)),
            "fix": "wait for that batch (daydreaming batch run collects it), or cancel it (daydreaming batch cancel "
                   f"{key}) and run again once it has ended"})


def adopt(rt: Runtime, entry: journal.JournalEntry, settled: str = "adopted") -> None:
    """Put a received answer into the store (and into the ledger if its call never got there)."""
    record_cost(rt, entry, settled)
    rt.store.write_raw(entry.stage, entry.gen_id, entry.text, RawMetadata.model_validate(entry.raw_metadata))
    journal.discard(rt.paths, entry.stage, entry.gen_id)


def record_cost(rt: Runtime, entry: journal.JournalEntry, settled: str) -> None:
    """The ledger line of a received answer, once per reservation (an answer from a batch names
    its batch: reservation ``<batch key>/<gen_id>``)."""
    if not entry.reservation_id:
        return
    raw = entry.raw_metadata
    line = {"stage": entry.stage, "gen_id": entry.gen_id, "llm_model_id": entry.llm_model_id,
            "provider": raw.get("provider"), "model": raw.get("model"), "cost_usd": raw.get("cost_usd"),
            "request_id": raw.get("request_id"), "usage": raw.get("usage"), "reservation_id": entry.reservation_id,
            "settled": settled}
    if raw.get("batch_id"):
        line["batch_id"] = raw["batch_id"]
    rt.ledger.record_once(line)


def _stored_answer_matches(rt: Runtime, request: Request) -> bool:
    have = rt.store.present(request.stage, request.gen_id)
    if RAW not in have or RAW_METADATA not in have:
        return False
    stored = rt.store.read_raw_metadata(request.stage, request.gen_id)
    if stored.mode != "llm" or stored.llm_model_id != request.model_id:
        return False
    if stored.prompt_sha256:
        return stored.prompt_sha256 == request.prompt_sha256
    # Answers from the earlier system carry no prompt digest: kept unless the prompt is newer.
    gen_dir = rt.paths.generation_dir(request.stage, request.gen_id)
    return (gen_dir / PROMPT).stat().st_mtime_ns <= (gen_dir / RAW).stat().st_mtime_ns


def require_free_disk(rt: Runtime) -> None:
    """No call starts when its answer might not fit on the data root's file system."""
    floor_mb = rt.config.llm.min_free_disk_mb
    free = shutil.disk_usage(rt.paths.data_root).free
    if free < floor_mb * MIB:
        raise DDError(Err.IO_ERROR, {
            "reason": "disk_space_low", "path": str(rt.paths.data_root), "free_mb": free // MIB,
            "min_free_disk_mb": floor_mb,
            "fix": "free space on that file system (or lower llm.min_free_disk_mb) and run again"})


def _buy(rt: Runtime, meta: MainMetadata, request: Request) -> None:
    from .llm import GenerationSettings

    require_free_disk(rt)
    settings = GenerationSettings(**request.settings)
    route = rt.llm.route(request.model_id)
    worst = worst_case_usd(rt, request.model_id, request.prompt, settings.max_tokens)
    with rt.ledger.reservation(worst, request.ctx) as held:

        def billable(info: dict[str, Any]) -> None:
            """An attempt the provider may have billed without a usable answer counts as spent."""
            if info.get("billable"):
                usage = info.get("usage") or {}
                cost = usage.get("cost")  # what the provider says it charged, else from its token counts
                if not isinstance(cost, (int, float)) or isinstance(cost, bool):
                    cost = route.cost_usd(usage.get("prompt_tokens"), usage.get("completion_tokens"))
                held.record({"kind": "billable_failure", "cost_usd": worst if cost is None else cost,
                             "provider": route.provider, "error": info.get("error"), "status": info.get("status"),
                             "attempt": info.get("attempt")})

        result = rt.llm.generate(request.model_id, request.prompt, settings, before_attempt=held.before_attempt,
                                 on_failed_attempt=billable, generation=f"{request.stage}/{request.gen_id}")
        raw = raw_record(
            rt, meta, result.text, provider=result.provider, model=result.model,
            duration_s=round(result.duration_s, 3), finish_reason=result.finish_reason, truncated=result.truncated,
            usage=Usage(**result.usage), cost_usd=result.cost_usd, request_id=result.request_id,
            attempts=result.attempts, settings=request.settings, prompt_sha256=request.prompt_sha256,
            parent_parsed_sha256=request.parent_parsed_sha256)
        journal.record(rt.paths, journal.JournalEntry(
            stage=request.stage, gen_id=request.gen_id, reservation_id=held.rid, prompt_sha256=request.prompt_sha256,
            llm_model_id=request.model_id, settings=request.settings, text=result.text,
            raw_metadata=raw.to_json_dict()))
        held.record({"provider": result.provider, "model": result.model, "cost_usd": result.cost_usd,
                     "request_id": result.request_id, "usage": result.usage, "attempts": result.attempts})
    rt.store.write_raw(request.stage, request.gen_id, result.text, raw)
    journal.discard(rt.paths, request.stage, request.gen_id)
