"""How complete a cohort is: per stage, how many generations parsed, failed, were cut off or
are missing, and which ones failed (with the parse record's code, reason and preview).

Why in the report: a mean over the essays that happened to survive says little without the
count of those that did not; a truncated answer (``max_tokens`` too low) needs another fix
(raise it, force the stage) than a parser that found no verdict.
"""

from __future__ import annotations

import pandas as pd

from ..membership import read_membership
from ..paths import Paths
from ..stages import STAGES
from ..store import GensDataLayer
from .state import MISSING, OK, PARSE_FAILED, STATUSES, TRUNCATED, gen_state

STATUS_COLUMNS = ("stage", "total") + STATUSES
FAILURE_COLUMNS = ("stage", "gen_id", "status", "error_code", "error_reason", "preview")


def cohort_states(paths: Paths, cohort_id: str) -> pd.DataFrame:
    """One row per member of the cohort: stage, gen_id and its parse state."""
    store = GensDataLayer(paths)
    rows = []
    for member in read_membership(paths.membership_csv(cohort_id)):
        state = gen_state(store, member.stage, member.gen_id)
        rows.append({"stage": member.stage, "gen_id": member.gen_id, "status": state.status,
                     "error_code": state.code, "error_reason": state.reason, "preview": state.preview})
    return pd.DataFrame(rows, columns=list(FAILURE_COLUMNS))


def status_counts(states: pd.DataFrame) -> pd.DataFrame:
    """Per stage (in pipeline order, every stage listed): total and a count per status."""
    rows = []
    for stage in STAGES:
        of_stage = states[states["stage"] == stage]["status"]
        counts = {status: int((of_stage == status).sum()) for status in (OK, TRUNCATED, PARSE_FAILED, MISSING)}
        rows.append({"stage": stage, "total": int(of_stage.size), **counts})
    return pd.DataFrame(rows, columns=list(STATUS_COLUMNS))


def failures(states: pd.DataFrame) -> pd.DataFrame:
    """The members that did not parse (failed, truncated or missing), in membership order."""
    return states[states["status"] != OK].reset_index(drop=True)
