"""The commands our errors suggest, built so that they re-buy exactly what they name.

``snakemake --forcerun draft_raw`` forces every draft job in the DAG: suggested for one broken
draft, it bought the whole stage again. A repair therefore names its generations as targets
(their ``parsed.txt``) and forces one phase: Snakemake then builds the DAG of those targets only.
Targets come before ``--forcerun`` because that option swallows the words after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
        targets = " ".join(str(paths.parsed_path(stage, gen_id)) for gen_id in gen_ids)
    return f"snakemake {targets} --forcerun {stage}_{phase}"


def write_targets(paths: Paths, stage: str, gen_ids: Sequence[str], target: Path) -> Path:
    """The target list a long repair command reads (see :func:`regenerate_command`)."""
    from .fsio import atomic_write_text

    atomic_write_text(target, "".join(f"{paths.parsed_path(stage, gen_id)}\n" for gen_id in gen_ids))
    return target
