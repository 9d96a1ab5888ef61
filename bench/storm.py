"""Benchmark: a 429 storm in the middle of a run, with and without adaptive concurrency.

    python bench/storm.py                      # 600 calls, cap 32, 0.5 s each, a 6 s storm after 4 s
    python bench/storm.py --calls 300 --storm-s 3

The loopback server answers every request with 429 + ``Retry-After: 0.5`` for ``--storm-s``
seconds, starting ``--after-s`` seconds into the calls. Printed per mode (adaptive concurrency
on / off): the 429s the provider had to serve, the fewest calls in flight during the storm, the
time from the end of the storm until calls in flight are back to 90 % of the cap (as the server
saw them arrive), and the run's wall time. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daydreaming.offline.faults import Fault  # noqa: E402
from daydreaming.offline.server import serve  # noqa: E402
from tests.workflow.llm_helpers import drafts_cohort, provider  # noqa: E402
from tests.workflow.project import Project  # noqa: E402


def run(calls: int, cap: int, latency_s: float, after_s: float, storm_s: float, adaptive: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, serve(latency_s=latency_s) as srv:
        project = Project.create(Path(tmp), srv.base_url)
        drafts_cohort(project, calls)
        provider(project, max_concurrent=cap, max_retries=50, backoff_base_s=0.25, backoff_max_s=2.0,
                 adaptive_concurrency=adaptive)
        prepared = project.snakemake("--cores", str(cap + 8), "--until", "draft_prompt", timeout=3600)
        if prepared.returncode != 0:
            raise SystemExit(prepared.output[-3000:])
        window: dict[str, float] = {}

        def storm() -> None:
            while not srv.requests:
                time.sleep(0.01)
            time.sleep(after_s)
            window["start"] = time.time()
            srv.faults.add(Fault(status=429, retry_after=0.5, match=""))
            time.sleep(storm_s)
            srv.faults.clear()
            window["end"] = time.time()

        thread = threading.Thread(target=storm, daemon=True)
        thread.start()
        started = time.perf_counter()
        result = project.snakemake("--cores", str(cap + 8), "--until", "draft_parsed", timeout=3600)
        wall = time.perf_counter() - started
        thread.join()
        if result.returncode != 0:
            raise SystemExit(result.output[-3000:])
        log = srv.requests
        refused = [r for r in log if (r["fault"] or {}).get("status") == 429]
        during = [r["in_flight"] for r in log if window["start"] + 1.0 <= r["time"] <= window["end"]]
        after = [r for r in log if r["time"] > window["end"]]
        back = next((r["time"] for r in after if r["in_flight"] >= 0.9 * cap), None)
        return {"refused": len(refused), "min_during": min(during) if during else 0,
                "max_during": max(during) if during else 0,
                "recover_s": (back - window["end"]) if back is not None else float("nan"), "wall": wall,
                "requests": len(log)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--cap", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--after-s", type=float, default=4.0)
    parser.add_argument("--storm-s", type=float, default=6.0)
    parser.add_argument("--modes", nargs="+", choices=("on", "off"), default=["on", "off"])
    args = parser.parse_args()
    print(f"{args.calls} calls, cap {args.cap}, {args.latency:g} s each; every request refused (429, Retry-After 0.5) "
          f"for {args.storm_s:g} s after {args.after_s:g} s")
    for adaptive in (mode == "on" for mode in args.modes):
        r = run(args.calls, args.cap, args.latency, args.after_s, args.storm_s, adaptive)
        print(f"adaptive concurrency {'on ' if adaptive else 'off'}: {r['refused']:>4} x 429 served, in flight during "
              f"the storm {r['min_during']}..{r['max_during']}, back to 90 % of the cap {r['recover_s']:5.1f} s after "
              f"it ended, wall {r['wall']:6.1f} s, {r['requests']} requests")


if __name__ == "__main__":
    main()
