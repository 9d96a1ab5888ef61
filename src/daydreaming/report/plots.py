"""The report's figures, as SVG text (matplotlib's object API, no pyplot).

No pyplot because workflow jobs run as threads of one Snakemake process and pyplot keeps
global state; each function builds its own ``Figure``. Scores of different evaluation
templates are never pooled on one axis (rubrics and scales differ): distributions get one panel
per template, and the heatmap colours each cell by the fraction of its template's scale.
Output is byte-stable for the same data (no date, fixed hash salt, fixed jitter).
"""

from __future__ import annotations

import io
import math
import threading

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .columns import valid_scores

matplotlib.rcParams["svg.hashsalt"] = "daydreaming"
PANEL_W, PANEL_H, MAX_COLUMNS = 4.2, 3.4, 3
# Drawing text goes through matplotlib's shared FreeType font objects, which are not
# thread-safe: two cohorts' plot jobs (threads of one process) draw one after the other.
_DRAW_LOCK = threading.Lock()


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with _DRAW_LOCK:
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def _empty(title: str) -> str:
    fig = Figure(figsize=(PANEL_W, 1.5))
    fig.text(0.5, 0.5, f"{title}\n(no valid scores yet)", ha="center", va="center")
    return _svg(fig)


def _scale_top(group: pd.DataFrame) -> float:
    top = group["scale_max"].max()
    return float(top) if not math.isnan(top) else float(group["score"].max())


def distribution_svg(scores: pd.DataFrame, by: str, title: str) -> str:
    """Box plot plus every score as a dot, per value of ``by``; one panel per evaluation template."""
    valid = valid_scores(scores).dropna(subset=[by, "evaluation_template"])
    if valid.empty:
        return _empty(title)
    templates = sorted(valid["evaluation_template"].unique())
    columns = min(MAX_COLUMNS, len(templates))
    rows = math.ceil(len(templates) / columns)
    fig = Figure(figsize=(PANEL_W * columns, PANEL_H * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    rng = np.random.default_rng(0)
    for ax, template in zip(axes, templates):
        group = valid[valid["evaluation_template"] == template]
        labels = sorted(group[by].unique())
        data = [group.loc[group[by] == label, "score"].to_numpy() for label in labels]
        ax.boxplot(data, widths=0.5, showfliers=False)
        for i, values in enumerate(data, start=1):
            ax.scatter(i + rng.uniform(-0.12, 0.12, len(values)), values, s=12, alpha=0.6, color="#2563eb")
        ax.set_xticks(range(1, len(labels) + 1), [f"{label}\n(n={len(d)})" for label, d in zip(labels, data)],
                      rotation=20, ha="right", fontsize=8)
        ax.set_ylim(-0.3, _scale_top(group) + 0.3)
        ax.set_title(template, fontsize=10)
        ax.set_ylabel("score")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(templates):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.set_gid(f"scores-by-{by}")
    return _svg(fig)


def heatmap_svg(scores: pd.DataFrame) -> str:
    """Evaluator model x evaluation template: mean score (and n), coloured by fraction of scale."""
    title = "Mean score by evaluator model and evaluation template"
    valid = valid_scores(scores).dropna(subset=["evaluation_llm_model", "evaluation_template"])
    if valid.empty:
        return _empty(title)
    grouped = valid.groupby(["evaluation_llm_model", "evaluation_template"])
    means = grouped["score"].mean().unstack()
    counts = grouped["score"].size().unstack()
    tops = valid.groupby("evaluation_template").apply(_scale_top, include_groups=False)
    fraction = means / tops.reindex(means.columns).to_numpy()
    fig = Figure(figsize=(1.6 + 1.3 * len(means.columns), 1.2 + 0.6 * len(means.index)))
    ax = fig.subplots()
    image = ax.imshow(fraction.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(means.columns)), list(means.columns), rotation=20, ha="right")
    ax.set_yticks(range(len(means.index)), list(means.index))
    for i, model in enumerate(means.index):
        for j, template in enumerate(means.columns):
            if not math.isnan(means.loc[model, template]):
                light = fraction.loc[model, template] < 0.6
                ax.text(j, i, f"{means.loc[model, template]:.2f}\nn={int(counts.loc[model, template])}",
                        ha="center", va="center", fontsize=8, color="white" if light else "black")
    fig.colorbar(image, ax=ax, label="mean / top of scale")
    ax.set_title(title, fontsize=10)
    fig.set_gid("evaluator-heatmap")  # the report's front page finds it by this id
    return _svg(fig)
