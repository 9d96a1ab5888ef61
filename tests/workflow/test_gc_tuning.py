"""Planning a big cohort is not spent re-walking Snakemake's DAG: the Snakefile sets the process's
garbage collector (``daydreaming.gc_tuning``) before the DAG is built, and from then on a dry run
of 2,000 new generations makes no full collection (CPython's defaults made 7 here, and 13 over a
20,000-generation DAG: 7 s of 34 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .project import REPO, Project, sized_spec

# Runs snakemake's CLI in this interpreter and prints, at exit, the collections it made per
# generation, under the thresholds set by the Snakefile ("tuned") and under any other ("default").
COUNTING = """
import atexit, gc, json, runpy, sys
from daydreaming.gc_tuning import THRESHOLDS
made = {"tuned": [0, 0, 0], "default": [0, 0, 0]}
def count(phase, info):
    if phase == "stop":
        made["tuned" if gc.get_threshold() == THRESHOLDS else "default"][info["generation"]] += 1
gc.callbacks.append(count)
atexit.register(lambda: print("collections " + json.dumps(made), file=sys.stderr))
sys.argv = ["snakemake", *sys.argv[1:]]
runpy.run_module("snakemake", run_name="__main__")
"""


def test_a_dry_run_of_2000_new_generations_makes_no_full_collection(tmp_path: Path) -> None:
    project = Project.create(tmp_path, None, sized_spec(2000))
    proc = subprocess.run([sys.executable, "-c", COUNTING, "-s", str(REPO / "Snakefile"), "-d", str(project.root),
                           "-n", "-q", "rules"], capture_output=True, text=True, timeout=600, cwd=project.root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [line.split() for line in proc.stdout.splitlines() if line.split()[:1] == ["evaluation_parsed"]]
    assert jobs[0] == ["evaluation_parsed", "1600"]  # the whole cohort was planned
    made = json.loads(proc.stderr.rsplit("collections ", 1)[1].splitlines()[0])
    assert made["tuned"][0] > 0, made  # the Snakefile set the collector up before planning
    assert made["tuned"][2] == 0, made
