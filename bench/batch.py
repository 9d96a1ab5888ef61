"""Benchmark: a 1,000-generation cohort bought one request at a time vs through the Batch API.

    python bench/batch.py                                 # 1,000 generations; batches take 30 s
    python bench/batch.py --generations 300 --batch-latency 10

Both runs use the loopback server with the same prices (``$1 / $4`` per million prompt /
completion tokens, batch discount 0.5). Sync: a plain ``snakemake`` at cap 32, 1 s per call.
Batch: ``daydreaming batch run`` (it looks at live batches every second), the server taking
``--batch-latency`` seconds per batch (simulated: a real provider takes minutes to 24 h, so the
wall time of batch mode is the number of stage waves times that latency, plus the steps).
Printed: calls, USD spent (the ledger), wall time, batches and requests the provider saw.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydreaming.offline.server import serve  # noqa: E402
from tests.workflow.batch_helpers import batch_command, batch_mode  # noqa: E402
from tests.workflow.llm_helpers import ledger_lines, prices, provider  # noqa: E402
from tests.workflow.project import REPO, Project, sized_spec  # noqa: E402


def _spent(project: Project) -> float:
    return sum(float(line.get("cost_usd") or 0.0) for line in ledger_lines(project))


def run(generations: int, mode: str, batch_latency_s: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, serve(latency_s=1.0 if mode == "sync" else 0.0) as srv:
        project = Project.create(Path(tmp), srv.base_url, sized_spec(generations))
        prices(project, 1.0, 4.0)
        provider(project, max_concurrent=32, max_retries=5)
        if mode == "batch":
            srv.batches.latency_s = batch_latency_s
            batch_mode(project, poll_s=1.0)
            cmd = batch_command(project, "run", "--", "-s", str(REPO / "Snakefile"), "-d", str(project.root),
                                "--cores", "40")
        else:
            cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(project.root),
                   "--cores", "40"]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=project.root, capture_output=True, text=True, timeout=7200)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
        answers = [line for line in ledger_lines(project) if line.get("kind", "answer") == "answer"]
        return {"wall": wall, "usd": _spent(project), "calls": len(answers), "chat_requests": sum(
            1 for r in srv.requests if str(r.get("path", "")).endswith("/chat/completions")),
            "batches": len({line["batch_id"] for line in srv.batches.lines}), "batch_requests": len(srv.batches.lines),
            "members": len(project.members("c1"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--batch-latency", type=float, default=30.0)
    args = parser.parse_args()
    results = {mode: run(args.generations, mode, args.batch_latency) for mode in ("sync", "batch")}
    sync = results["sync"]
    print(f"cohort of {sync['members']} generations, {sync['calls']} LLM calls; $1 / $4 per Mtok, batch discount 0.5")
    for mode, r in results.items():
        print(f"{mode:5}  USD {r['usd']:8.4f}  wall {r['wall']:7.1f} s  chat requests {r['chat_requests']:>5}  "
              f"batches {r['batches']:>3} ({r['batch_requests']} requests)")
    print(
        f"batch / sync: cost {results['batch']['usd'] / sync['usd']:.3f},"
        f" wall {results['batch']['wall'] / sync['wall']:.2f}"
        f" (batch latency {args.batch_latency:g} s per batch, simulated)"
    )


if __name__ == "__main__":
    main()
