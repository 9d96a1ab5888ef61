"""Shared fixtures: real files on temp data roots, a real LLM server on loopback.

The default run needs nothing outside the repository: its fixtures are under
``tests/fixtures``. Two sets of tests run only when the marker expression names them, and a
run that does not deselects them and says so in one line:

* ``slow``: the suites that take minutes (a real SLURM cluster, a real local model, kill -9 and
  interrupt loops, batches waited for): ``python -m pytest -m slow``. ``.ci/run`` runs them on
  every stop, after the default run;
* ``shared``: tests that read the reference material in ``../shared`` (the earlier system's real
  catalogs, spec examples and judge answers): ``python -m pytest -m shared``. ``.ci/run`` runs
  them whenever ``../shared`` exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# Beside the checkout; DAYDREAMING_SHARED_DIR points elsewhere (e.g. from a git worktree).
SHARED = Path(os.environ.get("DAYDREAMING_SHARED_DIR") or REPO.parent / "shared")
SHARED_MARKER = "shared"
# marker -> why a run that does not name it leaves its tests out
OPT_IN = {
    "slow": "they take minutes: real SLURM, a real local model, kill -9 and interrupt loops, batches",
    SHARED_MARKER: "they read ../shared reference material, not part of the repository",
}
_DESELECTED = pytest.StashKey[dict[str, int]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the opt-in tests (``OPT_IN``) whose marker the marker expression does not name."""
    expression = config.option.markexpr or ""
    counts = {}
    for marker in OPT_IN:
        if marker in expression:
            continue
        deselected = [item for item in items if item.get_closest_marker(marker)]
        if deselected:
            items[:] = [item for item in items if not item.get_closest_marker(marker)]
            config.hook.pytest_deselected(items=deselected)
            counts[marker] = len(deselected)
    config.stash[_DESELECTED] = counts


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    return [f"deselected {count} tests marked '{marker}' ({OPT_IN[marker]}): "
            f"run them with `python -m pytest -m {marker}`"
            for marker, count in config.stash.get(_DESELECTED, {}).items()]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The project's own test fixtures (catalogs, specs, judge answers)."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared``; only ``shared`` tests use it, and they fail (never skip) without it."""
    if not (SHARED / "reference").is_dir():
        pytest.fail(f"tests marked '{SHARED_MARKER}' need ../shared beside the checkout (looked in {SHARED}); "
                    "set DAYDREAMING_SHARED_DIR to use another place", pytrace=False)
    return SHARED


@pytest.fixture
def llm_server():
    from daydreaming.offline.server import serve

    with serve(port=0) as server:
        yield server
