"""What status and check look at: the workflow's config, its data root and the cohorts.

Both commands read the same ``config/config.yaml`` as the workflow (and ``daydreaming
estimate``), so they see the data root, cohorts and rerun policy a run would use. One
``StorePlan`` over all selected cohorts holds the one directory read per generation that every
count is computed from; each cohort's member list comes from its own plan, which also works
for a cohort whose spec is not compiled yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..membership import Member
from ..paths import Paths
from ..plan import StorePlan
from ..runtime import Runtime


@dataclass
class Scope:
    config: dict[str, Any]
    rt: Runtime
    cohorts: list[str]

    @property
    def paths(self) -> Paths:
        return self.rt.paths

    @cached_property
    def plan(self) -> StorePlan:
        """All selected cohorts together: a generation they share is counted (and read) once."""
        return self.rt.plan(self.cohorts)

    def members_of(self, cohort: str) -> list[Member]:
        if len(self.cohorts) == 1 and cohort == self.cohorts[0]:
            return self.plan.members
        return self.rt.plan([cohort]).members

    def all_cohorts(self) -> list[str]:
        """Every cohort under the data root (orphans are generations none of them lists)."""
        root = self.paths.cohorts_dir
        if not root.is_dir():
            return []
        return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def load_scope(configfile: str | Path, data_root: str | None = None, cohorts: list[str] | None = None) -> Scope:
    """The config file with ``--data-root``/``--cohorts`` applied, as ``estimate`` does."""
    rt, config = Runtime.for_command(configfile, data_root, cohorts)
    return Scope(config, rt, list(rt.config.cohorts))
