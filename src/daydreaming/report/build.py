"""Entry points of the report rules (``rules/report.smk``): read, compute, write; one per rule.

Each takes the files Snakemake names (the rule is the contract) and the job's log, and writes
atomically, so a killed run never leaves half a report that looks finished. All numbers come
from the pure modules; this file only moves data between them and the disk.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import DDError
from ..fsio import atomic_write_text
from ..jobs import _logged
from ..runtime import Runtime
from . import html, plots
from .agreement import evaluator_agreement
from .columns import INTEGER_COLUMNS, NUMERIC_COLUMNS, SCORE_COLUMNS
from .pivot import generation_scores_pivot
from .scores import cohort_scores
from .status import cohort_states, failures, status_counts
from .summary import final_results
from .top import top_essays


def read_scores(path: str) -> pd.DataFrame:
    """``aggregated_scores.csv`` back as written: only empty cells are missing (an id such as
    ``NA`` stays text), numbers as floats."""
    dtypes = {c: "float64" if c in NUMERIC_COLUMNS else "Int64" if c in INTEGER_COLUMNS else "object"
              for c in SCORE_COLUMNS}
    return pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])


def _write_csv(path: str, frame: pd.DataFrame) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def scores(config: dict[str, Any], cohort: str, out: str, log: str | None = None) -> None:
    def run() -> int:
        table = cohort_scores(Runtime.from_config(config).paths, cohort)
        _write_csv(out, table)
        return len(table)

    _logged(log, f"cohort_scores {cohort}", run)


def pivot(scores_csv: str, out_csv: str, out_html: str, log: str | None = None) -> None:
    def run() -> None:
        table = read_scores(scores_csv)
        result = generation_scores_pivot(table)
        _write_csv(out_csv, result)
        atomic_write_text(out_html, html.pivot_html(result, table))

    _logged(log, f"pivot {scores_csv}", run)


def summary(scores_csv: str, out_csv: str, log: str | None = None) -> None:
    _logged(log, f"final_results {scores_csv}", lambda: _write_csv(out_csv, final_results(read_scores(scores_csv))))


def agreement(scores_csv: str, out_csv: str, out_html: str, log: str | None = None) -> None:
    def run() -> None:
        result = evaluator_agreement(read_scores(scores_csv))
        _write_csv(out_csv, result)
        atomic_write_text(out_html, html.agreement_html(result))

    _logged(log, f"agreement {scores_csv}", run)


def _essay_texts(config: dict[str, Any], essay_ids) -> dict[str, str | None]:
    store = Runtime.from_config(config).store
    texts: dict[str, str | None] = {}
    for essay in dict.fromkeys(essay_ids):
        try:
            texts[essay] = store.read_parsed("essay", essay)
        except DDError:
            texts[essay] = None
    return texts


def top(config: dict[str, Any], scores_csv: str, out_csv: str, out_html: str, log: str | None = None) -> None:
    def run() -> None:
        result = top_essays(read_scores(scores_csv))
        _write_csv(out_csv, result)
        atomic_write_text(out_html, html.top_essays_html(result, _essay_texts(config, result["parent_gen_id"])))

    _logged(log, f"top_essays {scores_csv}", run)


def status(config: dict[str, Any], cohort: str, out_csv: str, failures_csv: str, out_html: str,
           log: str | None = None) -> None:
    def run() -> None:
        states = cohort_states(Runtime.from_config(config).paths, cohort)
        counts, failed = status_counts(states), failures(states)
        _write_csv(out_csv, counts)
        _write_csv(failures_csv, failed)
        atomic_write_text(out_html, html.status_html(counts, failed))

    _logged(log, f"status {cohort}", run)


def figures(scores_csv: str, by_template: str, by_model: str, heatmap: str, log: str | None = None) -> None:
    def run() -> None:
        table = read_scores(scores_csv)
        atomic_write_text(by_template, plots.distribution_svg(table, "generation_template",
                                                              "Scores by generation template"))
        atomic_write_text(by_model, plots.distribution_svg(table, "generation_model", "Scores by generation model"))
        atomic_write_text(heatmap, plots.heatmap_svg(table))

    _logged(log, f"plots {scores_csv}", run)
