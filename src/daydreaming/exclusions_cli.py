"""``daydreaming exclude`` and ``daydreaming include``: accept a failure, or take it back.

    daydreaming exclude COHORT STAGE GEN_ID... --reason TEXT    # or --failed-parses for all of them
    daydreaming include COHORT STAGE GEN_ID...                  # or --all

Both edit ``<data_root>/cohorts/<cohort>/exclusions.csv`` (``daydreaming.exclusions``) and touch
nothing else. Exit 0, or 2 for a usage error (an unknown cohort or a gen_id it does not list).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from . import exclusions
from .errors import DDError, Err
from .inspect.scope import Scope, load_scope
from .report.state import gen_state
from .stages import STAGES

EXIT_OK, EXIT_USAGE = 0, 2


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"daydreaming {command}", description=description)
    parser.add_argument("cohort_id")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("gen_ids", nargs="*", metavar="GEN_ID")
    parser.add_argument(
        "--configfile", default="config/config.yaml", help="the workflow's config (default: %(default)s)"
    )
    parser.add_argument(
        "--data-root", default=None, help="default: the config's data_root, $DAYDREAMING_DATA_ROOT or data"
    )
    return parser


def _members(scope: Scope, cohort_id: str, stage: str, gen_ids: list[str]) -> list[tuple[str, str]]:
    """The (stage, gen_id) pairs asked for, refused unless the cohort lists each one."""
    listed = {m.gen_id for m in scope.plan.cohort_members(cohort_id) if m.stage == stage}
    unknown = [g for g in gen_ids if g not in listed]
    if unknown:
        raise DDError(Err.INVALID_MEMBERSHIP, {
            "reason": "not_a_member", "cohort_id": cohort_id, "stage": stage, "gen_ids": unknown[:20],
            "path": str(scope.paths.membership_csv(cohort_id)),
            "fix": f"name {stage} generations of cohort {cohort_id} (daydreaming status --cohorts {cohort_id})"})
    return [(stage, g) for g in gen_ids]


def failed_parses(scope: Scope, cohort_id: str, stage: str) -> list[str]:
    """The cohort's generations of ``stage`` whose last parse failed (or whose answer was cut off)."""
    plan, store = scope.plan, scope.rt.store
    return [m.gen_id for m in plan.cohort_members(cohort_id)
            if m.stage == stage and gen_state(store, stage, m.gen_id, plan.present(stage, m.gen_id)).failed]


def exclude_main(argv: Sequence[str]) -> int:
    parser = _parser("exclude", "Accept the failure of generations: runs leave them (and what depends on them) "
                                "out, reports show them as excluded. Reversible: daydreaming include.")
    parser.add_argument("--reason", required=True, help="why the failure is accepted (kept in exclusions.csv)")
    parser.add_argument("--by", default=None, help="who accepts it (default: the user name)")
    parser.add_argument("--failed-parses", action="store_true",
                        help="every generation of STAGE in the cohort whose parse failed, besides any GEN_ID")
    args = parser.parse_args(list(argv))
    if not args.gen_ids and not args.failed_parses:
        parser.error("name GEN_IDs or pass --failed-parses")

    def act() -> int:
        scope = load_scope(args.configfile, args.data_root, [args.cohort_id])
        gen_ids = list(dict.fromkeys(args.gen_ids + (failed_parses(scope, args.cohort_id, args.stage)
                                                     if args.failed_parses else [])))
        keys = _members(scope, args.cohort_id, args.stage, gen_ids)
        added = exclusions.exclude(scope.paths, args.cohort_id, keys, args.reason, args.by) if keys else []
        path = scope.paths.exclusions_csv(args.cohort_id)
        print(f"excluded {len(added)} {args.stage} generation(s) of cohort {args.cohort_id} ({path}); "
              f"undo: daydreaming include {args.cohort_id} {args.stage} <gen_id>...")
        print(
            "daydreaming exclude: " + json.dumps({"excluded": [row.model_dump() for row in added], "path": str(path)})
        )
        return EXIT_OK

    return _run("exclude", act)


def include_main(argv: Sequence[str]) -> int:
    parser = _parser("include", "Take back accepted failures: runs want these generations again.")
    parser.add_argument("--all", action="store_true", help="every excluded generation of STAGE in the cohort")
    args = parser.parse_args(list(argv))
    if not args.gen_ids and not args.all:
        parser.error("name GEN_IDs or pass --all")

    def act() -> int:
        scope = load_scope(args.configfile, args.data_root, [args.cohort_id])
        recorded = [e.gen_id for e in exclusions.read_exclusions(scope.paths, args.cohort_id) if e.stage == args.stage]
        gen_ids = recorded if args.all else args.gen_ids
        removed = exclusions.include(scope.paths, args.cohort_id, [(args.stage, g) for g in gen_ids])
        print(f"included {len(removed)} {args.stage} generation(s) of cohort {args.cohort_id} again")
        print("daydreaming include: " + json.dumps({"included": [row.model_dump() for row in removed]}))
        return EXIT_OK

    return _run("include", act)


def _run(command: str, action: Callable[[], int]) -> int:
    try:
        return action()
    except DDError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
