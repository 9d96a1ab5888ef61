# daydreaming: draft -> essay -> evaluation on a gen-id-first store (data/gens/<stage>/<gen_id>/).
from snakemake.utils import min_version, validate

min_version("9.27")


configfile: "config/config.yaml"


validate(config, "config/schema/config.schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/generation.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets,


onstart:
    startup.on_start(workflow, config)


onsuccess:
    startup.on_finish(config, failed=False)


onerror:
    startup.on_finish(config, failed=True)
