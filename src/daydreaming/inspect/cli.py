"""``daydreaming status`` and ``daydreaming check``: argument parsing and exit codes only.

Exit codes: status 0; check 0 clean, 1 findings (after ``--fix``: findings left); both 2 for
a usage error (bad arguments, an unreadable config or membership).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..errors import DDError
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


def _run(command: str, action) -> int:
    try:
        return action()
    except OSError as exc:
        print(f"daydreaming {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DDError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE


def print_stale(scope: Scope, as_json: bool, targets_only: bool) -> None:
    """The stale generations (and their descendants) and the one command that regenerates them."""
    from . import commands as C
    from .stale import stale_listing

    listing = stale_listing(scope.plan)
    gens = [(g.stage, g.gen_id) for g in listing]
    targets = [C.gen_target(scope.paths, stage, gen_id) for stage, gen_id in gens]
    command = C.forcerun(scope.paths, gens, "prompt") if gens else None
    if targets_only:
        if targets:
            print("\n".join(targets))
        return
    if as_json:
        print(json.dumps({"generations": [vars(g) for g in listing], "targets": targets,
                          "forcerun": sorted({f"{stage}_prompt" for stage, _ in gens}), "command": command},
                         indent=2))
        return
    if not listing:
        print("no stale generations (answers whose raw_metadata.json records no parent hash count as unknown: "
              "daydreaming status)")
        return
    for g in listing:
        print(f"{g.stage:11} {g.gen_id:40} parent {g.parent_gen_id or '-':40} {g.why}")
    stale = sum(g.why == "stale" for g in listing)
    print(f"\n{stale} stale, {len(listing) - stale} downstream of them; regenerate exactly these (new answers: "
          f"price them first with daydreaming estimate):\n{command}")


def status_main(argv: Sequence[str]) -> int:
    parser = _parser("status", "Per cohort, stage and phase: complete, missing, failed, truncated, stale, "
                               "and the pending LLM calls with their estimated cost. Reads files, runs nothing.")
    parser.add_argument("--stale", action="store_true",
                        help="list the generations whose parent changed since their answer (and their "
                             "descendants), with the command that regenerates exactly them")
    parser.add_argument("--targets", action="store_true",
                        help="with --stale: print only the file targets, one per line")
    args = parser.parse_args(list(argv))
    if args.targets and not args.stale:
        parser.error("--targets goes with --stale")

    def act() -> int:
        scope = _scope(args)
        if args.stale:
            print_stale(scope, as_json=args.json, targets_only=args.targets)
            return EXIT_CLEAN
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
        from .check import check_store, format_check
        from .fix import apply_fixes, format_fixes

        scope = _scope(args)
        report = check_store(scope)
        fixes = []
        if args.fix and any(f.fixable for f in report.findings):
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
