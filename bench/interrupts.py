"""Interrupts vs money: answers bought twice and calls lost per interrupt, and the cost of the
durability step (the fsync'd journal entry every answer gets before anything else).

    python bench/interrupts.py [--interrupts 20] [--kinds SIGINT SIGTERM SIGKILL]

For each kind, runs of a drafts-only cohort against the loopback server (1 s latency, 4 calls in
flight) are interrupted at random moments, then finished with a plain run; the server's own
request log says which answers were requested again after one had reached the store ("bought
twice": the target is 0) and how many calls were lost in flight (their answer had not arrived).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daydreaming import journal  # noqa: E402
from daydreaming.offline.server import serve  # noqa: E402
from daydreaming.paths import Paths  # noqa: E402
from tests.workflow.llm_helpers import drafts_cohort, ledger_lines, provider  # noqa: E402
from tests.workflow.money import bought_twice, interrupt  # noqa: E402
from tests.workflow.project import Project  # noqa: E402

PER_COHORT = 6  # interrupts per cohort of 40 drafts before it is finished and a new one starts


def one_kind(sig: int, interrupts: int, rng: random.Random) -> dict[str, float]:
    totals = {"interrupts": 0, "generations": 0, "requests": 0, "lost": 0, "bought_twice": 0}
    with serve() as server, tempfile.TemporaryDirectory() as tmp:
        n = 0
        while totals["interrupts"] < interrupts:
            server.reset()
            project = Project.create(Path(tmp) / f"p{n}", server.base_url)
            n += 1
            provider(project, max_concurrent=4)
            ids = drafts_cohort(project, 40)
            server.latency_s = 1.0
            for _ in range(min(PER_COHORT, interrupts - totals["interrupts"])):
                interrupt(project, server, sig, rng.randint(1, 6), rng.uniform(0.0, 1.5))
                totals["interrupts"] += 1
            server.latency_s = 0.0
            assert project.snakemake().returncode == 0
            gens = [("draft", g) for g in ids]
            twice = bought_twice(project, server, gens)  # counted, not asserted: this bench's figure
            totals["bought_twice"] += len(twice)
            totals["generations"] += len(ids)
            totals["requests"] += server.request_count
            totals["lost"] += sum(1 for x in ledger_lines(project) if x.get("kind") == "lost_in_flight")
    return totals


def durability_ms(samples: int = 500) -> float:
    """Mean time of one journal entry (a 3 kB answer): write, fsync, rename."""
    with tempfile.TemporaryDirectory(dir=REPO) as tmp:  # the disk the data root is on, not tmpfs
        paths = Paths(Path(tmp))
        entry = journal.JournalEntry(stage="draft", gen_id="d_bench", prompt_sha256="0" * 64, llm_model_id="m",
                                     settings={"max_tokens": 2048}, text="x" * 3000, raw_metadata={"gen_id": "d"})
        started = time.perf_counter()
        for i in range(samples):
            journal.record(paths, entry.model_copy(update={"gen_id": f"d_{i}"}))
        return (time.perf_counter() - started) / samples * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interrupts", type=int, default=20, help="interrupts per kind (default 20)")
    parser.add_argument("--kinds", nargs="+", default=["SIGINT", "SIGTERM", "SIGKILL"])
    args = parser.parse_args()
    print(f"durability step (journal entry, fsync'd): {durability_ms():.2f} ms per answer")
    for kind in args.kinds:
        started = time.monotonic()
        t = one_kind(getattr(signal, kind), args.interrupts, random.Random(kind))
        per100 = 100.0 / max(t["interrupts"], 1)
        print(f"{kind:8} interrupts {t['interrupts']:4}  generations {t['generations']:5}  requests {t['requests']:5}"
              f"  answers bought twice per 100 interrupts {t['bought_twice'] * per100:5.1f}"
              f"  calls lost in flight per interrupt {t['lost'] / max(t['interrupts'], 1):4.2f}"
              f"  ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
