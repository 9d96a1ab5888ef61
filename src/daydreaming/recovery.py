"""Putting a data root back in order after a run that did not end cleanly.

A run can die anywhere (Ctrl-C, SIGTERM, SIGKILL, a power cut, a cancelled SLURM job). What it
leaves, and what the next run that writes does about it before planning:

* budget reservations of dead processes: settled into the ledger (``Ledger.settle``): the
  real cost when the answer was journaled, else a ``lost_in_flight`` line at the worst case;
* journaled answers not yet in the store: adopted when their prompt, model and settings still
  match, archived otherwise (``daydreaming.answers.adopt``);
* answers a forced run moved to the archive but never replaced (the run stopped before their
  new answer arrived): put back, so that stopping a forced run loses nothing;
* temp files of interrupted atomic writes: removed (an answer in one was journaled first).

The order matters: reservations are settled while the journal still holds the answers they
received, and journaled answers are adopted before archived ones are put back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import journal
from .answers import Request, adopt
from .archive import archive_answer, archive_journal_entry
from .errors import DDError
from .fsio import TMP_PREFIX, atomic_write_json
from .paths import RAW, RAW_METADATA
from .plan import StorePlan
from .runtime import Runtime

FORCED_FILE = "forced.json"
FORCED_WHY = "forced"


def recover_before_plan(rt: Runtime) -> None:
    """Everything a killed run may have left, in the order that loses nothing (module doc)."""
    rt.ledger.settle()
    adopt_journal(rt)
    restore_unreplaced(rt)


def adopt_journal(rt: Runtime) -> list[tuple[str, str]]:
    """Adopt (or archive) every journaled answer whose generation has its prompt and metadata."""
    adopted = []
    for entry in journal.entries(rt.paths):
        try:
            meta = rt.store.read_main_metadata(entry.stage, entry.gen_id)
            prompt = rt.store.read_prompt(entry.stage, entry.gen_id)
        except DDError:
            continue  # the raw job decides once its prompt exists
        request = Request(entry.stage, entry.gen_id, meta.llm_model_id or "", prompt,
                          rt.config.stage(entry.stage).generation())
        if _stored_request_id(rt, entry.stage, entry.gen_id) == entry.raw_metadata.get("request_id"):
            journal.discard(rt.paths, entry.stage, entry.gen_id)  # the store already holds it
        elif entry.answers(request.prompt_sha256, request.model_id, request.settings):
            adopt(rt, entry)
            adopted.append((entry.stage, entry.gen_id))
        else:
            archive_journal_entry(rt.paths, entry, "unmatched")
            journal.discard(rt.paths, entry.stage, entry.gen_id)
    return adopted


def _stored_request_id(rt: Runtime, stage: str, gen_id: str) -> str | None:
    try:
        return rt.store.read_raw_metadata(stage, gen_id).request_id
    except DDError:
        return None


# --- forced regenerations ------------------------------------------------------------------
def _forced_path(rt: Runtime) -> Path:
    return rt.paths.run_lock_dir / FORCED_FILE


def archive_forced(rt: Runtime, gens: list[tuple[str, str]]) -> None:
    """Move the answers of forced generations to the archive, remembering which (so that those
    the run never replaces are put back, even if it is killed)."""
    if not gens:
        return
    atomic_write_json(_forced_path(rt), [{"stage": stage, "gen_id": gen_id} for stage, gen_id in gens])
    for stage, gen_id in gens:
        archive_answer(rt.paths, stage, gen_id, FORCED_WHY)


def restore_unreplaced(rt: Runtime) -> list[tuple[str, str]]:
    """Put back each forced generation's archived answer when no new answer replaced it."""
    path = _forced_path(rt)
    try:
        gens = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    restored = []
    for item in gens if isinstance(gens, list) else ():
        stage, gen_id = item.get("stage"), item.get("gen_id")
        gen_dir = rt.paths.generation_dir(stage, gen_id)
        if (gen_dir / RAW).exists() or (gen_dir / RAW_METADATA).exists():
            continue
        slots = sorted(rt.paths.archive_gen_dir(stage, gen_id).glob(f"*-{FORCED_WHY}"))
        if slots:
            for name in (RAW_METADATA, RAW):  # metadata first: raw.txt never without it
                if (slots[-1] / name).exists():
                    os.replace(slots[-1] / name, gen_dir / name)
            slots[-1].rmdir()
            restored.append((stage, gen_id))
    path.unlink(missing_ok=True)
    return restored


# --- temp files ----------------------------------------------------------------------------
def sweep_temp_files(plan: StorePlan) -> int:
    """Remove temp files of interrupted atomic writes in the members' directories and the journal
    (none can belong to a live writer: this run holds the data root's lock)."""
    removed = 0
    for member in plan.members:
        for name in plan.present(member.stage, member.gen_id):
            if name.startswith(TMP_PREFIX):
                (plan.paths.generation_dir(member.stage, member.gen_id) / name).unlink(missing_ok=True)
                removed += 1
    journal_dir = plan.paths.journal_dir
    if journal_dir.is_dir():
        for leftover in journal_dir.glob(f"*/{TMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed
