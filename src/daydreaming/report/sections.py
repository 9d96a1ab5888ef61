"""The sections of a cohort's report page, one function per table (DataFrames in, HTML out).

Each section says in a line what its numbers are and how to read them, because a reader who
opens the page cold should not need this repository's README to tell an interval from a range.
``essay_href`` turns an essay id into the address of its page: relative on ``index.html``,
absolute on the fragment embedded in Snakemake's report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from . import html as h
from .agreement import SPEARMAN
from .columns import AXIS_LABELS
from .freshness import Completion
from .pivot import evaluator_keys
from .top import SCORE_PREFIX

MAX_FAILURES_SHOWN = 200
Href = Callable[[str], str]


def _rows(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as dicts (iterrows builds a Series per row: seconds for a big pivot)."""
    return frame.to_dict("records")


def headline(cohort: str, completion: Completion, costs: pd.DataFrame) -> str:
    total = costs[costs["stage"] == "total"].iloc[0] if (costs["stage"] == "total").any() else None
    spent = f"${total['cost_usd']:.4f} spent" if total is not None else ""
    pending = (f", about ${total['pending_usd']:.4f} for {int(total['pending_calls'])} pending calls"
               if total is not None and total["pending_calls"] else "")
    failed = f'<span class="bad">{completion.failed} failed</span>' if completion.failed else "0 failed"
    excluded = f", {completion.excluded} excluded" if completion.excluded else ""
    return (f"<h1>Cohort {h.text(cohort)}</h1><p>{completion.total} generations: "
            f'<span class="good">{completion.complete} complete</span>, {failed}, {completion.missing} missing'
            f"{excluded}{'; ' + spent + pending if spent else ''}.</p>")


def navigation() -> str:
    links = [("comparisons", "Paired comparisons"), ("judges", "Judges"), ("scores", "Scores per essay"),
             ("top", "Top essays"), ("costs", "Cost"), ("status", "Status"), ("distributions", "Distributions"),
             ("files", "Files")]
    return "<nav>" + "".join(h.link(f"#{anchor}", label) for anchor, label in links) + "</nav>"


def status(counts: pd.DataFrame, failed: pd.DataFrame) -> str:
    columns = list(counts.columns)
    rows = [[h.text(r["stage"])] + [h.num_cell(r[c]) for c in columns[1:]] for r in _rows(counts)]
    shown = failed.head(MAX_FAILURES_SHOWN)
    failure_rows = [[h.text(r["stage"]), h.text(r["gen_id"]), h.text(r["status"]), h.text(r["error_phase"]),
                     h.text(r["error_code"]), h.text(r["error_reason"]), h.text(r["preview"])]
                    for r in _rows(shown)]
    more = h.note(f"{len(failed) - len(shown)} more in generation_failures.csv") if len(failed) > len(shown) else ""
    body = (h.note("ok: parsed; truncated: the answer hit max_tokens; parse_failed: the parser found no answer; "
                   "job_failed: a job of it failed last time (e.g. the LLM call); missing: not run yet, or "
                   "blocked by a parent that failed.")
            + h.table(columns, rows, "status")
            + (h.table(["stage", "gen_id", "status", "phase", "code", "reason", "last lines of the answer"],
                       failure_rows, "failures") + more if len(failed) else "<p>Every generation parsed.</p>"))
    return h.section("status", "Status", body)


def costs(table: pd.DataFrame) -> str:
    rows = [[h.text(r["stage"]), h.text(r["llm_model_id"]), h.text(r["template_id"]), h.num_cell(r["generations"]),
             h.num_cell(r["answered"]), h.num_cell(r["copies"]), h.num_cell(r["prompt_tokens"]),
             h.num_cell(r["completion_tokens"]), h.num_cell(r["cost_usd"], 4),
             h.num_cell(r["unpriced_answers"]), h.num_cell(r["pending_calls"]),
             h.num_cell(r["pending_prompt_tokens"] + r["pending_completion_tokens"]), h.num_cell(r["pending_usd"], 4)]
            for r in _rows(table)]
    header = ["stage", "model", "template", "generations", "answers", "copies", "prompt tokens", "completion tokens",
              "USD", "answers without price", "pending calls", "pending tokens (est.)", "pending USD (est.)"]
    body = (h.note("Actual: from each answer's raw_metadata.json (the provider's cost, else the catalog's prices). "
                   "Pending: the calls a plain run would still make, estimated as <code>daydreaming estimate</code> "
                   "does (prompt length, average answer length of the template).")
            + h.table(header, rows, "costs"))
    return h.section("costs", "Cost and tokens", body)


def comparisons(table: pd.DataFrame, forest_svg: str) -> str:
    rows = [[h.text(r["evaluation_template"]), h.text(AXIS_LABELS.get(r["axis"], r["axis"])), h.text(r["level_a"]),
             h.text(r["level_b"]), h.num_cell(r["mean_a"]), h.num_cell(r["mean_b"]),
             f'<td class="num" data-v="{r["difference"]!r}">{h.interval(r["difference"], r["ci_low"], r["ci_high"])}'
             f"</td>", h.num_cell(r["n_pairs"]), f'{h.num(r["n_clusters"])} {h.text(r["resampled"])}s',
             h.num_cell(r["p_value"], 4), h.num_cell(r["p_holm"], 4), _verdict(r["verdict"])]
            for r in _rows(table)]
    header = ["evaluation template", "axis", "A", "B", "mean A", "mean B", "A \u2212 B [95% CI]", "pairs",
              "resampled", "p", "p (Holm)", "verdict"]
    body = (h.note("Each pair of levels is compared on the units they share (everything else fixed: the same draft "
                   "for essay templates, the same essay for judges), one unit = one pair. The interval is a BCa "
                   "bootstrap that resamples combos (essays of one combo move together; with fewer than 5 combos "
                   "it resamples units). p: sign-flip permutation test over the same groups; Holm-adjusted over "
                   "all comparisons of the evaluation template.")
            + (h.table(header, rows, "comparisons") if rows else "<p>No axis has two levels to compare.</p>")
            + h.inline_svg(forest_svg))
    return h.section("comparisons", "Is A better than B? Paired comparisons", body)


def _verdict(value: Any) -> str:
    text = h.text(value)
    css = "good" if text.endswith("higher") else "warn" if text.startswith("too") else ""
    return f'<td class="{css}">{text}</td>'


def _measure(row: dict, name: str) -> str:
    """A cell with a measure of ``row`` and its interval (``<name>_ci_low``/``_ci_high``)."""
    return f'<td class="num">{h.interval(row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"])}</td>'


def judges(diagnostics: pd.DataFrame, agreement: pd.DataFrame, heatmap_svg: str) -> str:
    rows = [[h.text(r["evaluation_template"]), h.text(r["evaluation_llm_model"]), h.num_cell(r["n_essays"]),
             h.num_cell(r["mean_score"]),
             _measure(r, "length_rho"),
             f'<td class="num">{h.num(r["self_mean"])} / {h.num(r["other_mean"])} '
             f'<span class="muted">(n {h.num(r["n_self"])} / {h.num(r["n_other"])})</span></td>',
             _measure(r, "self_minus_other"), _measure(r, "replicate_alpha_interval"),
             _measure(r, "replicate_alpha_ordinal"), f'<td class="warn">{h.text(r["too_wide_to_rank"])}</td>']
            for r in _rows(diagnostics)]
    header = ["evaluation template", "judge", "essays", "mean", "score vs log length: rho [CI]",
              "own model / others: mean", "own \u2212 others [CI]", "replicate alpha interval [CI]",
              "replicate alpha ordinal [CI]", "too wide to rank"]
    agree_rows = [[h.text(r["evaluation_template"]), h.text(r["measure"]),
                   h.text(f"{r['model_a']} vs {r['model_b']}" if r["measure"] == SPEARMAN else "all judges"),
                   f'<td class="num">{h.interval(r["value"], r["ci_low"], r["ci_high"], 3)}</td>',
                   h.num_cell(r["n_essays"]), f'<td class="warn">{"yes" if r["too_wide_to_rank"] else ""}</td>']
                  for r in _rows(agreement)]
    body = (h.note("Per judge and template, over essay means (replicates averaged): Spearman's rho of score against "
                   "the log of the essay's length (length bias), the mean for essays the judge's own model wrote "
                   "against the others (Welch interval), and Krippendorff's alpha across the judge's own "
                   "replicates (does it agree with itself?), with bootstrap intervals. 'too wide to rank' names "
                   "measures whose interval is missing (too few essays) or too wide to rank judges on.")
            + h.table(header, rows, "judges")
            + "<h3>Agreement between judges</h3>"
            + h.note("Krippendorff's alpha across judge models (interval and ordinal) and Spearman's rho per pair, "
                     "over essays scored by both; 1 = perfect agreement, 0 = chance; &ndash; = a single judge.")
            + h.table(["evaluation template", "measure", "judges", "value [95% CI]", "essays", "too wide to rank"],
                      agree_rows, "agreement")
            + h.inline_svg(heatmap_svg))
    return h.section("judges", "Judges", body)


def _mean_cell(row: dict, key: str) -> str:
    n = int(row[f"{key}_n"])
    if n == 0:
        return '<td class="num">&ndash;</td>'
    spread = (f"[{h.num(row[f'{key}_ci_low'])}, {h.num(row[f'{key}_ci_high'])}] sd {h.num(row[f'{key}_sd'])}"
              if n > 1 else "one score")
    return h.num_cell(row[key], extra=f'<div class="muted">n={n} {spread}</div>')


def pivot(table: pd.DataFrame, scores: pd.DataFrame, essay_href: Href) -> str:
    """One table per evaluation template: an essay per row, a judge per column."""
    parts = []
    keys = evaluator_keys(scores)
    templates = sorted(scores["evaluation_template"].dropna().unique())
    for template in templates:
        judges = sorted(scores.loc[scores["evaluation_template"] == template, "evaluation_llm_model"].dropna().unique())
        own = [(j, f"{j}_{template}") for j in judges if f"{j}_{template}" in keys]
        rows = [[h.link(essay_href(str(r["parent_gen_id"])), str(r["parent_gen_id"]))
                 + f'<div class="muted">{h.text(r["combo_id"])}</div>',
                 f'{h.text(r["draft_template"])} <span class="muted">{h.text(r["draft_model"])} '
                 f'r{h.text(r["draft_replicate"])}</span>',
                 f'{h.text(r["generation_template"])} <span class="muted">{h.text(r["generation_model"])} '
                 f'r{h.text(r["essay_replicate"])}</span>',
                 *[_mean_cell(r, key) for _, key in own]] for r in _rows(table)]
        parts.append(f"<h3>{h.text(template)}</h3>"
                     + h.table(["essay (combo)", "draft template (model, replicate)",
                                "essay template (model, replicate)", *[j for j, _ in own]], rows, "pivot"))
    body = (h.note("Mean score per judge over its evaluation replicates, with n, the t-based 95% interval and sd. "
                   "Each essay links to its page: text, draft, every judge's full answer, tokens and cost. "
                   "Click a header to sort.") + ("".join(parts) or "<p>No evaluations yet.</p>"))
    return h.section("scores", "Scores per essay", body)


def top(table: pd.DataFrame, essay_href: Href) -> str:
    models = [c for c in table.columns if c.startswith(SCORE_PREFIX)]
    parts = []
    for template, group in table.groupby("evaluation_template", sort=True):
        rows = [[h.num_cell(r["rank"]), h.link(essay_href(str(r["parent_gen_id"])), str(r["parent_gen_id"])),
                 h.num_cell(r["avg_score"]), h.num_cell(r["max_score"]), h.num_cell(r["models_covered"]),
                 h.text(r["generation_template"]), h.text(r["generation_model"]),
                 *[h.num_cell(r[m]) for m in models]] for r in _rows(group)]
        parts.append(f"<h3>{h.text(template)}</h3>" + h.table(
            ["rank", "essay", "avg", "max", "judges", "essay template", "essay model",
             *[m[len(SCORE_PREFIX):] for m in models]], rows, "top"))
    body = h.note("Each judge's best score of an essay (over replicates), averaged over judges, highest first.")
    return h.section("top", "Top essays per evaluation template", body + ("".join(parts) or "<p>No valid scores.</p>"))


def distributions(svg: str) -> str:
    return h.section("distributions", "Score distributions", h.inline_svg(svg))


def files(names: list[str]) -> str:
    items = "".join(f"<li>{h.link(name, name)}</li>" for name in names)
    return h.section("files", "Files", h.note("Every table as CSV, every figure as SVG, in this directory.")
                     + f"<ul>{items}</ul>")
