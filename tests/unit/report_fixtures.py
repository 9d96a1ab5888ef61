"""Report test fixtures: a hand-made cohort store with known judge scores, and an independent
Krippendorff's alpha.

The cohort: 5 essays (e5's own parse failed, so its evaluation never ran) from drafts of two
draft models, 3 judges (j1-j3) and two evaluation templates: ``t`` (in_last_line, the earlier
system's 0-9) and ``u`` (final_verdict declared ``score_scale`` 0-5). Replicate counts differ per
(essay, judge, template) and some outcomes are errors: a missing parsed.txt, a failed parse, a
truncated answer, text that is no number, a call that failed (a failure record, no answer).
Answers carry usage (prompt and completion tokens: the lengths of prompt and answer) and a cost
for the priced models (``PRICES``). Every file is written through Paths/GensDataLayer (and
failures.record_failure), as the pipeline writes it.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from daydreaming.errors import DDError, Err
from daydreaming.failures import record_failure
from daydreaming.membership import MEMBERSHIP_COLUMNS
from daydreaming.models import MainMetadata, ParsedMetadata, ParseError, RawMetadata, Usage
from daydreaming.paths import Paths
from daydreaming.store import GensDataLayer

COHORT = "syn"
FAILED, TRUNCATED, MISSING, CALL_FAILED = "<failed>", "<truncated>", "<missing>", "<call failed>"

DRAFTS = {"d1": ("combo_a", "sketch", "w1"), "d2": ("combo_b", "sketch", "w2")}
PRICES = {"w1": 0.002, "m1": 0.001, "j1": 0.0005}  # USD per completion character; others unpriced
ESSAYS = {  # essay: (draft, generation template, generation model)
    "e1": ("d1", "g1", "m1"), "e2": ("d1", "g2", "m2"), "e3": ("d2", "g1", "m2"), "e4": ("d2", "g2", "m1"),
    "e5": ("d2", "g1", "m1"),
}
FAILED_ESSAY = "e5"
# (essay, judge, template): one outcome per replicate; numbers are scores, strings raw parsed.txt
OUTCOMES = {
    ("e1", "j1", "t"): [7, 8, 9], ("e1", "j2", "t"): [6], ("e1", "j3", "t"): [5, 5],
    ("e2", "j1", "t"): [3, 4], ("e2", "j2", "t"): [MISSING], ("e2", "j3", "t"): [2, FAILED],
    ("e3", "j1", "t"): [5], ("e3", "j2", "t"): [4, 6], ("e3", "j3", "t"): ["abc\n"],
    ("e4", "j1", "t"): [6], ("e4", "j2", "t"): [7, TRUNCATED], ("e4", "j3", "t"): [4],
    ("e1", "j1", "u"): [5, 4.5], ("e2", "j1", "u"): [2.5], ("e3", "j1", "u"): [5],
    ("e5", "j1", "t"): [MISSING], ("e4", "j3", "u"): [CALL_FAILED],
}
TEMPLATES_CSV = (
    "template_id,template_name,description,parser,generator,score_scale\n"
    "t,T,0-9 scale,in_last_line,llm,\n"
    "u,U,five points,final_verdict,llm,0-5\n"
)
SCALES = {"t": 9.0, "u": 5.0}


def eval_id(essay: str, judge: str, template: str, replicate: int) -> str:
    return f"v_{essay}_{judge}_{template}_{replicate}"


def prompt_of(gen_id: str) -> str:
    return f"prompt of {gen_id}\n"


def answer_of(gen_id: str, outcome) -> str:
    return f"answer of {gen_id}\nSCORE: {outcome}\n"


def cost_of(model: str | None, answer: str) -> float | None:
    return PRICES[model] * len(answer) if model in PRICES else None


def _raw(paths: Paths, meta: MainMetadata, text: str, truncated: bool = False) -> RawMetadata:
    stage, gen_id = meta.stage, meta.gen_id
    return RawMetadata(function=f"{stage}_raw", mode="llm", stage=stage, gen_id=gen_id, truncated=truncated,
                       llm_model_id=meta.llm_model_id, provider="offline", model=f"offline/{meta.llm_model_id}",
                       usage=Usage(prompt_tokens=len(prompt_of(gen_id)), completion_tokens=len(text),
                                   total_tokens=len(prompt_of(gen_id)) + len(text)),
                       cost_usd=cost_of(meta.llm_model_id, text),
                       finish_reason="length" if truncated else "stop", raw_length=len(text),
                       raw_lines=len(text.splitlines()), raw_path=str(paths.raw_path(stage, gen_id)),
                       raw_metadata_path=str(paths.raw_metadata_path(stage, gen_id)))


def _parsed(paths: Paths, stage: str, gen_id: str, error: ParseError | None = None) -> ParsedMetadata:
    return ParsedMetadata(stage=stage, gen_id=gen_id, function=f"{stage}_parsed", parser_name="p",
                          success=error is None, error=error, parsed_path=str(paths.parsed_path(stage, gen_id)),
                          parsed_metadata_path=str(paths.parsed_metadata_path(stage, gen_id)))


def write_generation(store: GensDataLayer, meta: MainMetadata, outcome) -> None:
    """All six files of a finished generation, or the state ``outcome`` names."""
    paths, stage, gen_id = store.paths, meta.stage, meta.gen_id
    store.create_main_metadata(meta)
    if outcome == MISSING:
        return
    store.write_prompt(stage, gen_id, prompt_of(gen_id))
    if outcome == CALL_FAILED:
        error = DDError(Err.IO_ERROR, {"reason": "provider_unavailable", "status": 503})
        record_failure(paths, stage, "raw", gen_id, error, None)
        return
    text = answer_of(gen_id, outcome)
    store.write_raw(stage, gen_id, text, _raw(paths, meta, text, truncated=outcome == TRUNCATED))
    if outcome in (FAILED, TRUNCATED):
        code, reason = ("INVALID_CONFIG", "truncated_raw") if outcome == TRUNCATED else ("PARSER_FAILURE", "no_verdict")
        record = _parsed(paths, stage, gen_id, ParseError(code=code, reason=reason, preview="last | lines"))
        store.write_json_artifact(paths.parsed_metadata_path(stage, gen_id), record.to_json_dict())
        return
    parsed = outcome if isinstance(outcome, str) else f"{float(outcome)}\n"
    store.write_parsed(stage, gen_id, parsed, _parsed(paths, stage, gen_id))


def build(paths: Paths) -> list[dict]:
    """Write the cohort; returns its membership rows."""
    store = GensDataLayer(paths)
    paths.templates_csv("evaluation").parent.mkdir(parents=True, exist_ok=True)
    paths.templates_csv("evaluation").write_text(TEMPLATES_CSV, encoding="utf-8")
    for template in SCALES:
        paths.template_file("evaluation", template).parent.mkdir(parents=True, exist_ok=True)
        paths.template_file("evaluation", template).write_text("{{ response }}\nSCORE?\n", encoding="utf-8")
    rows = []

    def add(meta: MainMetadata, outcome) -> None:
        write_generation(store, meta, outcome)
        rows.append({"stage": meta.stage, "gen_id": meta.gen_id, "origin_cohort_id": COHORT,
                     "parent_gen_id": meta.parent_gen_id or "", "combo_id": meta.combo_id or "",
                     "template_id": meta.template_id, "llm_model_id": meta.llm_model_id,
                     "replicate": str(meta.replicate), "mode": "llm"})

    for draft, (combo, template, model) in DRAFTS.items():
        add(MainMetadata(stage="draft", gen_id=draft, origin_cohort_id=COHORT, template_id=template,
                         combo_id=combo, llm_model_id=model), "draft text")
    for essay, (draft, template, model) in ESSAYS.items():
        add(MainMetadata(stage="essay", gen_id=essay, origin_cohort_id=COHORT, template_id=template,
                         parent_gen_id=draft, llm_model_id=model), FAILED if essay == FAILED_ESSAY else "essay text")
    for (essay, judge, template), outcomes in OUTCOMES.items():
        for replicate, outcome in enumerate(outcomes, start=1):
            add(MainMetadata(stage="evaluation", gen_id=eval_id(essay, judge, template, replicate),
                             origin_cohort_id=COHORT, template_id=template, parent_gen_id=essay,
                             llm_model_id=judge, replicate=replicate), outcome)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(MEMBERSHIP_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    paths.membership_csv(COHORT).parent.mkdir(parents=True, exist_ok=True)
    paths.membership_csv(COHORT).write_text(buffer.getvalue(), encoding="utf-8")
    return rows


def valid_outcomes() -> dict[tuple[str, str, str], list[float]]:
    """The scores a correct aggregation must find, per (essay, judge, template)."""
    found = {key: [float(v) for v in values if isinstance(v, (int, float))] for key, values in OUTCOMES.items()}
    return {key: values for key, values in found.items() if values}


def coincidence_alpha(units: list[list[float]], level: str = "interval") -> float:
    """Krippendorff's alpha by the coincidence matrix (o_ck = sum over units of the value pairs
    (c, k) / (m_u - 1)), written out with loops: an independent route to the number the report
    computes. ``level``: interval (delta = (c - k)^2) or ordinal (delta = (sum of n_g for g from
    c to k, minus (n_c + n_k) / 2)^2, Krippendorff 2011)."""
    units = [[v for v in unit if not math.isnan(v)] for unit in units]
    units = [unit for unit in units if len(unit) >= 2]
    values = sorted({v for unit in units for v in unit})
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in units:
        for i, a in enumerate(unit):
            for j, b in enumerate(unit):
                if i != j:
                    o[index[a], index[b]] += 1 / (len(unit) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros_like(o)
    for c in range(len(values)):
        for k in range(len(values)):
            if level == "interval":
                delta[c, k] = (values[c] - values[k]) ** 2
            else:
                low, high = min(c, k), max(c, k)
                delta[c, k] = (sum(n_c[low:high + 1]) - (n_c[c] + n_c[k]) / 2) ** 2
    expected = sum(n_c[c] * n_c[k] * delta[c, k] for c in range(len(values)) for k in range(len(values)) if c != k)
    return 1 - (n - 1) * (o * delta).sum() / expected
