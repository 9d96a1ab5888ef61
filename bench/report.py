"""Benchmark: every report of a 20,000-evaluation cohort, on a synthetic store.

    python bench/report.py                      # build a store in a temp dir, then time the reports
    python bench/report.py --store /tmp/big     # keep (or reuse) the store there
    python bench/report.py --evaluations 5000   # another size

Each step runs in its own process as the workflow's scripts run it (imports included):
``scan_cohort`` (the store scan: rule cohort_scores) and ``compute_reports`` (everything else:
rule cohort_report), then the end-of-run staleness check in this process. Prints wall time and
peak RSS per step. Target (issue 11): all reports <= 15 s, peak memory <= 500 MB. The store is
written with plain writes (no fsync) through ``Paths``: its content is what the pipeline writes
(real metadata models, answers with usage and cost, judges with planted effects, replicates
that vary, essays of varying length, a few failed parses).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from daydreaming.membership import MEMBERSHIP_COLUMNS  # noqa: E402
from daydreaming.models import MainMetadata, ParsedMetadata, ParseError, RawMetadata, Usage  # noqa: E402
from daydreaming.paths import Paths  # noqa: E402

COHORT = "bench"
REPO = Path(__file__).resolve().parents[1]
TEMPLATES_CSV = ("template_id,template_name,description,parser,generator,score_scale\n"
                 "novelty,N,,in_last_line,llm,\nclarity,C,,in_last_line,llm,\n")
JUDGES, EVAL_TEMPLATES = ("judge_a", "judge_b"), ("novelty", "clarity")
DRAFT_TEMPLATES, DRAFT_MODELS, ESSAY_TEMPLATES = ("sketch", "tagged"), ("writer", "writer2"), ("short", "copy")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _json(path: Path, model) -> None:
    _write(path, json.dumps(model.to_json_dict(), indent=2) + "\n")


def _generation(paths: Paths, meta: MainMetadata, answer: str, parsed: str | None, rng) -> None:
    stage, gen_id = meta.stage, meta.gen_id
    _json(paths.metadata_path(stage, gen_id), meta)
    prompt = f"prompt of {gen_id}\n" * 20
    _write(paths.prompt_path(stage, gen_id), prompt)
    raw = RawMetadata(function=f"{stage}_raw", mode=meta.mode, stage=stage, gen_id=gen_id,
                      llm_model_id=meta.llm_model_id, provider="offline", model=f"offline/{meta.llm_model_id}",
                      usage=Usage(prompt_tokens=len(prompt) // 4, completion_tokens=len(answer) // 4),
                      cost_usd=round(float(rng.uniform(1e-4, 1e-3)), 6), finish_reason="stop", truncated=False,
                      raw_length=len(answer), raw_lines=answer.count("\n"), raw_path=str(paths.raw_path(stage, gen_id)),
                      raw_metadata_path=str(paths.raw_metadata_path(stage, gen_id)))
    _json(paths.raw_metadata_path(stage, gen_id), raw)
    _write(paths.raw_path(stage, gen_id), answer)
    error = None if parsed is not None else ParseError(code="PARSER_FAILURE", reason="no_verdict", preview="...")
    record = ParsedMetadata(stage=stage, gen_id=gen_id, function=f"{stage}_parsed", parser_name="p",
                            success=parsed is not None, error=error, parsed_path=str(paths.parsed_path(stage, gen_id)),
                            parsed_metadata_path=str(paths.parsed_metadata_path(stage, gen_id)))
    _json(paths.parsed_metadata_path(stage, gen_id), record)
    if parsed is not None:
        _write(paths.parsed_path(stage, gen_id), parsed)


def build_store(paths: Paths, evaluations: int) -> None:
    rng = np.random.default_rng(0)
    replicates = 5
    per_combo = len(DRAFT_TEMPLATES) * len(DRAFT_MODELS) * len(ESSAY_TEMPLATES) * len(JUDGES) * len(EVAL_TEMPLATES)
    combos = max(1, evaluations // (per_combo * replicates))
    _write(paths.templates_csv("evaluation"), TEMPLATES_CSV)
    rows = []

    def add(meta: MainMetadata, answer: str, parsed: str | None) -> None:
        _generation(paths, meta, answer, parsed, rng)
        rows.append({"stage": meta.stage, "gen_id": meta.gen_id, "origin_cohort_id": COHORT,
                     "parent_gen_id": meta.parent_gen_id or "", "combo_id": meta.combo_id or "",
                     "template_id": meta.template_id, "llm_model_id": meta.llm_model_id,
                     "replicate": str(meta.replicate), "mode": meta.mode})

    words = "the a novel idea links tide pools to compound interest through feedback and memory".split()
    for c in range(combos):
        combo_shift = rng.normal(0, 0.8)
        for dt, draft_template in enumerate(DRAFT_TEMPLATES):
            for draft_model in DRAFT_MODELS:
                draft = f"d_{c}_{dt}_{draft_model}"
                add(MainMetadata(stage="draft", gen_id=draft, origin_cohort_id=COHORT, template_id=draft_template,
                                 combo_id=f"combo_{c}", llm_model_id=draft_model), "draft\n" * 30, "draft text\n" * 20)
                for et, essay_template in enumerate(ESSAY_TEMPLATES):
                    essay = f"e_{draft}_{et}"
                    length = int(rng.integers(200, 3000))
                    text = " ".join(rng.choice(words, length // 5)) + "\n"
                    add(MainMetadata(stage="essay", gen_id=essay, origin_cohort_id=COHORT, template_id=essay_template,
                                     parent_gen_id=draft, llm_model_id="writer",
                                     mode="copy" if essay_template == "copy" else "llm"), text, text)
                    quality = 5 + combo_shift + 0.5 * et + 0.2 * np.log(length / 1000)
                    for judge in JUDGES:
                        for template in EVAL_TEMPLATES:
                            for r in range(1, replicates + 1):
                                gen_id = f"v_{essay}_{judge}_{template}_{r}"
                                score = int(np.clip(round(quality + rng.normal(0, 1.2)), 0, 9))
                                answer = "REASONING: " + " ".join(rng.choice(words, 60)) + f"\nSCORE: {score}\n"
                                parsed = None if rng.random() < 0.003 else f"{float(score)}\n"
                                add(MainMetadata(stage="evaluation", gen_id=gen_id, origin_cohort_id=COHORT,
                                                 template_id=template, parent_gen_id=essay, llm_model_id=judge,
                                                 replicate=r), answer, parsed)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(MEMBERSHIP_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write(paths.membership_csv(COHORT), buffer.getvalue())


STEP = """
import json, sys
{imports}
from daydreaming.runtime import Runtime
config = json.loads(sys.argv[1])
outputs = report_paths(Runtime.from_config(config).paths, "{cohort}")
{call}
"""


def timed_step(label: str, config: dict, call: str, imports: str) -> tuple[float, float]:
    """Run one step in a fresh interpreter (as a script: job, importing what its script does)
    and report its wall and peak RSS."""
    code = STEP.format(cohort=COHORT, call=call, imports=imports)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(config)], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{label} failed (status {status})")
    peak_mb = usage.ru_maxrss / 1024
    print(f"{label:42s} {wall:7.2f} s   peak RSS {peak_mb:6.0f} MB")
    return wall, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=20000)
    parser.add_argument("--store", default=None, help="data root to build (or reuse when it has the cohort)")
    args = parser.parse_args()
    keep = tempfile.TemporaryDirectory() if args.store is None else None
    root = Path(args.store or keep.name) / "data"
    paths = Paths(root)
    if not paths.membership_csv(COHORT).exists():
        started = time.perf_counter()
        build_store(paths, args.evaluations)
        print(f"synthetic store written in {time.perf_counter() - started:.1f} s ({root})")
    config = {"data_root": str(root), "cohorts": [COHORT]}
    members = sum(1 for _ in open(paths.membership_csv(COHORT))) - 1
    print(f"cohort {COHORT}: {members} generations")
    scan = timed_step("scan (rule cohort_scores)", config, "scan_cohort(config, '" + COHORT + "', outputs)",
                      "from daydreaming.report.scan import report_paths, scan_cohort")
    compute = timed_step("compute (rule cohort_report)", config,
                         "print(compute_reports(config, '" + COHORT + "', outputs, outputs), file=sys.stderr)",
                         "from daydreaming.report.build import compute_reports\n"
                         "from daydreaming.report.scan import report_paths")
    from daydreaming.report.freshness import stale_reason

    started = time.perf_counter()
    reason = stale_reason(paths, COHORT)
    check = time.perf_counter() - started
    print(f"{'end-of-run staleness check':42s} {check:7.2f} s   (stale: {reason})")
    print(f"{'all reports':42s} {scan[0] + compute[0]:7.2f} s   peak RSS {max(scan[1], compute[1]):6.0f} MB"
          f"   (target <= 15 s, <= 500 MB)")
    if keep is not None:
        keep.cleanup()


if __name__ == "__main__":
    main()
