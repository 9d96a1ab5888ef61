"""What the report rules declare: the ``cohort_scores`` job's inputs, and the key of each
report file among a rule's named inputs and outputs.

The scores must be rebuilt after any evaluation of the cohort is (re-)parsed, and wait for the
evaluations this run produces; but two things must not happen:

* A failed parse must not block the report forever: its ``parsed.txt`` will not appear until
  someone fixes the cause, so an evaluation whose own parse (or a parent's) has failed is left
  out, and shows up in the report as an error row.
* A finished cohort must stay out of the DAG. Under the keep policy complete generations are
  not in it (``StorePlan._settled``); declaring every ``parsed.txt`` would pull all of them back
  as jobs (a no-op ``snakemake -n`` over 16,000 evaluations went from 5 s to 30 s). So a
  settled evaluation is declared only when its ``parsed.txt`` is newer than the scores file:
  exactly the case in which Snakemake's own mtime rule would re-run the job.
"""

from __future__ import annotations

from pathlib import Path

from ..plan import StorePlan
from ..stages import PARENT_STAGE
from .state import gen_state


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _blocked(plan: StorePlan, stage: str, gen_id: str | None, known: dict[tuple[str, str], bool]) -> bool:
    """True when this generation's parse, or an ancestor's, has failed (and was not redone).
    ``known`` remembers the answer per generation: the evaluations of one essay share it."""
    if not gen_id:
        return False
    key = (stage, gen_id)
    if key not in known:
        state = gen_state(plan.store, stage, gen_id, plan.present(stage, gen_id))
        parent_stage = PARENT_STAGE[stage]
        if state.failed or state.status == "ok" or parent_stage is None:
            known[key] = state.failed  # a parsed generation is not blocked by its parents' later state
        else:
            known[key] = _blocked(plan, parent_stage, plan.parent_of(stage, gen_id), known)
    return known[key]


def score_inputs(plan: StorePlan, cohort_id: str, scores_csv: Path,
                 waiting: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """The ``parsed.txt`` of every evaluation whose score this run may change, and membership.csv
    and exclusions.csv when newer than the scores (a recompiled cohort may have lost members, an
    exclusion changes statuses). Evaluations that ``waiting`` holds (their answer, or an
    ancestor's, is to come from a batch) are left out: this run cannot produce them."""
    paths = plan.paths
    built = _mtime_ns(scores_csv)
    # Declared only when newer for the same reason as settled evaluations, and because a run
    # killed while compiling leaves a Snakemake lock naming it that would refuse the next run.
    inputs = [str(path) for path in (paths.membership_csv(cohort_id), paths.exclusions_csv(cohort_id))
              if built is not None and (_mtime_ns(path) or 0) > built]
    excluded = plan.excluded_in(cohort_id)
    blocked: dict[tuple[str, str], bool] = {}
    for member in plan.cohort_members(cohort_id):  # a dry run sees a cohort not compiled yet
        if member.stage != "evaluation" or (member.stage, member.gen_id) in excluded:
            continue
        if plan.settled("evaluation", member.gen_id):
            if built is None:  # the job runs anyway (its output is missing)
                continue
            parsed = paths.parsed_path("evaluation", member.gen_id)
            if (_mtime_ns(parsed) or 0) > built:
                inputs.append(str(parsed))
        elif ("evaluation", member.gen_id) not in waiting and not _blocked(plan, "evaluation", member.gen_id, blocked):
            inputs.append(str(paths.parsed_path("evaluation", member.gen_id)))
    return inputs


def report_key(name: str) -> str:
    """A report file's name among a rule's named inputs and outputs: its file name without the
    extension (the scripts hand ``snakemake.output`` to the package by these names)."""
    return name.split(".", 1)[0]
