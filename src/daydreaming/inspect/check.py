"""``daydreaming check``: what is wrong in this store, each problem with its repair.

Reads every file of every member of the selected cohorts (``generation``), then looks at the
store as a whole (``store_checks``): directories no cohort lists, temp files, answers awaiting
adoption in the journal, and the ledger against the store and the archive.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from . import store_checks as S
from .findings import KINDS, Finding, ordered
from .generation import GenerationChecker
from .scope import Scope
from .stale import StaleIndex


class CheckReport(BaseModel):
    data_root: str
    cohorts: list[str]
    generations: int  # members checked
    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return not self.findings


def check_store(scope: Scope) -> CheckReport:
    plan = scope.plan
    checker = GenerationChecker(plan, StaleIndex(plan))
    findings: list[Finding] = []
    for member in plan.members:
        findings += checker.check(member)
    listed, unreadable = S.listed_generations(scope)
    journal = S.journal_entries(scope)
    findings += unreadable + S.orphans(scope, listed) + S.bookkeeping_temp_files(scope)
    findings += S.journal_findings(journal) + S.ledger_findings(scope, checker.answers, journal)
    return CheckReport(data_root=str(scope.paths.data_root), cohorts=scope.cohorts, generations=len(plan.members),
                       findings=ordered(findings))


def format_check(report: CheckReport, limit: int = 20) -> str:
    """Per kind: a count, what it means, and the first ``limit`` findings with their repair."""
    if report.clean:
        return f"clean: {report.generations} generations of {', '.join(report.cohorts)} checked, no findings"
    counts = Counter(f.reason for f in report.findings)
    lines = [f"{len(report.findings)} finding(s) in {report.generations} generations of "
             f"{', '.join(report.cohorts)} (data root {report.data_root}):"]
    for reason in KINDS:
        if not counts[reason]:
            continue
        kind = KINDS[reason]
        fix = " [check --fix repairs these]" if any(f.fixable for f in report.findings if f.reason == reason) else ""
        lines.append(f"\n{counts[reason]:>6}  {kind.code.name} {reason}: {kind.means}{fix}")
        shown = [f for f in report.findings if f.reason == reason][:limit]
        for f in shown:
            detail = f"  {f.detail}" if f.detail else ""
            lines.append(f"        {f.path}{detail}\n          -> {f.repair}")
        if counts[reason] > len(shown):
            lines.append(f"        ... {counts[reason] - len(shown)} more (daydreaming check --json lists all)")
    return "\n".join(lines)
