"""A throwaway project directory driven by the real ``snakemake`` CLI.

Each test gets its own working directory with a config/config.yaml, its own copy of the
repository's demo catalogs and a cohort spec; the Snakefile, rules and default profile are
the repository's own, so what runs is what users run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from daydreaming.errors import parse_rendered
from daydreaming.paths import Paths

REPO = Path(__file__).resolve().parents[2]

# The report jobs of one cohort (rules/report.smk): they follow any change to its evaluations.
REPORT_JOBS = {"cohort_scores": 1, "cohort_report": 1}

SMALL_SPEC = {
    "axes": {
        "combo_id": ["combo_v1_54b355e4d77d"],
        "draft_template": ["pair-sketch"],
        "draft_llm": ["writer"],
        "essay_template": ["short-essay", "copy-draft"],
        "essay_llm": ["writer"],
        "evaluation_template": ["novelty-score"],
        "evaluation_llm": ["judge"],
    },
    "output": {"field_order": ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm",
                               "evaluation_template", "evaluation_llm"]},
}


def sized_spec(generations: int) -> dict:
    """About ``generations`` generations of the demo catalogs (the benchmarks' and the scale tests'
    cohort): 2 combos x 2 draft templates x R1 replicates; one LLM essay each; 2 evaluations x 4."""
    per_draft = 1 + 1 + 2 * 4
    r1 = max(1, generations // (4 * per_draft))
    return {
        "axes": {
            "combo_id": ["combo_v1_54b355e4d77d", "combo_v1_5c955f3e5aa8"],
            "draft_template": ["pair-sketch", "tagged-idea"],
            "draft_llm": ["writer"],
            "draft_replicate": [str(i) for i in range(1, r1 + 1)],
            "essay_template": ["short-essay"],
            "essay_llm": ["writer"],
            "evaluation_template": ["novelty-score", "clarity-score"],
            "evaluation_llm": ["judge"],
            "evaluation_replicate": ["1", "2", "3", "4"],
        },
        "output": {"field_order": ["combo_id", "draft_template", "draft_llm", "draft_replicate", "essay_template",
                                   "essay_llm", "evaluation_template", "evaluation_llm", "evaluation_replicate"]},
    }


def suggested_command(fix: str) -> list[str]:
    """The arguments of the ``snakemake ...`` command an error's ``fix`` suggests (run as printed)."""
    import shlex

    assert "snakemake " in fix, fix
    return shlex.split(fix[fix.index("snakemake ") + len("snakemake "):])


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def errors(self) -> list[tuple[str, dict]]:
        return parse_rendered(self.output)

    def jobs(self) -> dict[str, int]:
        """The dry-run 'Job stats' table as {rule: count}."""
        counts: dict[str, int] = {}
        in_table = False
        for line in self.stdout.splitlines():
            if line.startswith("job ") and "count" in line:
                in_table = True
                continue
            if in_table:
                parts = line.split()
                if not parts or parts[0].startswith("-"):
                    continue
                if parts[0] == "total":
                    break
                counts[parts[0]] = int(parts[1])
        return counts


@dataclass
class Project:
    root: Path
    config: dict = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, base_url: str | None, spec: dict | None = None, cohort: str = "c1") -> Project:
        data = root / "data"
        shutil.copytree(REPO / "data" / "1_raw", data / "1_raw")
        shutil.copy(REPO / "data" / "combo_mappings.csv", data / "combo_mappings.csv")
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        config["data_root"] = str(data)
        config["cohorts"] = [cohort]
        if base_url:
            config["llm"]["providers"]["offline"] = {"base_url": base_url, "max_retries": 0}
        project = cls(root, config)
        project.write_spec(cohort, spec or SMALL_SPEC)
        project.save_config()
        return project

    @property
    def paths(self) -> Paths:
        return Paths(self.root / "data")

    def write_spec(self, cohort: str, spec: dict) -> None:
        spec_file = self.paths.cohort_spec(cohort)
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    def save_config(self) -> None:
        target = self.root / "config" / "config.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.config, sort_keys=False))

    def snakemake(self, *args: str, timeout: float = 300, env: dict | None = None) -> Result:
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(self.root), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, cwd=self.root)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(self.root), *args]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, **(env or {})}, cwd=self.root, start_new_session=True)

    def members(self, cohort: str = "c1") -> list[tuple[str, str]]:
        from daydreaming.membership import read_membership

        return [(m.stage, m.gen_id) for m in read_membership(self.paths.membership_csv(cohort))]

    def gen_ids(self, stage: str, cohort: str = "c1") -> list[str]:
        return [g for s, g in self.members(cohort) if s == stage]

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the store, for byte-level before/after comparisons."""
        gens = self.paths.gens_root
        return {str(p.relative_to(gens)): p.read_bytes() for p in sorted(gens.rglob("*")) if p.is_file()}

    def mtimes(self) -> dict[str, int]:
        gens = self.paths.gens_root
        return {str(p.relative_to(gens)): p.stat().st_mtime_ns for p in sorted(gens.rglob("*")) if p.is_file()}
