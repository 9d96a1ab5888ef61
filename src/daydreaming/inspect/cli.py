"""``daydreaming status`` and ``daydreaming check``: argument parsing and exit codes only.

Exit codes: status 0 (``--stale --targets``: 1 when there is no target); check 0 clean,
1 findings (after ``--fix``: findings left); both 2 for a usage error (bad arguments, an
unreadable config or membership).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from ..errors import DDError
from ..stages import STAGES
from .scope import Scope, load_scope

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"daydreaming {command}", description=description)
    parser.add_argument("--configfile", default="config/config.yaml",
                        help="the workflow's config (default: %(default)s)")
    parser.add_argument("--data-root", default=None,
                        help="default: the config's data_root, $DAYDREAMING_DATA_ROOT or data")
    parser.add_argument("--cohorts", nargs="+", default=None, help="default: the config's cohorts")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _scope(args: argparse.Namespace) -> Scope:
    return load_scope(args.configfile, args.data_root, args.cohorts)


def _run(command: str, action: Callable[[], int]) -> int:
    try:
        return action()
    except OSError as exc:
        print(f"daydreaming {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DDError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE


def print_stale(scope: Scope, as_json: bool, targets: str | None) -> int:
    """The stale generations (and their descendants) and the commands that regenerate exactly them."""
    from . import commands as C
    from .stale import STALE_WHY, stale_listing

    listing = stale_listing(scope.plan)
    steps = C.per_stage(scope.paths, [(g.stage, g.gen_id) for g in listing], "prompt")
    if targets is not None:  # exit 1 when there are none: `t=$(...) && snakemake $t --forcerun ...` then
        found = [t for step in steps if targets in ("", step["stage"]) for t in step["targets"]]  # never runs
        if found:  # a target-less snakemake, which would force the stage for every generation
            print("\n".join(found))
        return EXIT_CLEAN if found else EXIT_FINDINGS
    if as_json:
        print(json.dumps({"generations": [vars(g) for g in listing], "commands": steps}, indent=2))
        return EXIT_CLEAN
    if not listing:
        print("no stale generations (answers that record no parent hash are counted as unknown by daydreaming status)")
        return EXIT_CLEAN
    for g in listing:
        print(f"{g.stage:11} {g.gen_id:40} parent {g.parent_gen_id or '-':40} {g.why}")
    stale = sum(g.why == STALE_WHY for g in listing)
    print(f"\n{stale} stale, {len(listing) - stale} downstream of them. Regenerate exactly these (new answers: "
          f"price them first with daydreaming estimate), one stage after the other:")
    print(" && \\\n".join(step["command"] for step in steps))
    return EXIT_CLEAN


def status_main(argv: Sequence[str]) -> int:
    parser = _parser("status", "Per cohort, stage and phase: complete, missing, failed, truncated, stale, "
                               "and the pending LLM calls with their estimated cost. Reads files, runs nothing.")
    parser.add_argument("--stale", action="store_true",
                        help="list the generations whose parent changed since their answer (and their "
                             "descendants), with the command that regenerates exactly them")
    parser.add_argument("--targets", nargs="?", const="", default=None, metavar="STAGE",
                        help="with --stale: print only the file targets of STAGE (default: of every stage), "
                             "one per line, for snakemake ... --forcerun STAGE_prompt; exit 1 when there are none")
    args = parser.parse_args(list(argv))
    if args.targets is not None and not args.stale:
        parser.error("--targets goes with --stale")
    if args.targets not in (None, "", *STAGES):
        parser.error(f"--targets takes a stage: {', '.join(STAGES)}")

    def act() -> int:
        scope = _scope(args)
        if args.stale:
            return print_stale(scope, as_json=args.json, targets=args.targets)
        from .status import build_status, format_status

        report = build_status(scope)
        print(report.model_dump_json(indent=2) if args.json else format_status(report))
        return EXIT_CLEAN

    return _run("status", act)


def check_main(argv: Sequence[str]) -> int:
    parser = _parser("check", "Read every file of every member and report each problem with its repair. "
                              "Exit 0 clean, 1 findings, 2 usage error.")
    parser.add_argument("--fix", action="store_true",
                        help="perform the repairs that cannot lose a paid answer (temp files, missing "
                             "metadata.json, re-parses), then check again")
    args = parser.parse_args(list(argv))

    def act() -> int:
        from .. import runlock
        from .check import check_store, format_check
        from .fix import apply_fixes, format_fixes

        scope = _scope(args)
        report = check_store(scope)
        fixes = []
        if args.fix and any(f.fixable for f in report.findings):
            runlock.acquire(scope.paths)  # fixing writes the store: not while a run does
            fixes = apply_fixes(scope, report.findings)
            scope = _scope(args)  # a fresh plan: the fixes changed the directories it had read
            report = check_store(scope)
        if args.json:
            data = report.model_dump(mode="json")
            if args.fix:
                data["fixed"] = [r.model_dump(mode="json") for r in fixes]
            print(json.dumps(data, indent=2))
        else:
            if args.fix:
                print(format_fixes(fixes))
            print(format_check(report))
        return EXIT_CLEAN if report.clean else EXIT_FINDINGS

    return _run("check", act)
