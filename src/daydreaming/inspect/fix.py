"""``daydreaming check --fix``: the repairs that cannot lose or re-buy a paid answer.

Three kinds, each done with the code a run uses: a temp file no writer will rename is removed;
a missing ``metadata.json`` is re-created from a full membership row
(``membership.metadata_from_row``, never overwriting); a stored answer whose parse outputs
are missing, unreadable, outdated or failed is parsed again (``jobs.phase``, which keeps the
failure records as a run does). ``raw.txt`` and ``raw_metadata.json`` are never written or
removed here; everything else is listed with its command.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pydantic import BaseModel

from ..errors import DDError
from ..locking import pid_alive
from ..membership import metadata_from_row
from ..phases import promote_parse_failures
from .findings import Finding
from .scope import Scope

TEMP_ABANDONED_AFTER_S = 600.0  # an atomic write lasts milliseconds; this one's writer is gone
_TEMP_PID = re.compile(r"\.(\d+)\.\d+\.\d+$")  # fsio: .tmp-<name>.<pid>.<thread>.<n>


class FixResult(BaseModel):
    reason: str
    stage: str | None
    gen_id: str | None
    path: str
    action: str  # removed / re-created / re-parsed
    ok: bool
    error: str | None = None


def abandoned(path: Path, now: float | None = None) -> bool:
    """A temp file nobody will rename: old, and not named by a live process of this host."""
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    match = _TEMP_PID.search(path.name)
    if match and pid_alive(int(match.group(1))):
        return False
    return age > TEMP_ABANDONED_AFTER_S


def _sweep(f: Finding) -> FixResult | None:
    path = Path(f.path)
    if not abandoned(path):
        return None
    path.unlink(missing_ok=True)
    return FixResult(reason=f.reason, stage=f.stage, gen_id=f.gen_id, path=f.path, action="removed", ok=True)


def _recreate_metadata(scope: Scope, f: Finding, stage: str, gen_id: str) -> FixResult:
    try:
        scope.rt.store.create_main_metadata(metadata_from_row(scope.plan.member(stage, gen_id)))
        return FixResult(reason=f.reason, stage=f.stage, gen_id=f.gen_id, path=f.path, action="re-created", ok=True)
    except DDError as err:
        return FixResult(reason=f.reason, stage=f.stage, gen_id=f.gen_id, path=f.path, action="re-created",
                         ok=False, error=str(err))


def _reparse(scope: Scope, stage: str, gen_id: str, reasons: list[str]) -> FixResult:
    from ..jobs import phase

    path = str(scope.paths.parsed_path(stage, gen_id))
    try:
        phase(scope.config, f"{stage}_parsed", gen_id)
        return FixResult(reason=",".join(reasons), stage=stage, gen_id=gen_id, path=path, action="re-parsed", ok=True)
    except DDError as err:
        return FixResult(reason=",".join(reasons), stage=stage, gen_id=gen_id, path=path, action="re-parsed",
                         ok=False, error=str(err))


def apply_fixes(scope: Scope, findings: list[Finding]) -> list[FixResult]:
    """Perform the fixable findings' repairs: temp files, then metadata, then parses."""
    results = []
    fixable = [f for f in findings if f.fixable]
    for f in fixable:
        if f.reason == "temp_file_left":
            swept = _sweep(f)
            if swept is not None:
                results.append(swept)
    for f in fixable:
        if f.reason == "metadata_missing" and f.stage and f.gen_id:
            results.append(_recreate_metadata(scope, f, f.stage, f.gen_id))
    reparse: dict[tuple[str, str], list[str]] = {}
    for f in fixable:
        if f.reason not in ("temp_file_left", "metadata_missing") and f.stage and f.gen_id:
            reparse.setdefault((f.stage, f.gen_id), []).append(f.reason)
    for (stage, gen_id), reasons in reparse.items():
        results.append(_reparse(scope, stage, gen_id, reasons))
    if reparse:
        promote_parse_failures(scope.rt)  # a failed re-parse's record goes where a run puts it
    return results


def format_fixes(results: list[FixResult]) -> str:
    if not results:
        return "fixed: nothing"
    done = [r for r in results if r.ok]
    lines = [f"fixed: {len(done)} of {len(results)} attempted"]
    for r in results:
        state = "ok" if r.ok else f"failed: {r.error}"
        lines.append(f"  {r.action:10} {r.path}  ({r.reason}) {state}")
    return "\n".join(lines)
