checkpoint cohort_membership:
    input:
        cohort_spec_inputs,
    output:
        # manifest.json is written beside it; declaring it would make a hand-made
        # membership without a manifest look incomplete.
        update(PATHS.cohort_pattern("membership.csv")),
    log:
        f"{LOGS}/cohort_membership/{{cohort}}.log",
    localrule: True
    run:
        jobs.compile_cohort(config, wildcards.cohort, log[0])
