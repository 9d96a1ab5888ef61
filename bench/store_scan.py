"""Benchmark: ``daydreaming status`` and ``daydreaming check`` on a synthetic 20,000-generation store.

    python bench/store_scan.py                  # 20,000 generations
    python bench/store_scan.py --generations 2000 --repeat 1

The store is compiled from a cohort spec (the real compile) and filled with what a finished
run leaves (prompt, answer, parse and their records, valid for their pydantic models; children
record their parent's parsed.txt hash; one ledger line per call). Each command runs as its own
process, as a user runs it; wall time and the process's peak RSS are printed (the best of
``--repeat`` runs, files in the page cache). Then a few per cent of the store is put into the
states status and check report (pending, failed parses, stale children, temp files) and both
are timed again. Prints figures; asserts nothing but that check finds a clean store clean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daydreaming import paths as P  # noqa: E402
from daydreaming.cohort.compile import compile_cohort  # noqa: E402
from daydreaming.fsio import TMP_PREFIX, json_text  # noqa: E402
from daydreaming.membership import cohort_members  # noqa: E402
from daydreaming.stages import PARENT_STAGE  # noqa: E402
from tests.workflow.project import Project, sized_spec  # noqa: E402

ANSWER = "\n".join(f"Line {i} of an answer long enough to look like one, about tides and time." for i in range(20))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fill(project: Project) -> int:
    """Write every phase file of every member, parents first; returns the number of LLM calls."""
    paths = project.paths
    parsed_sha: dict[tuple[str, str], str] = {}
    ledger = []
    for m in cohort_members(paths, ["c1"]):
        stage, gen_id = m.stage, m.gen_id
        prompt = f"Prompt of {gen_id}\n{ANSWER}\n"
        raw = f"{ANSWER}\nSCORE: 7\n" if stage == "evaluation" else f"{ANSWER}\n{gen_id}\n"
        parsed = "7.0" if stage == "evaluation" else raw
        request_id = "req-" + _sha(gen_id)[:24]
        raw_meta = {
            "function": f"{stage}_raw", "mode": "llm", "stage": stage, "gen_id": gen_id, "llm_model_id": "writer",
            "provider": "offline", "model": "offline/writer", "duration_s": 1.0, "finish_reason": "stop",
            "truncated": False, "usage": {"prompt_tokens": 300, "completion_tokens": 400, "total_tokens": 700},
            "cost_usd": 0.001, "request_id": request_id, "attempts": 1, "settings": {"max_tokens": 2048},
            "input_mode": "prompt", "prompt_sha256": _sha(prompt), "raw_length": len(raw),
            "raw_lines": len(raw.splitlines()), "raw_path": str(paths.raw_path(stage, gen_id)),
            "raw_metadata_path": str(paths.raw_metadata_path(stage, gen_id)), "created_at": "2026-01-01T00:00:00+00:00",
        }
        parent_stage = PARENT_STAGE[stage]
        if parent_stage:
            raw_meta["parent_parsed_sha256"] = parsed_sha[(parent_stage, m.parent_gen_id)]
        parsed_meta = {
            "stage": stage, "gen_id": gen_id, "function": f"{stage}_parsed", "parser_name": "identity",
            "success": True, "error": None, "input_mode": "prompt", "raw_sha256": _sha(raw),
            "parsed_path": str(paths.parsed_path(stage, gen_id)),
            "parsed_metadata_path": str(paths.parsed_metadata_path(stage, gen_id)),
            "created_at": "2026-01-01T00:00:00+00:00",
        }
        for name, text in ((P.PROMPT, prompt), (P.RAW_METADATA, json_text(raw_meta)), (P.RAW, raw),
                           (P.PARSED, parsed), (P.PARSED_METADATA, json_text(parsed_meta))):
            paths.gen_file(stage, gen_id, name).write_text(text)
        parsed_sha[(stage, gen_id)] = _sha(parsed)
        ledger.append(json.dumps({"at": 1.0, "stage": stage, "gen_id": gen_id, "request_id": request_id,
                                  "cost_usd": 0.001}))
    paths.ledger_dir.mkdir(parents=True, exist_ok=True)
    (paths.ledger_dir / "spend.jsonl").write_text("\n".join(ledger) + "\n")
    return len(ledger)


def damage(project: Project, every: int = 50) -> dict[str, int]:
    """Put every ``every``-th generation of each kind into a state status and check report."""
    paths = project.paths
    members = cohort_members(paths, ["c1"])
    counts = {"pending": 0, "parse_failed": 0, "stale": 0, "temp_files": 0}
    for i, m in enumerate(members):
        stage, gen_id = m.stage, m.gen_id
        if stage == "evaluation" and i % every == 0:
            for name in (P.RAW, P.RAW_METADATA, P.PARSED, P.PARSED_METADATA):
                paths.gen_file(stage, gen_id, name).unlink()
            counts["pending"] += 1
        elif stage == "evaluation" and i % every == 1:
            paths.parsed_path(stage, gen_id).unlink()
            record = json.loads(paths.parsed_metadata_path(stage, gen_id).read_text())
            record.update(success=False, error={"code": "PARSER_FAILURE", "reason": "no_score", "preview": "..."})
            paths.parsed_metadata_path(stage, gen_id).write_text(json_text(record))
            counts["parse_failed"] += 1
        elif stage == "essay" and i % every == 2:
            record = json.loads(paths.raw_metadata_path(stage, gen_id).read_text())
            record["parent_parsed_sha256"] = "0" * 64
            paths.raw_metadata_path(stage, gen_id).write_text(json_text(record))
            counts["stale"] += 1
        elif stage == "draft" and i % every == 3:
            stale_temp = paths.generation_dir(stage, gen_id) / f"{TMP_PREFIX}raw.txt.1.1.1"
            stale_temp.write_text("half")
            counts["temp_files"] += 1
    return counts


def timed(project: Project, *args: str) -> tuple[float, float, float, int]:
    """Run ``daydreaming <args>`` in its own process: (wall s, CPU s, peak RSS MB, exit code).

    CPU time (user + system) is the figure to compare on a shared machine: wall time also
    counts the time other processes had the cores."""
    cmd = [sys.executable, "-m", "daydreaming.cli", *args, "--configfile", str(project.root / "config" / "config.yaml")]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=project.root)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def report(label: str, project: Project, repeat: int, *args: str) -> int:
    runs = [timed(project, *args) for _ in range(repeat)]
    wall, cpu, rss, code = min(runs)
    print(f"{label:50s} wall {wall:5.2f} s  cpu {cpu:5.2f} s  peak RSS {rss:4.0f} MB  exit {code}  "
          f"(walls: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp), None, sized_spec(args.generations))
        started = time.perf_counter()
        counts = compile_cohort(project.paths, "c1")
        total = counts["draft"] + counts["essay"] + counts["evaluation"]
        calls = fill(project)
        print(f"store: {total} generations ({counts}), {calls} ledger lines, built in "
              f"{time.perf_counter() - started:.1f} s")
        report("status, complete store", project, args.repeat, "status")
        code = report("check, complete store", project, args.repeat, "check")
        if code != 0:
            raise SystemExit("check found problems in a clean synthetic store: the bench's store is wrong")
        damaged = damage(project)
        print(f"damaged: {damaged}")
        report("status, with pending calls (estimate included)", project, args.repeat, "status")
        report("status --stale", project, args.repeat, "status", "--stale")
        report("check, with findings", project, args.repeat, "check")


if __name__ == "__main__":
    main()
