"""Answers that reached the process but may not have reached the store yet.

An LLM answer is paid for the moment the provider sends it. Between that moment and the store
holding ``raw.txt`` + ``raw_metadata.json`` lie parsing, metadata, two renames and Snakemake's
bookkeeping; a SIGKILL, a full disk or a failed job in that window used to throw the answer
away, and the next run bought it again. So the first thing done with an answer is one fsync'd
file, ``<data_root>/.journal/<stage>/<gen_id>.json``, holding the text, the metadata the store
will get, and what it answered (prompt sha256, model, settings). It is removed once the store
holds the answer. Whoever next needs that generation's answer (the raw job, or the start of
the next run) adopts the entry instead of calling again, but only if the prompt, model and
settings still match; an entry that no longer matches is archived, never dropped.

One file per generation (not one append-only log) so that adopting, removing and listing
entries never rewrites anything shared between job threads or SLURM jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import DDError, Err
from .fsio import atomic_write_text, read_json
from .paths import Paths
from .stages import STAGES


class JournalEntry(BaseModel):
    """One received answer and what it was an answer to."""

    model_config = ConfigDict(extra="allow")

    stage: str
    gen_id: str
    reservation_id: str | None = None
    prompt_sha256: str
    llm_model_id: str
    settings: dict[str, Any]
    text: str
    raw_metadata: dict[str, Any]

    def answers(self, prompt_sha256: str, llm_model_id: str | None, settings: dict[str, Any]) -> bool:
        """True when this answer is the one a call with these inputs would buy now."""
        return (self.prompt_sha256 == prompt_sha256 and self.llm_model_id == llm_model_id
                and self.settings == settings)


def record(paths: Paths, entry: JournalEntry) -> None:
    """Make a received answer durable (fsync'd) before anything else is done with it."""
    atomic_write_text(paths.journal_entry(entry.stage, entry.gen_id), entry.model_dump_json(), durable=True)


def pending(paths: Paths, stage: str, gen_id: str) -> JournalEntry | None:
    """The journaled answer of a generation, if any."""
    path = paths.journal_entry(stage, gen_id)
    try:
        data = read_json(path)
    except DDError as err:
        if err.code is Err.DATA_MISSING:
            return None
        raise
    return JournalEntry.model_validate(data)


def discard(paths: Paths, stage: str, gen_id: str) -> None:
    """Forget an entry once the store (or the archive) holds its answer."""
    paths.journal_entry(stage, gen_id).unlink(missing_ok=True)


def entries(paths: Paths) -> Iterator[JournalEntry]:
    """Every journaled answer (the start of a run adopts or archives each)."""
    for stage in STAGES:
        stage_dir = paths.journal_dir / stage
        if not stage_dir.is_dir():
            continue
        for path in sorted(stage_dir.glob("*.json")):
            found = pending(paths, stage, path.stem)
            if found is not None:
                yield found
