# Input functions and target lists. All logic lives in the daydreaming package; this file
# only connects Snakemake's wildcards and settings to it.
from daydreaming import jobs
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
    forced = "cohort_membership" in (workflow.dag_settings.forcerun or ())
    for cohort in COHORTS:
        if forced or cohort_needs_compile(PATHS, cohort):
            checkpoints.cohort_membership.get(cohort=cohort)
    # With nothing to do, name the memberships so `rule all` is not an always-run job.
    return current_plan(fresh=True).targets() or [str(PATHS.membership_csv(c)) for c in COHORTS]


def cohort_spec_inputs(wildcards):
    """A cohort recompiles when its spec changes; a hand-made membership needs no spec."""
    spec_dir = PATHS.cohort_spec_dir(wildcards.cohort)
    return sorted(str(p) for p in spec_dir.rglob("*") if p.is_file()) if spec_dir.is_dir() else []


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
