"""Reports that are never stale, and the line per cohort at the end of every run.

The report rules wait for the evaluations a run produces, and Snakemake skips a job whose
inputs failed: after a failed call or a failed first parse the report rules never ran, and the
reports still described the store before the run. So the end of every run checks each cohort:
its reports are stale when anything they summarise changed after the store scan began
(``scan.json`` records when): a generation directory of a member (every write in the store is
a rename into that directory, which updates its mtime; so is a parked parse failure), a failure
record of a member (a failed call writes nothing in the store), the membership, or the catalogs
that give scales and prices; or when the scan is newer than ``index.html`` (the computing step
did not finish). Stale reports are rebuilt in the run's own process by the same two functions
the rules call. Checking costs a stat per member (tens of milliseconds for 20,000).

Times are the file system's own: the scan's start is the mtime of a file it creates, because
file times come from a coarser clock than ``time.time_ns()`` (a write just after the scan began
can carry an earlier time than the clock read before it). A change in the same tick as the
scan's start counts as after it: at worst a report is rebuilt once more, never left stale.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError

from ..errors import DDError
from ..failures import current_records
from ..fsio import TMP_PREFIX, atomic_write_text
from ..membership import read_membership
from ..paths import Paths
from ..runtime import Runtime

SCAN = "scan.json"
INDEX = "index.html"


class Completion(BaseModel):
    """How many generations of a cohort parsed, failed (a parse, a truncation or a job) or are
    missing: the three numbers the end of a run prints."""

    complete: int
    failed: int
    missing: int
    excluded: int = 0  # left out on purpose (daydreaming.exclusions)

    @property
    def total(self) -> int:
        return self.complete + self.failed + self.missing + self.excluded


class ScanRecord(Completion):
    """``scan.json``: what the store scan of a cohort's reports saw, and when it began."""

    cohort_id: str
    started_ns: int


def write_scan(path: Path, record: ScanRecord) -> None:
    atomic_write_text(path, record.model_dump_json(indent=2) + "\n")


def read_scan(paths: Paths, cohort: str) -> ScanRecord | None:
    try:
        return ScanRecord.model_validate_json(paths.cohort_report(cohort, SCAN).read_bytes())
    except (OSError, ValidationError):
        return None


def filesystem_now_ns(directory: Path) -> int:
    """The file system's current time, as the mtime it gives a new file in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=TMP_PREFIX) as probe:
        return os.fstat(probe.fileno()).st_mtime_ns


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def stale_reason(paths: Paths, cohort: str) -> str | None:
    """Why the cohort's reports do not describe the store as it is now (None: they do)."""
    record = read_scan(paths, cohort)
    if record is None:
        return "no scan.json"
    if _mtime_ns(paths.cohort_report(cohort, INDEX)) < _mtime_ns(paths.cohort_report(cohort, SCAN)):
        return "index.html older than its scan"
    since = record.started_ns
    for source in (paths.membership_csv(cohort), paths.exclusions_csv(cohort), paths.templates_csv("evaluation"),
                   paths.llm_models_csv):
        if _mtime_ns(source) >= since:
            return f"{source} changed"
    members = read_membership(paths.membership_csv(cohort))
    for member in members:
        if _mtime_ns(paths.generation_dir(member.stage, member.gen_id)) >= since:
            return f"{member.stage} {member.gen_id} changed"
    keys = {(m.stage, m.gen_id) for m in members}
    for failure in current_records(paths):
        if (failure.get("stage"), failure.get("gen_id")) in keys and _mtime_ns(Path(failure["record"])) >= since:
            return f"{failure['stage']} {failure['gen_id']} failed"
    return None


def refresh_stale(config: dict[str, Any], out: TextIO = sys.stderr) -> list[str]:
    """Rebuild the reports of every configured cohort that are stale; the cohorts rebuilt.
    A cohort that cannot be rebuilt is named with the error (the run's own outcome stands)."""
    from .build import compute_reports
    from .scan import report_paths, scan_cohort

    rt = Runtime.from_config(config)
    rebuilt = []
    for cohort in rt.config.cohorts:
        try:
            if not rt.paths.membership_csv(cohort).exists() or stale_reason(rt.paths, cohort) is None:
                continue
            outputs = report_paths(rt.paths, cohort)
            scan_cohort(config, cohort, outputs)
            compute_reports(config, cohort, outputs, outputs)
            rebuilt.append(cohort)
        except (DDError, OSError, ValueError) as exc:
            print(f"daydreaming: the report of cohort {cohort} could not be rebuilt: {exc}", file=out)
    return rebuilt


def run_lines(config: dict[str, Any]) -> list[str]:
    """One line per configured cohort: where its report is, and how complete the cohort is."""
    rt = Runtime.from_config(config)
    lines = []
    for cohort in rt.config.cohorts:
        record = read_scan(rt.paths, cohort)
        index = rt.paths.cohort_report(cohort, INDEX)
        if record is None or not index.exists():
            lines.append(f"daydreaming: cohort {cohort}: no report yet")
            continue
        excluded = f", {record.excluded} excluded" if record.excluded else ""
        lines.append(f"daydreaming: cohort {cohort}: {record.complete} complete, {record.failed} failed, "
                     f"{record.missing} missing{excluded} of {record.total} generations; report {index}")
    return lines
