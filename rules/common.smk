# Input functions and target lists. All logic lives in the daydreaming package; this file
# only connects Snakemake's wildcards and settings to it.
from daydreaming import jobs, startup
from daydreaming.paths import Paths
from daydreaming.plan import StorePlan
from daydreaming.stages import GEN_ID_PATTERN, STAGES

PATHS = Paths.from_str(config.get("data_root"))
COHORTS = list(config.get("cohorts", []))


wildcard_constraints:
    gen_id=GEN_ID_PATTERN,
    cohort=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


def current_plan():
    """The StorePlan of this run; the first call does the start-up work (daydreaming.startup:
    data-root lock, cohort compile, crash recovery, checks), before any job exists."""
    return startup.run_plan(workflow, config)


@startup.guarded
def all_targets(wildcards):
    requested = first_scan_store_inputs()  # rules/report_common.smk
    targets = startup.run_targets(workflow, config, requested)  # less what waits for a batch (daydreaming.batch)
    # With nothing to do, name the memberships so `rule all` is not an always-run job.
    idle = not (targets or requested)
    return (targets if not idle else [str(PATHS.membership_csv(c)) for c in COHORTS]) + report_targets()


# Concurrent calls per provider across all jobs: each <stage>_raw job holds 1 of
# llm_<provider>; the caps are llm.providers.<name>.max_concurrent unless --resources sets them.
for _name, _cap in jobs.llm_caps(config).items():
    workflow.global_resources.setdefault(_name, _cap)


def llm_resources(stage, phase="raw"):
    return jobs.llm_resources(config, current_plan, stage, phase)


# What each phase job declares as input: StorePlan decides, from the store, which upstream
# edges exist (the rerun policy lives there).
PHASE_INPUTS = {
    "prompt": StorePlan.prompt_inputs,
    "raw": StorePlan.raw_inputs,
    "parsed": StorePlan.parsed_inputs,
}


def phase_inputs(stage, phase):
    declared = PHASE_INPUTS[phase]

    @startup.guarded
    def inputs(wildcards):
        return declared(current_plan(), stage, wildcards.gen_id)

    return inputs


def gen_output(stage, name):
    return PATHS.gen_pattern(stage, name)


def phase_log(stage, phase):
    return PATHS.log_pattern(f"{stage}_{phase}", "gen_id")
