"""Benchmark: the demo cohort locally vs on a real single-node SLURM cluster (profiles/slurm).

    python bench/slurm.py                 # needs root + slurmctld slurmd slurm-client munge
    python bench/slurm.py --fast-status   # first status check after 2 s instead of the profile's 10 s
    python bench/slurm.py --spec FILE     # another cohort spec (e.g. one judge: 44 generations)

Starts the loopback cluster of tests/slurm/cluster.py (stopped at the end), runs the demo
cohort spec (data/cohorts/demo/spec) on two fresh data roots with the built-in offline
provider, and prints the wall times, how many SLURM jobs were submitted for how many phase
jobs, per group, and whether the two stores are identical. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.slurm.cluster import SlurmCluster  # noqa: E402
from tests.slurm.runs import PROFILE, SnakemakeRun, comparable_store, run_locally  # noqa: E402
from tests.workflow.project import Project  # noqa: E402


def group_of(log: Path) -> str:
    part = next((p for p in log.parts if p.startswith(("group_", "rule_"))), log.parent.name)
    return part


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast-status", action="store_true", help="--slurm-init-seconds-before-status-checks 2")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--spec", type=Path, default=REPO / "data" / "cohorts" / "demo" / "spec" / "config.yaml",
                        help="the cohort spec to run (default: the demo cohort's)")
    args = parser.parse_args()
    spec = yaml.safe_load(args.spec.read_text())
    extra = ("--slurm-init-seconds-before-status-checks", "2") if args.fast_status else ()

    with tempfile.TemporaryDirectory() as tmp, SlurmCluster() as cluster:
        print(f"cluster: single node, {os.cpu_count()} CPUs, up in {cluster.startup_s:.1f} s")
        local = Project.create(Path(tmp) / "local", None, spec, cohort="demo")
        on_slurm = Project.create(Path(tmp) / "slurm", None, spec, cohort="demo")

        loc = run_locally(local, timeout_s=args.timeout)
        if loc.returncode != 0:
            raise SystemExit("local run failed:\n" + loc.tail())
        run = SnakemakeRun(on_slurm, "--profile", str(PROFILE), *extra, env=cluster.env).wait(args.timeout)
        if run.returncode != 0:
            raise SystemExit("SLURM run failed:\n" + run.tail())

        phase_jobs = sum(run.phase_jobs.values())
        slurm_jobs = len(run.slurm_jobs)
        print(f"{'local  (profiles/default)':40s} {loc.wall_s:8.1f} s  {sum(loc.phase_jobs.values())} phase jobs")
        print(f"{'SLURM  (--profile profiles/slurm' + (' --fast-status)' if extra else ')'):40s} "
              f"{run.wall_s:8.1f} s  {phase_jobs} phase jobs in {slurm_jobs} SLURM jobs "
              f"= {phase_jobs / max(slurm_jobs, 1):.1f} phase jobs per SLURM job")
        per_group = Counter(group_of(p) for p in run.slurm_logs)
        for group, count in sorted(per_group.items()):
            print(f"    {group:55s} {count} SLURM job(s)")
        same = comparable_store(local) == comparable_store(on_slurm)
        print(f"stores identical (timestamps, durations, request ids, paths aside): {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
