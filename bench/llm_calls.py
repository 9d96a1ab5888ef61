"""Benchmark: LLM calls through the workflow at a concurrency cap, against a slow provider.

    python bench/llm_calls.py                       # 500 calls, 1 s each, cap 32; then 10 % 429s
    python bench/llm_calls.py --calls 100 --cap 8   # smaller
    python bench/llm_calls.py -- --drop-metadata    # extra snakemake options

A cohort of N drafts (one LLM call each) runs against the loopback server with a fixed latency.
The ideal wall time is N / cap x latency; the figure is measured / ideal, for the snakemake
command as a whole (start-up and DAG build included) and for the calls alone (first request in
to last answer out, as the server saw them). Prompts are rendered first (untimed), so what is
timed is N raw jobs and N parses (``--until draft_parsed``: the cohort reports are left out).
The second pass answers every 10th request with 429 + ``Retry-After: 1``, which the client
waits out before retrying. Also printed: the CPU time of the snakemake process (its jobs are
threads of it, so one core, under the GIL, bounds it). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workflow.llm_helpers import drafts_cohort, provider  # noqa: E402
from tests.workflow.project import Project  # noqa: E402

from daydreaming.offline.server import serve  # noqa: E402


def run(calls: int, latency_s: float, cap: int, cores: int, every_429: int | None,
        extra: list[str], call_pool: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, serve(latency_s=latency_s) as srv:
        project = Project.create(Path(tmp), srv.base_url)
        drafts_cohort(project, calls)
        project.config["llm"]["call_pool"] = call_pool
        provider(project, max_concurrent=cap, max_retries=5)
        prepared = project.snakemake("--cores", str(cores), "--until", "draft_prompt", timeout=3600)
        if prepared.returncode != 0:
            raise SystemExit(f"prompt rendering failed:\n{prepared.output[-3000:]}")
        if every_429:
            for i in range(calls + calls // every_429 + 10):
                srv.add_fault(status=429, retry_after=1) if i % every_429 == 0 else srv.add_fault()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        # the cohort's report jobs (rules/report.smk) are not LLM calls: left out of the timing
        result = project.snakemake("--cores", str(cores), "--until", "draft_parsed", *extra, timeout=3600)
        wall = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(f"run failed:\n{result.output[-3000:]}")
        log = srv.requests
        done = sum(project.paths.raw_path("draft", g).exists() for g in project.gen_ids("draft", "many"))
        span = max(r["time"] for r in log) + latency_s - min(r["time"] for r in log)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        return {"wall": wall, "span": span, "cpu": cpu, "requests": len(log), "answers": done,
                "429s": sum(1 for r in log if (r["fault"] or {}).get("status") == 429),
                "max_in_flight": srv.max_in_flight}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--cap", type=int, default=32)
    parser.add_argument("--cores", type=int, default=40, help="job threads (>= cap; default: %(default)s)")
    parser.add_argument("snakemake_args", nargs="*", help="more snakemake options, after --")
    args = parser.parse_args()
    ideal = args.calls / args.cap * args.latency
    print(f"{args.calls} calls, {args.latency:g} s each, cap {args.cap}, --cores {args.cores} "
          f"{' '.join(args.snakemake_args)}: ideal {ideal:.2f} s")
    for label, every in (("no faults", None), ("10% 429 + Retry-After: 1", 10)):
        r = run(args.calls, args.latency, args.cap, args.cores, every, args.snakemake_args)
        print(f"{label:26s} wall {r['wall']:7.2f} s  ratio {r['wall'] / ideal:5.3f}   calls only {r['span']:7.2f} s  "
              f"ratio {r['span'] / ideal:5.3f}   requests {r['requests']} ({r['429s']} x 429), "
              f"answers {r['answers']}, max in flight {r['max_in_flight']}, snakemake CPU {r['cpu']:.1f} s")


if __name__ == "__main__":
    main()
