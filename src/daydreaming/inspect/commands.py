"""The repair commands that status and check print, built from ``Paths`` (never by hand).

Snakemake's ``--forcerun`` swallows the positional arguments after it, so targets come first.
A generation's target is its ``parsed.txt``: requesting it runs exactly that generation's jobs.
One command forces one stage: forcing two stages at once (``--forcerun essay_prompt
evaluation_prompt``) would also regenerate the essay of a targeted evaluation whose essay is not
a target (the forced essay rule reaches it through the evaluation's input), so generations of
several stages get one command per stage, parents' stage first.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from typing import Any

from ..paths import Paths
from ..repairs import regenerate_command
from ..stages import STAGES


def gen_target(paths: Paths, stage: str, gen_id: str) -> str:
    return str(paths.parsed_path(stage, gen_id))


def forcerun(paths: Paths, stage: str, gen_ids: Iterable[str], phase: str) -> str:
    """``snakemake <parsed.txt of each> --forcerun <stage>_<phase>``: redo exactly these."""
    return regenerate_command(paths, stage, list(gen_ids), phase)


def per_stage(paths: Paths, gens: Iterable[tuple[str, str]], phase: str) -> list[dict[str, Any]]:
    """One command per stage for generations of several stages, in pipeline order: run them one
    after the other (each stage's new answers are the next stage's inputs)."""
    by_stage: dict[str, list[str]] = {}
    for stage, gen_id in gens:
        by_stage.setdefault(stage, []).append(gen_id)
    return [{"stage": stage, "forcerun": f"{stage}_{phase}",
             "targets": [gen_target(paths, stage, g) for g in by_stage[stage]],
             "command": forcerun(paths, stage, by_stage[stage], phase)}
            for stage in STAGES if stage in by_stage]


def remove(path: str | os.PathLike[str], then: str | None = None) -> str:
    command = f"rm {shlex.quote(str(path))}"
    return f"{command} && {then}" if then else command
