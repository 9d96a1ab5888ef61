"""Helpers for the LLM-call workflow tests: provider settings, many-draft cohorts, the run summary."""

from __future__ import annotations

import json

from .project import Project, Result

SUMMARY_PREFIX = "daydreaming failures: "
COMBOS = ("combo_v1_54b355e4d77d", "combo_v1_5c955f3e5aa8")


def provider(project: Project, **fields: object) -> None:
    """Update the test provider (``offline``, pointed at the loopback server) and save."""
    project.config["llm"]["providers"]["offline"].update(fields)
    project.save_config()


def drafts_cohort(project: Project, count: int, cohort: str = "many") -> list[str]:
    """A ready-made membership of ``count`` LLM drafts (no essays), made the only cohort."""
    path = project.paths.membership_csv(cohort)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = [f"d_{cohort}_{i:03d}" for i in range(count)]
    rows = ["stage,gen_id,origin_cohort_id,combo_id,template_id,llm_model_id,replicate,mode"]
    rows += [f"draft,{g},{cohort},{COMBOS[i % 2]},pair-sketch,writer,{i + 1},llm" for i, g in enumerate(ids)]
    path.write_text("\n".join(rows) + "\n")
    project.config["cohorts"] = [cohort]
    project.save_config()
    return ids


def prices(project: Project, prompt_usd_per_mtok: float, completion_usd_per_mtok: float) -> None:
    """Give every catalog model the same price columns."""
    csv = project.paths.data_root / "1_raw" / "llm_models.csv"
    lines = csv.read_text().splitlines()
    out = [lines[0] + ",prompt_usd_per_mtok,completion_usd_per_mtok"]
    out += [f"{line},{prompt_usd_per_mtok},{completion_usd_per_mtok}" for line in lines[1:] if line.strip()]
    csv.write_text("\n".join(out) + "\n")


def summary(result: Result) -> dict:
    """The end-of-run failure summary (its JSON line), or {} when nothing failed."""
    lines = [line for line in result.output.splitlines() if line.startswith(SUMMARY_PREFIX)]
    return json.loads(lines[-1][len(SUMMARY_PREFIX):]) if lines else {}


def groups(result: Result) -> dict[tuple[str, str, str, str], dict]:
    """Summary groups keyed by (stage, phase, code, reason)."""
    return {(g["stage"], g["phase"], g["code"], g["reason"]): g for g in summary(result).get("groups", [])}


def raw_meta(project: Project, stage: str, gen_id: str) -> dict:
    return json.loads(project.paths.raw_metadata_path(stage, gen_id).read_text())


def ledger_lines(project: Project) -> list[dict]:
    path = project.paths.data_root / ".ledger" / "spend.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
