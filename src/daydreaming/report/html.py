"""HTML fragments of the report's tables (pure: DataFrames in, strings out).

Fragments, not pages: Snakemake's report shows each file in a frame *and* the front page
(``report/workflow.rst``) embeds some of them, so each carries its own scoped style. Every value
is escaped: ids, model names and essay texts are data, not markup.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from .agreement import ALPHA
from .pivot import SUM_COLUMN, evaluator_keys
from .top import SCORE_PREFIX

MAX_FAILURES_SHOWN = 200
STYLE = """<style>
.dd-report{font-family:system-ui,sans-serif;font-size:13px;color:#1f2937;overflow-x:auto}
.dd-report table{border-collapse:collapse;margin:6px 0 14px}
.dd-report th,.dd-report td{border:1px solid #d1d5db;padding:3px 7px;text-align:left;vertical-align:top}
.dd-report th{background:#f3f4f6}
.dd-report td.num{text-align:right;font-variant-numeric:tabular-nums}
.dd-report .muted{color:#6b7280;font-size:11px}
.dd-report pre{white-space:pre-wrap;max-width:60em;background:#f9fafb;padding:8px}
</style>"""


def _num(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    return f"{value:.{digits}f}" if isinstance(value, float) else escape(str(value))


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else escape(str(value))


def fragment(title: str, body: str, css_id: str) -> str:
    return (f'<meta charset="utf-8">{STYLE}<div class="dd-report" id="{css_id}">'
            f"<h3>{escape(title)}</h3>{body}</div>\n")


def table(header: list[str], rows: list[list[str]], css_class: str = "") -> str:
    """A table from already-escaped cells; a cell starting with ``<td`` is used as is."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _mean_cell(row: pd.Series, key: str) -> str:
    n = int(row[f"{key}_n"])
    if n == 0:
        return '<td class="num">&ndash;</td>'
    ci = (f"95% CI {_num(row[f'{key}_ci_low'])}&ndash;{_num(row[f'{key}_ci_high'])}, "
          f"sd {_num(row[f'{key}_sd'])}" if n > 1 else "one score")
    return (f'<td class="num">{_num(row[key])}<div class="muted">n={n}; {ci}; '
            f"range {_num(row[f'{key}_min'])}&ndash;{_num(row[f'{key}_max'])}</div></td>")


def pivot_html(pivot: pd.DataFrame, scores: pd.DataFrame) -> str:
    keys = evaluator_keys(scores)
    header = ["essay", "combo", "draft template", "generation template", "generation model", *keys, "sum of means"]
    rows = [[_text(r["parent_gen_id"]), _text(r["combo_id"]), _text(r["draft_template"]),
             _text(r["generation_template"]), _text(r["generation_model"]),
             *[_mean_cell(r, k) for k in keys], f'<td class="num">{_num(r[SUM_COLUMN])}</td>']
            for _, r in pivot.iterrows()]
    note = ('<p class="muted">Mean score per evaluator (model_template) over evaluation replicates, with n, '
            "the t-based 95% confidence interval of the mean, sd and range. &ndash; = no valid score.</p>")
    return fragment(f"Generation scores: {len(pivot)} essays", note + table(header, rows, "pivot"), "pivot")


def agreement_html(agreement: pd.DataFrame) -> str:
    alpha = agreement[agreement["measure"] == ALPHA]
    pairs = agreement[agreement["measure"] != ALPHA]
    alpha_rows = [[_text(r["evaluation_template"]), f'<td class="num">{_num(r["value"], 3)}</td>',
                   _text(r["n_essays"]), _text(r["n_models"])] for _, r in alpha.iterrows()]
    pair_rows = [[_text(r["evaluation_template"]), _text(r["model_a"]), _text(r["model_b"]),
                  f'<td class="num">{_num(r["value"], 3)}</td>', _text(r["n_essays"])] for _, r in pairs.iterrows()]
    body = ('<p class="muted">Krippendorff\'s alpha (interval) across evaluator models over the essays of one '
            "evaluation template, each model's score being its mean over replicates (1 = perfect agreement, "
            "0 = chance; &ndash; = fewer than 2 models or essays to compare).</p>"
            + table(["evaluation template", "alpha", "essays rated by 2+ models", "models"], alpha_rows, "alpha")
            + "<p class=\"muted\">Spearman's rho for each pair of models (essays rated by both; &ndash; below 3).</p>"
            + table(["evaluation template", "model", "model", "rho", "essays"], pair_rows, "spearman"))
    return fragment("Evaluator agreement", body, "agreement")


def _essay_anchor(essay) -> str:
    return f"essay-{escape(str(essay))}"


def top_essays_html(top: pd.DataFrame, texts: dict[str, str | None]) -> str:
    """Per template the ranked essays, each id a link to the essay's text further down."""
    models = [c for c in top.columns if c.startswith(SCORE_PREFIX)]
    parts = []
    for template, group in top.groupby("evaluation_template", sort=True):
        rows = [[_text(r["rank"]), f'<a href="#{_essay_anchor(r["parent_gen_id"])}">{_text(r["parent_gen_id"])}</a>',
                 f'<td class="num">{_num(r["avg_score"])}</td>', f'<td class="num">{_num(r["max_score"])}</td>',
                 _text(r["models_covered"]), _text(r["generation_template"]), _text(r["generation_model"]),
                 *[f'<td class="num">{_num(r[m])}</td>' for m in models]] for _, r in group.iterrows()]
        header = ["rank", "essay", "avg", "max", "models", "generation template", "generation model",
                  *[m[len(SCORE_PREFIX):] for m in models]]
        parts.append(f"<h4>{escape(str(template))}</h4>" + table(header, rows, "top"))
    for essay in dict.fromkeys(top["parent_gen_id"]):
        text = texts.get(essay)
        shown = f"<pre>{escape(text)}</pre>" if text is not None else '<p class="muted">text missing</p>'
        parts.append(f'<details open id="{_essay_anchor(essay)}"><summary>{escape(str(essay))}</summary>'
                     f"{shown}</details>")
    return fragment("Top essays per evaluation template", "".join(parts) or "<p>No valid scores.</p>", "top-essays")


def status_html(counts: pd.DataFrame, failed: pd.DataFrame) -> str:
    columns = list(counts.columns)
    rows = [[_text(r[c]) for c in columns] for _, r in counts.iterrows()]
    shown = failed.head(MAX_FAILURES_SHOWN)
    failure_rows = [[_text(r["stage"]), _text(r["gen_id"]), _text(r["status"]), _text(r["error_code"]),
                     _text(r["error_reason"]), _text(r["preview"])] for _, r in shown.iterrows()]
    more = f'<p class="muted">{len(failed) - len(shown)} more in generation_failures.csv</p>' \
        if len(failed) > len(shown) else ""
    body = (table(columns, rows, "status")
            + (table(["stage", "gen_id", "status", "code", "reason", "last lines of the answer"], failure_rows,
                     "failures") + more if len(failed) else "<p>Every generation parsed.</p>"))
    return fragment("Generations: parsed, failed, truncated, missing", body, "status")
