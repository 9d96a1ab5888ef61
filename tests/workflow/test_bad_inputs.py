"""The bad-input corpus (tests/data/bad_inputs/): every case gets its coded error, and the run
that meets it changes no file of the data root and buys nothing.

Baselines are built once per module with the offline provider and copied per case (a copy
keeps mtimes, so Snakemake sees the same state); each case then points the provider at the
loopback server, whose request log proves that nothing was bought.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from daydreaming.cohort.compile import compile_cohort
from daydreaming.errors import DDError
from daydreaming.store import GensDataLayer

from .project import Project

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())
TEXT_SUFFIX = ".in"


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["snakemake", "compile", "read"]
    reader: str | None = None
    stage: str | None = None
    gen: str | None = None


class Case(BaseModel):
    """``expected.json`` of a case (see the corpus README)."""

    model_config = ConfigDict(extra="forbid")

    about: str
    baseline: Literal["fresh", "compiled", "complete"]
    entry: Entry
    code: str
    reason: str
    remove: list[str] = []
    cohorts: list[str] = ["c1"]
    ctx: dict[str, Any] = {}
    ctx_contains: dict[str, str] = {}
    ctx_keys: list[str] = []


def test_the_corpus_covers_the_issue() -> None:
    reasons = {Case.model_validate_json((CORPUS / c / "expected.json").read_text()).reason for c in CASES}
    assert {"empty_prompt", "invalid_utf8", "invalid_json", "duplicate_row", "conflicting_rows",
            "conflicting_cohort_rows", "concepts_missing_for_combo", "concept_description_missing"} <= reasons


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Project]:
    made = {}
    for name in ("fresh", "compiled", "complete"):
        project = Project.create(tmp_path_factory.mktemp(name), None)
        if name == "compiled":
            compile_cohort(project.paths, "c1")
        elif name == "complete":
            result = project.snakemake()
            assert result.returncode == 0, result.output
        made[name] = project
    return made


def clone(base: Project, root: Path, base_url: str, cohorts: list[str]) -> Project:
    """The baseline's data root and config under ``root``, its provider on the loopback server."""
    shutil.copytree(base.root / "data", root / "data", symlinks=True)  # copy2: mtimes kept
    config = copy.deepcopy(base.config)
    config["data_root"] = str(root / "data")
    config["cohorts"] = cohorts
    config["llm"]["providers"]["offline"] = {"base_url": base_url, "max_retries": 0}
    project = Project(root, config)
    project.save_config()
    return project


def placeholders(project: Project) -> dict[str, str]:
    values = {"data": str(project.paths.data_root)}
    if project.paths.membership_csv("c1").exists():
        for stage in ("draft", "essay", "evaluation"):
            values[stage] = project.gen_ids(stage, "c1")[0]
    return values


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    return value


def apply(case_dir: Path, case: Case, project: Project, values: dict[str, str]) -> None:
    data = project.paths.data_root
    for name in case.remove:
        target = data / fill(name, values)
        assert target.is_file(), f"the case removes {target}, which the baseline lacks"
        target.unlink()
    source = case_dir / "data"
    for path in sorted(source.rglob("*")) if source.is_dir() else []:
        if not path.is_file():
            continue
        target = data / fill(str(path.relative_to(source)), values)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.name.endswith(TEXT_SUFFIX):
            target = target.with_name(target.name.removesuffix(TEXT_SUFFIX))
            target.write_text(fill(path.read_text(encoding="utf-8"), values), encoding="utf-8")
        else:
            target.write_bytes(path.read_bytes())


def checksums(project: Project) -> dict[str, bytes]:
    """Every file of the data root but run state (dot directories), job logs and reports."""
    data = project.paths.data_root
    logs = project.paths.logs_dir
    files = {}
    for path in sorted(data.rglob("*")):
        rel = path.relative_to(data)
        if path.is_relative_to(logs):
            continue
        if path.is_file() and not rel.parts[0].startswith(".") and "reports" not in rel.parts:
            files[str(rel)] = path.read_bytes()
    return files


def run_entry(case: Case, project: Project, values: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(code, ctx) of the error the entry point meets."""
    entry = case.entry
    if entry.kind == "snakemake":
        result = project.snakemake()
        assert result.returncode != 0, result.output
        found = [(code, ctx) for code, ctx in result.errors() if ctx.get("reason") == case.reason]
        assert found, result.output
        return found[0]
    with pytest.raises(DDError) as info:
        if entry.kind == "compile":
            compile_cohort(project.paths, "c1")
        else:
            getattr(GensDataLayer(project.paths), entry.reader or "")(entry.stage, fill(entry.gen, values))
    return info.value.code.name, info.value.ctx


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gets_its_coded_error_and_changes_nothing(name: str, baselines, tmp_path: Path, llm_server) -> None:
    case_dir = CORPUS / name
    case = Case.model_validate_json((case_dir / "expected.json").read_text(encoding="utf-8"))
    project = clone(baselines[case.baseline], tmp_path, llm_server.base_url, case.cohorts)
    values = placeholders(project)
    apply(case_dir, case, project, values)
    before = checksums(project)

    code, ctx = run_entry(case, project, values)

    assert (code, ctx.get("reason")) == (case.code, case.reason), ctx
    assert {k: ctx.get(k) for k in case.ctx} == fill(case.ctx, values)
    for key, text in fill(case.ctx_contains, values).items():
        assert text in str(ctx.get(key)), (key, ctx.get(key))
    assert set(case.ctx_keys) <= set(ctx)
    assert "UNKNOWN" not in json.dumps(ctx)
    assert checksums(project) == before
    assert llm_server.request_count == 0
