"""``daydreaming spec`` style command: print or write the design rows of a spec.

Returns exit codes instead of calling ``sys.exit`` so the top-level CLI can mount it as a
subcommand; errors are printed as ``str(err)`` (code + JSON ctx) so scripts can parse them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from daydreaming.cohort.spec.expander import Row, expand_design
from daydreaming.cohort.spec.loader import load_spec
from daydreaming.errors import DDError, Err

EXIT_ERROR = 2


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def build_parser(prog: str = "daydreaming spec") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Expand a cohort spec into design rows.")
    parser.add_argument("spec", type=Path, help="config.yaml/.yml/.json, or a directory holding config.yaml")
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--shuffle-seed", "--seed", dest="shuffle_seed", type=int, metavar="N",
                        help="shuffle rows with random.Random(N) (--seed: its old name)")
    parser.add_argument("--limit", type=_non_negative, help="keep only the first N rows (after shuffling)")
    return parser


def render(rows: list[Row], fmt: str) -> str:
    """Rows as CSV (header from the first row; all rows share columns) or JSON lines."""
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _write(text: str, out: Path | None, stdout: TextIO) -> None:
    if out is None:
        stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise DDError(Err.IO_ERROR, {"path": str(out), "error": str(exc)}, exc) from exc


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error; argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        rows = expand_design(load_spec(args.spec), shuffle_seed=args.shuffle_seed)
        if args.limit is not None:
            rows = rows[: args.limit]
        _write(render(rows, args.format), args.out, sys.stdout)
    except DDError as err:
        print(str(err), file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
