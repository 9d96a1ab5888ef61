# Cohort reports (data/cohorts/<cohort>/reports/): one store scan, then everything computed from
# it. Cheap, local, once per cohort, so each is a script (scripts/): its own process, importing
# pandas, scipy and matplotlib only when a report is built (the project's environment: they run
# in whatever runs Snakemake unless --sdm conda). The end of every run rebuilds what
# these rules could not (daydreaming.report.freshness: Snakemake skips them after a failed job).
# `snakemake --report report.html` collects the files marked report() (captions in report/).
include: "report_common.smk"


rule cohort_scores:
    input:
        cohort_score_inputs,
    output:
        **scan_outputs(),
    log:
        report_log("cohort_scores"),
    localrule: True
    conda:
        "../environment.yml"
    script:
        "../scripts/cohort_scores.py"


rule cohort_report:
    input:
        **scan_files(),
    output:
        **computed_outputs(),
        essays=directory(PATHS.cohort_essay_pages_pattern()),
    log:
        report_log("cohort_report"),
    localrule: True
    conda:
        "../environment.yml"
    script:
        "../scripts/cohort_report.py"
