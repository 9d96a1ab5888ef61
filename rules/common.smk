# Input functions and target lists. All logic lives in the daydreaming package; this file
# only connects Snakemake's wildcards and settings to it.
from pathlib import Path

from daydreaming import jobs
from daydreaming.stale_locks import clear_stale_locks
from daydreaming.paths import GEN_FILES, Paths
from daydreaming.plan import StorePlan, check_rerun_triggers, cohort_needs_compile
from daydreaming.stages import GEN_ID_PATTERN, STAGES

PATHS = Paths.from_str(config.get("data_root"))
COHORTS = list(config.get("cohorts", []))
LOGS = "logs"


wildcard_constraints:
    gen_id=GEN_ID_PATTERN,
    cohort=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


_PLAN = {}


def current_plan(fresh=False):
    """The StorePlan of this DAG build; rebuilt when rule all is (re-)evaluated after a checkpoint."""
    if fresh or "plan" not in _PLAN:
        settings = workflow.dag_settings
        _PLAN["plan"] = StorePlan.build(
            PATHS,
            COHORTS,
            policy=config.get("rerun_policy", "seed"),
            forced_rules=[r for r in (settings.forcerun if settings else ()) if isinstance(r, str)],
            forceall=bool(settings and settings.forceall),
        )
    return _PLAN["plan"]


def all_targets(wildcards):
    # Only a cohort whose membership must be (re)compiled goes through the checkpoint: a
    # checkpoint in the DAG makes Snakemake build the whole DAG a second time.
    check_rerun_triggers(t.name for t in workflow.dag_settings.rerun_triggers)
    clear_stale_locks(Path.cwd(), claim=not workflow.dryrun)
    forced = "cohort_membership" in (workflow.dag_settings.forcerun or ())
    for cohort in COHORTS:
        if forced or cohort_needs_compile(PATHS, cohort):
            checkpoints.cohort_membership.get(cohort=cohort)
    plan = current_plan(fresh=True)
    targets = plan.targets()
    # Missing API key or spent budget: stop here, before any job starts.
    jobs.preflight(config, plan, dryrun=workflow.dryrun or workflow.touch)
    # With nothing to do, name the memberships so `rule all` is not an always-run job.
    return (targets or [str(PATHS.membership_csv(c)) for c in COHORTS]) + report_targets()  # rules/report.smk


def cohort_spec_inputs(wildcards):
    """A cohort recompiles when its spec changes; a hand-made membership needs no spec."""
    spec_dir = PATHS.cohort_spec_dir(wildcards.cohort)
    return sorted(str(p) for p in spec_dir.rglob("*") if p.is_file()) if spec_dir.is_dir() else []


# Concurrent calls per provider across all jobs: each <stage>_raw job holds 1 of
# llm_<provider>; the caps are llm.providers.<name>.max_concurrent unless --resources sets them.
for _name, _cap in jobs.llm_caps(config).items():
    workflow.global_resources.setdefault(_name, _cap)


def llm_resources(stage):
    return jobs.llm_resources(config, current_plan, stage)


def phase_inputs(stage, phase):
    def inputs(wildcards):
        plan = current_plan()
        return getattr(plan, f"{phase}_inputs")(stage, wildcards.gen_id)

    return inputs


def gen_output(stage, name):
    return PATHS.gen_pattern(stage, name)


def phase_log(stage, phase):
    return f"{LOGS}/{stage}_{phase}/{{gen_id}}.log"


def finish_run(failed):
    jobs.finish(config, failed)
