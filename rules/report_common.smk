# Input functions and helpers of rules/report.smk (kept apart: Snakemake's lint wants rules and
# functions in different files).
from daydreaming.paths import REPORT_FILES
from daydreaming.report.inputs import score_inputs


def report_file(name, caption, subcategory, **labels):
    return report(PATHS.cohort_report_pattern(name), caption=f"../report/{caption}", category="Cohort {cohort}",
                  subcategory=subcategory, labels={"file": name, **labels})


def report_log(rule):
    return f"{LOGS}/{rule}/{{cohort}}.log"


def report_targets():
    """Every report file of every cohort: requested by rule all (rules/common.smk)."""
    return [str(PATHS.cohort_report(c, name)) for c in COHORTS for name in REPORT_FILES]


def cohort_score_inputs(wildcards):
    scores_csv = PATHS.cohort_report(wildcards.cohort, "aggregated_scores.csv")
    return score_inputs(current_plan(), wildcards.cohort, scores_csv)
