"""The repairs our errors suggest, built so that they re-buy exactly what they name.

``snakemake --forcerun draft_raw`` forces every draft job in the DAG: suggested for one broken
draft, it bought the whole stage again. A repair therefore names its generations as targets
(their ``parsed.txt``) and forces one phase: Snakemake then builds the DAG of those targets only.
Targets come before ``--forcerun`` because that option swallows the words after it.

For a store file that cannot be read, :func:`file_repair` gives the cheapest repair that cannot
cost a paid answer by mistake: files derived locally (prompt, parse outputs, metadata.json) are
re-made without an LLM call; raw.txt and raw_metadata.json only by buying that one answer.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from . import paths as P
from .paths import Paths

PHASE_EFFECT = {
    "prompt": "re-renders the prompt and buys a new answer",
    "raw": "buys a new answer (the old one is archived)",
    "parsed": "re-parses the stored answer, no LLM call",
}
INLINE_TARGETS = 20


def regenerate_command(paths: Paths, stage: str, gen_ids: Sequence[str], phase: str = "raw",
                       targets_file: Path | None = None) -> str:
    """``snakemake <targets> --forcerun <stage>_<phase>`` for exactly these generations.

    Past ``INLINE_TARGETS`` generations the targets are read from ``targets_file`` (one path
    per line), which the caller writes with :func:`write_targets`.
    """
    if len(gen_ids) > INLINE_TARGETS and targets_file is not None:
        targets = f"$(cat {targets_file})"
    else:
        targets = " ".join(shlex.quote(str(paths.parsed_path(stage, gen_id))) for gen_id in gen_ids)
    return f"snakemake {targets} --forcerun {stage}_{phase}"


def write_targets(paths: Paths, stage: str, gen_ids: Sequence[str], target: Path) -> Path:
    """The target list a long repair command reads (see :func:`regenerate_command`)."""
    from .fsio import atomic_write_text

    atomic_write_text(target, "".join(f"{paths.parsed_path(stage, gen_id)}\n" for gen_id in gen_ids))
    return target


def file_repair(paths: Paths, stage: str, gen_id: str, name: str) -> str:
    """What to do about the store file ``name`` of one generation when it cannot be read."""
    path = paths.gen_file(stage, gen_id, name)
    if name == P.PROMPT:
        return (f"delete {path}: the next snakemake renders it again without an LLM call "
                "(with rerun_policy make, its answer is then bought again)")
    if name == P.METADATA:
        return (f"delete {path}: the next snakemake writes it again from the cohort's membership row "
                f"({stage}_metadata); a membership of only stage,gen_id cannot, then restore it by hand")
    if name in (P.PARSED, P.PARSED_METADATA):
        return f"{regenerate_command(paths, stage, [gen_id], 'parsed')} (parses the stored answer again, no LLM call)"
    return (f"{regenerate_command(paths, stage, [gen_id])} (buys this one answer again; the unreadable one is "
            f"archived; or mend {path} by hand to keep the one you have)")
