"""How complete a cohort is: per stage, how many generations parsed, failed, were cut off or
are missing, and which ones did not parse (with the failure's phase, code, reason and preview).

Why in the report: a mean over the essays that happened to survive says little without the
count of those that did not; a truncated answer (``max_tokens`` too low) needs another fix
(raise it, force the stage) than a parser that found no verdict or a provider that was down.
"""

from __future__ import annotations

import pandas as pd

from ..stages import STAGES
from .freshness import Completion
from .state import EXCLUDED, FAILED_STATUSES, MISSING, OK, STATUSES

STATUS_COLUMNS = ("stage", "total") + STATUSES
FAILURE_COLUMNS = ("stage", "gen_id", "status", "error_phase", "error_code", "error_reason", "preview")


def status_counts(generations: pd.DataFrame) -> pd.DataFrame:
    """Per stage (in pipeline order, every stage listed): total and a count per status."""
    rows = []
    for stage in STAGES:
        of_stage = generations.loc[generations["stage"] == stage, "status"]
        counts = {status: int((of_stage == status).sum()) for status in STATUSES}
        rows.append({"stage": stage, "total": int(of_stage.size), **counts})
    return pd.DataFrame(rows, columns=list(STATUS_COLUMNS))


def completion(generations: pd.DataFrame) -> Completion:
    status = generations["status"]
    return Completion(complete=int((status == OK).sum()), failed=int(status.isin(FAILED_STATUSES).sum()),
                      missing=int((status == MISSING).sum()), excluded=int((status == EXCLUDED).sum()))


def failures(generations: pd.DataFrame) -> pd.DataFrame:
    """The members that did not parse (failed, truncated or missing), in membership order."""
    return generations.loc[generations["status"] != OK, list(FAILURE_COLUMNS)].reset_index(drop=True)
