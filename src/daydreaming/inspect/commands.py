"""The repair commands that status and check print, built from ``Paths`` (never by hand).

Snakemake's ``--forcerun`` swallows the positional arguments after it, so targets come first.
A generation's target is its ``parsed.txt``: requesting it runs exactly that generation's jobs.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from ..paths import Paths


def gen_target(paths: Paths, stage: str, gen_id: str) -> str:
    return str(paths.parsed_path(stage, gen_id))


def forcerun(paths: Paths, gens: Iterable[tuple[str, str]], phase: str) -> str:
    """``snakemake <parsed.txt of each> --forcerun <stage>_<phase> ...``: redo exactly these."""
    gens = list(gens)
    targets = " ".join(shlex.quote(gen_target(paths, stage, gen_id)) for stage, gen_id in gens)
    rules = " ".join(sorted({f"{stage}_{phase}" for stage, _ in gens}))
    return f"snakemake {targets} --forcerun {rules}"


def remove(path: Path | str, then: str | None = None) -> str:
    command = f"rm {shlex.quote(str(path))}"
    return f"{command} && {then}" if then else command
