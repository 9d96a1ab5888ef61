"""Benchmark: wall time per phase job for a full run, and `snakemake -n` time.

    python bench/pipeline.py                # 1,000 generations: full run + dry-runs
    python bench/pipeline.py --dry 20000    # also a 20,000-generation cohort: dry runs and its first compile

Uses the built-in offline provider in process (zero latency), so it measures the pipeline,
not a model. Prints figures; asserts nothing.

Each 20,000-generation figure is printed next to its floor on this machine, measured right after
it: the dry run of a bare Snakefile with the same DAG (one job per generation, same edges, two
outputs each, `touch`; with CPython's default collector and with ours), and the same number of
bare directory + atomic file creations. On a VM whose CPU and disk speed drift by a third within
minutes, the distance to the floor is the figure that says what the pipeline costs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydreaming.cohort.compile import compile_cohort  # noqa: E402
from tests.workflow.project import Project, sized_spec  # noqa: E402


def timed(label: str, project: Project, *args: str) -> float:
    started = time.perf_counter()
    result = project.snakemake(*args, timeout=7200)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{label} failed:\n{result.output[-3000:]}")
    print(f"{label:55s} {elapsed:8.2f} s")
    return elapsed


def bench_full(generations: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp), None, sized_spec(generations))
        started = time.perf_counter()
        counts = compile_cohort(project.paths, "c1")
        total = counts["draft"] + counts["essay"] + counts["evaluation"]
        print(f"cohort: {counts} -> {total} generations, compiled in {time.perf_counter() - started:.2f} s")
        timed(f"snakemake -n, {total} gens, nothing generated yet", project, "-n", "-q", "rules")
        wall = timed(f"full run, {3 * total} phase jobs, --cores 2", project)
        print(f"{'wall time per phase job':55s} {1000 * wall / (3 * total):8.1f} ms")
        timed(f"snakemake -n, {total} gens, complete store", project, "-n")
        timed(f"--forcerun evaluation_parsed ({counts['evaluation']} re-parses)", project,
              "--forcerun", "evaluation_parsed")


def bench_dry(generations: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp), None, sized_spec(generations))
        timed(f"snakemake -n, ~{generations} gens, spec not compiled yet", project, "-n", "-q", "rules")
        # The compile is file creations: timed on a quiet file system, not while the kernel
        # still writes back what the full run before it left (that alone measured 2.6 -> 10 s).
        os.sync()
        time.sleep(5)
        started = time.perf_counter()
        counts = compile_cohort(project.paths, "c1")
        total = counts["draft"] + counts["essay"] + counts["evaluation"]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'first compile, ' + str(total) + ' gens':55s} {time.perf_counter() - started:8.2f} s"
              f"  (peak RSS {rss:.0f} MB)")
        create_floor(Path(tmp) / "compile-floor", total)
        timed(f"snakemake -n, {total} gens, compiled, nothing generated yet", project, "-n", "-q", "rules")
        dag_floor(project, Path(tmp) / "dag-floor")
        fill_store(project)
        timed(f"snakemake -n, {total} gens, complete store (keep policy)", project, "-n")
        timed(f"snakemake -n -R essay_parsed, {counts['essay']} essays re-parsed", project,
              "-n", "-q", "rules", "--forcerun", "essay_parsed")


FLOOR_SNAKEFILE = """
import json

PARENTS = json.load(open("parents.json"))


def parent(stage):
    return lambda wildcards: PARENTS[stage].get(wildcards.gen_id, [])


rule all:
    input: json.load(open("targets.json"))

for stage in ("draft", "essay", "evaluation"):
    rule:
        name: f"{stage}_parsed"
        input: parent(stage)
        output: f"gens/{stage}/{{gen_id}}/parsed.txt", f"gens/{stage}/{{gen_id}}/parsed_metadata.json"
        shell: "touch {output}"
"""


TUNED = "from daydreaming import gc_tuning\ngc_tuning.tune()\n"


def dag_floor(project: Project, root: Path) -> None:
    """Snakemake's own cost for this cohort's DAG: a bare Snakefile, one job per generation, with
    CPython's default collector and with the one our Snakefile sets (``daydreaming.gc_tuning``)."""
    from daydreaming.membership import read_membership
    from daydreaming.stages import PARENT_STAGE

    members = read_membership(project.paths.membership_csv("c1"))
    parents: dict[str, dict[str, list[str]]] = {"draft": {}, "essay": {}, "evaluation": {}}
    has_child = set()
    for m in members:
        parent_stage = PARENT_STAGE[m.stage]
        if parent_stage and m.parent_gen_id:
            parents[m.stage][m.gen_id] = [f"gens/{parent_stage}/{m.parent_gen_id}/parsed.txt"]
            has_child.add((parent_stage, m.parent_gen_id))
    targets = [f"gens/{m.stage}/{m.gen_id}/parsed_metadata.json" for m in members
               if (m.stage, m.gen_id) not in has_child]
    root.mkdir()
    (root / "parents.json").write_text(json.dumps(parents))
    (root / "targets.json").write_text(json.dumps(targets))
    for label, prologue in (("default collector", ""), ("our collector", TUNED)):
        (root / "Snakefile").write_text(prologue + FLOOR_SNAKEFILE)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "-n", "-q", "rules", "--cores", "1"], cwd=root,
                       check=True, capture_output=True)
        print(f"{f'  floor: bare Snakefile, same {len(members)}-job DAG, {label}':55s} "
              f"{time.perf_counter() - started:8.2f} s")


def create_floor(root: Path, generations: int) -> None:
    """The file system's own cost for a first compile: one directory and one atomic write each."""
    root.mkdir()
    os.sync()
    time.sleep(5)
    data = b'{"gen_id": "x", "stage": "evaluation", "template_id": "t", "llm_model_id": "m"}\n'
    started = time.perf_counter()
    for i in range(generations):
        directory = root / f"g{i:06d}"
        directory.mkdir()
        tmp = directory / ".tmp-metadata.json"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, data)
        os.close(fd)
        os.replace(tmp, directory / "metadata.json")
    print(f"{'  floor: ' + str(generations) + ' bare mkdir + atomic writes':55s} "
          f"{time.perf_counter() - started:8.2f} s")


def fill_store(project: Project) -> None:
    """Complete every generation with placeholder phase files (a store as a finished run leaves it)."""
    from daydreaming import paths as P

    for stage_dir in project.paths.gens_root.iterdir():
        for gen_dir in stage_dir.iterdir():
            for name in (P.PROMPT, P.RAW, P.PARSED):
                (gen_dir / name).write_text("5.0\n")
            for name in (P.RAW_METADATA, P.PARSED_METADATA):
                (gen_dir / name).write_text("{}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--dry", type=int, nargs="*", default=[], help="extra dry-run-only cohort sizes")
    args = parser.parse_args()
    bench_full(args.generations)
    for size in args.dry:
        bench_dry(size)


if __name__ == "__main__":
    main()
