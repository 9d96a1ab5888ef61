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
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .columns import AXIS_LABELS, ESSAY_AXES, valid_scores

matplotlib.rcParams["svg.hashsalt"] = "daydreaming"
PANEL_W, PANEL_H, MAX_DOTS = 4.2, 3.4, 150
# Drawing text goes through matplotlib's shared FreeType font objects, which are not
# thread-safe: two cohorts' plot jobs (threads of one process) draw one after the other.
_DRAW_LOCK = threading.Lock()


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with _DRAW_LOCK:
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _empty(title: str) -> str:
    fig = Figure(figsize=(PANEL_W, 1.5), layout="constrained")
    fig.text(0.5, 0.5, f"{title}\n(no valid scores yet)", ha="center", va="center")
    return _svg(fig)


def _scale_top(group: pd.DataFrame) -> float:
    top = group["scale_max"].max()
    return float(top) if not math.isnan(top) else float(group["score"].max())


def _essay_axes_varied(valid: pd.DataFrame) -> list[str]:
    return [axis for axis in ESSAY_AXES if axis != "combo_id" and valid[axis].nunique() > 1] or ["generation_template"]


def distribution_svg(scores: pd.DataFrame) -> str:
    """Box plot plus scores as dots, per level of each essay axis that varies (one row each);
    one column per evaluation template. At most ``MAX_DOTS`` dots per box (a fixed sample):
    beyond that dots hide each other and only make the file heavy."""
    title = "Scores by how the essay was made"
    valid = valid_scores(scores).dropna(subset=["evaluation_template"])
    if valid.empty:
        return _empty(title)
    templates = sorted(valid["evaluation_template"].unique())
    axes_names = _essay_axes_varied(valid)
    fig = Figure(figsize=(PANEL_W * len(templates), PANEL_H * len(axes_names)), layout="constrained")
    grid = fig.subplots(len(axes_names), len(templates), squeeze=False)
    rng = np.random.default_rng(0)
    for row, axis in enumerate(axes_names):
        for column, template in enumerate(templates):
            ax = grid[row][column]
            group = valid[(valid["evaluation_template"] == template) & valid[axis].notna()]
            labels = sorted(group[axis].astype(str).unique())
            data = [group.loc[group[axis].astype(str) == label, "score"].to_numpy() for label in labels]
            if data:
                ax.boxplot(data, widths=0.5, showfliers=False)
            for i, values in enumerate(data, start=1):
                shown = values if len(values) <= MAX_DOTS else rng.choice(values, MAX_DOTS, replace=False)
                ax.scatter(i + rng.uniform(-0.12, 0.12, len(shown)), shown, s=10, alpha=0.5, color="#2563eb")
            ax.set_xticks(range(1, len(labels) + 1), [f"{label}\n(n={len(d)})" for label, d in zip(labels, data)],
                          rotation=20, ha="right", fontsize=8)
            ax.set_ylim(-0.3, _scale_top(valid[valid["evaluation_template"] == template]) + 0.3)
            ax.set_title(f"{template}: by {AXIS_LABELS[axis]}", fontsize=10)
            ax.set_ylabel("score")
            ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.set_gid("score-distributions")
    return _svg(fig)


def _forest_rows(means: pd.DataFrame, comparisons: pd.DataFrame, template: str) -> tuple[list, list]:
    m = means[means["evaluation_template"] == template]
    c = comparisons[comparisons["evaluation_template"] == template]
    mean_rows = [(f"{AXIS_LABELS[r.axis]}: {r.level}", r.mean, r.ci_low, r.ci_high) for r in m.itertuples()]
    diff_rows = [(f"{AXIS_LABELS[r.axis]}: {r.level_a} \u2212 {r.level_b}", r.difference, r.ci_low, r.ci_high)
                 for r in c.itertuples()]
    return mean_rows, diff_rows


def _intervals(ax: Axes, rows: list, colour: str) -> None:
    y = np.arange(len(rows))[::-1]
    for yi, (_, value, low, high) in zip(y, rows):
        if not (math.isnan(low) or math.isnan(high)):
            ax.plot([low, high], [yi, yi], color=colour, linewidth=1.6)
        ax.plot([value], [yi], "o", color=colour, markersize=4)
    ax.set_yticks(y, [label for label, *_ in rows], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(axis="x", alpha=0.3)


def forest_svg(means: pd.DataFrame, comparisons: pd.DataFrame) -> str:
    """Per evaluation template: the mean of each level with its 95 % interval (left), and each
    paired difference with its interval against 0 (right)."""
    title = "Means and paired differences with 95% intervals"
    templates = sorted(set(means["evaluation_template"]) | set(comparisons["evaluation_template"]))
    if not templates:
        return _empty(title + "\n(no axis has two levels)")
    blocks = [_forest_rows(means, comparisons, t) for t in templates]
    heights = [max(len(m), len(d), 1) for m, d in blocks]
    fig = Figure(figsize=(12.0, 1.0 + 0.28 * sum(heights) + 0.7 * len(templates)), layout="constrained")
    grid = fig.subplots(len(templates), 2, squeeze=False, gridspec_kw={"height_ratios": heights})
    for (left, right), template, (mean_rows, diff_rows) in zip(grid, templates, blocks):
        _intervals(left, mean_rows, "#2563eb")
        left.set_title(f"{template}: mean score", fontsize=10)
        _intervals(right, diff_rows, "#b45309")
        right.axvline(0, color="#6b7280", linewidth=1)
        right.set_title(f"{template}: difference A \u2212 B", fontsize=10)
    fig.suptitle(title)
    fig.set_gid("forest-plot")
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
    fig = Figure(figsize=(2.6 + 1.3 * len(means.columns), 1.6 + 0.6 * len(means.index)), layout="constrained")
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
