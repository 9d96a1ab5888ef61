"""``daydreaming``: the commands that sit beside the workflow.

The workflow (``snakemake``) runs generations; these commands inspect and prepare without
running it: the design rows of a spec, a cohort compile, the offline provider as a server.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import DDError

EXIT_ERROR = 2


def _compile(args: argparse.Namespace) -> int:
    from . import runlock
    from .cohort.compile import compile_cohort
    from .paths import Paths

    paths = Paths.from_str(args.data_root)
    runlock.acquire(paths)  # a compile writes the store: not while a run does
    counts = compile_cohort(paths, args.cohort_id, shuffle_seed=args.shuffle_seed)
    print(json.dumps(counts))
    return 0


def _combos(args: argparse.Namespace) -> int:
    from .catalogs import author_combos
    from .paths import Paths

    print(json.dumps(author_combos(Paths.from_str(args.data_root), args.concepts, args.k, args.level)))
    return 0


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"daydreaming {command}", description=description)
    parser.add_argument("--data-root", default=None, help="default: $DAYDREAMING_DATA_ROOT or data")
    if command == "compile":
        parser.add_argument("cohort_id")
        parser.add_argument("--shuffle-seed", "--seed", dest="shuffle_seed", type=int, default=None,
                            help="shuffle design rows with random.Random(N) (--seed: its old name)")
    else:
        parser.add_argument("--concepts", nargs="+", required=True, help="concept ids from concepts_metadata.csv")
        parser.add_argument("--k", type=int, required=True, help="concepts per combination")
        parser.add_argument("--level", default="paragraph", help="description level: sentence, paragraph, article")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"spec": "print or write the design rows of a cohort spec",
                "compile": "compile a cohort (membership.csv, manifest.json, metadata.json)",
                "combos": "append every k-of-n combination of concepts to combo_mappings.csv",
                "offline-server": "serve the offline provider on loopback (OpenAI-compatible)",
                "estimate": "list pending LLM calls per stage and model with estimated tokens and USD",
                "status": "what is missing, failed or stale per cohort, stage and phase (no DAG; --stale)",
                "check": "what is wrong in the store, each problem with its repair (--fix: the safe ones)",
                "batch": "batch mode: run a cohort through Batch APIs to the end (run), see (status) or cancel batches",

                "exclude": "accept failed generations: runs, status, check and reports leave them out (reversible)",
                "include": "take back an exclusion: runs want the generations again"}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print("usage: daydreaming {" + ",".join(commands) + "} ...\n")
        for name, text in commands.items():
            print(f"  {name:15} {text}")
        return 0 if argv and argv[0] in ("-h", "--help") else EXIT_ERROR
    command, rest = argv[0], argv[1:]
    if command == "spec":
        from .cohort.spec.cli import main as spec_main

        return spec_main(rest)
    if command == "offline-server":
        from .offline.server import main as server_main

        return server_main(rest)
    if command == "batch":
        from .batch.cli import main as batch_main

        return batch_main(rest)
    if command == "estimate":
        from .estimate import main as estimate_main

        return estimate_main(rest)
    if command in ("exclude", "include"):
        from . import exclusions_cli

        return exclusions_cli.exclude_main(rest) if command == "exclude" else exclusions_cli.include_main(rest)
    if command in ("status", "check"):
        from .inspect import cli as inspect_cli

        return inspect_cli.status_main(rest) if command == "status" else inspect_cli.check_main(rest)
    args = _parser(command, commands[command]).parse_args(rest)
    try:
        return _compile(args) if command == "compile" else _combos(args)
    except DDError as err:
        print(str(err), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
