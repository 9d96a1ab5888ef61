"""A plain ``pytest`` leaves out the opt-in suites (``slow``, ``shared``) and says so in one line
each; naming the marker runs them (what ``.ci/run`` does). Checked on real collections."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _collect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_a_plain_run_deselects_the_slow_suites_with_one_line_and_the_marker_runs_them():
    plain = _collect("tests/workflow/test_budget_crash.py")
    assert plain.returncode == 5, plain.stdout  # nothing collected, nothing failed
    notes = [line for line in plain.stdout.splitlines() if line.startswith("deselected")]
    assert len(notes) == 1 and notes[0].startswith("deselected 1 tests marked 'slow' (")
    assert notes[0].endswith("run them with `python -m pytest -m slow`")
    asked = _collect("-m", "slow", "tests/workflow/test_budget_crash.py")
    assert asked.returncode == 0, asked.stdout
    assert "test_kill_9_during_a_budgeted_run_never_spends_past_the_budget" in asked.stdout
    assert "marked 'slow'" not in asked.stdout
