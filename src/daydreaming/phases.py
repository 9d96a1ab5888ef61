"""The three phases of a generation: prompt -> raw -> parsed (inventory §5).

Each function does one phase for one generation and is what a workflow job calls. Reuse and
force are decided by the workflow (a job runs only when its outputs are missing or the user
forced its rule), so these functions always produce; they never delete a paid answer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Callable

from . import catalogs, parsers
from .errors import DDError, Err
from .estimate import worst_case_usd
from .models import MainMetadata, ParsedMetadata, ParseError, RawMetadata, Usage
from .paths import PARSED
from .render import render_template
from .runtime import Runtime
from .stages import PARENT_STAGE

FAILED_PARSE_RECORD = ".parsed_metadata.failed.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _metadata(rt: Runtime, stage: str, gen_id: str) -> MainMetadata:
    meta = rt.store.read_main_metadata(stage, gen_id)
    needs_parent = stage != "draft" or meta.mode == "copy"
    if needs_parent and not meta.parent_gen_id:
        raise DDError(Err.INVALID_CONFIG, {"stage": stage, "gen_id": gen_id, "mode": meta.mode, "reason": "missing_parent"})
    if stage == "draft" and meta.mode == "copy":
        raise DDError(Err.INVALID_CONFIG, {"stage": stage, "gen_id": gen_id, "reason": "no_parent_stage"})
    return meta


ParentText = Callable[[str, str], str]


def _parent_text(rt: Runtime, stage: str, meta: MainMetadata, read: ParentText | None = None) -> str:
    parent_stage = PARENT_STAGE[stage]
    return (read or rt.store.read_parsed)(parent_stage, meta.parent_gen_id)


def _draft_values(rt: Runtime, meta: MainMetadata) -> dict[str, Any]:
    combo = catalogs.combos(rt.paths).get(meta.combo_id or "")
    if combo is None:
        raise DDError(
            Err.DATA_MISSING,
            {"reason": "combo_not_found", "stage": "draft", "gen_id": meta.gen_id, "combo_id": meta.combo_id,
             "path": str(rt.paths.combo_mappings_csv)},
        )
    known = catalogs.concepts(rt.paths)
    missing = [cid for cid in combo.concept_ids if cid not in known]
    if missing:
        raise DDError(
            Err.DATA_MISSING,
            {"reason": "concepts_missing_for_combo", "combo_id": combo.combo_id, "missing": missing,
             "path": str(rt.paths.concepts_csv)},
        )
    concepts = [
        {"name": known[cid].name, "content": known[cid].content(combo.description_level)} for cid in combo.concept_ids
    ]
    return {"concepts": concepts}


def build_prompt(rt: Runtime, stage: str, gen_id: str, parent_text: ParentText | None = None) -> str:
    """The stage input. ``parent_text(stage, gen_id)`` replaces reading the parent's parsed text
    (``daydreaming estimate`` renders prompts of children whose parent has no answer yet)."""
    meta = _metadata(rt, stage, gen_id)
    if meta.mode == "copy":
        return _parent_text(rt, stage, meta, parent_text)
    if stage == "draft":
        values = _draft_values(rt, meta)
    elif stage == "essay":
        text = _parent_text(rt, stage, meta, parent_text)
        values = {"draft_block": text, "links_block": text}
    else:
        values = {"response": _parent_text(rt, stage, meta, parent_text)}
    return render_template(rt.paths, stage, meta.template_id or "", values)


def run_prompt(rt: Runtime, stage: str, gen_id: str) -> None:
    rt.store.write_prompt(stage, gen_id, build_prompt(rt, stage, gen_id))


def _raw_metadata(rt: Runtime, stage: str, gen_id: str, meta: MainMetadata, text: str, **fields: Any) -> RawMetadata:
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
        created_at=_now(),
        **fields,
    )


def run_raw(rt: Runtime, stage: str, gen_id: str) -> None:
    meta = _metadata(rt, stage, gen_id)
    prompt = rt.store.read_prompt(stage, gen_id)
    if meta.mode == "copy":
        raw = _raw_metadata(rt, stage, gen_id, meta, prompt, finish_reason="copy", input_mode="copy",
                            duration_s=0.0, prompt_sha256=_sha256(prompt))
        rt.store.write_raw(stage, gen_id, prompt, raw)
        return
    if not meta.llm_model_id:
        raise DDError(Err.INVALID_CONFIG, {"reason": "missing_llm_model_id", "stage": stage, "gen_id": gen_id})
    result = _paid_call(rt, stage, gen_id, meta.llm_model_id, prompt)
    raw = _raw_metadata(
        rt, stage, gen_id, meta, result.text,
        provider=result.provider, model=result.model, duration_s=round(result.duration_s, 3),
        finish_reason=result.finish_reason, truncated=result.truncated, usage=Usage(**result.usage),
        cost_usd=result.cost_usd, request_id=result.request_id, attempts=result.attempts,
        settings=rt.config.stage(stage).generation(), prompt_sha256=_sha256(prompt),
    )
    rt.store.write_raw(stage, gen_id, result.text, raw)


def _paid_call(rt: Runtime, stage: str, gen_id: str, model_id: str, prompt: str):
    """One LLM call inside a budget reservation; its cost goes to the ledger before raw.txt
    is written, so a crash in between can only over-count money, never forget it."""
    from .llm import GenerationSettings

    settings = GenerationSettings(**rt.config.stage(stage).generation())
    ctx = {"stage": stage, "gen_id": gen_id, "llm_model_id": model_id}
    with rt.ledger.reservation(worst_case_usd(rt, model_id, prompt, settings.max_tokens), ctx):
        result = rt.llm.generate(model_id, prompt, settings)
        rt.ledger.record({**ctx, "provider": result.provider, "model": result.model, "cost_usd": result.cost_usd,
                          "request_id": result.request_id, "usage": result.usage, "attempts": result.attempts})
    return result


def _parser_name(rt: Runtime, stage: str, meta: MainMetadata) -> tuple[str, dict[str, Any]]:
    """Parser from the template CSV; draft/essay fall back to identity, evaluation must be listed.
    The CSV's extra columns become parser options (``score_scale`` -> ``scale_max``, parsers.scale)."""
    try:
        template = catalogs.template_for(rt.paths, stage, meta.template_id or "")
    except DDError:
        if stage == "evaluation":
            raise
        return "identity", {}
    name = parsers.effective_parser_name(template.parser)
    return name, parsers.template_options(name, template.options, template.template_id)


def _check_raw(rt: Runtime, stage: str, gen_id: str, raw_text: str, raw_meta: RawMetadata) -> None:
    if raw_meta.truncated:
        raise DDError(Err.INVALID_CONFIG, {"reason": "truncated_raw", "stage": stage, "gen_id": gen_id,
                                           "finish_reason": raw_meta.finish_reason,
                                           "fix": f"raise stages.{stage}.max_tokens and run --forcerun {stage}_raw"})
    min_lines = rt.config.stage(stage).min_lines
    if isinstance(min_lines, int) and min_lines > 0 and raw_meta.mode != "copy":
        observed = sum(1 for line in raw_text.splitlines() if line.strip())
        if observed < min_lines:
            raise DDError(Err.INVALID_CONFIG, {"reason": "min_lines_not_met", "stage": stage, "gen_id": gen_id,
                                               "observed": observed, "required": min_lines})


def _preview(raw_text: str) -> str:
    lines = [line for line in raw_text.splitlines() if line.strip()]
    return " | ".join(lines[-5:])


def run_parsed(rt: Runtime, stage: str, gen_id: str) -> None:
    meta = _metadata(rt, stage, gen_id)
    raw_text = rt.store.read_raw(stage, gen_id)
    raw_meta = rt.store.read_raw_metadata(stage, gen_id)
    parser_name, options = _parser_name(rt, stage, meta)
    record = dict(
        stage=stage, gen_id=gen_id, function=f"{stage}_parsed", parser_name=parser_name,
        input_mode=raw_meta.input_mode, raw_sha256=_sha256(raw_text),
        parsed_path=str(rt.paths.parsed_path(stage, gen_id)),
        parsed_metadata_path=str(rt.paths.parsed_metadata_path(stage, gen_id)), created_at=_now(),
    )
    try:
        _check_raw(rt, stage, gen_id, raw_text, raw_meta)
        parsed = parsers.parse(stage, parser_name, raw_text, options=options)
    except DDError as err:
        err.ctx.setdefault("stage", stage)
        err.ctx.setdefault("gen_id", gen_id)
        err.ctx.setdefault("parser_name", parser_name)
        failure = ParsedMetadata(**record, success=False, error=ParseError(
            code=err.code.name, reason=err.ctx.get("reason"), preview=_preview(raw_text), ctx=err.ctx))
        rt.store.write_json_artifact(rt.paths.generation_dir(stage, gen_id) / FAILED_PARSE_RECORD,
                                     failure.to_json_dict())
        raise
    rt.store.write_parsed(stage, gen_id, parsed, ParsedMetadata(**record, success=True, error=None))
    (rt.paths.generation_dir(stage, gen_id) / FAILED_PARSE_RECORD).unlink(missing_ok=True)


def promote_parse_failures(rt: Runtime) -> list[str]:
    """Move failure records left by failed parse jobs into ``parsed_metadata.json``.

    Snakemake deletes a failed job's declared outputs, so the job parks its record under a
    hidden name and the workflow's ``onerror`` handler calls this to put it where the
    troubleshooting guide says to look; ``parsed.txt`` stays absent, which blocks the children.
    """
    promoted = []
    for record in rt.paths.gens_root.glob(f"*/*/{FAILED_PARSE_RECORD}"):
        target = record.parent / "parsed_metadata.json"
        if not (record.parent / PARSED).exists():
            record.replace(target)
            promoted.append(str(target))
        else:
            record.unlink(missing_ok=True)
    return promoted


PHASES = {"prompt": run_prompt, "raw": run_raw, "parsed": run_parsed}
