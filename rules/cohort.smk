checkpoint cohort_membership:
    input:
        cohort_spec_inputs,
    output:
        membership=update(PATHS.cohort_pattern("membership.csv")),
        manifest=update(PATHS.cohort_pattern("manifest.json")),
    log:
        f"{LOGS}/cohort_membership/{{cohort}}.log",
    localrule: True
    run:
        jobs.compile_cohort(config, wildcards.cohort, log[0])
