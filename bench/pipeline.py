"""Benchmark: wall time per phase job for a full run, and `snakemake -n` time.

    python bench/pipeline.py                # 1,000 generations: full run + dry-runs
    python bench/pipeline.py --dry 20000    # also a 20,000-generation cohort: dry runs and its first compile

Uses the built-in offline provider in process (zero latency), so it measures the pipeline,
not a model. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydreaming.cohort.compile import compile_cohort  # noqa: E402
from tests.workflow.project import Project  # noqa: E402


def spec_for(generations: int) -> dict:
    """2 combos x 2 draft templates x R1 replicates; one LLM essay each; 2 evaluations x 4."""
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
        project = Project.create(Path(tmp), None, spec_for(generations))
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
        project = Project.create(Path(tmp), None, spec_for(generations))
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
        timed(f"snakemake -n, {total} gens, compiled, nothing generated yet", project, "-n", "-q", "rules")
        fill_store(project)
        timed(f"snakemake -n, {total} gens, complete store (keep policy)", project, "-n")
        timed(f"snakemake -n -R essay_parsed, {counts['essay']} essays re-parsed", project,
              "-n", "-q", "rules", "--forcerun", "essay_parsed")


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
