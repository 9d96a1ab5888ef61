"""Real stores for the status and check tests, built by the package's own phase code.

A project (tests/workflow/project.py: the demo catalogs, a cohort spec) is compiled and every
generation runs its prompt, raw and parsed phases through ``jobs.phase`` with the built-in
offline provider, in process: the files are those a run writes, without a Snakemake start-up.
States a run leaves on failure are made the same way (a phase run under a config that fails).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from daydreaming import jobs
from daydreaming import paths as P
from daydreaming.cohort.compile import compile_cohort
from daydreaming.errors import DDError
from daydreaming.membership import cohort_members, read_membership
from daydreaming.phases import promote_parse_failures
from daydreaming.runtime import Runtime
from daydreaming.stages import PARENT_STAGE
from tests.workflow.project import Project

PARENT_SHA_KEY = "parent_parsed_sha256"
PRICES = {"writer": (1.0, 2.0), "judge": (0.5, 4.0)}  # USD per million prompt / completion tokens

REPO = Path(__file__).resolve().parents[2]


def demo_spec() -> dict:
    """The repository's demo cohort (drafts, LLM and copied essays, evaluations on two templates)."""
    return yaml.safe_load((REPO / "data" / "cohorts" / "demo" / "spec" / "config.yaml").read_text())


def priced(project: Project) -> None:
    """Give the demo models prices, so pending calls have a USD estimate."""
    path = project.paths.llm_models_csv
    lines = path.read_text().splitlines()
    out = [lines[0] + ",prompt_usd_per_mtok,completion_usd_per_mtok"]
    for line in lines[1:]:
        model = line.split(",")[0]
        prompt, completion = PRICES.get(model, ("", ""))
        out.append(f"{line},{prompt},{completion}")
    path.write_text("\n".join(out) + "\n")


def create(root: Path, spec: dict | None = None, cohort: str = "c1") -> Project:
    project = Project.create(root, None, spec or demo_spec(), cohort=cohort)
    priced(project)
    compile_cohort(project.paths, cohort)
    return project


def members(project: Project, cohort: str = "c1") -> list[tuple[str, str]]:
    """Parents first."""
    return [(m.stage, m.gen_id) for m in cohort_members(project.paths, [cohort])]


def run_phase(config: dict[str, Any], stage: str, phase: str, gen_id: str) -> bool:
    """One phase job as a run does it (failure record included); False when it failed."""
    try:
        jobs.phase(config, f"{stage}_{phase}", gen_id)
        return True
    except DDError:
        return False


def run_all(project: Project, cohort: str = "c1") -> None:
    """Every missing phase of every member, parents first, then record parent hashes."""
    for stage, gen_id in members(project, cohort):
        have = set(project.paths.generation_dir(stage, gen_id).iterdir())
        names = {p.name for p in have}
        for phase, output in (("prompt", P.PROMPT), ("raw", P.RAW), ("parsed", P.PARSED_METADATA)):
            if output not in names:
                run_phase(project.config, stage, phase, gen_id)
    promote_parse_failures(Runtime.from_config(project.config))
    record_parent_hashes(project)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_parent_hashes(project: Project) -> None:
    """Write ``parent_parsed_sha256`` into children's raw_metadata.json where it is absent (what
    the raw phase records; stores written before it existed lack it)."""
    paths = project.paths
    for cohort_dir in paths.cohorts_dir.iterdir():
        for m in read_membership(paths.membership_csv(cohort_dir.name)):
            parent_stage = PARENT_STAGE[m.stage]
            raw_meta = paths.raw_metadata_path(m.stage, m.gen_id)
            parent_parsed = paths.parsed_path(parent_stage, m.parent_gen_id) if parent_stage else None
            if parent_parsed is None or not raw_meta.exists() or not parent_parsed.exists():
                continue
            data = json.loads(raw_meta.read_text())
            if PARENT_SHA_KEY not in data:
                data[PARENT_SHA_KEY] = sha256(parent_parsed)
                raw_meta.write_text(json.dumps(data, indent=2) + "\n")


def edit_json(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data, indent=2) + "\n")


def variant(config: dict[str, Any], **stage_settings: dict[str, Any]) -> dict[str, Any]:
    """The config with some stage settings changed (a run under other settings)."""
    out = copy.deepcopy(config)
    for stage, settings in stage_settings.items():
        out["stages"][stage].update(settings)
    return out


def dead_provider(config: dict[str, Any]) -> dict[str, Any]:
    """The config with the offline provider behind a closed port: calls fail, nothing is paid."""
    out = copy.deepcopy(config)
    out["llm"]["providers"]["offline"] = {"base_url": "http://127.0.0.1:9/v1", "max_retries": 0, "timeout_s": 5}
    return out


def clone(project: Project, root: Path) -> Project:
    """A copy of a project (its whole data root) whose config points at the copy."""
    shutil.copytree(project.root / "data", root / "data")
    config = copy.deepcopy(project.config)
    config["data_root"] = str(root / "data")
    clone = Project(root, config)
    clone.save_config()
    return clone


def checksums(root: Path) -> dict[str, str]:
    """Every file under ``root`` by relative path (what must not change)."""
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
