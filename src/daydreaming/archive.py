"""Paid answers that a regeneration replaces are moved aside, never deleted.

A forced stage (``--forcerun <stage>_raw``) or the ``make`` rerun policy buys a new answer for a
generation that already has one. The store keeps one answer per generation, so the old one
goes to ``<data_root>/.archive/<stage>/<gen_id>/<UTC time>-<why>/`` (its ``raw.txt`` and
``raw_metadata.json``, as they were): a user who forced the wrong stage gets their money's worth
back by moving two files, and the ledger's paid calls still map to an answer on disk.
An answer journaled for a prompt that has changed since is archived the same way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .fsio import atomic_write_json, atomic_write_text
from .journal import JournalEntry
from .paths import RAW, RAW_METADATA, Paths


def _slot(paths: Paths, stage: str, gen_id: str, why: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}"
    slot = paths.archive_gen_dir(stage, gen_id) / f"{stamp}-{why}"
    slot.mkdir(parents=True, exist_ok=False)
    return slot


def archive_answer(paths: Paths, stage: str, gen_id: str, why: str) -> Path | None:
    """Move a generation's stored answer (raw.txt + raw_metadata.json) into the archive.

    Renames within the data root's file system: nothing is copied, and an interruption leaves
    each file either in the store or in the archive. Returns the archive slot, or None when
    the generation had no answer.
    """
    gen_dir = paths.generation_dir(stage, gen_id)
    present = [name for name in (RAW, RAW_METADATA) if (gen_dir / name).is_file()]
    if not present:
        return None
    slot = _slot(paths, stage, gen_id, why)
    for name in reversed(present):  # the answer first: raw.txt never stays without its metadata
        os.replace(gen_dir / name, slot / name)
    return slot


def archive_journal_entry(paths: Paths, entry: JournalEntry, why: str) -> Path:
    """Keep a journaled answer that can no longer be adopted (its inputs changed)."""
    slot = _slot(paths, entry.stage, entry.gen_id, why)
    atomic_write_json(slot / RAW_METADATA, entry.raw_metadata)
    atomic_write_text(slot / RAW, entry.text)
    return slot
