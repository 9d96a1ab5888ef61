# daydreaming: draft -> essay -> evaluation on a gen-id-first store (data/gens/<stage>/<gen_id>/).
from snakemake.utils import min_version, validate

from daydreaming import gc_tuning
from daydreaming.config import CONFIG_FILE, load_config
from daydreaming.yamlio import check_yaml_file

min_version("9.27")

gc_tuning.tune()  # Snakemake's DAG is millions of long-lived objects: collect them less often

check_yaml_file(CONFIG_FILE)  # a syntax error names the YAML file, line and column


configfile: CONFIG_FILE


# Bad values and unknown keys: INVALID_CONFIG (file, key path, allowed values) before any job;
# then every key holds its value or its one default (config.py is the source of both).
CONFIG_PATH = (workflow.overwrite_configfiles or [CONFIG_FILE])[-1]  # a --configfile wins
config.update(load_config(config, path=CONFIG_PATH).model_dump(mode="json"))
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
