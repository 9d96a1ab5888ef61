"""Checks of the store as a whole: orphans, temp files beside it, the journal, the ledger.

The ledger is what was paid; the store, the archive (answers replaced by a forced
regeneration) and the journal (answers received, not yet stored) are where a paid answer can
be. A ledger answer line found in none of them is money spent on an answer that is gone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .. import paths as P
from ..budget import Ledger
from ..errors import DDError
from ..fsio import TMP_PREFIX
from ..stages import STAGES, require_gen_id
from .findings import Finding, finding
from .generation import UNVERIFIED, temp_finding
from .scope import Scope

ANSWER = "answer"  # a ledger line without ``kind`` is an answer (lines written before kinds existed)
JSON_SUFFIX = ".json"


def _entries(directory: Path | str) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as found:
            return list(found)
    except (FileNotFoundError, NotADirectoryError):
        return []


# --- orphans ------------------------------------------------------------------------------
def listed_generations(scope: Scope) -> tuple[set[tuple[str, str]], list[Finding]]:
    """What every cohort of the data root lists (not only the selected ones)."""
    listed: set[tuple[str, str]] = set()
    problems = []
    for cohort in scope.all_cohorts():
        try:
            listed.update((m.stage, m.gen_id) for m in scope.members_of(cohort))
        except DDError as err:
            problems.append(finding("cohort_unreadable", scope.paths.cohort_dir(cohort),
                                    repair="fix the cohort (see error), then run check again",
                                    error={"code": err.code.name, **err.ctx}))
    return listed, problems


def orphans(scope: Scope, listed: set[tuple[str, str]]) -> list[Finding]:
    out = []
    for stage in STAGES:
        for entry in _entries(scope.paths.stage_dir(stage)):
            if entry.is_dir() and (stage, entry.name) not in listed:
                out.append(finding("orphan_generation", entry.path, stage=stage, gen_id=entry.name,
                                   repair=f"add it to a cohort's membership, or leave it (harmless), or delete "
                                          f"{entry.path} (any answer in it is lost)"))
    return out


# --- temp files outside generation directories ----------------------------------------------
def _bookkeeping_dirs(scope: Scope) -> Iterator[Path | str]:
    paths = scope.paths
    yield paths.ledger_dir
    yield Ledger(paths.ledger_dir).inflight.directory
    for root in (paths.failures_dir, paths.journal_dir, paths.batches_dir):
        yield from (e.path for e in _entries(root) if e.is_dir())
    for cohort in _entries(paths.cohorts_dir):
        if cohort.is_dir():
            yield cohort.path
            yield from (e.path for e in _entries(cohort.path) if e.is_dir() and e.name != "spec")


def bookkeeping_temp_files(scope: Scope) -> list[Finding]:
    return [temp_finding(e.path) for d in _bookkeeping_dirs(scope) for e in _entries(d)
            if e.name.startswith(TMP_PREFIX) and e.is_file()]


# --- journal --------------------------------------------------------------------------------
def journal_entries(scope: Scope) -> dict[tuple[str, str], str]:
    """(stage, gen_id) -> path of an answer awaiting adoption."""
    found = {}
    for stage_dir in _entries(scope.paths.journal_dir):
        if stage_dir.name not in STAGES or not stage_dir.is_dir():
            continue
        for entry in _entries(stage_dir.path):
            if entry.name.endswith(JSON_SUFFIX) and not entry.name.startswith("."):
                found[(stage_dir.name, entry.name[: -len(JSON_SUFFIX)])] = entry.path
    return found


def journal_findings(entries: dict[tuple[str, str], str]) -> list[Finding]:
    return [finding("journal_entry_pending", path, stage=stage, gen_id=gen_id,
                    repair="run snakemake (the next run adopts it)")
            for (stage, gen_id), path in sorted(entries.items())]


# --- ledger ---------------------------------------------------------------------------------
def _request_id(raw_metadata: str | os.PathLike) -> str | None:
    try:
        data = json.loads(Path(raw_metadata).read_bytes())
    except (OSError, ValueError):
        return None
    return data.get("request_id") if isinstance(data, dict) else None


def archived_request_ids(paths: P.Paths, stage: str, gen_id: str) -> set[str]:
    """Request ids of a generation's archived answers (``archive_gen_dir/<stamp>/``)."""
    ids = set()
    for stamp in _entries(paths.archive_gen_dir(stage, gen_id)):
        if stamp.is_dir():
            rid = _request_id(os.path.join(stamp.path, P.RAW_METADATA))
            if rid:
                ids.add(rid)
    return ids


def stored_request_id(paths: P.Paths, stage: str, gen_id: str) -> str | None:
    """The request id of a generation's stored answer (only when raw.txt is there too)."""
    if not paths.raw_path(stage, gen_id).exists():
        return None
    return _request_id(paths.raw_metadata_path(stage, gen_id))


def ledger_lines(spend_path: Path) -> Iterable[tuple[int, dict]]:
    try:
        text = spend_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash: the ledger itself ignores it
        if isinstance(entry, dict):
            out.append((number, entry))
    return out


def ledger_findings(scope: Scope, answers: dict[tuple[str, str], str | None],
                    journal: dict[tuple[str, str], str]) -> list[Finding]:
    """Paid answer lines whose request id is neither stored nor archived (nor journaled).

    ``answers``: the request ids of the stored answers the generation checks have read; a raw.txt
    whose metadata is unreadable counts as holding the answer (its own finding says what to do).
    """
    paths = scope.paths
    spend_path = Ledger(paths.ledger_dir).spend_path
    out = []
    for number, entry in ledger_lines(spend_path):
        rid, stage, gen_id = entry.get("request_id"), entry.get("stage"), entry.get("gen_id")
        if (entry.get("kind") or ANSWER) != ANSWER or not rid or stage not in STAGES or not isinstance(gen_id, str):
            continue
        try:
            require_gen_id(gen_id)
        except DDError:
            continue
        key = (stage, gen_id)
        stored = answers[key] if key in answers else stored_request_id(paths, stage, gen_id)
        if rid == stored or stored == UNVERIFIED or key in journal or rid in archived_request_ids(paths, stage, gen_id):
            continue
        out.append(finding("paid_answer_missing", spend_path, stage=stage, gen_id=gen_id,
                           line=number, request_id=rid, cost_usd=entry.get("cost_usd"), at=entry.get("at"),
                           repair="none restores it (it was paid for but is in neither the store nor the "
                                  "archive); the next run buys a new answer if the generation has none"))
    return out
