# Cohort reports (data/cohorts/<cohort>/reports/): aggregated scores, then tables, plots and
# counts built from them. Cheap, local and rebuilt whenever an evaluation's score changes;
# `snakemake --report report.html` collects the files marked report() (captions in report/).
# Each run: block imports daydreaming.report.build itself: pandas, scipy and matplotlib would
# otherwise add seconds to every snakemake start, including runs with no report job.
include: "report_common.smk"


rule cohort_scores:
    input:
        cohort_score_inputs,
    output:
        scores=report_file("aggregated_scores.csv", "aggregated_scores.rst", "Data"),
    log:
        report_log("cohort_scores"),
    localrule: True
    run:
        from daydreaming.report import build

        build.scores(config, wildcards.cohort, output.scores, log[0])


rule cohort_report_pivot:
    input:
        scores=PATHS.cohort_report_pattern("aggregated_scores.csv"),
    output:
        csv=report_file("generation_scores.csv", "generation_scores.rst", "Data"),
        html=report_file("generation_scores.html", "generation_scores.rst", "Scores"),
    log:
        report_log("cohort_report_pivot"),
    localrule: True
    run:
        from daydreaming.report import build

        build.pivot(input.scores, output.csv, output.html, log[0])


rule cohort_report_final_results:
    input:
        scores=PATHS.cohort_report_pattern("aggregated_scores.csv"),
    output:
        csv=report_file("final_results.csv", "final_results.rst", "Data"),
    log:
        report_log("cohort_report_final_results"),
    localrule: True
    run:
        from daydreaming.report import build

        build.summary(input.scores, output.csv, log[0])


rule cohort_report_agreement:
    input:
        scores=PATHS.cohort_report_pattern("aggregated_scores.csv"),
    output:
        csv=report_file("evaluator_agreement.csv", "evaluator_agreement.rst", "Data"),
        html=report_file("evaluator_agreement.html", "evaluator_agreement.rst", "Scores"),
    log:
        report_log("cohort_report_agreement"),
    localrule: True
    run:
        from daydreaming.report import build

        build.agreement(input.scores, output.csv, output.html, log[0])


rule cohort_report_top_essays:
    input:
        scores=PATHS.cohort_report_pattern("aggregated_scores.csv"),
    output:
        csv=report_file("top_essays.csv", "top_essays.rst", "Data"),
        html=report_file("top_essays.html", "top_essays.rst", "Scores"),
    log:
        report_log("cohort_report_top_essays"),
    localrule: True
    run:
        from daydreaming.report import build

        build.top(config, input.scores, output.csv, output.html, log[0])


rule cohort_report_status:
    input:
        # rebuilt with the scores: any new parse (or failure) of the cohort changes those
        scores=PATHS.cohort_report_pattern("aggregated_scores.csv"),
    output:
        csv=report_file("generation_status.csv", "generation_status.rst", "Data"),
        failures=report_file("generation_failures.csv", "generation_status.rst", "Data"),
        html=report_file("generation_status.html", "generation_status.rst", "Status"),
    log:
        report_log("cohort_report_status"),
    localrule: True
    run:
        from daydreaming.report import build

        build.status(config, wildcards.cohort, output.csv, output.failures, output.html, log[0])


rule cohort_report_plots:
    input:
        scores=PATHS.cohort_report_pattern("aggregated_scores.csv"),
    output:
        by_template=report_file("scores_by_generation_template.svg", "score_distributions.rst", "Plots"),
        by_model=report_file("scores_by_generation_model.svg", "score_distributions.rst", "Plots"),
        heatmap=report_file("evaluator_heatmap.svg", "evaluator_heatmap.rst", "Plots"),
    log:
        report_log("cohort_report_plots"),
    localrule: True
    run:
        from daydreaming.report import build

        build.figures(input.scores, output.by_template, output.by_model, output.heatmap, log[0])
