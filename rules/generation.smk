# The same four rules for every stage (a job finds its stage and phase from its rule name): <stage>_metadata, <stage>_prompt, <stage>_raw, <stage>_parsed.
# raw.txt lives alone with its metadata in <stage>_raw, so re-running a cheap phase can never
# delete a paid answer (Snakemake deletes all other outputs of a job before running it).
for stage in STAGES:

    rule:
        name:
            f"{stage}_metadata"
        output:
            gen_output(stage, "metadata.json"),
        log:
            phase_log(stage, "metadata"),
        localrule: True
        run:
            jobs.create_metadata(config, rule, wildcards.gen_id, log[0])

    rule:
        name:
            f"{stage}_prompt"
        input:
            phase_inputs(stage, "prompt"),
        output:
            gen_output(stage, "prompt.txt"),
        log:
            phase_log(stage, "prompt"),
        # Cheap (tens of ms): on a cluster it runs in the head's process, never as a cluster job.
        localrule: True
        run:
            jobs.phase(config, rule, wildcards.gen_id, log[0])

    rule:
        name:
            f"{stage}_raw"
        input:
            phase_inputs(stage, "raw"),
        output:
            # update(): Snakemake must not delete a paid answer before re-running its job (an
            # interrupted run's jobs are re-run as incomplete); the job keeps an answer that
            # still answers its prompt (daydreaming.answers) and archives one it replaces.
            raw=update(gen_output(stage, "raw.txt")),
            meta=update(gen_output(stage, "raw_metadata.json")),
        log:
            phase_log(stage, "raw"),
        resources:
            **llm_resources(stage),
        run:
            jobs.phase(config, rule, wildcards.gen_id, log[0])

    rule:
        name:
            f"{stage}_parsed"
        input:
            phase_inputs(stage, "parsed"),
        output:
            parsed=gen_output(stage, "parsed.txt"),
            meta=gen_output(stage, "parsed_metadata.json"),
        log:
            phase_log(stage, "parsed"),
        # Cheap, local on a cluster as the prompt is (a cluster run keeps new generations in three
        # jobs, so that only <stage>_raw, the LLM call, becomes a cluster job: startup.one_job_stages).
        localrule: True
        resources:
            # a new generation's parse job renders, calls and parses (StorePlan.in_one_job)
            **llm_resources(stage, "parsed"),
        run:
            jobs.phase(config, rule, wildcards.gen_id, log[0], current_plan)
