# Input functions and helpers of rules/report.smk (kept apart: Snakemake's lint wants rules and
# functions in different files).
from daydreaming.paths import REPORT_FILES, SCAN_REPORT_FILES
from daydreaming.report.inputs import report_key, score_inputs

# report file -> (caption in report/, subcategory of `snakemake --report`); others are not shown there
REPORT_CAPTIONS = {
    "overview.html": ("overview.rst", "Overview"),
    "aggregated_scores.csv": ("aggregated_scores.rst", "Data"),
    "generations.csv": ("generations.rst", "Data"),
    "generation_scores.csv": ("generation_scores.rst", "Scores"),
    "evaluation_model_template_pivot.csv": ("generation_scores.rst", "Scores"),
    "final_results.csv": ("final_results.rst", "Scores"),
    "top_essays.csv": ("top_essays.rst", "Scores"),
    "paired_comparisons.csv": ("paired_comparisons.rst", "Comparisons"),
    "level_means.csv": ("paired_comparisons.rst", "Comparisons"),
    "forest_plot.svg": ("paired_comparisons.rst", "Comparisons"),
    "judge_diagnostics.csv": ("judge_diagnostics.rst", "Judges"),
    "evaluator_agreement.csv": ("evaluator_agreement.rst", "Judges"),
    "evaluator_heatmap.svg": ("evaluator_heatmap.rst", "Judges"),
    "variance_analysis.csv": ("parity.rst", "Scores"),
    "perfect_score_paths.csv": ("parity.rst", "Scores"),
    "costs.csv": ("costs.rst", "Status"),
    "generation_status.csv": ("generation_status.rst", "Status"),
    "generation_failures.csv": ("generation_status.rst", "Status"),
    "score_distributions.svg": ("score_distributions.rst", "Scores"),
}


def report_output(name):
    pattern = PATHS.cohort_report_pattern(name)
    if name not in REPORT_CAPTIONS:
        return pattern
    caption, subcategory = REPORT_CAPTIONS[name]
    return report(
        pattern,
        caption=f"../report/{caption}",
        category="Cohort {cohort}",
        subcategory=subcategory,
        labels={"file": name},
    )


def scan_outputs():
    """cohort_scores writes these (named by file stem: the script passes them on by name)."""
    return {report_key(name): report_output(name) for name in SCAN_REPORT_FILES}


def scan_files():
    return {report_key(name): PATHS.cohort_report_pattern(name) for name in SCAN_REPORT_FILES}


def computed_outputs():
    return {report_key(name): report_output(name) for name in REPORT_FILES if name not in SCAN_REPORT_FILES}


def report_log(rule):
    return PATHS.log_pattern(rule, "cohort")


def report_targets():
    """Every report file of every cohort: requested by rule all (rules/common.smk)."""
    return [
        str(path)
        for c in COHORTS
        for path in [*(PATHS.cohort_report(c, name) for name in REPORT_FILES), PATHS.cohort_essay_pages_dir(c)]
    ]


_SCORE_INPUTS = {}


def cohort_score_inputs(wildcards):
    return report_store_inputs(wildcards.cohort)


def report_store_inputs(cohort):
    """The store files a cohort's scan waits for (computed once per run)."""
    found = _SCORE_INPUTS.get(cohort)
    if found is None:
        scores_csv = PATHS.cohort_report(cohort, "aggregated_scores.csv")
        waiting = startup.waiting_for_batch(workflow, config)
        found = _SCORE_INPUTS[cohort] = score_inputs(current_plan(), cohort, scores_csv, waiting)
    return found


def first_scan_store_inputs():
    """What the scans of cohorts that have none yet wait for: those scans certainly run (rule all
    asks for their missing files), so rule all need not ask for these too (rules/common.smk)."""
    return [
        path
        for cohort in COHORTS
        if not all(PATHS.cohort_report(cohort, name).exists() for name in SCAN_REPORT_FILES)
        for path in report_store_inputs(cohort)
    ]
