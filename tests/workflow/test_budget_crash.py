"""The budget holds across crashes: kill -9 mid-run, repeatedly, and the provider's own
accounting never passes ``llm.max_cost_usd``; the ledger never counts less than it."""

from __future__ import annotations

import random
import signal

import pytest

from .llm_helpers import drafts_cohort, ledger_lines, prices, provider
from .money import assert_nothing_left_behind, interrupt
from .project import Project

pytestmark = pytest.mark.slow  # minutes of kills, interrupts and waits: python -m pytest -m slow

WORST_CASE = 0.1
COMPLETION_USD_PER_MTOK = WORST_CASE / 2048 * 1e6  # a draft's worst case (max_tokens 2048): $0.10
BUDGET = 1.0


def provider_spend(server) -> float:
    """What the provider billed: every answer it generated, delivered or not."""
    return sum((r.get("usage") or {}).get("completion_tokens", 0) * COMPLETION_USD_PER_MTOK / 1e6
               for r in server.requests)


def test_kill_9_during_a_budgeted_run_never_spends_past_the_budget(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    provider(project, max_concurrent=3)
    drafts_cohort(project, 40)
    prices(project, 0.0, COMPLETION_USD_PER_MTOK)
    project.config["llm"]["max_cost_usd"] = BUDGET
    project.save_config()
    rng = random.Random("budget-kill-9")
    llm_server.latency_s = 0.5
    for _ in range(4):
        interrupt(project, llm_server, signal.SIGKILL, rng.randint(1, 6), rng.uniform(0.0, 1.5))
    llm_server.latency_s = 0.0
    final = project.snakemake()

    ledger = ledger_lines(project)
    recorded = sum(x["cost_usd"] or 0.0 for x in ledger)
    lost = [x for x in ledger if x["kind"] == "lost_in_flight"]
    assert lost, "no call was in flight at a kill: the test proves nothing"
    assert all(x["cost_usd"] == pytest.approx(WORST_CASE, rel=0.01) for x in lost)  # counted at their worst case
    assert provider_spend(llm_server) <= BUDGET
    assert provider_spend(llm_server) <= recorded + 1e-9 <= BUDGET + 1e-9
    if final.returncode != 0:  # the budget ran out: refused, coded, before or between calls
        codes = {(code, ctx.get("reason")) for code, ctx in final.errors()}
        assert ("INVALID_CONFIG", "budget_exhausted") in codes, final.output
    assert_nothing_left_behind(project)
