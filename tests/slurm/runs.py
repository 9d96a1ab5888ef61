"""Driving the workflow through ``profiles/slurm`` and reading what happened.

Shared by ``tests/slurm`` and ``bench/slurm.py``: a snakemake run in its own process group
(stopped with SIGINT, which Snakemake turns into ``scancel`` of its jobs; SIGTERM may be
ignored), the SLURM jobs it submitted, the phase jobs it ran, and a store snapshot that two
runs of the same cohort can be compared on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.workflow.project import REPO, Project

from .cluster import SlurmCluster

PROFILE = REPO / "profiles" / "slurm"
# Tests and the benchmark poll job status every 2 s (the profile: 10 s, fine for LLM calls of
# seconds to minutes; a loopback offline answer takes milliseconds).
FAST_STATUS = ("--slurm-init-seconds-before-status-checks", "2")

SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)")
PHASE_JOB = re.compile(r"^\s*(?:local)?rule ((?:draft|essay|evaluation)_(?:prompt|raw|parsed)):", re.M)
# Fields that legitimately differ between two runs of the same cohort.
VOLATILE_KEYS = frozenset({"created_at", "duration_s", "request_id"})


@dataclass
class Finished:
    returncode: int
    output: str
    wall_s: float
    interrupted: bool = False

    @property
    def slurm_jobs(self) -> list[str]:
        """SLURM job ids this run submitted, in order."""
        return [m.group(1) for m in SUBMITTED.finditer(self.output)]

    @property
    def slurm_logs(self) -> list[Path]:
        return [Path(m.group(2)) for m in SUBMITTED.finditer(self.output)]

    @property
    def phase_jobs(self) -> dict[str, int]:
        """Phase jobs the run scheduled ({rule: count}), from the job listings it prints."""
        counts: dict[str, int] = {}
        for rule in PHASE_JOB.findall(self.output):
            counts[rule] = counts.get(rule, 0) + 1
        return counts

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


class SnakemakeRun:
    """``snakemake`` in its own session, output collected by a thread (the pipe never fills)."""

    def __init__(self, project: Project, *args: str, env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.proc: subprocess.Popen = project.popen(*args, env=env)
        self._chunks: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._chunks.append(line)

    @property
    def output(self) -> str:
        return "".join(self._chunks)

    def running(self) -> bool:
        return self.proc.poll() is None

    def interrupt(self, grace_s: float = 60.0) -> None:
        """SIGINT (Snakemake cancels its SLURM jobs and exits); SIGKILL only if it hangs."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def wait(self, timeout_s: float) -> Finished:
        interrupted = False
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            interrupted = True
            self.interrupt()
        self._reader.join(timeout=10)
        return Finished(self.proc.returncode, self.output, time.perf_counter() - self.started, interrupted)


def start_on_slurm(project: Project, cluster: SlurmCluster, *args: str) -> SnakemakeRun:
    return SnakemakeRun(project, "--profile", str(PROFILE), *FAST_STATUS, *args, env=cluster.env)


def run_on_slurm(project: Project, cluster: SlurmCluster, *args: str, timeout_s: float = 420) -> Finished:
    return start_on_slurm(project, cluster, *args).wait(timeout_s)


def run_locally(project: Project, *args: str, timeout_s: float = 300) -> Finished:
    return SnakemakeRun(project, *args).wait(timeout_s)


def comparable_store(project: Project) -> dict[str, object]:
    """Every file of the store by relative path: texts as bytes, JSON without run-specific
    fields (timestamps, durations, request ids, absolute paths)."""
    gens = project.paths.gens_root
    out: dict[str, object] = {}
    for path in sorted(p for p in gens.rglob("*") if p.is_file()):
        rel = str(path.relative_to(gens))
        if path.suffix == ".json":
            out[rel] = _strip(json.loads(path.read_text()))
        else:
            out[rel] = path.read_bytes()
    return out


def _strip(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE_KEYS and not k.endswith("_path")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def store_violations(project: Project) -> list[str]:
    """Phase files that look complete but are not: the store's invariants, checked on disk."""
    problems = []
    gens = project.paths.gens_root
    for gen_dir in sorted(p for p in gens.glob("*/*") if p.is_dir()):
        names = {p.name for p in gen_dir.iterdir()}
        rel = gen_dir.relative_to(gens)
        if "raw.txt" in names and "raw_metadata.json" not in names:
            problems.append(f"{rel}: raw.txt without raw_metadata.json")
        if ("parsed.txt" in names) != ("parsed_metadata.json" in names):
            problems.append(f"{rel}: parsed.txt and parsed_metadata.json do not travel together")
        problems += [f"{rel}: leftover temp file {n}" for n in sorted(names) if n.startswith(".tmp-")]
        for name in sorted(n for n in names if n.endswith(".json")):
            try:
                json.loads((gen_dir / name).read_text())
            except ValueError:
                problems.append(f"{rel}/{name}: not valid JSON")
    return problems
