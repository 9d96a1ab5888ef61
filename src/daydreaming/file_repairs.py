"""How to make a store file that cannot be read (bad bytes, corrupt JSON) whole again.

Errors about an unreadable store file carry this as their ``fix``, so the user gets the
cheapest repair that cannot cost a paid answer by mistake: files the pipeline derives locally
(prompt, parse outputs, metadata.json) are re-made without an LLM call; raw.txt and
raw_metadata.json can only be had again by buying that one answer, and the command says so
and names that one generation only (a ``--forcerun`` without a target re-buys a whole stage).
"""

from __future__ import annotations

from . import paths as P
from .paths import Paths


def regenerate_command(paths: Paths, stage: str, gen_id: str, phase: str) -> str:
    """``snakemake`` re-running ``<stage>_<phase>`` for this one generation (and what follows it).

    The target comes before ``--forcerun``, which takes every word after it as a rule name.
    """
    return f"snakemake {paths.parsed_path(stage, gen_id)} --forcerun {stage}_{phase}"


def repair(paths: Paths, stage: str, gen_id: str, name: str) -> str:
    """What to do about the store file ``name`` of one generation when it cannot be read."""
    path = paths.gen_file(stage, gen_id, name)
    if name == P.PROMPT:
        return (f"delete {path}: the next snakemake renders it again without an LLM call "
                "(with rerun_policy make, its answer is then bought again)")
    if name == P.METADATA:
        return (f"delete {path}: the next snakemake writes it again from the cohort's membership row "
                f"({stage}_metadata); a membership of only stage,gen_id cannot, then restore it by hand")
    if name in (P.PARSED, P.PARSED_METADATA):
        return f"{regenerate_command(paths, stage, gen_id, 'parsed')} (parses the stored answer again, no LLM call)"
    return (f"{regenerate_command(paths, stage, gen_id, 'raw')} (buys this one answer again; "
            f"or mend {path} by hand to keep the one you have)")
