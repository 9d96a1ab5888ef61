"""Benchmark: LLM calls through the workflow at concurrency caps 32 / 128 / 256, against a provider
with a fixed latency, with and without ``llm.call_pool``; and Snakemake's own floor.

    python bench/llm_calls.py                        # caps 32, 128, 256 (500, 1000, 2000 calls, 1 s each)
    python bench/llm_calls.py --caps 128 --calls 1000 --modes pool
    python bench/llm_calls.py --floor-only           # the calls alone, and Snakemake alone
    python bench/llm_calls.py -- --drop-metadata     # extra snakemake options

A cohort of N drafts (one LLM call each) runs against the loopback server. The ideal wall time
is N / cap x latency; the figures are measured / ideal for the snakemake command as a whole
(start-up and DAG build included) and for the calls alone (first request in to last answer out,
as the server saw them), calls per second over that span, the most calls the server had in
flight, and the CPU time of the snakemake process per call (its jobs are threads of it: one
core, under the GIL, bounds it). Prompts are rendered first (untimed), so what is timed is N raw
jobs and N parses (``--until draft_parsed``: the cohort reports are left out).

Two floors: the calls alone (``phases.run_raw`` in as many threads as the cap, no Snakemake:
the SDK, the limits, the budget, the journal and the store, with the loopback server in the
same process), and Snakemake alone (the same number of jobs, two per call, in a Snakefile whose
jobs write one small file each, with the project's profile settings): no workflow that runs a
call as two Snakemake jobs in one process goes faster than one core allows at their sum.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydreaming.offline.server import serve  # noqa: E402
from tests.workflow.llm_helpers import drafts_cohort, provider  # noqa: E402
from tests.workflow.project import Project  # noqa: E402

CALLS_PER_CAP = {32: 500, 128: 1000, 256: 2000}
PROFILE = ["--force-use-threads", "--scheduler", "greedy", "--scheduler-subsample", "100",
           "--max-jobs-per-timespan", "1000/1s", "--rerun-triggers", "mtime", "--keep-going"]
FLOOR_SNAKEFILE = """
N = int(config["count"])
rule all:
    input: expand("p/{i}.parsed", i=range(N))
rule raw:
    input: "p/{i}.prompt"
    output: "p/{i}.raw"
    run:
        open(output[0], "w").write("answer")
rule parsed:
    input: "p/{i}.raw"
    output: "p/{i}.parsed"
    run:
        open(output[0], "w").write("parsed")
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(calls: int, latency_s: float, cap: int, cores: int, every_429: int | None, extra: list[str],
        call_pool: bool = False) -> dict[str, float]:
    """One measured run (``every_429``: every n-th request answered 429 + Retry-After: 1)."""
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
        cpu_before = _children_cpu()
        started = time.perf_counter()
        result = project.snakemake("--cores", str(cores), "--until", "draft_parsed", *extra, timeout=3600)
        wall = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
        if result.returncode != 0:
            raise SystemExit(f"run failed:\n{result.output[-3000:]}")
        log = srv.requests
        done = sum(project.paths.raw_path("draft", g).exists() for g in project.gen_ids("draft", "many"))
        span = max(r["time"] for r in log) + latency_s - min(r["time"] for r in log)
        return {"wall": wall, "span": span, "cpu": cpu, "requests": len(log), "answers": done,
                "429s": sum(1 for r in log if (r["fault"] or {}).get("status") == 429),
                "max_in_flight": srv.max_in_flight}


def call_path(calls: int, latency_s: float, cap: int) -> dict[str, float]:
    """The calls alone, no Snakemake: ``phases.run_raw`` (budget reservation, limits, the SDK,
    journal, ledger, store) in ``cap`` threads of this process; the loopback server in its own
    process, as for the workflow runs."""
    import json
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from daydreaming.phases import run_raw
    from daydreaming.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, "-m", "daydreaming.offline.server", "--port-file", str(port_file),
                                   "--latency-s", str(latency_s)], stdout=subprocess.DEVNULL)
        try:
            while not port_file.exists():
                time.sleep(0.05)
            root = f"http://127.0.0.1:{port_file.read_text().strip()}"
            project = Project.create(Path(tmp) / "p", f"{root}/v1")
            ids = drafts_cohort(project, calls)
            provider(project, max_concurrent=cap, max_retries=5)
            prepared = project.snakemake("--cores", str(cap + 8), "--until", "draft_prompt", timeout=3600)
            if prepared.returncode != 0:
                raise SystemExit(f"prompt rendering failed:\n{prepared.output[-3000:]}")
            rt = Runtime.from_config(project.config)
            cpu_before = time.process_time()
            with ThreadPoolExecutor(cap) as pool:
                list(pool.map(lambda gen_id: run_raw(rt, "draft", gen_id), ids))
            cpu = time.process_time() - cpu_before
            with urllib.request.urlopen(f"{root}/_requests") as reply:
                log = json.loads(reply.read())["requests"]
            with urllib.request.urlopen(f"{root}/_stats") as reply:
                most = json.loads(reply.read())["max_in_flight"]
        finally:
            server.terminate()
            server.wait()
        span = max(r["time"] for r in log) + latency_s - min(r["time"] for r in log)
        return {"span": span, "cpu": cpu, "max_in_flight": most}


def floor(calls: int, cores: int) -> dict[str, float]:
    """Snakemake alone: two trivial thread jobs per call, the project's profile settings."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "Snakefile").write_text(FLOOR_SNAKEFILE)
        (root / "p").mkdir()
        for i in range(calls):
            (root / "p" / f"{i}.prompt").write_text("prompt")
        cmd = [sys.executable, "-m", "snakemake", "-s", str(root / "Snakefile"), "-d", str(root), "--cores",
               str(cores), "--workflow-profile", "none", *PROFILE, "--config", f"count={calls}"]  # --config: last
        cpu_before = _children_cpu()
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"floor run failed:\n{proc.stderr[-3000:]}")
        return {"wall": wall, "cpu": _children_cpu() - cpu_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caps", type=int, nargs="+", default=sorted(CALLS_PER_CAP))
    parser.add_argument("--calls", type=int, default=None, help="default: 500 / 1000 / 2000 for caps 32 / 128 / 256")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--modes", nargs="+", choices=("jobs", "pool"), default=["jobs", "pool"],
                        help="jobs: calls in raw jobs; pool: llm.call_pool")
    parser.add_argument("--floor-only", action="store_true")
    parser.add_argument("snakemake_args", nargs="*", help="more snakemake options, after --")
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(f"load average at start: {load} (2-core machines shared with others: compare ratios in one sitting)")
    for cap in args.caps:
        calls = args.calls or CALLS_PER_CAP.get(cap, 1000)
        ideal = calls / cap * args.latency
        if not args.floor_only:
            for mode in args.modes:
                r = run(calls, args.latency, cap, cap + 8, None, args.snakemake_args, call_pool=mode == "pool")
                print(f"cap {cap:>3} {calls:>5} calls {mode:4}  wall {r['wall']:6.1f} s ({r['wall'] / ideal:4.2f}x)  "
                      f"calls only {r['span']:6.1f} s ({r['span'] / ideal:4.2f}x, {calls / r['span']:5.1f} calls/s)  "
                      f"max in flight {r['max_in_flight']:>3}  snakemake CPU {1000 * r['cpu'] / calls:5.1f} ms/call"
                      f"  (ideal {ideal:.1f} s, {r['answers']} answers)")
        p = call_path(calls, args.latency, cap)
        print(f"cap {cap:>3} {calls:>5} calls alone (no Snakemake, one process)  calls only {p['span']:6.1f} s "
              f"({p['span'] / ideal:4.2f}x, {calls / p['span']:5.1f} calls/s)  max in flight {p['max_in_flight']:>3}  "
              f"client CPU {1000 * p['cpu'] / calls:5.1f} ms/call")
        f = floor(calls, cap + 8)
        print(f"cap {cap:>3} {calls:>5} calls floor  Snakemake alone, 2 jobs per call: {1000 * f['cpu'] / calls:5.1f} "
              f"ms CPU/call -> at most {calls / f['cpu']:5.1f} calls/s on one core (wall {f['wall']:.1f} s)")


if __name__ == "__main__":
    main()
