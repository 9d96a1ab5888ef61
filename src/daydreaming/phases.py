"""The three phases of a generation: prompt -> raw -> parsed.

Each function does one phase for one generation and is what a workflow job calls. Reuse and
force are decided by the workflow (a job runs only when its outputs are missing or the user
forced its rule), so these functions always produce; they never delete a paid answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import answers, catalogs, parsers
from .answers import raw_record
from .errors import DDError, Err
from .fsio import sha256_text
from .models import MainMetadata, ParsedMetadata, ParseError, RawMetadata
from .paths import PARSED
from .render import render_template
from .repairs import regenerate_command
from .runtime import Runtime
from .stages import PARENT_STAGE

FAILED_PARSE_RECORD = ".parsed_metadata.failed.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _metadata(rt: Runtime, stage: str, gen_id: str) -> MainMetadata:
    meta = rt.store.read_main_metadata(stage, gen_id)
    needs_parent = stage != "draft" or meta.mode == "copy"
    if needs_parent and not meta.parent_gen_id:
        raise DDError(
            Err.INVALID_CONFIG, {"stage": stage, "gen_id": gen_id, "mode": meta.mode, "reason": "missing_parent"}
        )
    if stage == "draft" and meta.mode == "copy":
        raise DDError(Err.INVALID_CONFIG, {"stage": stage, "gen_id": gen_id, "reason": "no_parent_stage"})
    return meta


ParentText = Callable[[str, str], str]


def _parent_text(rt: Runtime, stage: str, meta: MainMetadata, read: ParentText | None = None) -> str:
    parent_stage = PARENT_STAGE[stage]
    if parent_stage is None:
        raise DDError(Err.INVALID_CONFIG, {"stage": stage, "gen_id": meta.gen_id, "reason": "no_parent_stage"})
    if not meta.parent_gen_id:
        raise DDError(Err.INVALID_CONFIG, {"stage": stage, "gen_id": meta.gen_id, "mode": meta.mode,
                                           "reason": "missing_parent"})
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


def build_prompt(rt: Runtime, stage: str, gen_id: str, parent_text: ParentText | None = None,
                 meta: MainMetadata | None = None) -> str:
    """The stage input. ``parent_text(stage, gen_id)`` replaces reading the parent's parsed text
    (``daydreaming estimate`` renders prompts of children whose parent has no answer yet), and
    ``meta`` its ``metadata.json`` (a cohort not compiled yet, designed in memory)."""
    return _render(rt, meta or _metadata(rt, stage, gen_id), parent_text)


def _render(rt: Runtime, meta: MainMetadata, parent_text: ParentText | None = None) -> str:
    stage = meta.stage
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
    meta = _metadata(rt, stage, gen_id)
    prompt = _render(rt, meta)
    _require_prompt(rt, stage, gen_id, meta, prompt)
    rt.store.write_prompt(stage, gen_id, prompt)


def run_raw(rt: Runtime, stage: str, gen_id: str) -> None:
    meta = _metadata(rt, stage, gen_id)
    prompt = rt.store.read_prompt(stage, gen_id)
    _require_prompt(rt, stage, gen_id, meta, prompt)
    parent_sha = parent_digest(rt, meta, prompt)
    if meta.mode == "copy":
        raw = raw_record(rt, meta, prompt, finish_reason="copy", input_mode="copy", duration_s=0.0,
                         prompt_sha256=sha256_text(prompt), parent_parsed_sha256=parent_sha)
        rt.store.write_raw(stage, gen_id, prompt, raw)
        return
    if not meta.llm_model_id:
        raise DDError(Err.INVALID_CONFIG, {"reason": "missing_llm_model_id", "stage": stage, "gen_id": gen_id})
    answers.obtain(rt, meta, answers.Request(stage, gen_id, meta.llm_model_id, prompt,
                                             rt.config.stage(stage).generation(), parent_sha))


def parent_digest(rt: Runtime, meta: MainMetadata, prompt: str) -> str | None:
    """sha256 of the parent text this prompt was rendered from, recorded with the answer so that
    ``daydreaming check`` can tell a child whose parent changed since (a stale child). Only when
    rendering the parent's current parsed.txt gives this very prompt; otherwise unknown (None)."""
    parent_stage = PARENT_STAGE[meta.stage]
    if parent_stage is None or not meta.parent_gen_id:
        return None
    try:
        parent = rt.store.read_parsed(parent_stage, meta.parent_gen_id)
        rendered = _render(rt, meta, lambda _stage, _gen_id: parent)
    except DDError:
        return None
    return sha256_text(parent) if rendered == prompt else None


def _require_prompt(rt: Runtime, stage: str, gen_id: str, meta: MainMetadata, prompt: str) -> None:
    """An empty prompt is never sent (it would be paid for) nor copied (children would get nothing)."""
    if not prompt.strip():
        source = (f"the parsed.txt of {PARENT_STAGE[stage]} {meta.parent_gen_id}" if meta.mode == "copy"
                  else str(rt.paths.template_file(stage, meta.template_id or "")))
        raise DDError(Err.INVALID_CONFIG, {
            "reason": "empty_prompt", "stage": stage, "gen_id": gen_id, "mode": meta.mode,
            "template_id": meta.template_id, "path": str(rt.paths.prompt_path(stage, gen_id)), "source": source,
            "fix": f"fix {source}, then run: {regenerate_command(rt.paths, stage, [gen_id], 'prompt')}"})


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
                                           "fix": f"raise stages.{stage}.max_tokens, then run: "
                                                  f"{regenerate_command(rt.paths, stage, [gen_id])}"})
    min_lines = rt.config.stage(stage).min_lines
    if isinstance(min_lines, int) and min_lines > 0 and raw_meta.mode != "copy":
        observed = sum(1 for line in raw_text.splitlines() if line.strip())
        if observed < min_lines:
            raise DDError(
                Err.INVALID_CONFIG,
                {
                    "reason": "min_lines_not_met",
                    "stage": stage,
                    "gen_id": gen_id,
                    "observed": observed,
                    "required": min_lines,
                    "fix": f"lower stages.{stage}.min_lines and re-parse "
                    f"({regenerate_command(rt.paths, stage, [gen_id], 'parsed')}), "
                    f"or buy a new answer ({regenerate_command(rt.paths, stage, [gen_id])})",
                },
            )


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
        input_mode=raw_meta.input_mode, raw_sha256=sha256_text(raw_text),
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
